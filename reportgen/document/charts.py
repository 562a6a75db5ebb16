"""Draw the profile's charts as small vector SVGs (text stays text, in the shipped font).

Trend charts are matplotlib figures (object API, one reusable figure per process) tidied to a few
dozen SVG elements; spines are six hand-written SVG shapes. Both are cheap for WeasyPrint to draw.

The charts' sizes and neutral colours are the theme's (theme.yaml ``sizes`` and ``neutrals``), the
same table the stylesheet's custom properties come from, so a chart always fits its column.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from reportgen.core.maps import area_of, centroid_of, load_boundaries
from reportgen.document.compose import BarPanel
from reportgen.document.models import (
    BarLine,
    BarPanelImage,
    ChartImage,
    Neutrals,
    SpineChart,
    Theme,
    TrendChart,
    TrendPoint,
)
from reportgen.document.textwidth import FontWidths, face_widths, pad_left, spaces, wrap_name
from reportgen.document.view import SHAPE_POINTS, accent_tint, shape_points, text_colour

MM = 1 / 25.4  # inches per millimetre
# The sizes of the charts are the theme's (theme.yaml ``sizes``); the templates take them from the
# drawn images and the stylesheet from the same table.


def _svg_marker(shape: str, x: float, y: float, r: float, fill: str, stroke: str, width: float) -> str:
    """A marker as one SVG element, in the shape of its result (see :data:`reportgen.document.view.SHAPES`):
    triangles, arrows, circles, a ring (not compared), the quintiles' shapes, or the region's diamond."""
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if shape == "o":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r * 0.85:.2f}" {style}/>'
    if shape == "O":  # not compared: a ring in the result's colour, outlined, with a white centre
        outer = _svg_marker("o", x, y, r, "#FFFFFF", stroke, width)
        return outer + _svg_marker("o", x, y, r * 0.65, "none", fill, r * 0.45)
    return f'<polygon points="{shape_points(shape, x, y, r)}" {style}/>'


def draw_spine(chart: SpineChart, theme: Theme) -> ChartImage:
    """One spine as a tiny hand-written SVG (about six elements): outer range, 25th-75th percentile band,
    England line, region diamond and the area's marker. Units are tenths of a millimetre."""
    width, height = theme.sizes.spine_width, theme.sizes.spine_height
    palette, ink = theme.palette, theme.neutrals.ink
    w, h = width * 10, height * 10
    pad = 2.2 * 10 / 2

    def x(position: float) -> float:
        return pad + position * (w - 2 * pad)

    (left, right), (q1, q3) = chart.outer, chart.inner
    parts = [
        f'<rect x="{x(left):.2f}" y="{h * 0.25:.2f}" width="{x(right) - x(left):.2f}" height="{h * 0.5:.2f}" '
        f'fill="{palette.spine_outer}"/>',
        f'<rect x="{x(q1):.2f}" y="{h * 0.25:.2f}" width="{x(q3) - x(q1):.2f}" height="{h * 0.5:.2f}" '
        f'fill="{palette.spine_inner}"/>',
        f'<rect x="{x(0.5) - 3.5:.2f}" y="{h * 0.04:.2f}" width="7" height="{h * 0.92:.2f}" fill="{palette.england}"/>',
    ]
    if chart.region is not None:
        parts.append(_svg_marker("D", x(chart.region), h / 2, 9.5, "#FFFFFF", palette.region, 3))
    if chart.area is not None:
        parts.append(_svg_marker(chart.marker.shape, x(chart.area), h / 2, 15, chart.marker.colour, ink, 3))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {w:g} {h:g}">' + "".join(parts) + "</svg>"
    )
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _y_ticks(values: list[float]) -> tuple[float, float, list[float]]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 1.0
    # Steps of 1, 2 or 5 (no 2.5): a narrow range gets ticks like 86.5, not 86.25, whose label would
    # reach the axis title.
    locator = MaxNLocator(nbins=4, steps=[1, 2, 5, 10])
    ticks = [t for t in locator.tick_values(low - pad, high + pad) if low - pad <= t <= high + pad]
    return low - pad, high + pad, ticks


@lru_cache(maxsize=8)
def _register_fonts(files: tuple[str, ...]) -> None:
    for path in files:
        font_manager.fontManager.addfont(path)


def _style(theme: Theme) -> dict[RcKeyType, Any]:
    _register_fonts(theme.font_files)
    return {
        "svg.fonttype": "none",  # text stays text, in the shipped font named in the SVG
        "svg.hashsalt": "reportgen",  # deterministic ids
        "font.family": theme.font_family,
        "font.size": theme.sizes.small_text_pt,
        "text.color": theme.neutrals.ink,
        "text.parse_math": False,  # '$' in names is never read as mathematics
        "path.simplify": False,
        "lines.solid_joinstyle": "miter",  # explicit joins: the SVG needs no <style> block
        "lines.dash_joinstyle": "miter",
        "lines.dash_capstyle": "butt",
        "lines.solid_capstyle": "butt",
    }


PT = 72 / 25.4  # points per millimetre


@dataclass(frozen=True)
class TrendFrame:
    """Where the parts of a trend chart go, in millimetres inside its ``width`` x ``height`` figure.

    The plot area keeps fixed margins for the value labels (left), the period labels (below) and the
    legend (above); the legend is centred on the figure.
    """

    width: float
    height: float
    left: float = 12.0  # the value labels and the axis title
    bottom: float = 9.5  # the period labels
    right: float = 2.5
    top: float = 7.0  # the legend

    @property
    def axes(self) -> tuple[float, float, float, float]:
        """The plot area as figure fractions (left, bottom, width, height)."""
        return (self.left / self.width, self.bottom / self.height, self.plot_width / self.width,
                self.plot_height / self.height)  # fmt: skip

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.bottom - self.top

    def x(self, mm_from_centre: float) -> float:
        """A figure fraction across, from millimetres right of the centre (the legend is centred)."""
        return 0.5 + mm_from_centre / self.width

    def y(self, mm_from_top: float) -> float:
        """A figure fraction up, from millimetres below the top edge."""
        return 1 - mm_from_top / self.height


class _TrendCanvas:
    """One reusable matplotlib figure per process and theme: fixed artists whose data change per chart.

    Seven artists carry the data (grid, axis, England line with its markers, area line, confidence
    intervals, area markers); the labels are the only artists made per chart.
    """

    def __init__(self, theme: Theme) -> None:
        frame = self.frame = TrendFrame(theme.sizes.col_right, theme.sizes.trend_height)
        neutrals = theme.neutrals
        self.fig = Figure(figsize=(frame.width * MM, frame.height * MM))
        FigureCanvasSVG(self.fig)
        self.fig.patch.set_visible(False)
        ax = self.ax = self.fig.add_axes(frame.axes)
        ax.set_axis_off()
        ax.patch.set_visible(False)
        self.grid = self._line(color=neutrals.grid, linewidth=0.5, zorder=1)
        self.axis = self._line(color=neutrals.axis, linewidth=0.5, zorder=1.1)
        self.england = self._line(linewidth=1.0, linestyle=(0, (2.9, 2.0)), marker="o", markersize=3.4,
                                  markeredgewidth=0)  # fmt: skip
        self.area = self._line(linewidth=1.1)
        self.ci = self._line(color=neutrals.ink, linewidth=0.6, zorder=2.2)
        self.markers = ax.scatter([], [], s=TREND_MARKER_PT**2, edgecolors=neutrals.ink, linewidths=0.6, zorder=3)
        self.markers.set_joinstyle("miter")
        self.markers.set_clip_on(False)
        self.legend_england = self._legend_line(frame.x(-24), dashed=True)
        self.legend_area = self._legend_line(frame.x(-2), dashed=False)
        self.texts: list[Any] = []

    def _line(self, **style: Any) -> Line2D:
        line = Line2D([], [], **style)
        line.set_clip_on(False)
        self.ax.add_line(line)
        return line

    def _legend_line(self, start: float, dashed: bool) -> Line2D:
        y = self.frame.y(2.1)
        style = {"linestyle": (0, (2.9, 2.0)), "linewidth": 1.0} if dashed else {"linewidth": 1.1}
        line = Line2D([start, start + 6 / self.frame.width], [y, y], transform=self.fig.transFigure, **style)
        self.fig.add_artist(line)
        return line


_CANVASES: dict[tuple[object, ...], _TrendCanvas] = {}


def _trend_canvas(theme: Theme) -> _TrendCanvas:
    """The reusable figure of a theme: one per font, size and neutral colours."""
    key = (theme.font_family, theme.font_files, theme.sizes, theme.neutrals)
    if key not in _CANVASES:
        with mpl.rc_context(_style(theme)):
            _CANVASES[key] = _TrendCanvas(theme)
    return _CANVASES[key]


TREND_MARKER_PT = 6.6  # the area's markers; their shapes read in greyscale
_MARKER_PATHS: dict[str, Path] = {}


def _marker_path(shape: str) -> Path:
    """A marker's unit outline, as ``scatter`` draws it (one path per shape, cached): the results' own
    shapes (:data:`SHAPE_POINTS`, flipped: matplotlib's y runs upwards), circles as matplotlib's."""
    if shape not in _MARKER_PATHS:
        if shape in SHAPE_POINTS:
            points = [(x * 0.5, -y * 0.5) for x, y in SHAPE_POINTS[shape]]
            _MARKER_PATHS[shape] = Path([*points, points[0]], closed=True)
        elif shape == "O":  # not compared: a ring (the outer circle anticlockwise, the hole clockwise)
            _MARKER_PATHS[shape] = _ring(0.5, 0.24)
        else:
            style = MarkerStyle("o")
            _MARKER_PATHS[shape] = style.get_path().transformed(style.get_transform())
    return _MARKER_PATHS[shape]


def _ring(outer: float, inner: float, n: int = 28) -> Path:
    """A ring as one path: a hole cut by winding the inner circle the other way."""
    angles = [2 * math.pi * i / n for i in range(n)]
    out = [(outer * math.cos(a), outer * math.sin(a)) for a in angles]
    hole = [(inner * math.cos(-a), inner * math.sin(-a)) for a in angles]
    vertices = [*out, out[0], *hole, hole[0]]
    codes = [Path.MOVETO, *[Path.LINETO] * (n - 1), Path.CLOSEPOLY] * 2
    return Path(vertices, codes)


def draw_trend(chart: TrendChart, theme: Theme) -> ChartImage:
    """The area's values with confidence intervals, and England's, over the periods, drawn by matplotlib
    (one reusable figure; one artist per series) as a small SVG whose text stays text in the shipped font."""
    canvas = _trend_canvas(theme)
    with mpl.rc_context(_style(theme)):
        _fill_trend(canvas, chart, theme)
        buffer = io.StringIO()
        canvas.fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                           "Type": None}, transparent=True)  # fmt: skip
    frame = canvas.frame
    return ChartImage(chart.key, tidy_svg(buffer.getvalue(), chart.alt), chart.alt, frame.width, frame.height)


#: The area's points of a trend chart: (x, point) for each period with a value.
_Placed = list[tuple[float, TrendPoint]]
NAN = float("nan")


def _fill_trend(canvas: _TrendCanvas, chart: TrendChart, theme: Theme) -> None:
    """Give the canvas's artists one chart's data: scale and grid, England's line, the area's line,
    intervals and markers, then the labels."""
    n = len(chart.points)
    ticks = _fill_scale(canvas, _chart_values(chart), n)
    _fill_england(canvas, chart, theme.palette.trend_england)
    area = [(i + 0.5, p) for i, p in enumerate(chart.points) if p.value is not None]
    _fill_area(canvas, area, theme.palette.accent)
    _trend_labels(canvas, chart, ticks, n)


def _chart_values(chart: TrendChart) -> list[float]:
    """Every number the value axis must show: the area's values and limits, and England's values."""
    return [v for p in chart.points for v in (p.value, p.lower, p.upper, p.england) if v is not None]


def _fill_scale(canvas: _TrendCanvas, values: list[float], n: int) -> list[float]:
    """Set the axes' limits, the gridlines and the axis line; returns the value ticks."""
    low, high, ticks = _y_ticks(values or [0.0, 1.0])
    canvas.ax.set_xlim(0, n)
    canvas.ax.set_ylim(low, high)
    canvas.grid.set_data(_broken((0.0, n) for _ in ticks), _broken((t, t) for t in ticks))
    canvas.axis.set_data([0, n], [low, low])
    return ticks


def _fill_england(canvas: _TrendCanvas, chart: TrendChart, colour: str) -> None:
    """England's dashed line and markers, and its legend line, in the palette's colour."""
    england = [(i + 0.5, p.england) for i, p in enumerate(chart.points) if p.england is not None]
    canvas.england.set_data([x for x, _ in england], [y for _, y in england])
    canvas.england.set_color(colour)
    canvas.legend_england.set_color(colour)


def _fill_area(canvas: _TrendCanvas, area: _Placed, colour: str) -> None:
    """The area's line in the accent colour, its confidence intervals and its comparison markers."""
    canvas.area.set_data([x for x, _ in area], [_number(p.value) for _, p in area])
    canvas.area.set_color(colour)
    canvas.legend_area.set_color(colour)
    limits = [(x, p.lower, p.upper) for x, p in area if p.lower is not None and p.upper is not None]
    canvas.ci.set_data(_broken((x, x) for x, _, _ in limits), _broken((low, up) for _, low, up in limits))
    canvas.markers.set_paths([_marker_path(p.marker.shape) for _, p in area])
    offsets = np.array([(x, _number(p.value)) for x, p in area], dtype=float).reshape(-1, 2)
    canvas.markers.set_offsets(offsets)
    canvas.markers.set_facecolor([_face(p) for _, p in area])


def _face(point: TrendPoint) -> str:
    """A trend marker's fill: its result's colour (a not-compared marker is a ring, see :func:`_ring`)."""
    return point.marker.colour


def _number(value: float | None) -> float:
    """A value of the chart, NaN (not drawn) when missing."""
    return NAN if value is None else value


def _broken(segments: Iterable[tuple[float, float]]) -> list[float]:
    """Coordinates of separate segments in one line: each pair followed by NaN, which breaks the line."""
    return [v for start, end in segments for v in (start, end, NAN)]


def _trend_labels(canvas: _TrendCanvas, chart: TrendChart, ticks: list[float], n: int) -> None:
    for text in canvas.texts:
        text.remove()
    ax, fig, frame = canvas.ax, canvas.fig, canvas.frame
    texts = [ax.text(-1.2 / frame.plot_width, t, _tick(t, ticks), ha="right", va="center",
                     transform=ax.get_yaxis_transform()) for t in ticks]  # fmt: skip
    _, bottom, _, height = frame.axes
    texts.append(fig.text(2.8 / frame.width, bottom + height / 2, chart.axis_label, rotation=90,
                          ha="center", va="center"))  # fmt: skip
    rotate = n * max(len(p.period) for p in chart.points) > 26  # long period labels would touch
    for i, point in enumerate(chart.points):
        texts.append(ax.text(i + 0.5, -1.0 / frame.plot_height, point.period, transform=ax.get_xaxis_transform(),
                             va="top", ha="right" if rotate else "center", rotation=30 if rotate else 0,
                             rotation_mode="anchor"))  # fmt: skip
    y = frame.y(3.0)
    texts.append(fig.text(frame.x(-17), y, _plain(chart.england_name, 14), ha="left", va="baseline"))
    texts.append(fig.text(frame.x(5), y, _plain(chart.area_name, 26), ha="left", va="baseline"))
    canvas.texts = texts


_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_NO_ROTATION = re.compile(r"^rotate\(-?0 [^)]*\)$")


def tidy_svg(svg: str, title: str) -> str:
    """Strip what WeasyPrint does not need from a matplotlib SVG: metadata, the style block, unused ids and
    clip paths, wrapper groups; round coordinates to 0.01 pt; add the alternative text as ``<title>``."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    used = {el.get(_XLINK, "")[1:] for el in root.iter() if el.get(_XLINK)}
    used |= {m.group(1) for el in root.iter() for m in [re.search(r"url\(#([^)]+)\)", el.get("clip-path", ""))] if m}
    _tidy_children(root, used)
    for key in ("width", "height", "viewBox"):
        root.set(key, _round(root.get(key, "")))
    title_el = ET.Element(f"{{{_SVG_NS}}}title")
    title_el.text = title
    root.insert(0, title_el)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def _round(text: str) -> str:
    text = _NUMBER.sub(lambda m: f"{float(m[0]):.2f}".rstrip("0").rstrip("."), text)
    return " ".join(text.split())


_SVG_DEFAULTS = {"stroke-linejoin": "miter", "stroke-dashoffset": "0", "stroke-linecap": "butt"}


def _style_to_attributes(element: ET.Element) -> None:
    """``style="fill: #fff; stroke: #000"`` to presentation attributes, dropping SVG's defaults:
    WeasyPrint reads attributes directly but runs its CSS parser on every style attribute."""
    style = element.attrib.pop("style", None)
    if not style:
        return
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip(), value.strip().strip("'")
        if name and _SVG_DEFAULTS.get(name) != value:
            element.set(name, value)


def _tidy_children(parent: ET.Element, used: set[str]) -> None:
    index = 0
    while index < len(parent):
        child = parent[index]
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("metadata", "style") or (tag == "clipPath" and child.get("id") not in used):
            del parent[index]
            continue
        if child.get("id") not in used:
            child.attrib.pop("id", None)
        for key in ("d", "x", "y", "transform", "points"):
            if key in child.attrib:
                child.set(key, _round(child.attrib[key]))
        _style_to_attributes(child)
        if _NO_ROTATION.match(child.get("transform", "")):
            del child.attrib["transform"]
        child.tail = None
        if len(child):
            child.text = None
        _tidy_children(child, used)
        if (tag == "g" and not child.attrib) or (tag == "defs" and not len(child)):
            parent[index : index + 1] = list(child)  # unwrap attribute-less groups; drop empty ones
            continue
        index += 1


def _tick(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = 0 if step >= 1 else min(3, len(f"{step:.6f}".rstrip("0").split(".")[1]))
    return f"{value:,.{decimals}f}"


def _plain(text: str, limit: int = 40) -> str:
    """Text for matplotlib, shortened with an ellipsis (the full text is in the table beside the chart).

    With ``text.parse_math`` off, '$' in names is never read as mathematics.
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_engine_version() -> str:
    """The matplotlib version, recorded in each profile's provenance."""
    return mpl.__version__


def draw_charts(
    spines: Iterable[SpineChart], trends: Iterable[TrendChart], theme: Theme, bars: Iterable[BarPanel] = ()
) -> dict[str, ChartImage | BarPanelImage]:
    """Draw every chart of a profile; keys are the charts' ``key`` fields."""
    images: dict[str, ChartImage | BarPanelImage] = {}
    for spine in spines:
        images[spine.key] = draw_spine(spine, theme)
    for trend in trends:
        images[trend.key] = draw_trend(trend, theme)
    for panel in bars:
        images[panel.key] = draw_bar_panel(panel, theme)
    return images


# --- compare-areas charts: lines of text over one SVG of marks ---------------------------------

#: Geometry of a compare-areas chart, in millimetres: the line pitch, the tab stop after the names, and
#: the significance column. The chart is as wide as the left column of a domain page (theme.yaml
#: ``sizes.col_left``) and its text is the smallest text (``sizes.small_text_pt``).
BAR_LINE_MM = 2.75
BAR_NAME_TAB_MM = 35.0
BAR_NAME_TAB_MAX_MM = 42.0
BAR_NAME_TAB_MIN_MM = 22.0  # the narrowest name column, when the numbers are very wide
BAR_TRACK_MIN_MM = 24.0  # the narrowest track the name column gives way to
NAME_GAP_MM = 2.2  # at least this much space between a name and its value
BAR_SIG_COLUMN_MM = 10.5
TEXT_WEIGHTS = {"head": 600, "row": 400, "highlight": 700}


def draw_bar_panel(panel: BarPanel, theme: Theme) -> BarPanelImage:
    """A compare-areas chart: each authority's name, value and interval as one line of text, and one
    SVG holding every mark (badges, bars or dots, intervals, England's line) on the same line grid.

    Names longer than the name column wrap onto more lines; numbers are right-aligned with fixed-width
    spaces (the text is set in tabular figures); the marks start just after the widest text.
    """
    widths = {kind: face_widths(theme.font_files, weight) for kind, weight in TEXT_WEIGHTS.items()}
    size, width = theme.sizes.small_text_mm, theme.sizes.col_left
    faces = [widths["highlight" if r.highlight else "row"] for r in panel.rows]
    values = pad_left([r.value for r in panel.rows], faces)
    intervals = [_interval(r.ci) for r in panel.rows]
    lowers = pad_left([lower for lower, _ in intervals], faces)
    kinds = ["highlight" if r.highlight else "row" for r in panel.rows]
    numbers = [
        f"{value}  {lower} to {upper}" if upper else f"{value}  {r.ci}".rstrip()
        for r, value, lower, (_, upper) in zip(panel.rows, values, lowers, intervals, strict=True)
    ]
    value_width = faces[0].width(values[0], size) if values else 0.0
    head = _bar_head(widths["head"], value_width, panel.headings, size)
    after = max(
        [widths["head"].width(head.numbers, size)]
        + [face.width(n, size) for face, n in zip(faces, numbers, strict=True)]
    )
    tab = _name_tab(panel, widths, after, theme)
    lines: list[BarLine] = [head]
    spans: list[tuple[int, int]] = []  # first line and line count of each authority
    for row, kind, text in zip(panel.rows, kinds, numbers, strict=True):
        names = wrap_name(row.name, tab - NAME_GAP_MM, widths[kind], size)
        spans.append((len(lines), len(names)))
        lines.append(BarLine(names[0], text, kind))
        lines.extend(BarLine(more, "", kind) for more in names[1:])
    svg, height = _bar_marks(panel, theme, spans, len(lines), tab + after + 1.5)
    return BarPanelImage(panel.key, svg, panel.alt, width, height, tuple(lines), tab, BAR_LINE_MM)


def _name_tab(panel: BarPanel, widths: dict[str, FontWidths], after: float, theme: Theme) -> float:
    """Where the numbers start: after the widest name, between the usual and the widest name column
    (longer names wrap), so most regions keep long bars and long names rarely wrap. Very wide numbers
    (``after``, their text's width) narrow the name column, down to :data:`BAR_NAME_TAB_MIN_MM`, so
    the bars keep at least :data:`BAR_TRACK_MIN_MM`."""
    size = theme.sizes.small_text_mm
    widest = max((widths["highlight" if r.highlight else "row"].width(r.name, size) for r in panel.rows), default=0)
    tab = min(max(widest + NAME_GAP_MM, BAR_NAME_TAB_MM), BAR_NAME_TAB_MAX_MM)
    room = theme.sizes.col_left - BAR_TRACK_MIN_MM - BAR_SIG_COLUMN_MM - 3.5 - after  # the gaps of _bar_marks
    return math.floor(10 * max(min(tab, room), BAR_NAME_TAB_MIN_MM)) / 10


def _interval(text: str) -> tuple[str, str]:
    lower, sep, upper = text.partition(" to ")
    return (lower, upper) if sep else (text, "")


def _bar_head(widths: FontWidths, value_width: float, headings: tuple[str, ...], size: float) -> BarLine:
    """Column titles: the value's title right-aligned over the values, then the interval's title."""
    authority, title, interval = headings[:3]
    fill = spaces((value_width - widths.width(title, size)) / size, widths)
    return BarLine(authority, f"{fill}{title}  {interval}", "head")


def _bar_marks(
    panel: BarPanel, theme: Theme, spans: list[tuple[int, int]], n_lines: int, text_end: float
) -> tuple[str, float]:
    """The SVG of a compare-areas chart's marks, in millimetres, on the text's line grid."""
    palette, neutrals, line = theme.palette, theme.neutrals, BAR_LINE_MM
    width, height = theme.sizes.col_left, round(n_lines * line, 2)
    sig_x = text_end + BAR_SIG_COLUMN_MM / 2
    left, right = text_end + BAR_SIG_COLUMN_MM + 1.0, width - 1.0

    def x(percent: float) -> float:
        return left + (right - left) * percent / 100

    badges, shapes, glyphs, dots = _PathGroups(), _PathGroups(), _PathGroups(), _PathGroups()
    rules, whiskers = [f"M0 {line:.2f}H{width:g}"], list[str]()
    band = ""
    for row, (first, count) in zip(panel.rows, spans, strict=True):
        top, cy = first * line, first * line + line / 2
        rules.append(f"M0 {(first + count) * line:.2f}H{width:g}")
        if row.highlight:
            band = _rect(0, top, width, count * line, accent_tint(theme))
        marker, colour = row.result.marker(theme), row.result.colour(theme)
        badges.add(("badge", colour), f"M{sig_x - 1.4:.2f} {cy - 1.15:.2f}h2.8v2.3h-2.8Z")
        glyph = row.result.shape
        if glyph in ("O", "o"):  # a filled or hollow circle: a round dot (see _PathGroups)
            dots.add(("glyph", text_colour(colour), colour if glyph == "O" else ""), f"M{sig_x:.2f} {cy:.2f}h0")
        else:  # drawn over every badge, so no badge of a later colour hides it
            glyphs.add(("glyph", text_colour(colour), glyph), _shape_path(glyph, sig_x, cy, 0.72))
        if row.x is None:
            continue
        if panel.dots:
            dots.add(("dot", marker.colour, neutrals.ink), f"M{x(row.x):.2f} {cy:.2f}h0")
        else:
            start, end = x(row.start), x(row.x)
            shapes.add(("bar", marker.colour), f"M{start:.2f} {cy - 0.95:.2f}H{end:.2f}V{cy + 0.95:.2f}H{start:.2f}Z")
        if row.lower is not None and row.upper is not None:
            a, b = x(row.lower), x(row.upper)
            whiskers.append(_whisker(a, b, cy, 0.45))
    parts = [band, _stroke("".join(rules[1:]), neutrals.chart_rule, 0.09), _stroke(rules[0], neutrals.ink, 0.21)]
    if panel.england is not None:
        ex = x(panel.england)
        parts.append(_stroke(f"M{ex:.2f} {line:.2f}V{height:.2f}", palette.england, 0.32))
    parts += badges.svg(neutrals) + shapes.svg(neutrals) + _round_dots(dots) + glyphs.svg(neutrals)
    if whiskers:
        parts.append(_stroke("".join(whiskers), neutrals.ink, 0.18))
    parts += _bar_labels(theme, sig_x, left, right, panel)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{height:g}mm" '
        f'viewBox="0 0 {width:g} {height:g}">' + "".join(p for p in parts if p) + "</svg>"
    )
    return svg, height


def _bar_labels(theme: Theme, sig_x: float, left: float, right: float, panel: BarPanel) -> list[str]:
    """The title over the significance column and the ends of the axis, on the first line."""
    base, size, ink, muted = BAR_LINE_MM * 0.78, theme.sizes.small_text_mm, theme.neutrals.ink, theme.neutrals.muted
    font = f'font-family="{escape(theme.font_family)}" font-size="{size + 0.005:.3f}" y="{base:.2f}"'
    versus = escape(panel.headings[3])
    return [
        f'<text x="{sig_x:.2f}" text-anchor="middle" font-weight="600" fill="{ink}" {font}>{versus}</text>',
        f'<text x="{left:.2f}" fill="{muted}" {font}>{escape(panel.axis_low)}</text>',
        f'<text x="{right:.2f}" text-anchor="end" fill="{muted}" {font}>{escape(panel.axis_high)}</text>',
    ]


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    return f'<rect x="{x:g}" y="{y:.2f}" width="{width:g}" height="{height:.2f}" fill="{fill}"/>'


def _stroke(d: str, colour: str, width: float) -> str:
    return f'<path d="{d}" stroke="{colour}" stroke-width="{width:g}" fill="none"/>'


def _whisker(a: float, b: float, y: float, half: float) -> str:
    """A confidence interval: a line from ``a`` to ``b`` with end ticks."""
    return f"M{a:.2f} {y - half:.2f}V{y + half:.2f}M{a:.2f} {y:.2f}H{b:.2f}M{b:.2f} {y - half:.2f}V{y + half:.2f}"


class _PathGroups:
    """Shapes of one style joined into one SVG path each, so a chart of 30 authorities stays a few elements."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str, ...], list[str]] = {}

    def add(self, style: tuple[str, ...], d: str) -> None:
        self.paths.setdefault(style, []).append(d)

    def svg(self, neutrals: Neutrals) -> list[str]:
        out = []
        for style, ds in self.paths.items():
            kind, colour = style[0], style[1]
            d = "".join(ds)
            if kind == "badge":
                out.append(f'<path d="{d}" fill="{colour}" stroke="{neutrals.badge_border}" stroke-width="0.1"/>')
            elif kind == "glyph" and not style[2]:
                out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="0.15"/>')
            elif kind == "glyph":
                out.append(f'<path d="{d}" fill="{colour}"/>')
            else:
                out.append(f'<path d="{d}" fill="{colour}" stroke="{neutrals.ink}" stroke-width="0.12"/>')
        return out


#: Diameters (mm) of the round marks: (outline, fill) of a dot on the track, and of a badge's circle.
DOT_MM = (1.88, 1.64)
GLYPH_DOT_MM = (1.3, 1.0)


def _round_dots(groups: _PathGroups) -> list[str]:
    """Circles as zero-length lines with round caps: three numbers each, where an arc takes sixteen,
    which keeps the SVG quick to parse. A dot is an outline colour under a fill colour (a hollow
    badge circle: the badge's colour inside); a filled badge circle has one colour."""
    out = []
    for (kind, colour, inner), ds in groups.paths.items():
        outer, fill = DOT_MM if kind == "dot" else GLYPH_DOT_MM
        d = "".join(ds)
        if kind == "dot" or inner:
            out.append(_dot_path(d, inner if kind == "dot" else colour, outer))
            out.append(_dot_path(d, colour if kind == "dot" else inner, fill))
        else:
            out.append(_dot_path(d, colour, outer))
    return out


def _dot_path(d: str, colour: str, diameter: float) -> str:
    return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{diameter:g}" stroke-linecap="round"/>'


def _shape_path(shape: str, x: float, y: float, r: float) -> str:
    """A marker shape as path data (any of :data:`SHAPE_POINTS`: triangles, arrows, the quintiles' shapes)."""
    return "M" + "L".join(f"{x + dx * r:.2f} {y + dy * r:.2f}" for dx, dy in SHAPE_POINTS[shape]) + "Z"


# --- the population pyramid -------------------------------------------------------------------------


@dataclass(frozen=True)
class PyramidChart:
    """A population pyramid: the area's bars and England's outline, by age band (youngest first).

    Values are percentages of each population's total; ``left`` is drawn to the left of the age labels.
    """

    key: str
    alt: str
    bands: tuple[str, ...]  # the labels printed between the halves
    area: tuple[tuple[float, ...], tuple[float, ...]]  # (left, right) values
    england: tuple[tuple[float, ...], tuple[float, ...]]
    headings: tuple[str, str]  # over the left and the right half (the sexes)
    area_name: str
    england_name: str
    axis_label: str  # under the axis: what the numbers are


#: Geometry of the pyramid, in millimetres: the band pitch and bar thickness, the gutter for the age
#: labels between the halves, and the rows above (legend, headings) and below (ticks, axis title).
PYRAMID_PITCH_MM = 2.55
PYRAMID_BAR_MM = 2.05
PYRAMID_GUTTER_MM = 10.5
PYRAMID_TOP_MM = 9.0
PYRAMID_BOTTOM_MM = 8.0
PYRAMID_WIDTH_MM = 96.0


def _pyramid_scale(chart: PyramidChart) -> tuple[float, float]:
    """The axis's end and tick step (percent): at most 5 steps a side, ending on a tick."""
    largest = max(max(side) for pair in (chart.area, chart.england) for side in pair)
    step = next((s for s in (0.5, 1.0, 2.0, 2.5, 5.0, 10.0) if largest / s <= 5), 20.0)
    return max(step, math.ceil(largest / step - 1e-9) * step), step


def _tint(colour: str, share: float) -> str:
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def draw_pyramid(chart: PyramidChart, theme: Theme) -> ChartImage:
    """A population pyramid as a small hand-written SVG (millimetre units): the area's bars either side of
    the age labels, England's shares as a dark stepped outline over them (bars and outline read apart
    in greyscale: a mid-tone fill against a dark line), ticks, headings and a one-line key."""
    width, size = PYRAMID_WIDTH_MM, theme.sizes.small_text_mm
    n, pitch = len(chart.bands), PYRAMID_PITCH_MM
    top, height = PYRAMID_TOP_MM, PYRAMID_TOP_MM + n * PYRAMID_PITCH_MM + PYRAMID_BOTTOM_MM
    ink, muted, grid = theme.neutrals.ink, theme.neutrals.muted, theme.neutrals.grid
    centre, half = width / 2, (width - PYRAMID_GUTTER_MM) / 2 - 1.0
    end, step = _pyramid_scale(chart)

    def x(side: int, value: float) -> float:
        """Millimetres across of a value on the left (0) or right (1) half."""
        offset = PYRAMID_GUTTER_MM / 2 + half * value / end
        return centre - offset if side == 0 else centre + offset

    def y(band: int) -> float:
        """The top of a band's row: the oldest band on top."""
        return top + (n - 1 - band) * pitch

    font = f'font-family="{escape(theme.font_family)}" font-size="{size:.3f}"'
    ticks = [i * step for i in range(int(round(end / step)) + 1)]
    bottom = top + n * pitch
    grid_d = "".join(f"M{x(s, t):.2f} {top:.2f}V{bottom:.2f}" for s in (0, 1) for t in ticks[1:])
    parts = [_stroke(grid_d, grid, 0.15)]
    bars = []
    for side in (0, 1):
        for band, value in enumerate(chart.area[side]):
            a, b = sorted((x(side, 0), x(side, value)))
            gap = (pitch - PYRAMID_BAR_MM) / 2
            bars.append(f'<rect x="{a:.2f}" y="{y(band) + gap:.2f}" width="{b - a:.2f}" height="{PYRAMID_BAR_MM:g}"/>')
    parts.append(f'<g class="area-bars" fill="{_tint(theme.palette.accent, 0.5)}">' + "".join(bars) + "</g>")
    outline = []
    for side in (0, 1):
        values = chart.england[side]
        d = f"M{x(side, 0):.2f} {bottom:.2f}"
        for band, value in enumerate(values):
            d += f"H{x(side, value):.2f}V{y(band):.2f}"
        outline.append(d + f"H{x(side, 0):.2f}")
    parts.append(
        f'<path class="england-outline" d="{"".join(outline)}" fill="none" stroke="{ink}" stroke-width="0.32" '
        'stroke-linejoin="miter"/>'
    )
    axis_d = "".join(f"M{x(s, 0):.2f} {bottom:.2f}H{x(s, end):.2f}" for s in (0, 1))
    axis_d += "".join(f"M{x(s, t):.2f} {bottom:.2f}v0.8" for s in (0, 1) for t in ticks)
    parts.append(_stroke(axis_d, theme.neutrals.axis, 0.2))
    base = size * 0.35  # from a row's middle to the text's baseline
    labels = [
        f'<text x="{centre:.2f}" y="{y(band) + pitch / 2 + base:.2f}" text-anchor="middle">{escape(label)}</text>'
        for band, label in enumerate(chart.bands)
    ]
    labels += [
        f'<text x="{x(s, t):.2f}" y="{bottom + 0.8 + size:.2f}" text-anchor="middle">{_tick(t, ticks)}</text>'
        for s in (0, 1)
        for t in ticks
    ]
    parts.append(f'<g {font} fill="{ink}">' + "".join(labels) + "</g>")
    heads = [
        f'<text x="{x(0, end):.2f}" y="{top - 1.0:.2f}" font-weight="600">{escape(chart.headings[0])}</text>',
        f'<text x="{x(1, end):.2f}" y="{top - 1.0:.2f}" text-anchor="end" font-weight="600">'
        f"{escape(chart.headings[1])}</text>",
        f'<text x="{centre:.2f}" y="{height - 0.6:.2f}" text-anchor="middle" fill="{muted}">'
        f"{escape(chart.axis_label)}</text>",
    ]
    parts.append(f'<g {font} fill="{ink}">' + "".join(heads) + "</g>")
    parts.append(_pyramid_key(chart, theme, font, size))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{height:g}mm" '
        f'viewBox="0 0 {width:g} {height:g}"><title>{escape(chart.alt)}</title>' + "".join(parts) + "</svg>"
    )
    return ChartImage(chart.key, svg, chart.alt, width, round(height, 2))


def _pyramid_key(chart: PyramidChart, theme: Theme, font: str, size: float) -> str:
    """The key on the first line, centred: a bar swatch for the area and a stepped line for England."""
    widths = face_widths(theme.font_files, 400)
    area, england = _plain(chart.area_name, 40), _plain(chart.england_name, 20)
    total = 5 + 1.2 + widths.width(area, size) + 5 + 5 + 1.2 + widths.width(england, size)
    left = (PYRAMID_WIDTH_MM - total) / 2
    baseline = size * 0.9
    mid = baseline - size * 0.35
    swatch = (
        f'<rect x="{left:.2f}" y="{mid - 1.0:.2f}" width="5" height="2" fill="{_tint(theme.palette.accent, 0.5)}"/>'
    )
    text_x = left + 6.2
    line_x = text_x + widths.width(area, size) + 5
    step = (
        f'<path d="M{line_x:.2f} {mid + 1.0:.2f}H{line_x + 2.5:.2f}V{mid - 1.0:.2f}H{line_x + 5:.2f}" fill="none" '
        f'stroke="{theme.neutrals.ink}" stroke-width="0.32"/>'
    )
    texts = (
        f'<g {font} fill="{theme.neutrals.ink}"><text x="{text_x:.2f}" y="{baseline:.2f}">{escape(area)}</text>'
        f'<text x="{line_x + 6.2:.2f}" y="{baseline:.2f}">{escape(england)}</text></g>'
    )
    return swatch + step + texts


# --------------------------------------------------------------------------- the locator map (page 1)
LOCATOR_WIDTH_MM = 40.0
#: Authorities smaller than this (km²) are hard to see at print size: a ring marks them.
LOCATOR_SMALL_KM2 = 150.0
LOCATOR_UNIT_MM = 0.1  # path coordinates are whole tenths of a millimetre
LOCATOR_TOLERANCE_UNITS = 1.2  # line simplification (Douglas-Peucker), in those units
LOCATOR_PAD_UNITS = 22  # room for the ring round the Isles of Scilly, at the corner


@dataclass(frozen=True)
class LocatorMap:
    """What the page-1 locator map shows: the area (filled) and its region (outlined)."""

    key: str
    alt: str
    area_code: str
    region_code: str


@dataclass(frozen=True)
class _MapGeometry:
    """England's projected geometry, ready to write: each authority's and region's path data, its
    size (km²) and centre, in tenths of a millimetre, y downwards."""

    width: int
    height: int
    authorities: dict[str, str]
    regions: dict[str, str]
    km2: dict[str, float]
    centres: dict[str, tuple[float, float]]


def _simplify(points: list[tuple[int, int]], tolerance: float) -> list[tuple[int, int]]:
    """Douglas-Peucker on a closed ring (first point == last point kept)."""
    if len(points) < 4:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    # split at the point farthest from the first so that the closed ring has two open halves
    far = max(range(len(points)), key=lambda i: (points[i][0] - points[0][0]) ** 2 + (points[i][1] - points[0][1]) ** 2)
    keep[far] = True
    stack = [(0, far), (far, len(points) - 1)]
    while stack:
        start, end = stack.pop()
        (x0, y0), (x1, y1) = points[start], points[end]
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        best, index = 0.0, -1
        for i in range(start + 1, end):
            px, py = points[i]
            d = abs(dx * (py - y0) - dy * (px - x0)) / length if length else math.hypot(px - x0, py - y0)
            if d > best:
                best, index = d, i
        if index >= 0 and best > tolerance:
            keep[index] = True
            stack.extend(((start, index), (index, end)))
    return [p for p, k in zip(points, keep, strict=True) if k]


def _ring_path(ring: Iterable[tuple[float, float]], project: Any) -> str:
    """One ring as compact relative SVG path data; '' when it shrinks to less than a triangle."""
    points: list[tuple[int, int]] = []
    for x, y in ring:
        point = project(x, y)
        if not points or point != points[-1]:
            points.append(point)
    points = _simplify(points, LOCATOR_TOLERANCE_UNITS)
    if len(points) < 4:
        return ""
    out = [f"M{points[0][0]} {points[0][1]}"]
    steps = []
    for (ax, ay), (bx, by) in zip(points, points[1:-1], strict=False):
        steps.append(f"{bx - ax} {by - ay}".replace(" -", "-"))
    out.append("l" + " ".join(steps).replace(" -", "-") + "z")
    return "".join(out)


@lru_cache(maxsize=1)
def _map_geometry() -> _MapGeometry:
    """The shipped boundaries, projected and simplified once per process (every profile shares them)."""
    boundaries = load_boundaries()
    west, south, east, north = boundaries.bounds
    pad = LOCATOR_PAD_UNITS
    scale = (LOCATOR_WIDTH_MM / LOCATOR_UNIT_MM - 2 * pad) / (east - west)
    width = round((east - west) * scale) + 2 * pad
    height = round((north - south) * scale) + 2 * pad

    def project(x: float, y: float) -> tuple[int, int]:
        return round(pad + (x - west) * scale), round(pad + (north - y) * scale)

    def path(rings: Iterable[Iterable[tuple[float, float]]]) -> str:
        return "".join(_ring_path(ring, project) for ring in rings)

    km2, centres = {}, {}
    for code, rings in boundaries.authorities.items():
        km2[code] = area_of(rings) / 1e6
        cx, cy = centroid_of(rings)
        centres[code] = (pad + (cx - west) * scale, pad + (north - cy) * scale)
    return _MapGeometry(
        width=width,
        height=height,
        authorities={code: path(rings) for code, rings in boundaries.authorities.items()},
        regions={code: path(rings) for code, rings in boundaries.regions.items()},
        km2=km2,
        centres=centres,
    )


def has_locator_map(code: str) -> bool:
    """Whether ``code`` is a current authority with a boundary to draw."""
    return code in _map_geometry().authorities


def draw_locator_map(chart: LocatorMap, theme: Theme) -> ChartImage:
    """England's authorities in a light neutral fill, region boundaries as thin lines, the area's region
    outlined in ink and the area filled in the accent colour; an area too small to see at print size
    gets a ring around its centre. Five SVG elements at most (four paths and a ring), whatever the area."""
    geometry = _map_geometry()
    neutrals, accent = theme.neutrals, theme.palette.accent
    others = "".join(d for code, d in geometry.authorities.items() if code != chart.area_code)
    regions = "".join(d for code, d in geometry.regions.items() if code != chart.region_code)
    parts = [
        f'<path d="{others}" fill="{neutrals.banner}" stroke="{neutrals.table_rule}" stroke-width="1.2" '
        'stroke-linejoin="round"/>',
        f'<path d="{regions}" fill="none" stroke="{neutrals.axis}" stroke-width="2.2" stroke-linejoin="round"/>',
    ]
    area = geometry.authorities.get(chart.area_code, "")
    if area:
        parts.append(f'<path class="area" d="{area}" fill="{accent}" stroke="{accent}" stroke-width="0.8"/>')
    region = geometry.regions.get(chart.region_code, "")
    if region:
        parts.append(
            f'<path class="region" d="{region}" fill="none" stroke="{neutrals.ink}" stroke-width="5" '
            'stroke-linejoin="round"/>'
        )
    if geometry.km2.get(chart.area_code, math.inf) < LOCATOR_SMALL_KM2:
        cx, cy = geometry.centres[chart.area_code]
        ring = f'cx="{cx:.1f}" cy="{cy:.1f}" r="19" fill="none" stroke="{neutrals.ink}" stroke-width="4.5"'
        dot = f'cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{accent}" stroke="#FFFFFF" stroke-width="2.5"'
        parts.append(f'<circle class="marker" {ring}/><circle {dot}/>')
    width_mm = geometry.width * LOCATOR_UNIT_MM
    height_mm = geometry.height * LOCATOR_UNIT_MM
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm:g}mm" height="{height_mm:g}mm" '
        f'viewBox="0 0 {geometry.width} {geometry.height}">' + "".join(parts) + "</svg>"
    )
    return ChartImage(chart.key, svg, chart.alt, width_mm, height_mm)
