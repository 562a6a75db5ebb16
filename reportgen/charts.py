"""Draw the profile's charts with matplotlib as small vector SVGs (text stays text)."""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib as mpl
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from .models import ChartImage, Marker, SpineChart, Theme, TrendChart

MM = 1 / 25.4  # inches per millimetre
# Every chart size in one place; the templates take the sizes from the drawn images.
SPINE_SIZE_MM = (27.6, 3.8)
TREND_SIZE_MM = (68.0, 40.0)
CHART_FONT_PT = 7.5  # the smallest text in the document
INK = "#1A1A1A"


@lru_cache(maxsize=8)
def _register_fonts(files: tuple[str, ...]) -> None:
    for path in files:
        mpl.font_manager.fontManager.addfont(path)


def _style(theme: Theme) -> dict:
    _register_fonts(theme.font_files)
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "reportgen",
        "font.family": theme.font_family,
        "font.size": CHART_FONT_PT,
        "axes.linewidth": 0.5,
        "axes.edgecolor": "#6B6B6B",
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.major.width": 0.5,
        "ytick.major.width": 0.5,
        "xtick.major.size": 2,
        "ytick.major.size": 0,
        "text.color": INK,
        "path.simplify": False,
        "text.parse_math": False,
        "svg.image_inline": True,
    }


def _svg(fig: Figure) -> str:
    FigureCanvasSVG(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    return buffer.getvalue().decode("utf-8")


def _scatter_markers(ax, xs, ys, markers: list[Marker], size: float) -> None:
    """One scatter call per shape keeps the SVG small (WeasyPrint draws every element)."""
    for shape in sorted({m.shape for m in markers}):
        chosen = [(x, y, m.colour) for x, y, m in zip(xs, ys, markers, strict=True) if m.shape == shape]
        ax.scatter(
            [c[0] for c in chosen],
            [c[1] for c in chosen],
            s=size**2,
            marker=shape,
            c=[c[2] for c in chosen],
            edgecolors=INK,
            linewidths=0.6,
            zorder=3,
            clip_on=False,
        )


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


def draw_trend(chart: TrendChart, theme: Theme) -> ChartImage:
    """The area's values with confidence intervals, and England's, over the periods."""
    width, height = TREND_SIZE_MM
    palette = theme.palette
    with mpl.rc_context(_style(theme)):
        fig = Figure(figsize=(width * MM, height * MM))
        ax = fig.add_axes((0.16, 0.3, 0.81, 0.6))
        xs = list(range(len(chart.points)))
        england = [(x, p.england) for x, p in zip(xs, chart.points, strict=True) if p.england is not None]
        if england:
            ax.plot(
                *zip(*england, strict=True),
                color=palette.trend_england,
                linewidth=1.0,
                linestyle=(0, (3, 2)),
                marker="o",
                markersize=2.0,
                label="England",
                clip_on=False,
            )
        area = [(x, p) for x, p in zip(xs, chart.points, strict=True) if p.value is not None]
        if area:
            ax.plot(
                [x for x, _ in area],
                [p.value for _, p in area],
                color=palette.accent,
                linewidth=1.1,
                label=_plain(chart.area_name, 32),
            )
            with_ci = [(x, p) for x, p in area if p.lower is not None and p.upper is not None]
            if with_ci:
                ax.vlines(
                    [x for x, _ in with_ci],
                    [p.lower for _, p in with_ci],
                    [p.upper for _, p in with_ci],
                    color=INK,
                    linewidth=0.6,
                )
            _scatter_markers(ax, [x for x, _ in area], [p.value for _, p in area], [p.marker for _, p in area], 4.0)
        _finish_trend_axes(ax, chart, xs)
        svg = _svg(fig)
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _finish_trend_axes(ax, chart: TrendChart, xs: list[int]) -> None:
    ax.set_xticks(xs, [p.period for p in chart.points], rotation=0 if len(chart.points) <= 5 else 45)
    ax.set_xlim(-0.4, max(len(xs) - 0.6, 0.4))
    values = [v for p in chart.points for v in (p.value, p.lower, p.upper, p.england) if v is not None]
    if values:
        low, high = min(values), max(values)
        pad = (high - low) * 0.15 or abs(high) * 0.05 or 1
        ax.set_ylim(low - pad, high + pad)
    ax.set_ylabel(_plain(chart.axis_label), fontsize=CHART_FONT_PT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#E3E3E3", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False, fontsize=CHART_FONT_PT, handlelength=2.2
    )


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
