"""The template context of a profile: every number formatted, every sentence worded from the table.

The words come from the layouts' ``wording.yaml``, the sizes and colours from ``theme.yaml``; this
module chooses which text applies and fills its slots.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from reportgen.core import formatting as fmt
from reportgen.core.geography import Area
from reportgen.core.specs import DOMAINS, IndicatorSpec
from reportgen.document import narrative
from reportgen.document.compose import (
    SYNTHETIC_PREFIX,
    BarPanel,
    IndicatorFacts,
    ProfileInputs,
    ProfilePlan,
    result_of,
    value_of,
    value_text,
)
from reportgen.document.models import BarPanelImage, ChartImage, Theme
from reportgen.document.textwidth import columns, face_widths
from reportgen.document.view import (
    BUCKETS,
    NOT_COMPARED_RESULT,
    RESULTS_BY_KEY,
    SIGNIFICANT_TRENDS,
    BarPanelView,
    BarRowView,
    Comparison,
    ImageView,
    IndicatorView,
    LegendGroup,
    TrendArrow,
    TrendRow,
    TrendText,
    Wording,
    badge,
    comparison,
    css_variables,
    packaged_wording,
)
from reportgen.sources.data import note_text
from reportgen.stats.coverage import RANK_IN_FILE
from reportgen.stats.trend import CANNOT

ENGLAND_AUTHORITIES = 153
JUDGED = ("high_is_good", "low_is_good")

TREND_ARROWS = {"Increasing": "↑", "Decreasing": "↓", "No significant change": "→"}
Images = Mapping[str, ChartImage | BarPanelImage]


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def image(images: Images, key: str) -> ImageView | None:
    """Template data of one drawn chart (a spine or a trend chart): a data: URI, its alternative text and size."""
    chart = images.get(key)
    if not isinstance(chart, ChartImage):
        return None
    return ImageView(svg_data_uri(chart.svg), chart.alt, round(chart.width_mm, 2), round(chart.height_mm, 2))


def profile_context(plan: ProfilePlan, images: Images) -> dict[str, Any]:
    """Everything the templates need, already formatted as text: the document model."""
    inputs = plan.inputs
    wording = inputs.wording
    bars = {b.key: b for b in plan.bars}
    partial = _coverage(plan) is not None
    indicators = [_indicator_view(f, inputs, images, bars, partial) for f in plan.facts]
    domains = [
        {"name": d, "slug": d.lower().replace(" ", "-"), "indicators": [i for i in indicators if i.domain == d]}
        for d in DOMAINS
    ]
    domains = [d for d in domains if d["indicators"]]
    area = inputs.area
    title = wording.text("document", "title")
    return {
        "title": wording.text("document", "full_title", title=title, area=area.name),
        "document_title": title,
        "subject": wording.text("document", "subject", title=title, edition=inputs.edition, area=area.name),
        "keywords": wording.text("document", "keywords", area=area.name, code=area.code),
        "language": "en-GB",
        "area": area,
        "place": area.display_name,
        "edition": inputs.edition,
        "author": inputs.author,
        "data_date": inputs.data_date.isoformat(),
        "data_date_text": fmt.long_date(inputs.data_date),
        "synthetic": inputs.synthetic,
        "version": inputs.version,
        "theme": inputs.theme,
        "theme_css": css_variables(inputs.theme),
        "wording": wording.sections,
        "region_name": area.region_name or _first_region(plan),
        "population": _population(plan),
        "coverage": _coverage(plan),
        "glance": _glance(plan, indicators),
        "domains": domains,
        "indicators": indicators,
        "legend": _legend(inputs.theme, wording, indicators),
        "worst_header": _extreme_header(inputs.specs, "worst", wording),
        "best_header": _extreme_header(inputs.specs, "best", wording),
        "data_label": inputs.data_label,
        "provenance": inputs.provenance,
        "palette_note": wording.text("palette", "note", palette=inputs.theme.palette.title),
        "licences": sorted({s.licence for s in inputs.specs if s.licence}),
        "changes": _changes(inputs.changes),
    }


def _changes(changes: dict | None) -> dict[str, Any] | None:
    """The 'What has changed' section: None for a first edition, else the previous edition and rows."""
    if not changes:
        return None
    rows = [
        {k: str(row.get(k, "")) for k in ("indicator", "what", "before", "after")} for row in changes.get("rows", [])
    ]
    return {"previous_edition": str(changes.get("previous_edition", "")), "rows": rows}


def _coverage(plan: ProfilePlan) -> dict[str, Any] | None:
    """When the data cover fewer authorities than England has, how many (ranks and ranges then describe them)."""
    if plan.authorities >= ENGLAND_AUTHORITIES:
        return None
    return {"n": plan.authorities, "total": ENGLAND_AUTHORITIES}


def _first_region(plan: ProfilePlan) -> str:
    for f in plan.facts:
        if f.row is not None and f.row["region_name"]:
            return str(f.row["region_name"])
    return ""


def _population(plan: ProfilePlan) -> str:
    for f in plan.facts:
        if f.spec.provides_population and f.row is not None and not fmt.is_missing(f.row["denominator"]):
            return plan.inputs.wording.text(
                "document", "population", count=fmt.count(f.row["denominator"]), period=f.latest
            )
    return ""


def _extreme_header(specs: Iterable[IndicatorSpec], which: str, wording: Wording) -> str:
    """Heading of the summary's worst (or lowest) and best (or highest) column, by the indicators' polarity."""
    judged = [s.polarity in JUDGED for s in specs]
    keys = {"worst": ("worst", "lowest", "worst_or_lowest"), "best": ("best", "highest", "best_or_highest")}[which]
    key = keys[0] if all(judged) else keys[2] if any(judged) else keys[1]
    return wording.text("summary", key)


# --------------------------------------------------------------------------- one indicator


def _indicator_view(
    f: IndicatorFacts,
    inputs: ProfileInputs,
    images: Images,
    bars: Mapping[str, BarPanel],
    partial: bool = False,
) -> IndicatorView:
    spec, row, theme, wording = f.spec, f.row, inputs.theme, inputs.wording
    has_value = _has_value(row)
    result, region_result = _results(row, spec, has_value)
    trend = str(row["recent_trend"]) if row is not None else CANNOT
    region_name = _region_name(row, inputs.area)
    worst, best = _extremes(row, spec)
    trend_rows = _trend_rows(f, theme, wording)
    return IndicatorView(
        id=spec.id,
        domain=spec.domain,
        result=result,
        region_result=region_result,
        has_value=has_value,
        has_data=bool(len(f.series)),
        name=spec.short_name,
        full_name=spec.name,
        definition=spec.definition,
        rationale=spec.rationale,
        source=spec.source,
        derivation_note=spec.derivation_note,
        unit=spec.unit or "none",
        caveats=spec.caveats,
        licence=spec.licence,
        value_type=wording.text("value_types", spec.value_type),
        comparison_method=wording.text("comparison_methods", spec.comparison),
        polarity=wording.text("polarities", spec.polarity),
        ci_text=_ci_text(row, wording),
        value_note=_row_note(row),
        period=f.latest or fmt.DASH,
        periods=_periods(f, wording),
        value=value_text(row, "value", spec),
        value_plain=fmt.number(value_of(row, "value"), spec.decimals),
        count=fmt.count(value_of(row, "count")),
        ci=fmt.interval(value_of(row, "lower_ci_95"), value_of(row, "upper_ci_95"), spec.decimals),
        region=fmt.number(value_of(row, "region_value"), spec.decimals),
        region_text=value_text(row, "region_value", spec),
        region_name=region_name,
        region_place=fmt.place(region_name),
        england=fmt.number(value_of(row, "england_value"), spec.decimals),
        england_text=value_text(row, "england_value", spec),
        worst=worst,
        best=best,
        spine_note=_text_of(row, "spine_note"),
        badge=badge(result, theme, wording),
        badge_region=badge(region_result, theme, wording),
        comparison_sentence=_comparison_sentence(row, spec, result, wording) if has_value else "",
        trend=trend,
        trend_arrow=_trend_arrow(trend, theme),
        rank=_rank(row, partial, wording),
        notes=tuple(_notes(f, inputs, has_value)),
        subline=_subline(row, spec, inputs, trend, region_result, partial),
        spine=image(images, f"spine-{spec.id}"),
        trend_chart=image(images, f"trend-{spec.id}"),
        bar_panel=_bar_panel(bars.get(f"bars-{spec.id}"), images.get(f"bars-{spec.id}"), theme, wording),
        trend_rows=trend_rows,
        trend_text=_trend_table(trend_rows, theme, wording),
    )


def _has_value(row: pd.Series | None) -> bool:
    return row is not None and not fmt.is_missing(row["value"])


def _results(row: pd.Series | None, spec: IndicatorSpec, has_value: bool) -> tuple[Comparison, Comparison]:
    """The comparisons with England and with the region (Not compared without a value)."""
    if not has_value:
        return NOT_COMPARED_RESULT, NOT_COMPARED_RESULT
    return result_of(row, spec), result_of(row, spec, "compared_to_region")


def _text_of(row: pd.Series | None, column: str) -> str:
    return "" if row is None else str(row[column])


def _row_note(row: pd.Series | None) -> str:
    return _clean_note(row["value_note"]) if row is not None else ""


def _region_name(row: pd.Series | None, area: Area) -> str:
    return str((row["region_name"] if row is not None else "") or area.region_name)


def _periods(f: IndicatorFacts, wording: Wording) -> str:
    if len(f.periods) > 1:
        return wording.text("indicator", "periods", first=f.periods[0], last=f.periods[-1])
    return f.latest or fmt.DASH


def _extremes(row: pd.Series | None, spec: IndicatorSpec) -> tuple[str, str]:
    """The worst (or lowest) and best (or highest) value among authorities, when the spine is shown."""
    if row is None or not bool(row["spine_shown"]):
        return fmt.DASH, fmt.DASH
    worst, best = ("spine_max", "spine_min") if spec.polarity == "low_is_good" else ("spine_min", "spine_max")
    return fmt.number(value_of(row, worst), spec.decimals), fmt.number(value_of(row, best), spec.decimals)


def _comparison_sentence(row: pd.Series | None, spec: IndicatorSpec, result: Comparison, wording: Wording) -> str:
    return wording.phrase(result, wording.england, value_text(row, "england_value", spec))


def _bar_panel(
    panel: BarPanel | None, drawn: ChartImage | BarPanelImage | None, theme: Theme, wording: Wording
) -> BarPanelView | None:
    """A compare-areas chart: its lines of text, the SVG of its marks, and each row's badge (for the legend)."""
    if panel is None or not isinstance(drawn, BarPanelImage):
        return None
    return BarPanelView(
        rows=tuple(BarRowView(badge(r.result, theme, wording), r.highlight) for r in panel.rows),
        lines=drawn.lines,
        src=svg_data_uri(drawn.svg),
        alt=drawn.alt,
        width_mm=round(drawn.width_mm, 2),
        height_mm=round(drawn.height_mm, 2),
        tab_mm=drawn.tab_mm,
        line_mm=drawn.line_mm,
    )


def _subline(
    row: pd.Series | None, spec: IndicatorSpec, inputs: ProfileInputs, trend: str, result: Comparison, partial: bool
) -> str:
    """Region comparison, ranks and trend in one line of text."""
    if row is None or fmt.is_missing(row["value"]):
        return ""
    parts = []
    wording = inputs.wording
    if not fmt.is_missing(row["region_value"]):
        label = wording.label(result).lower()
        verdict = wording.text("phrases", "region_quintile", quintile=label) if result.kind == "quintile" else label
        region = fmt.place(row["region_name"]) if row["region_name"] else wording.text("names", "region")
        parts.append(
            wording.text(
                "indicator", "region", region=region, value=value_text(row, "region_value", spec), result=verdict
            )
        )
    if rank := _rank(row, partial, wording):
        first = wording.text("indicator", "rank_first_judged" if spec.polarity in JUDGED else "rank_first_unjudged")
        parts.append(wording.text("indicator", "rank", rank=rank, first=first))
    parts.append(wording.text("indicator", "trend", trend=wording.trend(trend)))
    return " ".join(parts)


def _ci_text(row: pd.Series | None, wording: Wording) -> str:
    """How the confidence intervals of the latest value were obtained."""
    source = "none" if row is None else str(row["ci_source"])
    if row is not None and source in ("data", "computed"):
        return wording.text("intervals", source, method=str(row["ci_method"]))
    return wording.text("intervals", "none")


def _trend_arrow(trend: str, theme: Theme) -> TrendArrow:
    """The summary's trend arrow, coloured when the trend is getting better or worse."""
    direction = next((word for word in TREND_ARROWS if trend.startswith(word)), "")
    if not direction:
        return TrendArrow("", theme.neutrals.ink, trend)
    palette = theme.palette.comparison
    colour = (
        palette["Better"]
        if trend.endswith("better")
        else palette["Worse"]
        if trend.endswith("worse")
        else theme.neutrals.unjudged_arrow
    )
    return TrendArrow(TREND_ARROWS[direction], colour, trend)


def _rank(row: pd.Series | None, partial: bool = False, wording: Wording | None = None) -> str:
    """``3rd of 153 authorities in England and 1st of 12 in the North East`` (empty without a rank).

    ``wording`` defaults to the packaged wording.
    """
    if row is None or fmt.is_missing(row["rank_in_england"]):
        return ""
    words = wording or packaged_wording()
    scope = "in_file" if partial or row.get("rank_scope") == RANK_IN_FILE else "in_england"
    rank = fmt.ordinal(int(row["rank_in_england"]))
    text = words.text("ranks", scope, rank=rank, n=int(row["n_in_england"]))
    if fmt.is_missing(row["rank_in_region"]):
        return text
    return words.text(
        "ranks",
        "with_region",
        england=text,
        rank=fmt.ordinal(int(row["rank_in_region"])),
        n=int(row["n_in_region"]),
        region=fmt.place(row["region_name"]),
    )


def _clean_note(note: object) -> str:
    text = note_text(note)  # HTML in downloaded notes shown as text
    if text.startswith(SYNTHETIC_PREFIX):
        text = text[len(SYNTHETIC_PREFIX) :].lstrip("; ")
    return text[:1].upper() + text[1:]


def _notes(f: IndicatorFacts, inputs: ProfileInputs, has_value: bool) -> list[str]:
    """Notes on missing or incomplete data, each worded from the layouts' ``notes``."""
    wording, row = inputs.wording, f.row
    notes = [_missing_note(f, inputs, has_value)]
    if len(f.periods) == 1 and has_value:
        notes.append(wording.text("notes", "one_period"))
    if row is not None and fmt.is_missing(row["england_value"]):
        notes.append(wording.text("notes", "no_england"))
    if row is not None and has_value and fmt.is_missing(row["region_value"]) and row["area_type"] == "UTLA":
        notes.append(wording.text("notes", "no_region"))
    return [n for n in notes if n]


def _missing_note(f: IndicatorFacts, inputs: ProfileInputs, has_value: bool) -> str:
    """Why there is no value: no data for the indicator, none for the area, or none in the latest period."""
    wording, area = inputs.wording, inputs.area.display_name
    if not len(f.series) and not f.periods:
        return wording.text("notes", "no_indicator_data", file=inputs.data_label)
    if not len(f.series):
        return wording.text("notes", "no_area_data", area=area)
    if has_value:
        return ""
    if note := _row_note(f.row):
        return wording.text("notes", "no_value_note", area=area, period=f.latest, note=note)
    return wording.text("notes", "no_value", area=area, period=f.latest)


def _trend_rows(f: IndicatorFacts, theme: Theme, wording: Wording) -> tuple[TrendRow, ...]:
    spec = f.spec
    by_period, england = f.by_period, f.england_by_period
    rows = []
    for p in f.periods:
        row = by_period.get(p)
        has_value = value_of(row, "value") is not None
        result = result_of(row, spec) if has_value else NOT_COMPARED_RESULT
        rows.append(
            TrendRow(
                period=p,
                value=fmt.number(value_of(row, "value"), spec.decimals),
                ci=fmt.interval(value_of(row, "lower_ci_95"), value_of(row, "upper_ci_95"), spec.decimals),
                england=fmt.number(value_of(england.get(p), "value"), spec.decimals),
                badge=badge(result, theme, wording),
            )
        )
    return tuple(rows)


TREND_COLUMNS = ("trend_value", "trend_interval", "trend_benchmark")  # wording keys (``charts``)
RESULT_MIN_MM = 14.0  # room left for the "vs England" column, whose words may wrap


def _trend_table(rows: tuple[TrendRow, ...], theme: Theme, wording: Wording) -> TrendText | None:
    """The trend table's numbers as aligned text, one cell per period, when they fit the column.

    Three cells per period (period, numbers, result) cost far less to lay out than five and read the
    same: the value, interval and England's value right-aligned in tabular figures. ``None`` when
    the numbers would be too wide (very long numbers): the table then keeps its five columns. The
    column is as wide as the trend chart (theme.yaml ``sizes.col_right``).
    """
    sizes = theme.sizes
    size, padding = sizes.small_text_mm, 2 * sizes.data_cell_padding
    body, bold = face_widths(theme.font_files, 400), face_widths(theme.font_files, 600)
    titles = [wording.text("charts", key) for key in TREND_COLUMNS]
    head, lines = columns(titles, [[r.value, r.ci, r.england] for r in rows], [True, True, True], body, bold)
    period_title = wording.text("charts", "trend_period")
    period = max([bold.width(period_title, size)] + [body.width(r.period, size) for r in rows])
    widest = max([bold.width(head, size)] + [body.width(line, size) for line in lines])
    if period + widest + 3 * padding + RESULT_MIN_MM > sizes.col_right:
        return None
    return TrendText(head, tuple(lines))


# --------------------------------------------------------------------------- page 1

COUNT_RESULTS = {
    "better": comparison("Better"),
    "similar": comparison("Similar"),
    "worse": comparison("Worse"),
    "not_compared": NOT_COMPARED_RESULT,
}


def _glance(plan: ProfilePlan, indicators: list[IndicatorView]) -> dict[str, Any]:
    """Counts and key messages of page 1; an indicator is counted in the column of the list it is in."""
    inputs = plan.inputs
    wording = inputs.wording
    counts = dict.fromkeys(BUCKETS, 0)
    strengths: list[tuple[tuple[int, int], str]] = []
    develop: list[tuple[tuple[int, int], str]] = []
    trends = []
    for f, ind in zip(plan.facts, indicators, strict=True):
        result = ind.result
        counts[result.bucket] += 1
        if not ind.has_value:
            continue
        sentence = narrative.key_message(wording, ind.name, ind.value, ind.period, ind.comparison_sentence)
        rank = (0 if result.strong else 1, len(strengths) + len(develop))
        if result.strength:
            strengths.append((rank, sentence))
        elif result.to_develop:
            develop.append((rank, sentence))
        if message := _trend_sentence(f, ind, wording):
            trends.append(message)
    return {
        "by_domain": _domain_counts(indicators),
        "counts": [
            {"key": k, "n": n, "badge": badge(COUNT_RESULTS[k], inputs.theme, wording)} for k, n in counts.items()
        ],
        "count_labels": {k: wording.label(r) for k, r in COUNT_RESULTS.items()},
        "total": len(indicators),
        "strengths": [s for _, s in sorted(strengths)],
        "develop": [s for _, s in sorted(develop)],
        "trends": trends,
        "unjudged": sum(
            1 for f in plan.facts if f.spec.polarity not in JUDGED or f.spec.comparison in ("quintiles", "none")
        ),
    }


def _domain_counts(indicators: list[IndicatorView]) -> list[dict[str, Any]]:
    rows = []
    for domain in DOMAINS:
        buckets = [ind.result.bucket for ind in indicators if ind.domain == domain]
        if buckets:
            rows.append({"name": domain, "total": len(buckets), **{k: buckets.count(k) for k in BUCKETS}})
    return rows


def _trend_sentence(f: IndicatorFacts, ind: IndicatorView, wording: Wording) -> str:
    """Page 1's message of a significant recent trend, from the first of the last five values to the latest."""
    if ind.trend not in SIGNIFICANT_TRENDS:
        return ""
    known = [p for p in f.periods if value_of(f.by_period.get(p), "value") is not None][-5:]
    first = (value_text(f.by_period[known[0]], "value", f.spec), known[0])
    return narrative.trend_message(wording, ind.name, ind.trend, first, (ind.value, ind.period))


# --------------------------------------------------------------------------- the key to the symbols

LEGEND_ORDER = (
    (
        "england_title",
        ("better_998", "better_95", "better", "similar", "worse", "worse_95", "worse_998", "not_compared"),
    ),
    ("unjudged_title", ("higher_998", "higher_95", "higher", "lower", "lower_95", "lower_998")),
    (
        "quintiles_title",
        tuple(f"quintile_judged_{i}" for i in range(1, 6)) + tuple(f"quintile_unjudged_{i}" for i in range(1, 6)),
    ),
)
ALWAYS_IN_LEGEND = ("better", "similar", "worse", "not_compared")


def _legend(theme: Theme, wording: Wording, indicators: list[IndicatorView]) -> list[LegendGroup]:
    """The key to every comparison result that appears in the document (and the basic four), palette-aware."""
    seen = set(ALWAYS_IN_LEGEND)
    for ind in indicators:
        seen.update(_result_keys(ind))
    groups = []
    for title, keys in LEGEND_ORDER:
        items = tuple(badge(RESULTS_BY_KEY[k], theme, wording) for k in keys if k in seen)
        if items:
            groups.append(LegendGroup(wording.text("legend", title), items))
    return groups


def _result_keys(ind: IndicatorView) -> list[str]:
    """The wording keys of every result an indicator shows: its comparisons, its chart's and its trend table's."""
    panel_rows = ind.bar_panel.rows if ind.bar_panel else ()
    return [
        ind.result.key,
        ind.region_result.key,
        *(r.badge.key for r in panel_rows),
        *(r.badge.key for r in ind.trend_rows),
    ]
