"""The HTML twin of a profile: the profile's own view model, prepared for one accessible web page.

The twin renders the same section templates as the PDF (``twin.html.j2`` includes them), with
``medium = "web"``: the ``chart`` and ``bar_panel`` macros then show each chart as inline SVG
instead of an ``<img>`` of a ``data:`` URI. This module turns every chart of the document model
into that inline SVG:

- only the charts reportgen drew for this document (the ``data:`` URIs of its view model) are
  inlined, and each is checked to hold no script, event handler, ``foreignObject`` or reference
  outside itself;
- each gets ``role="img"``, a ``<title>`` and a ``<desc>`` (the chart's alternative text), named by
  ``aria-labelledby``; its ids are prefixed per chart (``c7-``), so two charts never share an id;
- a compare-areas chart gets its lines of text (names, values, intervals) as SVG text over its
  marks, sized by the profile font's metrics (``textLength``), so the text stays on the marks'
  line grid whatever font the browser has; its numbers are also given as a table.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reportgen.core.errors import RenderError
from reportgen.document.charts import BAR_LINE_MM, TEXT_WEIGHTS
from reportgen.document.models import BarLine, Theme
from reportgen.document.render import trusted_html
from reportgen.document.textwidth import face_widths
from reportgen.document.view import Badge, BarPanelView, ImageView, IndicatorView, Wording

SVG_PREFIX = "data:image/svg+xml;base64,"
#: What an SVG of our own charts never holds; one that does is refused (it was not drawn by reportgen).
UNSAFE_SVG = re.compile(
    r"<\s*(?:script|foreignObject|iframe|object|embed|image|a)\b|\son[a-z]+\s*=|javascript:|@import|"
    r"(?:href|src)\s*=\s*[\"'](?!#)|url\(\s*(?![\"']?#)",
    re.IGNORECASE,
)
#: Elements whose content is text only (escaped XML): an area's name there may read 'src="...' harmlessly.
_TEXT_ELEMENTS = re.compile(r"<(title|desc|text|tspan)\b([^>]*)>[^<]*</\1>", re.IGNORECASE)
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(href="#|url\(#)')
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
_SVG_START = re.compile(r"<svg\b([^>]*)>")


@dataclass(frozen=True)
class InlineChart:
    """A spine or trend chart as inline SVG markup, ready for the page."""

    svg: Any  # markup (already safe): the template prints it as it is


@dataclass(frozen=True)
class BarTableRow:
    """One authority of a compare-areas chart as a table row."""

    name: str
    value: str
    ci: str
    badge: Badge | None
    highlight: bool


@dataclass(frozen=True)
class InlineBarPanel:
    """A compare-areas chart as inline SVG (marks and text) and as the rows of a table."""

    svg: Any
    headings: tuple[str, str, str, str]
    rows: tuple[BarTableRow, ...]


def twin_context(context: Mapping[str, Any], links: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's template context with what the web page adds: the medium, inline charts, links."""
    wording = Wording(context["wording"], "wording.yaml")
    theme: Theme = context["theme"]
    inline: dict[str, InlineChart | InlineBarPanel] = {}
    number = 0
    for ind in context["indicators"]:
        for kind, chart in (("spine", ind.spine), ("trend", ind.trend_chart)):
            if chart is not None and chart.src not in inline:
                number += 1
                inline[chart.src] = InlineChart(_chart_svg(chart, f"c{number}", kind, ind, wording))
        if ind.bar_panel is not None and ind.bar_panel.src not in inline:
            number += 1
            inline[ind.bar_panel.src] = _bar_panel(ind, ind.bar_panel, f"c{number}", theme, wording)
    pyramid = context.get("pyramid")
    if pyramid and pyramid.get("image") is not None:  # the About page's population pyramid
        src = pyramid["image"].src
        inline[src] = InlineChart(accessible_svg(svg_of(src), "pyramid", pyramid["twin_title"], pyramid["image"].alt))
    locator = context.get("locator_map")
    if locator and locator.get("image") is not None:  # page 1's locator map
        src = locator["image"].src
        inline[src] = InlineChart(accessible_svg(svg_of(src), "map", locator["twin_title"], locator["image"].alt))
    return {**context, "medium": "web", "inline_svgs": inline, "links": links}


def svg_of(src: str) -> str:
    """The SVG text of one of our charts' ``data:`` URIs; anything else is a :class:`RenderError`."""
    if not src.startswith(SVG_PREFIX):
        raise RenderError("The HTML twin inlines only the profile's own SVG charts; a chart is not an SVG data URI.")
    try:
        svg = base64.b64decode(src[len(SVG_PREFIX) :], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise RenderError("The HTML twin could not read one of the profile's charts (not base64 UTF-8 SVG).") from None
    markup = _TEXT_ELEMENTS.sub(r"<\1\2></\1>", svg)  # checked without the text the charts print
    if not svg.lstrip().startswith("<svg") or UNSAFE_SVG.search(markup):
        raise RenderError("A chart of the profile holds content the HTML twin does not inline (script, links, …).")
    return svg


def accessible_svg(svg: str, prefix: str, title: str, desc: str, extra: str = "") -> Any:
    """``svg`` with ids prefixed, ``role="img"``, and ``title``/``desc`` as its first children, named by aria."""
    svg = _TITLE.sub("", svg)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}{prefix}-", svg)
    match = _SVG_START.search(svg)
    if match is None:
        raise RenderError("A chart of the profile is not an SVG image.")
    attributes = match.group(1).rstrip().removesuffix("/").rstrip()
    start = (
        f'<svg{attributes} class="chart" role="img" aria-labelledby="{prefix}-title {prefix}-desc">'
        f'<title id="{prefix}-title">{html.escape(title)}</title><desc id="{prefix}-desc">{html.escape(desc)}</desc>'
    )
    end = svg.rindex("</svg>")
    return trusted_html(start + svg[match.end() : end] + extra + "</svg>")


def _chart_svg(chart: ImageView, prefix: str, kind: str, ind: IndicatorView, wording: Wording) -> Any:
    title = wording.text("twin", f"{kind}_title", name=ind.name)
    return accessible_svg(svg_of(chart.src), prefix, title, chart.alt)


def _bar_panel(ind: IndicatorView, panel: BarPanelView, prefix: str, theme: Theme, wording: Wording) -> InlineBarPanel:
    title = wording.text("twin", "bar_title", name=ind.name)
    text = _bar_text(panel.lines, panel.tab_mm, panel.line_mm, theme)
    svg = accessible_svg(svg_of(panel.src), prefix, title, panel.alt, text)
    charts = wording.sections["charts"]
    headings = (
        charts["compare_authority"],
        charts["compare_value"],
        charts["compare_interval"],
        charts["trend_versus"],
    )
    return InlineBarPanel(svg, headings, _bar_rows(panel))


def _bar_text(lines: Iterable[BarLine], tab: float, line_mm: float, theme: Theme) -> str:
    """The chart's lines as SVG text on its line grid: names at 0, numbers at the tab stop (as in the PDF)."""
    size = theme.sizes.small_text_mm
    family = html.escape(f"{theme.font_family}, Arial, Helvetica, sans-serif")
    parts = [
        f'<g font-family="{family}" font-size="{size:.3f}" fill="{theme.neutrals.ink}" '
        'style="white-space: pre; font-variant-numeric: tabular-nums">'
    ]
    base = (line_mm or BAR_LINE_MM) * 0.78
    for index, line in enumerate(lines):
        weight = TEXT_WEIGHTS.get(line.kind, 400)
        widths = face_widths(theme.font_files, weight)
        y = index * line_mm + base
        for x, words in ((0.0, line.name), (tab, line.numbers)):
            if not words.strip():
                continue
            length = widths.width(words, size)
            parts.append(
                f'<text x="{x:g}" y="{y:.2f}" font-weight="{weight}" textLength="{length:.2f}" '
                f'lengthAdjust="spacingAndGlyphs">{html.escape(words)}</text>'
            )
    return "".join(parts) + "</g>"


def _bar_rows(panel: BarPanelView) -> tuple[BarTableRow, ...]:
    """One row per authority: a line with numbers starts one, a wrapped name's further lines continue it."""
    groups: list[list[Any]] = []
    for line in panel.lines[1:]:  # the first line holds the column titles
        if line.numbers.strip() or not groups:
            value, _, ci = " ".join(line.numbers.split()).partition(" ")
            groups.append([line.name, value, ci, line.kind == "highlight"])
        else:
            groups[-1][0] = f"{groups[-1][0]} {line.name}"
    badges: list[Badge | None] = [r.badge for r in panel.rows]
    if len(badges) != len(groups):
        badges = [None] * len(groups)
    return tuple(
        BarTableRow(str(name), str(value), str(ci), badge, bool(highlight))
        for (name, value, ci, highlight), badge in zip(groups, badges, strict=True)
    )
