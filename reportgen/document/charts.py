"""Draw the profile's charts as small vector SVGs (text stays text, in the shipped font).

Trend charts are matplotlib figures (object API, one reusable figure per process) tidied to a few
dozen SVG elements; spines are six hand-written SVG shapes. Both are cheap for WeasyPrint to draw.
"""

from __future__ import annotations

import io
import math
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from html import escape

import matplotlib as mpl
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

from reportgen.document.compose import BarPanel
from reportgen.document.models import BarLine, BarPanelImage, ChartImage, SpineChart, Theme, TrendChart
from reportgen.document.textwidth import face_widths, pad_left, spaces, wrap
from reportgen.document.view import accent_tint, text_colour

MM = 1 / 25.4  # inches per millimetre
# Every chart size in one place; the templates take the sizes from the drawn images.
SPINE_SIZE_MM = (27.6, 3.8)
TREND_SIZE_MM = (68.0, 40.0)
CHART_FONT_PT = 7.5  # the smallest text in the document
INK = "#1A1A1A"


#: Marker outlines on a unit radius: triangle up or down, square, diamond (circles are drawn as circles).
SHAPE_POINTS = {
    "^": ((0, -1.05), (1.0, 0.75), (-1.0, 0.75)),
    "v": ((0, 1.05), (1.0, -0.75), (-1.0, -0.75)),
    "s": ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)),
    "D": ((0, -1), (1, 0), (0, 1), (-1, 0)),
}


def _svg_marker(shape: str, x: float, y: float, r: float, fill: str, stroke: str, width: float) -> str:
    """A marker as one SVG element: triangle up/down, circle, square or diamond (greyscale-safe shapes)."""
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if shape == "o":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r * 0.85:.2f}" {style}/>'
    text = " ".join(f"{x + dx * r:.2f},{y + dy * r:.2f}" for dx, dy in SHAPE_POINTS[shape])
    return f'<polygon points="{text}" {style}/>'


def draw_spine(chart: SpineChart, theme: Theme) -> ChartImage:
    """One spine as a tiny hand-written SVG (about six elements): outer range, 25th-75th percentile band,
    England line, region diamond and the area's marker. Units are tenths of a millimetre."""
    width, height = SPINE_SIZE_MM
    palette = theme.palette
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
        parts.append(_svg_marker(chart.marker.shape, x(chart.area), h / 2, 15, chart.marker.colour, INK, 3))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {w:g} {h:g}">' + "".join(parts) + "</svg>"
    )
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _y_ticks(values: list[float]) -> tuple[float, float, list[float]]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 1.0
    ticks = [t for t in MaxNLocator(nbins=4).tick_values(low - pad, high + pad) if low - pad <= t <= high + pad]
    return low - pad, high + pad, ticks


@lru_cache(maxsize=8)
def _register_fonts(files: tuple[str, ...]) -> None:
    for path in files:
        font_manager.fontManager.addfont(path)


def _style(theme: Theme) -> dict:
    _register_fonts(theme.font_files)
    return {
        "svg.fonttype": "none",  # text stays text, in the shipped font named in the SVG
        "svg.hashsalt": "reportgen",  # deterministic ids
        "font.family": theme.font_family,
        "font.size": CHART_FONT_PT,
        "text.color": INK,
        "text.parse_math": False,  # '$' in names is never read as mathematics
        "path.simplify": False,
        "lines.solid_joinstyle": "miter",  # explicit joins: the SVG needs no <style> block
        "lines.dash_joinstyle": "miter",
        "lines.dash_capstyle": "butt",
        "lines.solid_capstyle": "butt",
    }


PT = 72 / 25.4  # points per millimetre
# The plot area inside the 68 x 40 mm figure, as figure fractions (left, bottom, width, height).
TREND_AXES = (12.0 / 68, 9.5 / 40, 53.5 / 68, 23.5 / 40)


class _TrendCanvas:
    """One reusable matplotlib figure per process and theme: fixed artists whose data change per chart.

    Seven artists carry the data (grid, axis, England line with its markers, area line, confidence
    intervals, area markers); the labels are the only artists made per chart.
    """

    def __init__(self) -> None:
        width, height = TREND_SIZE_MM
        self.fig = Figure(figsize=(width * MM, height * MM))
        FigureCanvasSVG(self.fig)
        self.fig.patch.set_visible(False)
        ax = self.ax = self.fig.add_axes(TREND_AXES)
        ax.set_axis_off()
        ax.patch.set_visible(False)
        self.grid = self._line(color="#E3E3E3", linewidth=0.5, zorder=1)
        self.axis = self._line(color="#6B6B6B", linewidth=0.5, zorder=1.1)
        self.england = self._line(linewidth=1.0, linestyle=(0, (2.9, 2.0)), marker="o", markersize=3.4,
                                  markeredgewidth=0)  # fmt: skip
        self.area = self._line(linewidth=1.1)
        self.ci = self._line(color=INK, linewidth=0.6, zorder=2.2)
        self.markers = ax.scatter([], [], s=TREND_MARKER_PT**2, edgecolors=INK, linewidths=0.6, zorder=3)
        self.markers.set_joinstyle("miter")
        self.markers.set_clip_on(False)
        self.legend_england = self._legend_line(0.5 - 24 / 68, dashed=True)
        self.legend_area = self._legend_line(0.5 - 2 / 68, dashed=False)
        self.texts: list = []

    def _line(self, **style) -> Line2D:
        line = Line2D([], [], **style)
        line.set_clip_on(False)
        self.ax.add_line(line)
        return line

    def _legend_line(self, start: float, dashed: bool) -> Line2D:
        y = 1 - 2.1 / 40
        style = {"linestyle": (0, (2.9, 2.0)), "linewidth": 1.0} if dashed else {"linewidth": 1.1}
        line = Line2D([start, start + 6 / 68], [y, y], transform=self.fig.transFigure, **style)
        self.fig.add_artist(line)
        return line


_CANVASES: dict[tuple, _TrendCanvas] = {}


def _trend_canvas(theme: Theme) -> _TrendCanvas:
    key = (theme.font_family, theme.font_files)
    if key not in _CANVASES:
        with mpl.rc_context(_style(theme)):
            _CANVASES[key] = _TrendCanvas()
    return _CANVASES[key]


TREND_MARKER_PT = 6.6  # the area's markers; their shapes read in greyscale
_MARKER_PATHS: dict[str, Path] = {}


def _marker_path(shape: str) -> Path:
    """A marker's unit outline, as ``scatter`` makes it (one path per shape, cached)."""
    if shape not in _MARKER_PATHS:
        style = MarkerStyle(shape)
        _MARKER_PATHS[shape] = style.get_path().transformed(style.get_transform())
    return _MARKER_PATHS[shape]


def draw_trend(chart: TrendChart, theme: Theme) -> ChartImage:
    """The area's values with confidence intervals, and England's, over the periods, drawn by matplotlib
    (one reusable figure; one artist per series) as a small SVG whose text stays text in the shipped font."""
    canvas = _trend_canvas(theme)
    with mpl.rc_context(_style(theme)):
        _fill_trend(canvas, chart, theme)
        buffer = io.StringIO()
        canvas.fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                           "Type": None}, transparent=True)  # fmt: skip
    width, height = TREND_SIZE_MM
    return ChartImage(chart.key, tidy_svg(buffer.getvalue(), chart.alt), chart.alt, width, height)


def _fill_trend(canvas: _TrendCanvas, chart: TrendChart, theme: Theme) -> None:
    palette, ax, n = theme.palette, canvas.ax, len(chart.points)
    values = [v for p in chart.points for v in (p.value, p.lower, p.upper, p.england) if v is not None]
    low, high, ticks = _y_ticks(values or [0.0, 1.0])
    ax.set_xlim(0, n)
    ax.set_ylim(low, high)
    nan = float("nan")
    canvas.grid.set_data([v for _ in ticks for v in (0, n, nan)], [v for t in ticks for v in (t, t, nan)])
    canvas.axis.set_data([0, n], [low, low])
    england = [(i + 0.5, p.england) for i, p in enumerate(chart.points) if p.england is not None]
    canvas.england.set_data([a for a, _ in england], [b for _, b in england])
    canvas.england.set_color(palette.trend_england)
    canvas.legend_england.set_color(palette.trend_england)
    area = [(i + 0.5, p) for i, p in enumerate(chart.points) if p.value is not None]
    canvas.area.set_data([a for a, _ in area], [p.value for _, p in area])
    canvas.area.set_color(palette.accent)
    canvas.legend_area.set_color(palette.accent)
    ci = [(a, p) for a, p in area if p.lower is not None and p.upper is not None]
    canvas.ci.set_data([v for a, _ in ci for v in (a, a, nan)], [v for _, p in ci for v in (p.lower, p.upper, nan)])
    canvas.markers.set_paths([_marker_path(p.marker.shape) for _, p in area])
    canvas.markers.set_offsets([(a, p.value) for a, p in area] or np.empty((0, 2)))
    canvas.markers.set_facecolors([p.marker.colour for _, p in area])
    _trend_labels(canvas, chart, ticks, n)


def _trend_labels(canvas: _TrendCanvas, chart: TrendChart, ticks: list[float], n: int) -> None:
    for text in canvas.texts:
        text.remove()
    ax, fig = canvas.ax, canvas.fig
    texts = [ax.text(-1.2 / 53.5, t, _tick(t, ticks), ha="right", va="center", transform=ax.get_yaxis_transform())
             for t in ticks]  # fmt: skip
    texts.append(fig.text(2.8 / 68, TREND_AXES[1] + TREND_AXES[3] / 2, chart.axis_label, rotation=90,
                          ha="center", va="center"))  # fmt: skip
    rotate = n * max(len(p.period) for p in chart.points) > 26  # long period labels would touch
    for i, point in enumerate(chart.points):
        texts.append(ax.text(i + 0.5, -1.0 / 23.5, point.period, transform=ax.get_xaxis_transform(), va="top",
                             ha="right" if rotate else "center", rotation=30 if rotate else 0,
                             rotation_mode="anchor"))  # fmt: skip
    y = 1 - 3.0 / 40
    texts.append(fig.text(0.5 - 17 / 68, y, "England", ha="left", va="baseline"))
    texts.append(fig.text(0.5 + 5 / 68, y, _plain(chart.area_name, 26), ha="left", va="baseline"))
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


def _style_to_attributes(element) -> None:
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


def _tidy_children(parent, used: set[str]) -> None:
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
                child.set(key, _round(child.get(key)))
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


def draw_charts(spines, trends, theme: Theme, bars=()) -> dict[str, ChartImage | BarPanelImage]:
    """Draw every chart of a profile; keys are the charts' ``key`` fields."""
    images: dict[str, ChartImage | BarPanelImage] = {}
    for chart in spines:
        images[chart.key] = draw_spine(chart, theme)
    for chart in trends:
        images[chart.key] = draw_trend(chart, theme)
    for panel in bars:
        images[panel.key] = draw_bar_panel(panel, theme)
    return images


# --- compare-areas charts: lines of text over one SVG of marks ---------------------------------

#: Geometry of a compare-areas chart, in millimetres: the width of the left column of a domain page,
#: the line pitch, the tab stop after the names, and the significance column.
BAR_PANEL_WIDTH_MM = 110.0
BAR_LINE_MM = 2.75
BAR_NAME_TAB_MM = 35.0
BAR_NAME_TAB_MAX_MM = 42.0
BAR_NAME_TAB_MIN_MM = 22.0  # the narrowest name column, when the numbers are very wide
BAR_TRACK_MIN_MM = 24.0  # the narrowest track the name column gives way to
NAME_GAP_MM = 2.2  # at least this much space between a name and its value
BAR_SIG_COLUMN_MM = 10.5
BAR_TEXT_MM = CHART_FONT_PT * 25.4 / 72  # the text's font size in millimetres
ROW_RULE = "#E2E2E2"
MUTED = "#4A4A4A"
TEXT_WEIGHTS = {"head": 600, "row": 400, "highlight": 700}


def draw_bar_panel(panel: BarPanel, theme: Theme) -> BarPanelImage:
    """A compare-areas chart: each authority's name, value and interval as one line of text, and one
    SVG holding every mark (badges, bars or dots, intervals, England's line) on the same line grid.

    Names longer than the name column wrap onto more lines; numbers are right-aligned with fixed-width
    spaces (the text is set in tabular figures); the marks start just after the widest text.
    """
    widths = {kind: face_widths(theme.font_files, weight) for kind, weight in TEXT_WEIGHTS.items()}
    size = BAR_TEXT_MM
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
    head = _bar_head(widths["head"], value_width, panel.headings)
    after = max(
        [widths["head"].width(head.numbers, size)]
        + [face.width(n, size) for face, n in zip(faces, numbers, strict=True)]
    )
    tab = _name_tab(panel, widths, after)
    lines: list[BarLine] = [head]
    spans: list[tuple[int, int]] = []  # first line and line count of each authority
    for row, kind, text in zip(panel.rows, kinds, numbers, strict=True):
        names = wrap(row.name, tab - NAME_GAP_MM, widths[kind], size)
        spans.append((len(lines), len(names)))
        lines.append(BarLine(names[0], text, kind))
        lines.extend(BarLine(more, "", kind) for more in names[1:])
    svg, height = _bar_marks(panel, theme, spans, len(lines), tab + after + 1.5)
    return BarPanelImage(panel.key, svg, panel.alt, BAR_PANEL_WIDTH_MM, height, tuple(lines), tab, BAR_LINE_MM)


def _name_tab(panel: BarPanel, widths: dict, after: float) -> float:
    """Where the numbers start: after the widest name, between the usual and the widest name column
    (longer names wrap), so most regions keep long bars and long names rarely wrap. Very wide numbers
    (``after``, their text's width) narrow the name column, down to :data:`BAR_NAME_TAB_MIN_MM`, so
    the bars keep at least :data:`BAR_TRACK_MIN_MM`."""
    widest = max(
        (widths["highlight" if r.highlight else "row"].width(r.name, BAR_TEXT_MM) for r in panel.rows), default=0
    )
    tab = min(max(widest + NAME_GAP_MM, BAR_NAME_TAB_MM), BAR_NAME_TAB_MAX_MM)
    room = BAR_PANEL_WIDTH_MM - BAR_TRACK_MIN_MM - BAR_SIG_COLUMN_MM - 3.5 - after  # the gaps of _bar_marks
    return math.floor(10 * max(min(tab, room), BAR_NAME_TAB_MIN_MM)) / 10


def _interval(text: str) -> tuple[str, str]:
    lower, sep, upper = text.partition(" to ")
    return (lower, upper) if sep else (text, "")


def _bar_head(widths, value_width: float, headings: tuple[str, ...]) -> BarLine:
    """Column titles: the value's title right-aligned over the values, then the interval's title."""
    authority, title, interval = headings[:3]
    fill = spaces((value_width - widths.width(title, BAR_TEXT_MM)) / BAR_TEXT_MM, widths)
    return BarLine(authority, f"{fill}{title}  {interval}", "head")


def _bar_marks(panel: BarPanel, theme: Theme, spans: list[tuple[int, int]], n_lines: int, text_end: float):
    """The SVG of a compare-areas chart's marks, in millimetres, on the text's line grid."""
    palette, line = theme.palette, BAR_LINE_MM
    width, height = BAR_PANEL_WIDTH_MM, round(n_lines * line, 2)
    sig_x = text_end + BAR_SIG_COLUMN_MM / 2
    left, right = text_end + BAR_SIG_COLUMN_MM + 1.0, width - 1.0

    def x(percent: float) -> float:
        return left + (right - left) * percent / 100

    shapes, dots = _PathGroups(), _PathGroups()
    rules, whiskers = [f"M0 {line:.2f}H{width:g}"], []
    band = ""
    for row, (first, count) in zip(panel.rows, spans, strict=True):
        top, cy = first * line, first * line + line / 2
        rules.append(f"M0 {(first + count) * line:.2f}H{width:g}")
        if row.highlight:
            band = _rect(0, top, width, count * line, accent_tint(theme))
        marker, colour = row.result.marker(theme), row.result.colour(theme)
        shapes.add(("badge", colour), f"M{sig_x - 1.4:.2f} {cy - 1.15:.2f}h2.8v2.3h-2.8Z")
        glyph = row.result.shape
        if glyph in ("", "o"):  # a filled or hollow circle: a round dot (see _PathGroups)
            dots.add(("glyph", text_colour(colour), colour if not glyph else ""), f"M{sig_x:.2f} {cy:.2f}h0")
        else:
            shapes.add(("glyph", text_colour(colour), glyph), _shape_path(glyph, sig_x, cy, 0.72))
        if row.x is None:
            continue
        if panel.dots:
            dots.add(("dot", marker.colour, INK), f"M{x(row.x):.2f} {cy:.2f}h0")
        else:
            start, end = x(row.start), x(row.x)
            shapes.add(("bar", marker.colour), f"M{start:.2f} {cy - 0.95:.2f}H{end:.2f}V{cy + 0.95:.2f}H{start:.2f}Z")
        if row.lower is not None and row.upper is not None:
            a, b = x(row.lower), x(row.upper)
            whiskers.append(_whisker(a, b, cy, 0.45))
    parts = [band, _stroke("".join(rules[1:]), ROW_RULE, 0.09), _stroke(rules[0], INK, 0.21)]
    if panel.england is not None:
        ex = x(panel.england)
        parts.append(_stroke(f"M{ex:.2f} {line:.2f}V{height:.2f}", palette.england, 0.32))
    parts += shapes.svg() + _round_dots(dots)
    if whiskers:
        parts.append(_stroke("".join(whiskers), INK, 0.18))
    parts += _bar_labels(theme, sig_x, left, right, panel)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{height:g}mm" '
        f'viewBox="0 0 {width:g} {height:g}">' + "".join(p for p in parts if p) + "</svg>"
    )
    return svg, height


def _bar_labels(theme: Theme, sig_x: float, left: float, right: float, panel: BarPanel) -> list[str]:
    """The title over the significance column and the ends of the axis, on the first line."""
    base = BAR_LINE_MM * 0.78
    font = f'font-family="{escape(theme.font_family)}" font-size="{BAR_TEXT_MM + 0.005:.3f}" y="{base:.2f}"'
    versus = escape(panel.headings[3])
    return [
        f'<text x="{sig_x:.2f}" text-anchor="middle" font-weight="600" fill="{INK}" {font}>{versus}</text>',
        f'<text x="{left:.2f}" fill="{MUTED}" {font}>{escape(panel.axis_low)}</text>',
        f'<text x="{right:.2f}" text-anchor="end" fill="{MUTED}" {font}>{escape(panel.axis_high)}</text>',
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
        self.paths: dict[tuple, list[str]] = {}

    def add(self, style: tuple, d: str) -> None:
        self.paths.setdefault(style, []).append(d)

    def svg(self) -> list[str]:
        out = []
        for style, ds in self.paths.items():
            kind, colour = style[0], style[1]
            d = "".join(ds)
            if kind == "badge":
                out.append(f'<path d="{d}" fill="{colour}" stroke="#555555" stroke-width="0.1"/>')
            elif kind == "glyph" and not style[2]:
                out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="0.15"/>')
            elif kind == "glyph":
                out.append(f'<path d="{d}" fill="{colour}"/>')
            else:
                out.append(f'<path d="{d}" fill="{colour}" stroke="{INK}" stroke-width="0.12"/>')
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
    """A marker shape as path data: triangle up or down, square or diamond (greyscale-safe)."""
    return "M" + "L".join(f"{x + dx * r:.2f} {y + dy * r:.2f}" for dx, dy in SHAPE_POINTS[shape]) + "Z"
