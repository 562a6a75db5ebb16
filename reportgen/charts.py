"""Draw the profile's charts as small hand-written vector SVGs (text stays text, in the shipped font).

matplotlib supplies the trend axis ticks only; spines and trends are a few dozen SVG elements each,
which WeasyPrint lays out and draws far faster than full matplotlib figures.
"""

from __future__ import annotations

from html import escape

import matplotlib as mpl
from matplotlib.ticker import MaxNLocator

from .models import ChartImage, SpineChart, Theme, TrendChart

MM = 1 / 25.4  # inches per millimetre
# Every chart size in one place; the templates take the sizes from the drawn images.
SPINE_SIZE_MM = (27.6, 3.8)
TREND_SIZE_MM = (68.0, 40.0)
CHART_FONT_PT = 7.5  # the smallest text in the document
INK = "#1A1A1A"


def _svg_marker(shape: str, x: float, y: float, r: float, fill: str, stroke: str, width: float) -> str:
    """A marker as one SVG element: triangle up/down, circle, square or diamond (greyscale-safe shapes)."""
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width:g}"'
    if shape == "o":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r * 0.85:.2f}" {style}/>'
    points = {
        "^": ((0, -1.05), (1.0, 0.75), (-1.0, 0.75)),
        "v": ((0, 1.05), (1.0, -0.75), (-1.0, -0.75)),
        "s": ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)),
        "D": ((0, -1), (1, 0), (0, 1), (-1, 0)),
    }[shape]
    text = " ".join(f"{x + dx * r:.2f},{y + dy * r:.2f}" for dx, dy in points)
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


FONT_UNITS = CHART_FONT_PT * 25.4 / 72 * 10  # 7.5 pt in tenths of a millimetre


def _text(x: float, y: float, text: str, theme: Theme, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{escape(theme.font_family)}" font-size="{FONT_UNITS:.2f}" '
        f'fill="{INK}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'
    )


def _y_ticks(values: list[float]) -> tuple[float, float, list[float]]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.15 or abs(high) * 0.05 or 1.0
    ticks = [t for t in MaxNLocator(nbins=4).tick_values(low - pad, high + pad) if low - pad <= t <= high + pad]
    return low - pad, high + pad, ticks


def draw_trend(chart: TrendChart, theme: Theme) -> ChartImage:
    """The area's values with confidence intervals, and England's, over the periods: a small hand-written
    SVG (one element per line, marker and label; text stays text in the shipped font)."""
    width, height = TREND_SIZE_MM
    palette = theme.palette
    w, h = width * 10, height * 10
    left, right, top, bottom = 120.0, w - 25, 70.0, h - 95
    values = [v for p in chart.points for v in (p.value, p.lower, p.upper, p.england) if v is not None]
    low, high, ticks = _y_ticks(values or [0.0, 1.0])
    n = len(chart.points)

    def x(i: int) -> float:
        return left + (right - left) * (i + 0.5) / n

    def y(v: float) -> float:
        return bottom - (bottom - top) * (v - low) / (high - low)

    parts = [f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#6B6B6B" stroke-width="1.8"/>']
    for t in ticks:
        parts.append(
            f'<line x1="{left}" y1="{y(t):.1f}" x2="{right}" y2="{y(t):.1f}" stroke="#E3E3E3" stroke-width="1.8"/>'
        )
        parts.append(_text(left - 12, y(t) + FONT_UNITS * 0.35, _tick(t, ticks), theme, "end"))
    parts.append(
        _text(
            28,
            (top + bottom) / 2,
            chart.axis_label,
            theme,
            "middle",
            f' transform="rotate(-90 28 {(top + bottom) / 2:.1f})"',
        )
    )
    rotate = n * max(len(p.period) for p in chart.points) > 26  # long period labels would touch
    for i, point in enumerate(chart.points):
        if rotate:
            parts.append(
                _text(
                    x(i), bottom + 32, point.period, theme, "end", f' transform="rotate(-30 {x(i):.1f} {bottom + 32})"'
                )
            )
        else:
            parts.append(_text(x(i), bottom + 32, point.period, theme))
    parts += _trend_lines(chart, palette, x, y)
    parts += _trend_legend(chart, theme, w, h)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" viewBox="0 0 {w:g} {h:g}">'
        + "".join(parts)
        + "</svg>"
    )
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _tick(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = 0 if step >= 1 else min(3, len(f"{step:.6f}".rstrip("0").split(".")[1]))
    return f"{value:,.{decimals}f}"


def _trend_lines(chart: TrendChart, palette, x, y) -> list[str]:
    parts = []
    england = [(x(i), y(p.england)) for i, p in enumerate(chart.points) if p.england is not None]
    if england:
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in england)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{palette.trend_england}" stroke-width="3.5" '
            'stroke-dasharray="10 7"/>'
        )
        parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="6" fill="{palette.trend_england}"/>' for a, b in england]
    area = [(i, p) for i, p in enumerate(chart.points) if p.value is not None]
    if area:
        points = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in area)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{palette.accent}" stroke-width="3.9"/>')
        for i, p in area:
            if p.lower is not None and p.upper is not None:
                parts.append(
                    f'<line x1="{x(i):.1f}" y1="{y(p.lower):.1f}" x2="{x(i):.1f}" y2="{y(p.upper):.1f}" '
                    f'stroke="{INK}" stroke-width="2.1"/>'
                )
        for i, p in area:
            parts.append(_svg_marker(p.marker.shape, x(i), y(p.value), 13, p.marker.colour, INK, 2.1))
    return parts


def _trend_legend(chart: TrendChart, theme: Theme, w: float, h: float) -> list[str]:
    palette = theme.palette
    base = 30.0
    mid = w / 2
    return [
        f'<line x1="{mid - 240}" y1="{base - 9}" x2="{mid - 180}" y2="{base - 9}" stroke="{palette.trend_england}" '
        'stroke-width="3.5" stroke-dasharray="10 7"/>',
        _text(mid - 170, base, "England", theme, "start"),
        f'<line x1="{mid - 20}" y1="{base - 9}" x2="{mid + 40}" y2="{base - 9}" stroke="{palette.accent}" '
        'stroke-width="3.9"/>',
        _text(mid + 50, base, _plain(chart.area_name, 26), theme, "start"),
    ]


def _plain(text: str, limit: int = 40) -> str:
    """Text for matplotlib, shortened with an ellipsis (the full text is in the table beside the chart).

    With ``text.parse_math`` off, '$' in names is never read as mathematics.
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_engine_version() -> str:
    """The matplotlib version, recorded in each profile's provenance."""
    return mpl.__version__


def draw_charts(spines, trends, theme: Theme) -> dict[str, ChartImage]:
    """Draw every chart of a profile; keys are the charts' ``key`` fields.

    Compare-areas charts are drawn by the layouts in HTML/CSS, inside their data table.
    """
    images = {}
    for chart in spines:
        images[chart.key] = draw_spine(chart, theme)
    for chart in trends:
        images[chart.key] = draw_trend(chart, theme)
    return images
