"""The view model between the statistics and every renderer.

A :class:`Comparison` is one Fingertips comparison result typed once: its kind (better, worse,
similar, higher, lower, quintile, not compared), significance level and quintile. It knows its
exact Fingertips label (for data outputs), its wording key (display text lives in the layouts'
``wording.yaml``) and its palette colour. Nothing downstream matches label prefixes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import RenderError
from reportgen.core.yamlsafe import load_yaml_file
from reportgen.document.models import BarLine, Marker, Theme
from reportgen.document.theme import layout_file
from reportgen.stats.compare import (
    BOB_LABELS,
    NOT_COMPARED,
    QUINTILE_LABELS_BOB,
    QUINTILE_LABELS_RAG,
    RAG_LABELS,
    SIMILAR,
)
from reportgen.stats.trend import CANNOT, NO_CHANGE

JUDGED_POLARITIES = ("high_is_good", "low_is_good")
#: Marker shape of each result kind: triangles up or down (better or higher, worse or lower; an arrow
#: when significant at the 99.8% level too), a filled circle for similar, a hollow circle for not
#: compared, and one shape per quintile. Every result that can appear in one chart has its own shape,
#: so charts read in greyscale.
SHAPES = {"better": "^", "higher": "^", "worse": "v", "lower": "v", "similar": "o", "not_compared": "O"}
STRONG_SHAPES = {"better": "A", "higher": "A", "worse": "V", "lower": "V"}
QUINTILE_SHAPES = ("s", "P", "X", "*", "H")  # quintile 1 (best or lowest) to 5 (worst or highest)
#: Text glyphs of the shapes, for text-only outputs (the badges draw the shapes themselves).
GLYPHS = {"^": "▲", "v": "▼", "A": "⬆", "V": "⬇", "o": "●", "O": "○", "s": "■", "P": "✚", "X": "✖", "*": "★", "H": "⧗"}


def _star(points: int = 5, inner: float = 0.45) -> tuple[tuple[float, float], ...]:
    out = []
    for i in range(2 * points):
        radius = 1.0 if i % 2 == 0 else inner
        angle = math.pi * i / points
        out.append((round(radius * math.sin(angle), 3), round(-radius * math.cos(angle) + 0.08, 3)))
    return tuple(out)


def _rotated(points: tuple[tuple[float, float], ...], degrees: float) -> tuple[tuple[float, float], ...]:
    a = math.radians(degrees)
    return tuple(
        (round(x * math.cos(a) - y * math.sin(a), 3), round(x * math.sin(a) + y * math.cos(a), 3)) for x, y in points
    )


_PLUS = ((-0.34, -1.0), (0.34, -1.0), (0.34, -0.34), (1.0, -0.34), (1.0, 0.34), (0.34, 0.34),
         (0.34, 1.0), (-0.34, 1.0), (-0.34, 0.34), (-1.0, 0.34), (-1.0, -0.34), (-0.34, -0.34))  # fmt: skip
#: Marker outlines on a unit radius, y downwards (SVG): every shape but the circles.
SHAPE_POINTS: dict[str, tuple[tuple[float, float], ...]] = {
    "^": ((0, -1.05), (1.0, 0.75), (-1.0, 0.75)),
    "v": ((0, 1.05), (1.0, -0.75), (-1.0, -0.75)),
    "A": ((0, -1.1), (1.0, 0.05), (0.4, 0.05), (0.4, 1.0), (-0.4, 1.0), (-0.4, 0.05), (-1.0, 0.05)),
    "V": ((0, 1.1), (1.0, -0.05), (0.4, -0.05), (0.4, -1.0), (-0.4, -1.0), (-0.4, -0.05), (-1.0, -0.05)),
    "s": ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)),
    "D": ((0, -1), (1, 0), (0, 1), (-1, 0)),
    "P": _PLUS,
    "X": _rotated(_PLUS, 45),
    "*": _star(),
    "H": ((-0.85, -0.95), (0.85, -0.95), (0.12, 0), (0.85, 0.95), (-0.85, 0.95), (-0.12, 0)),
}
BUCKETS = ("better", "similar", "worse", "not_compared")
_LEVEL_KEYS = {"99.8%": "998", "95%": "95", "": ""}
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")


@dataclass(frozen=True)
class Comparison:
    """One comparison result: what it is, how it is labelled in data and shown in the document."""

    label: str  # Fingertips' exact label, e.g. 'Better 95%', 'Worst quintile'
    kind: str  # better, worse, similar, higher, lower, quintile, not_compared
    level: str = ""  # '95%', '99.8%' or '' (one level)
    quintile: int = 0  # 1..5 from best (judged) or lowest (unjudged); 0 when not a quintile
    judged: bool = True  # quintiles: a better/worse judgement applies (purple) or not (blue)

    @property
    def key(self) -> str:
        """Wording key: better_998, similar, quintile_judged_1, not_compared ..."""
        if self.kind == "quintile":
            return f"quintile_{'judged' if self.judged else 'unjudged'}_{self.quintile}"
        level = _LEVEL_KEYS[self.level]
        return f"{self.kind}_{level}" if level else self.kind

    @property
    def shape(self) -> str:
        """Greyscale-safe marker (see :data:`SHAPES`): each result of one comparison method has its own."""
        if self.kind == "quintile":
            return QUINTILE_SHAPES[self.quintile - 1]
        if self.level == "99.8%":
            return STRONG_SHAPES[self.kind]
        return SHAPES.get(self.kind, "O")

    @property
    def word_key(self) -> str:
        """Wording key of the plain word without the confidence level: ``better`` for 'Better 99.8%'."""
        return self.kind if self.level else self.key

    @property
    def level_key(self) -> str:
        """``95``, ``998`` or '' (one level): which confidence qualifier a two-level result carries."""
        return _LEVEL_KEYS[self.level]

    @property
    def glyph(self) -> str:
        return GLYPHS[self.shape]

    @property
    def strength(self) -> bool:
        """Significantly better than the benchmark, or in the best quintile."""
        return self.kind == "better" or (self.kind == "quintile" and self.judged and self.quintile == 1)

    @property
    def to_develop(self) -> bool:
        """Significantly worse than the benchmark, or in the worst quintile."""
        return self.kind == "worse" or (self.kind == "quintile" and self.judged and self.quintile == 5)

    @property
    def bucket(self) -> str:
        """Page-1 count column; strengths count as better and areas to develop as worse, so both agree."""
        if self.strength:
            return "better"
        if self.to_develop:
            return "worse"
        return "similar" if self.kind == "similar" else "not_compared"

    @property
    def strong(self) -> bool:
        """At the 99.8% level (listed first among key messages)."""
        return self.level == "99.8%"

    def colour(self, theme: Theme) -> str:
        palette = theme.palette
        if self.kind == "quintile":
            colours = palette.quintiles_judged if self.judged else palette.quintiles_unjudged
            return colours[self.quintile - 1]
        return palette.comparison.get(self.label, palette.comparison[NOT_COMPARED])

    def marker(self, theme: Theme) -> Marker:
        return Marker(self.label, self.colour(theme), self.shape)


def comparison(label: object, polarity: str = "high_is_good") -> Comparison:
    """Type a Fingertips comparison label (from the benchmark table) once."""
    text = NOT_COMPARED if label is None or not isinstance(label, str) else label
    judged = polarity in JUDGED_POLARITIES
    if text in QUINTILE_LABELS_RAG and (judged or text not in QUINTILE_LABELS_BOB):
        return Comparison(text, "quintile", quintile=QUINTILE_LABELS_RAG.index(text) + 1, judged=True)
    if text in QUINTILE_LABELS_BOB:
        return Comparison(text, "quintile", quintile=QUINTILE_LABELS_BOB.index(text) + 1, judged=False)
    if text == SIMILAR:
        return Comparison(text, "similar")
    word, _, level = text.partition(" ")
    if word.lower() in ("better", "worse", "higher", "lower") and level in _LEVEL_KEYS:
        return Comparison(text, word.lower(), level)
    return Comparison(NOT_COMPARED, "not_compared")


NOT_COMPARED_RESULT = Comparison(NOT_COMPARED, "not_compared")
#: Every result a comparison can produce, by wording key (for legends).
RESULTS_BY_KEY = {
    r.key: r
    for r in (
        *(comparison(label) for label in (*RAG_LABELS, *BOB_LABELS)),
        *(Comparison(label, "quintile", quintile=i + 1, judged=True) for i, label in enumerate(QUINTILE_LABELS_RAG)),
        *(Comparison(label, "quintile", quintile=i + 1, judged=False) for i, label in enumerate(QUINTILE_LABELS_BOB)),
        NOT_COMPARED_RESULT,
    )
}


# --------------------------------------------------------------------------- wording

WORDING_FILE = "wording.yaml"
#: Fingertips' recent-trend labels (from the benchmark table) and their wording keys.
TREND_KEYS = {
    "Increasing and getting better": "increasing_better",
    "Increasing and getting worse": "increasing_worse",
    "Decreasing and getting better": "decreasing_better",
    "Decreasing and getting worse": "decreasing_worse",
    "Increasing": "increasing",
    "Decreasing": "decreasing",
    NO_CHANGE: "no_change",
    CANNOT: "cannot",
}
#: The trends that are a statistically significant change (page 1's notable trends).
SIGNIFICANT_TRENDS = frozenset(label for label, key in TREND_KEYS.items() if key not in ("no_change", "cannot"))


#: Wording keys of the confidence levels (``scheme`` qualifiers, ``phrases`` in sentences) and of verdicts.
_QUALIFIERS = {"95": "qualifier_95", "998": "qualifier_998"}
_LEVEL_PHRASES = {"95": "level_95", "998": "level_998"}
_VERDICT_LEVELS = {"95": "verdict_level_95", "998": "verdict_level_998"}
_VERDICTS = {
    "better": "verdict_better",
    "worse": "verdict_worse",
    "higher": "verdict_higher",
    "lower": "verdict_lower",
    "similar": "verdict_similar",
    "not_compared": "verdict_not_compared",
}


def slots(text: str) -> list[str]:
    """The ``{slot}`` names of a wording text, in order of appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


@dataclass(frozen=True)
class Wording:
    """Display wording from the layouts' ``wording.yaml`` (a council's file overrides single keys).

    ``origins`` names the file each ``section.key`` text came from, for error messages.
    """

    sections: Mapping[str, Mapping[str, str]]
    path: str
    origins: Mapping[str, str] = field(default_factory=dict)

    def text(self, section: str, key: str, **values: object) -> str:
        """One piece of wording with ``{slots}`` filled in (only known names; no attribute access)."""
        try:
            template = self.sections[section][key]
        except KeyError:
            raise RenderError(f"{self.path}: wording {section}.{key} is missing; add it to {WORDING_FILE}.") from None

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                where = self.origins.get(f"{section}.{key}", self.path)
                raise RenderError(
                    f"{where}: wording {section}.{key} uses {{{name}}}; "
                    f"available: {', '.join('{' + v + '}' for v in values) or 'none'}."
                )
            return str(values[name])

        return _PLACEHOLDER.sub(fill, template)

    def label(self, result: Comparison) -> str:
        """The display label: the plain word, with the confidence level where the comparison has two."""
        return self.text("labels", result.key)

    def short(self, result: Comparison) -> str:
        return self.text("short_labels", result.key)

    def word(self, result: Comparison) -> str:
        """The plain word alone (``Better`` for 'Better 99.8%')."""
        return self.text("labels", result.word_key)

    def qualifier(self, result: Comparison) -> str:
        """The confidence qualifier of a two-level result (``(99.8%)``), else empty."""
        return self.text("scheme", _QUALIFIERS[result.level_key]) if result.level_key else ""

    def phrase(self, result: Comparison, benchmark: str, value: str) -> str:
        """``significantly better than England (67.1%)``, ``significantly worse than England (66.9%; 95%
        confidence)``, ``in the best quintile of authorities (...)``."""
        if result.kind == "quintile":
            return self.text(
                "phrases", "quintile", quintile=self.label(result).lower(), benchmark=benchmark, value=value
            )
        level = self.text("phrases", _LEVEL_PHRASES[result.level_key]) if result.level_key else ""
        return self.text("phrases", result.kind, benchmark=benchmark, value=value, level=level)

    def verdict(self, result: Comparison) -> str:
        """A result as the end of a sentence without a value: ``significantly worse (95% confidence)``."""
        if result.kind == "quintile":
            return self.text("phrases", "region_quintile", quintile=self.label(result).lower())
        level = self.text("phrases", _VERDICT_LEVELS[result.level_key]) if result.level_key else ""
        return self.text("phrases", _VERDICTS[result.kind], level=level)

    def trend(self, label: str) -> str:
        """A recent trend as said in a sentence (``increasing and getting better``); an unknown label as it is."""
        key = TREND_KEYS.get(label)
        return self.text("trends", key) if key else label.lower()

    @property
    def england(self) -> str:
        return self.text("names", "england")


def load_wording(search_path: Sequence[Path]) -> Wording:
    """The packaged wording (last folder) overlaid with each earlier folder's ``wording.yaml``.

    The packaged file is the reference: an overriding file may use only its sections and keys, and in
    each text only the ``{slots}`` of the packaged text of that key.
    """
    files = [found for directory in reversed(list(search_path)) if (found := layout_file(directory, WORDING_FILE))]
    if not files:
        raise RenderError(f"No {WORDING_FILE} found in the layouts folders.")
    reference = _read_wording(files[0], None)
    merged = {section: dict(entries) for section, entries in reference.items()}
    origins = {f"{section}.{key}": str(files[0]) for section, entries in reference.items() for key in entries}
    for path in files[1:]:
        for section, entries in _read_wording(path, reference).items():
            merged[section].update(entries)
            origins.update({f"{section}.{key}": str(path) for key in entries})
    return Wording(merged, str(files[-1]), origins)


def _read_wording(path: Path, reference: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """One wording file, checked against the packaged ``reference`` (``None``: this is the reference)."""
    try:
        raw = load_yaml_file(path, what="wording") or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: not a readable YAML file ({exc}).") from None
    if not isinstance(raw, dict):
        raise RenderError(f"{path}: {WORDING_FILE} must map section names to key: text pairs.")
    out: dict[str, dict[str, str]] = {}
    for section, entries in raw.items():
        if reference is not None and section not in reference:
            raise RenderError(f"{path}: unknown wording section {section!r}; use one of: {', '.join(reference)}.")
        if not isinstance(entries, dict):
            raise RenderError(f"{path}: {section}: must map keys to text.")
        out[str(section)] = {str(k): _checked_text(path, str(section), k, v, reference) for k, v in entries.items()}
    return out


def _checked_text(
    path: Path, section: str, key: object, value: object, reference: Mapping[str, Mapping[str, str]] | None
) -> str:
    """A text of a wording file: a string whose slots are those of the packaged text of its key."""
    if reference is not None and key not in reference[section]:
        raise RenderError(f"{path}: unknown wording key {section}.{key}; use one of: {', '.join(reference[section])}.")
    if not isinstance(value, str):
        raise RenderError(f"{path}: {section}.{key}: must be text (put it in quotes).")
    if reference is not None:
        allowed = slots(reference[section][str(key)])
        unknown = [name for name in slots(value) if name not in allowed]
        if unknown:
            raise RenderError(
                f"{path}: wording {section}.{key} uses {{{unknown[0]}}}; "
                f"available: {', '.join('{' + name + '}' for name in allowed) or 'none'}."
            )
    return value


@lru_cache(maxsize=1)
def packaged_wording() -> Wording:
    """The packaged wording alone (for callers without a layouts search path)."""
    return load_wording([default_layouts_dir()])


# --------------------------------------------------------------------------- theme to CSS


def css_variables(theme: Theme) -> str:
    """CSS custom properties from the theme: the palette (headings, rules and swatches follow it), the
    neutral colours and the sizes the charts are drawn to, so the stylesheet and the charts agree."""
    palette = theme.palette
    colours = {
        "accent": palette.accent,
        "england": palette.england,
        "region": palette.region,
        "spine-outer": palette.spine_outer,
        "spine-inner": palette.spine_inner,
        "bar": palette.bar,
        "trend-england": palette.trend_england,
        "better": palette.comparison.get("Better", palette.accent),
        "worse": palette.comparison.get("Worse", palette.accent),
    }
    for name, value in colours.items():
        if not _COLOUR.match(value):
            raise RenderError(
                f"theme.yaml: palette {palette.name!r}: colour {name.replace('-', '_')} is {value!r}; "
                'use a hex colour such as "#0B5A6B".'
            )
    for name, value in dataclasses.asdict(theme.neutrals).items():
        if not _COLOUR.match(value):
            raise RenderError(f'theme.yaml: neutrals.{name} is {value!r}; use a hex colour such as "#1A1A1A".')
        colours[name.replace("_", "-")] = value
    colours["tint"] = accent_tint(theme)
    sizes = theme.sizes
    lengths = {
        "col-left": f"{sizes.col_left:g}mm",
        "col-right": f"{sizes.col_right:g}mm",
        "trend-height": f"{sizes.trend_height:g}mm",
        "spine-width": f"{sizes.spine_width:g}mm",
        "spine-height": f"{sizes.spine_height:g}mm",
        "small-text": f"{sizes.small_text_pt:g}pt",
        "data-cell-padding": f"{sizes.data_cell_padding:g}mm",
    }
    return ":root { " + " ".join(f"--{k}: {v};" for k, v in {**colours, **lengths}.items()) + " }"


def accent_tint(theme: Theme) -> str:
    """The light band behind the profile's own authority in tables and compare-areas charts."""
    return _mix_with_white(theme.palette.accent, 0.9)


def _mix_with_white(colour: str, share: float) -> str:
    """A light tint of a colour (table bands in the accent's hue)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def text_colour(background: str) -> str:
    """Black or white text, whichever contrasts more with the background (WCAG luminance)."""
    rgb = [int(background.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


# --------------------------------------------------------------------------- what the templates read


@dataclass(frozen=True)
class Badge:
    """A comparison badge: Fingertips label, display labels, shape and colours.

    ``label`` is the full display label ('Better (99.8%)'); a badge shows it as ``word`` and, for a
    two-level comparison, ``qualifier``. ``icon`` is the result's marker shape as a small SVG (a
    ``data:`` URI) in the badge's text colour: the same shapes as the charts.
    """

    label: str
    short: str
    fingertips: str
    key: str
    glyph: str
    colour: str
    text_colour: str
    word: str = ""
    qualifier: str = ""
    shape: str = ""
    icon: str = ""
    mark: str = ""


def badge(result: Comparison, theme: Theme, wording: Wording) -> Badge:
    """Template data of a comparison badge."""
    colour = result.colour(theme)
    ink = text_colour(colour)
    return Badge(
        label=wording.label(result),
        short=wording.short(result),
        fingertips=result.label,
        key=result.key,
        glyph=result.glyph,
        colour=colour,
        text_colour=ink,
        word=wording.word(result),
        qualifier=wording.qualifier(result),
        shape=result.shape,
        icon=shape_icon(result.shape, ink),
        mark=shape_icon(result.shape, colour, theme.neutrals.ink),
    )


def shape_points(shape: str, x: float, y: float, r: float) -> str:
    """A shape's outline (not the circles) as SVG polygon points around (x, y) with radius r."""
    return " ".join(f"{x + dx * r:.2f},{y + dy * r:.2f}" for dx, dy in SHAPE_POINTS[shape])


def shape_svg(shape: str, fill: str, stroke: str = "none", size: float = 10.0, width: float = 0.0) -> str:
    """One marker shape as a whole SVG document of ``size`` units (circles, ring, triangles, arrows ...)."""
    c, r = size / 2, size / 2 - max(width, 0.4)
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if shape == "o":
        body = f'<circle cx="{c:g}" cy="{c:g}" r="{r * 0.85:.2f}" {style}/>'
    elif shape == "O":  # not compared: a ring
        ring = max(width, size * 0.13)
        body = (
            f'<circle cx="{c:g}" cy="{c:g}" r="{r * 0.85 - ring / 2:.2f}" fill="none" stroke="{fill}" '
            f'stroke-width="{ring:.2f}"/>'
        )
    else:
        body = f'<polygon points="{shape_points(shape, c, c, r)}" {style}/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:g}" height="{size:g}" viewBox="0 0 {size:g} {size:g}">'
        f"{body}</svg>"
    )


@lru_cache(maxsize=256)
def shape_icon(shape: str, colour: str, outline: str = "") -> str:
    """A result's shape as a ``data:`` URI: in a badge's text colour, or (``outline``) in the result's
    colour outlined as in the charts, for text cells (cached: a document holds a few dozen)."""
    import base64

    svg = shape_svg(shape, colour, outline or "none", width=0.8 if outline else 0.0)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def display_label(label: object, wording: Wording | None = None) -> str:
    """The display label of a Fingertips comparison label ('Better 95%' -> 'Better (95%)'), for data
    outputs that keep Fingertips' label in its own column; empty for an empty cell."""
    if label is None or (isinstance(label, float) and math.isnan(label)) or label == "":
        return ""
    words = wording or packaged_wording()
    text = str(label)
    # The label alone decides: 'Middle quintile' reads the same with or without a judgement.
    result = comparison(text, "no_judgement" if text in QUINTILE_LABELS_BOB else "high_is_good")
    return words.label(result) if result.kind != "not_compared" or text == NOT_COMPARED else text


@dataclass(frozen=True)
class ImageView:
    """A drawn chart as the templates show it: a ``data:`` URI, its alternative text and size."""

    src: str
    alt: str
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class BarRowView:
    """One authority of a compare-areas chart: its badge (for the legend) and whether it is the profile's own."""

    badge: Badge
    highlight: bool


@dataclass(frozen=True)
class BarPanelView:
    """A compare-areas chart: its lines of text over the SVG of its marks (see :class:`BarPanelImage`)."""

    rows: tuple[BarRowView, ...]
    lines: tuple[BarLine, ...]
    src: str
    alt: str
    width_mm: float
    height_mm: float
    tab_mm: float
    line_mm: float


@dataclass(frozen=True)
class TrendRow:
    """One period of an indicator's trend table."""

    period: str
    value: str
    ci: str
    england: str
    badge: Badge


@dataclass(frozen=True)
class TrendText:
    """A trend table's numbers as aligned text: the column titles and one line per period."""

    head: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TrendArrow:
    """The summary table's trend arrow: glyph, colour and the Fingertips trend label."""

    glyph: str
    colour: str
    label: str


@dataclass(frozen=True)
class LegendGroup:
    """One line of the key to the symbols: a title and its badges; ``kind`` names the colour set
    (``england``, ``unjudged``, ``quintiles_judged``, ``quintiles_unjudged``)."""

    title: str
    items: tuple[Badge, ...]
    kind: str = ""


# --------------------------------------------------------------------------- one indicator, once


@dataclass(frozen=True)
class IndicatorView:
    """One indicator for one area, built once and read by the templates, the brief and any other writer.

    ``result`` and ``region_result`` are the typed comparisons; every other field is already
    formatted for display (templates read them as attributes, e.g. ``ind.value``).
    """

    id: str
    domain: str
    result: Comparison
    region_result: Comparison
    has_value: bool
    has_data: bool
    # what the indicator is (the definitions page)
    name: str
    full_name: str
    definition: str
    rationale: str
    source: str
    derivation_note: str
    unit: str
    caveats: str
    licence: str
    value_type: str
    comparison_method: str
    polarity: str
    ci_text: str
    value_note: str
    # the latest value and its benchmarks
    period: str
    periods: str
    value: str
    value_plain: str
    count: str
    ci: str
    region: str
    region_text: str
    region_name: str
    region_place: str
    england: str
    england_text: str
    worst: str
    best: str
    spine_note: str
    # results in words
    badge: Badge
    badge_region: Badge
    comparison_sentence: str
    trend: str
    trend_arrow: TrendArrow
    rank: str
    notes: tuple[str, ...]
    subline: str
    # charts and tables
    spine: ImageView | None
    trend_chart: ImageView | None
    bar_panel: BarPanelView | None
    trend_rows: tuple[TrendRow, ...]
    trend_text: TrendText | None
    bar_title: str = ""  # the compare-areas chart's title: region, period, order, intervals
