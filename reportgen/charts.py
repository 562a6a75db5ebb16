"""Draw the profile's charts with matplotlib as small vector SVGs (text stays text)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import lru_cache

import matplotlib as mpl
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from .models import BarChart, ChartImage, Marker, SpineChart, Theme, TrendChart

MM = 1 / 25.4  # inches per millimetre
SPINE_SIZE_MM = (36.0, 4.2)
TREND_SIZE_MM = (74.0, 42.0)
BAR_WIDTH_MM = 102.0
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
        "font.size": 6.5,
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


def _marker_style(marker: Marker, size: float) -> dict:
    return {
        "marker": marker.shape,
        "markersize": size,
        "markerfacecolor": marker.colour,
        "markeredgecolor": INK,
        "markeredgewidth": 0.6,
        "linestyle": "none",
    }


def draw_spine(chart: SpineChart, theme: Theme) -> ChartImage:
    """One spine: outer range, 25th-75th percentile band, England line, region and area markers."""
    width, height = SPINE_SIZE_MM
    palette = theme.palette
    with mpl.rc_context(_style(theme)):
        fig = Figure(figsize=(width * MM, height * MM))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-0.035, 1.035)
        ax.set_ylim(0, 1)
        ax.axis("off")
        (left, right), (q1, q3) = chart.outer, chart.inner
        ax.barh(0.5, right - left, left=left, height=0.5, color=palette.spine_outer, linewidth=0)
        ax.barh(0.5, q3 - q1, left=q1, height=0.5, color=palette.spine_inner, linewidth=0)
        ax.plot([0.5, 0.5], [0.05, 0.95], color=palette.england, linewidth=1.3, solid_capstyle="butt")
        if chart.region is not None:
            ax.plot(
                [chart.region],
                [0.5],
                marker="D",
                markersize=3.6,
                markerfacecolor="white",
                markeredgecolor=palette.region,
                markeredgewidth=0.9,
                linestyle="none",
            )
        if chart.area is not None:
            ax.plot([chart.area], [0.5], **_marker_style(chart.marker, 5.2))
        svg = _svg(fig)
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _bar_height_mm(n: int) -> float:
    return 11.5 + 3.0 * n


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


def _truncated_axis(chart: BarChart) -> bool:
    """Dots on a truncated axis when every value is far from zero (bars from zero would hide the differences)."""
    lows = [b.lower if b.lower is not None else b.value for b in chart.bars]
    highs = [b.upper if b.upper is not None else b.value for b in chart.bars] + (
        [chart.england] if chart.england is not None else []
    )
    return min(lows) > 0.5 * max(highs) > 0


def draw_bars(chart: BarChart, theme: Theme) -> ChartImage:
    """Compare-areas chart: authorities with 95% confidence intervals and England's value.

    Bars from zero, or dots on a truncated axis when all values are far from zero (for example
    life expectancy); the area's bar (or row) is highlighted and its label is bold.
    """
    n = len(chart.bars)
    width, height = BAR_WIDTH_MM, _bar_height_mm(n)
    palette = theme.palette
    dots = _truncated_axis(chart)
    with mpl.rc_context(_style(theme)):
        fig = Figure(figsize=(width * MM, height * MM))
        ax = fig.add_axes((0.34, 8.6 / height, 0.62, 1 - 12.0 / height))
        ys = list(range(n))[::-1]
        bars = chart.bars
        if dots:
            for y, bar in zip(ys, bars, strict=True):
                if bar.highlight:
                    ax.axhspan(y - 0.5, y + 0.5, color=palette.accent, alpha=0.18, linewidth=0)
        else:
            ax.barh(
                ys,
                [b.value for b in bars],
                height=0.64,
                linewidth=0,
                clip_on=False,
                color=[palette.accent if b.highlight else palette.bar for b in bars],
            )
        with_ci = [(y, b) for y, b in zip(ys, bars, strict=True) if b.lower is not None and b.upper is not None]
        if with_ci:
            ax.hlines(
                [y for y, _ in with_ci],
                [b.lower for _, b in with_ci],
                [b.upper for _, b in with_ci],
                color=INK,
                linewidth=0.6,
                clip_on=False,
            )
            ends = [(x, y) for y, b in with_ci for x in (b.lower, b.upper)]
            ax.vlines(
                [x for x, _ in ends],
                [y - 0.18 for _, y in ends],
                [y + 0.18 for _, y in ends],
                color=INK,
                linewidth=0.6,
                clip_on=False,
            )
        _scatter_markers(ax, [b.value for b in bars], ys, [b.marker for b in bars], 3.6)
        _finish_bar_axes(ax, chart, ys, palette, dots)
        svg = _svg(fig)
    return ChartImage(chart.key, svg, chart.alt, width, height)


def _finish_bar_axes(ax, chart: BarChart, rows: Iterable[int], palette, dots: bool) -> None:
    labels = [_plain(b.name, 30) for b in chart.bars]
    ax.set_yticks(list(rows), labels)
    for tick, bar in zip(ax.get_yticklabels(), chart.bars, strict=True):
        if bar.highlight:
            tick.set_fontweight("bold")
    tops = [b.upper if b.upper is not None else b.value for b in chart.bars]
    top = max([*tops, chart.england or 0])
    if dots:
        bottoms = [b.lower if b.lower is not None else b.value for b in chart.bars]
        low = min([*bottoms, chart.england if chart.england is not None else top])
        pad = (top - low) * 0.08 or abs(top) * 0.02 or 1
        ax.set_xlim(low - pad, top + pad)
        ax.grid(axis="x", color="#E3E3E3", linewidth=0.5)
        ax.set_axisbelow(True)
    else:
        ax.set_xlim(0, top * 1.08 if top > 0 else 1)
    ax.set_ylim(-0.7, len(chart.bars) - 0.3)
    if chart.england is not None:
        ax.axvline(chart.england, color=palette.england, linewidth=1.1, clip_on=False)
        ax.text(
            chart.england, len(chart.bars) - 0.3, " England", color=palette.england, va="bottom", ha="left", fontsize=6
        )
    ax.set_xlabel(_plain(chart.axis_label), fontsize=6.3, labelpad=2)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=2)


def draw_trend(chart: TrendChart, theme: Theme) -> ChartImage:
    """The area's values with confidence intervals, and England's, over the periods."""
    width, height = TREND_SIZE_MM
    palette = theme.palette
    with mpl.rc_context(_style(theme)):
        fig = Figure(figsize=(width * MM, height * MM))
        ax = fig.add_axes((0.13, 0.3, 0.84, 0.6))
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
    ax.set_ylabel(_plain(chart.axis_label), fontsize=6.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#E3E3E3", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False, fontsize=6.3, handlelength=2.2)


def _plain(text: str, limit: int = 40) -> str:
    """Text for matplotlib, shortened with an ellipsis (the full text is in the table beside the chart).

    With ``text.parse_math`` off, '$' in names is never read as mathematics.
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chart_engine_version() -> str:
    """The matplotlib version, recorded in each profile's provenance."""
    return mpl.__version__


def draw_charts(spines, bars, trends, theme: Theme) -> dict[str, ChartImage]:
    """Draw every chart of a profile; keys are the charts' ``key`` fields."""
    images = {}
    for chart in spines:
        images[chart.key] = draw_spine(chart, theme)
    for chart in bars:
        images[chart.key] = draw_bars(chart, theme)
    for chart in trends:
        images[chart.key] = draw_trend(chart, theme)
    return images
