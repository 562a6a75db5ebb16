"""Frozen data passed between stages: chart requests and the theme they are drawn with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    """Colours of one palette from the layouts' theme.yaml."""

    name: str
    title: str
    comparison: dict[str, str]
    quintiles_judged: tuple[str, ...]
    quintiles_unjudged: tuple[str, ...]
    spine_outer: str
    spine_inner: str
    england: str
    region: str
    bar: str
    trend_england: str
    accent: str


@dataclass(frozen=True)
class Neutrals:
    """Neutral colours, the same in every palette (theme.yaml ``neutrals``): the CSS receives them as
    custom properties (``var(--ink)``) and the charts draw with them, so both have one source."""

    ink: str  # text, marker outlines, whiskers and chart axes
    muted: str  # secondary text, the ends of a compare-areas chart's axis
    rule: str  # rules between indicators, boxes of the legend and the counts
    table_rule: str  # rows of the summary, by-domain and definitions tables
    data_rule: str  # rows of the data tables
    chart_rule: str  # rows of the compare-areas charts
    grid: str  # gridlines of the trend charts
    axis: str  # the axis of the trend charts
    badge_border: str  # outline of the comparison badges
    note_rule: str  # the bar beside a note
    banner: str  # background of the synthetic-data banner
    unjudged_arrow: str  # a trend arrow without a better/worse judgement


@dataclass(frozen=True)
class Sizes:
    """Sizes shared by the stylesheet and the charts (theme.yaml ``sizes``), in millimetres unless named ``_pt``."""

    col_left: float  # left column of a domain page: the compare-areas charts
    col_right: float  # right column: the trend charts and their tables
    trend_height: float  # height of a trend chart
    spine_width: float
    spine_height: float
    small_text_pt: float  # the smallest text: charts, data tables, badges, header and footer
    data_cell_padding: float  # left and right padding of a cell of the data tables

    @property
    def small_text_mm(self) -> float:
        return self.small_text_pt * 25.4 / 72


@dataclass(frozen=True)
class Publisher:
    """Who publishes the profiles and on what terms (theme.yaml ``publisher``): the publisher block of
    the About page and of the board brief. Empty texts are not shown (an unnamed publisher is said so)."""

    name: str = ""  # the organisation; empty: the block says the profile was made with reportgen
    url: str = ""  # the organisation's website
    contact_email: str = ""
    contact_url: str = ""  # a contact page
    publication_url: str = ""  # the publication page of an edition; "{edition}" is replaced by the edition
    licence: str = ""  # the data's licence, e.g. Open Government Licence v3.0
    licence_url: str = ""
    attribution: tuple[str, ...] = ()  # one line per source, e.g. OHID's Fingertips and the ONS


@dataclass(frozen=True)
class Theme:
    """Fonts, palette, neutral colours, sizes and branding of a profile (from the layouts folder)."""

    font_family: str
    font_files: tuple[str, ...]
    palette: Palette
    neutrals: Neutrals
    sizes: Sizes
    organisation: str = ""
    logo: str = ""
    logo_alt: str = ""
    publisher: Publisher = Publisher()


@dataclass(frozen=True)
class Marker:
    """How one comparison result is drawn: fill colour and a shape that reads in greyscale."""

    label: str
    colour: str
    shape: str  # matplotlib marker: "^" better/higher, "v" worse/lower, "o" similar, "s" quintile


@dataclass(frozen=True)
class SpineChart:
    """A spine: positions on 0..1 with England at 0.5 and the worst (or lowest) end on the left."""

    key: str
    outer: tuple[float, float]
    inner: tuple[float, float]
    area: float | None
    region: float | None
    marker: Marker
    alt: str


@dataclass(frozen=True)
class Bar:
    """One authority in a compare-areas chart."""

    name: str
    value: float
    lower: float | None
    upper: float | None
    marker: Marker
    highlight: bool = False


@dataclass(frozen=True)
class BarChart:
    """Compare-areas chart: bars with confidence intervals and England's value as a line."""

    key: str
    bars: tuple[Bar, ...]
    england: float | None
    axis_label: str
    alt: str


@dataclass(frozen=True)
class TrendPoint:
    """One period of a trend chart."""

    period: str
    value: float | None
    lower: float | None
    upper: float | None
    england: float | None
    marker: Marker


@dataclass(frozen=True)
class TrendChart:
    """The area against England over the periods."""

    key: str
    area_name: str
    points: tuple[TrendPoint, ...]
    axis_label: str
    alt: str
    england_name: str  # England's line in the legend (wording.yaml)


@dataclass(frozen=True)
class ChartImage:
    """A drawn chart: SVG text and its alternative text."""

    key: str
    svg: str
    alt: str
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class BarLine:
    """One line of text of a compare-areas chart: ``head`` (column titles), ``row``, or ``highlight``
    (the profile's own authority, in bold). ``numbers`` follow a tab; the continuation lines of a
    wrapped name have none."""

    name: str
    numbers: str
    kind: str

    @property
    def text(self) -> str:
        return f"{self.name}\t{self.numbers}" if self.numbers else self.name


@dataclass(frozen=True)
class BarPanelImage:
    """A compare-areas chart as lines of text (names, values, intervals) over one SVG of marks.

    The text is set ``white-space: pre`` with one tab stop every ``tab_mm`` and lines ``line_mm``
    apart; the SVG (significance badges, bars or dots, intervals, England's line) is drawn on the
    same grid, so each authority's marks sit on its line.
    """

    key: str
    svg: str
    alt: str
    width_mm: float
    height_mm: float
    lines: tuple[BarLine, ...]
    tab_mm: float
    line_mm: float
