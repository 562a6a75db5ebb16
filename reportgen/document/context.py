"""The template context of a profile: every number formatted, every sentence worded from the table."""

from __future__ import annotations

import base64
from typing import Any

import pandas as pd

from reportgen.core import formatting as fmt
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
    Comparison,
    IndicatorView,
    Wording,
    badge,
    comparison,
    css_variables,
)
from reportgen.sources.data import note_text

ENGLAND_AUTHORITIES = 153

TREND_ARROWS = {"Increasing": "↑", "Decreasing": "↓", "No significant change": "→"}
VALUE_TYPE_NAMES = {
    "proportion": "Proportion",
    "crude_rate": "Crude rate",
    "dsr": "Directly standardised rate",
    "isr": "Indirectly standardised ratio",
    "mean": "Mean",
    "score": "Score",
    "count": "Count",
    "ratio": "Ratio",
    "life_expectancy": "Life expectancy",
}
COMPARISON_NAMES = {
    "ci95": "the area's 95% confidence interval against the benchmark's value",
    "ci998": "the area's 99.8% confidence interval against the benchmark's value",
    "ci95_998": "the area's 95% and 99.8% confidence intervals against the benchmark's value (two levels)",
    "quintiles": "quintiles of all authorities",
    "none": "not compared",
}
POLARITY_NAMES = {
    "high_is_good": "a higher value is better",
    "low_is_good": "a lower value is better",
    "no_judgement": "no judgement (compared as higher or lower)",
    "not_applicable": "not compared",
}


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def image(images: dict[str, ChartImage], key: str) -> dict[str, Any] | None:
    """Template data of one drawn chart: a data: URI, its alternative text and size."""
    chart = images.get(key)
    if chart is None:
        return None
    return {
        "src": svg_data_uri(chart.svg),
        "alt": chart.alt,
        "width_mm": round(chart.width_mm, 2),
        "height_mm": round(chart.height_mm, 2),
    }


def profile_context(plan: ProfilePlan, images: dict[str, ChartImage]) -> dict[str, Any]:
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
    return {
        "title": f"{inputs.title}: {area.name}",
        "document_title": inputs.title,
        "subject": (
            f"{inputs.title} {inputs.edition} for {area.name}: "
            "asset indicators benchmarked against England and the region"
        ),
        "keywords": f"health assets, asset-based, public health, JSNA, {area.name}, {area.code}",
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
        "worst_header": _extreme_header(inputs.specs, "worst"),
        "best_header": _extreme_header(inputs.specs, "best"),
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
            return f"{fmt.count(f.row['denominator'])} ({f.latest})"
    return ""


def _extreme_header(specs, which: str) -> str:
    judged = [s.polarity in ("high_is_good", "low_is_good") for s in specs]
    word = {"worst": ("Worst", "Lowest"), "best": ("Best", "Highest")}[which]
    if all(judged):
        return word[0]
    return word[1] if not any(judged) else f"{word[0]}/ {word[1]}"


def _indicator_view(
    f: IndicatorFacts,
    inputs: ProfileInputs,
    images: dict[str, ChartImage],
    bars: dict[str, BarPanel],
    partial: bool = False,
) -> IndicatorView:
    spec, row, theme, wording = f.spec, f.row, inputs.theme, inputs.wording
    has_value = row is not None and not fmt.is_missing(row["value"])
    result = result_of(row, spec) if has_value else NOT_COMPARED_RESULT
    region_result = result_of(row, spec, "compared_to_region") if has_value else NOT_COMPARED_RESULT
    low_is_good = spec.polarity == "low_is_good"
    worst, best = ("spine_max", "spine_min") if low_is_good else ("spine_min", "spine_max")
    spine_shown = row is not None and bool(row["spine_shown"])
    trend = str(row["recent_trend"]) if row is not None else "Cannot be calculated"
    text = {
        "id": spec.id,
        "domain": spec.domain,
        "name": spec.short_name,
        "full_name": spec.name,
        "definition": spec.definition,
        "rationale": spec.rationale,
        "source": spec.source,
        "derivation_note": spec.derivation_note,
        "unit": spec.unit or "none",
        "caveats": spec.caveats,
        "licence": spec.licence,
        "period": f.latest or fmt.DASH,
        "periods": f"{f.periods[0]} to {f.periods[-1]}" if len(f.periods) > 1 else (f.latest or fmt.DASH),
        "has_value": has_value,
        "has_data": bool(len(f.series)),
        "value": value_text(row, "value", spec),
        "value_plain": fmt.number(value_of(row, "value"), spec.decimals),
        "count": fmt.count(value_of(row, "count")),
        "ci": fmt.interval(*(value_of(row, c) for c in ("lower_ci_95", "upper_ci_95")), spec.decimals),
        "region": fmt.number(value_of(row, "region_value"), spec.decimals),
        "region_text": value_text(row, "region_value", spec),
        "region_name": (row["region_name"] if row is not None else "") or inputs.area.region_name,
        "region_place": fmt.place((row["region_name"] if row is not None else "") or inputs.area.region_name),
        "england": fmt.number(value_of(row, "england_value"), spec.decimals),
        "england_text": value_text(row, "england_value", spec),
        "worst": fmt.number(value_of(row, worst) if spine_shown else None, spec.decimals),
        "best": fmt.number(value_of(row, best) if spine_shown else None, spec.decimals),
        "spine_note": "" if row is None else str(row["spine_note"]),
        "badge": badge(result, theme, wording),
        "badge_region": badge(region_result, theme, wording),
        "comparison_sentence": wording.phrase(result, "England", value_text(row, "england_value", spec))
        if has_value
        else "",
        "trend": trend,
        "trend_arrow": _trend_arrow(trend, theme),
        "rank": _rank(row, partial),
        "notes": _notes(f, inputs, has_value),
        "subline": _subline(row, spec, inputs, trend, region_result, partial),
        "spine": image(images, f"spine-{spec.id}"),
        "trend_chart": image(images, f"trend-{spec.id}"),
        "bar_panel": _bar_panel(bars.get(f"bars-{spec.id}"), images.get(f"bars-{spec.id}"), theme, wording),
        "trend_rows": (trend_rows := _trend_rows(f, theme, wording)),
        "trend_text": _trend_table(trend_rows, theme),
        "value_type": VALUE_TYPE_NAMES[spec.value_type],
        "ci_text": _ci_text(row),
        "comparison_method": COMPARISON_NAMES[spec.comparison],
        "polarity": POLARITY_NAMES[spec.polarity],
        "value_note": _clean_note(row["value_note"]) if row is not None else "",
    }
    return IndicatorView(spec.id, spec.domain, result, region_result, has_value, text)


def _bar_panel(
    panel: BarPanel | None, drawn: BarPanelImage | None, theme: Theme, wording: Wording
) -> dict[str, Any] | None:
    """A compare-areas chart: its lines of text, the SVG of its marks, and each row's badge (for the legend)."""
    if panel is None or drawn is None:
        return None
    return {
        "rows": [{"badge": badge(r.result, theme, wording), "highlight": r.highlight} for r in panel.rows],
        "lines": [{"name": line.name, "numbers": line.numbers, "kind": line.kind} for line in drawn.lines],
        "src": svg_data_uri(drawn.svg),
        "alt": drawn.alt,
        "width_mm": round(drawn.width_mm, 2),
        "height_mm": round(drawn.height_mm, 2),
        "tab_mm": drawn.tab_mm,
        "line_mm": drawn.line_mm,
    }


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
        parts.append(
            f"Compared with {fmt.place(row['region_name']) if row['region_name'] else 'the region'} "
            f"({value_text(row, 'region_value', spec)}): {verdict}."
        )
    if rank := _rank(row, partial):
        best = "highest" if spec.polarity in ("no_judgement", "not_applicable") else "best"
        parts.append(f"Ranked {rank} (1st is {best}).")
    parts.append(f"Recent trend: {trend.lower()}.")
    return " ".join(parts)


def _ci_text(row: pd.Series | None) -> str:
    """How the confidence intervals of the latest value were obtained."""
    source = "none" if row is None else str(row["ci_source"])
    if source == "data":
        return str(row["ci_method"])
    if source == "computed":
        return f"{row['ci_method']}, computed by reportgen"
    return "not available"


def _trend_arrow(trend: str, theme: Theme) -> dict[str, str]:
    direction = next((word for word in TREND_ARROWS if trend.startswith(word)), "")
    if not direction:
        return {"glyph": "", "colour": "#000000", "label": trend}
    palette = theme.palette.comparison
    colour = (
        palette["Better"] if trend.endswith("better") else palette["Worse"] if trend.endswith("worse") else "#3A3A3A"
    )
    return {"glyph": TREND_ARROWS[direction], "colour": colour, "label": trend}


def _rank(row: pd.Series | None, partial: bool = False) -> str:
    if row is None or fmt.is_missing(row["rank_in_england"]):
        return ""
    n = int(row["n_in_england"])
    where = "in this file" if partial else (row.get("rank_scope") or "in England")
    text = f"{fmt.ordinal(int(row['rank_in_england']))} of {n} authorities {where}"
    if not fmt.is_missing(row["rank_in_region"]):
        region_rank = fmt.ordinal(int(row["rank_in_region"]))
        text += f" and {region_rank} of {int(row['n_in_region'])} in {fmt.place(row['region_name'])}"
    return text


def _clean_note(note) -> str:
    text = note_text(note)  # HTML in downloaded notes shown as text
    if text.startswith(SYNTHETIC_PREFIX):
        text = text[len(SYNTHETIC_PREFIX) :].lstrip("; ")
    return text[:1].upper() + text[1:]


def _notes(f: IndicatorFacts, inputs: ProfileInputs, has_value: bool) -> list[str]:
    notes = []
    name = inputs.area.display_name
    if not len(f.series) and not f.periods:
        notes.append(f"No data for this indicator in the data file ({inputs.data_label}).")
    elif not len(f.series):
        notes.append(f"No data for {name} in the data file.")
    elif not has_value:
        notes.append(
            f"No value for {name} in {f.latest}."
            + (f" {n}." if (n := _clean_note(f.row["value_note"] if f.row is not None else "")) else "")
        )
    if len(f.periods) == 1 and has_value:
        notes.append("Only one period is available, so there is no trend yet.")
    if f.row is not None and fmt.is_missing(f.row["england_value"]):
        notes.append("No England value is available, so the area is not compared with England.")
    if has_value and fmt.is_missing(f.row["region_value"]) and f.row["area_type"] == "UTLA":
        notes.append("No region value is available.")
    return notes


def _trend_rows(f: IndicatorFacts, theme: Theme, wording: Wording) -> list[dict[str, Any]]:
    spec = f.spec
    by_period, england = f.by_period, f.england_by_period
    rows = []
    for p in f.periods:
        row = by_period.get(p)
        has_value = value_of(row, "value") is not None
        result = result_of(row, spec) if has_value else NOT_COMPARED_RESULT
        rows.append(
            {
                "period": p,
                "value": fmt.number(value_of(row, "value"), spec.decimals),
                "ci": fmt.interval(value_of(row, "lower_ci_95"), value_of(row, "upper_ci_95"), spec.decimals),
                "england": fmt.number(value_of(england.get(p), "value"), spec.decimals),
                "badge": badge(result, theme, wording),
            }
        )
    return rows


TREND_COLUMNS = ("Value", "95% CI", "England")
TREND_TABLE_MM = 68.0  # the width of the trend column (the trend chart's width)
CELL_PADDING_MM = 1.2  # left and right padding of a cell of table.data
RESULT_MIN_MM = 14.0  # room left for the "vs England" column, whose words may wrap
TEXT_MM = 7.5 * 25.4 / 72  # the tables' font size


def _trend_table(rows: list[dict[str, Any]], theme: Theme) -> dict[str, Any] | None:
    """The trend table's numbers as aligned text, one cell per period, when they fit the column.

    Three cells per period (period, numbers, result) cost far less to lay out than five and read the
    same: the value, interval and England's value right-aligned in tabular figures. ``None`` when
    the numbers would be too wide (very long numbers): the table then keeps its five columns.
    """
    body, bold = face_widths(theme.font_files, 400), face_widths(theme.font_files, 600)
    cells = [[r["value"], r["ci"], r["england"]] for r in rows]
    head, lines = columns(list(TREND_COLUMNS), cells, [True, True, True], body, bold)
    period = max([bold.width("Period", TEXT_MM)] + [body.width(r["period"], TEXT_MM) for r in rows])
    widest = max([bold.width(head, TEXT_MM)] + [body.width(line, TEXT_MM) for line in lines])
    if period + widest + 3 * CELL_PADDING_MM + RESULT_MIN_MM > TREND_TABLE_MM:
        return None
    return {"head": head, "lines": lines}


COUNT_RESULTS = {
    "better": comparison("Better"),
    "similar": comparison("Similar"),
    "worse": comparison("Worse"),
    "not_compared": NOT_COMPARED_RESULT,
}


def _glance(plan: ProfilePlan, indicators: list[IndicatorView]) -> dict[str, Any]:
    """Counts and key messages of page 1; an indicator is counted in the column of the list it is in."""
    inputs = plan.inputs
    counts = dict.fromkeys(BUCKETS, 0)
    strengths, develop, trends = [], [], []
    for f, ind in zip(plan.facts, indicators, strict=True):
        result = ind.result
        counts[result.bucket] += 1
        if not ind.has_value:
            continue
        sentence = narrative.key_message(ind.name, ind.value, ind.period, ind.comparison_sentence)
        rank = (0 if result.strong else 1, len(strengths) + len(develop))
        if result.strength:
            strengths.append((rank, sentence))
        elif result.to_develop:
            develop.append((rank, sentence))
        if message := _trend_sentence(f, ind):
            trends.append(message)
    return {
        "by_domain": _domain_counts(indicators, inputs.wording),
        "counts": [
            {"key": k, "n": n, "badge": badge(COUNT_RESULTS[k], inputs.theme, inputs.wording)}
            for k, n in counts.items()
        ],
        "count_labels": {k: inputs.wording.label(r) for k, r in COUNT_RESULTS.items()},
        "total": len(indicators),
        "strengths": [s for _, s in sorted(strengths)],
        "develop": [s for _, s in sorted(develop)],
        "trends": trends,
        "unjudged": sum(
            1
            for f in plan.facts
            if f.spec.polarity in ("no_judgement", "not_applicable") or f.spec.comparison in ("quintiles", "none")
        ),
    }


def _domain_counts(indicators: list[IndicatorView], wording: Wording) -> list[dict[str, Any]]:
    rows = []
    for domain in DOMAINS:
        buckets = [ind.result.bucket for ind in indicators if ind.domain == domain]
        if buckets:
            rows.append({"name": domain, "total": len(buckets), **{k: buckets.count(k) for k in BUCKETS}})
    return rows


def _trend_sentence(f: IndicatorFacts, ind: IndicatorView) -> str:
    trend = ind.trend
    if trend not in narrative.TREND_WORDS:
        return ""
    known = [p for p in f.periods if value_of(f.by_period.get(p), "value") is not None][-5:]
    first = (value_text(f.by_period[known[0]], "value", f.spec), known[0])
    return narrative.trend_message(ind.name, trend, first, (ind.value, ind.period))


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


def _legend(theme: Theme, wording: Wording, indicators: list[IndicatorView]) -> list[dict[str, Any]]:
    """The key to every comparison result that appears in the document (and the basic four), palette-aware."""
    seen: dict[str, Comparison] = {}
    for ind in indicators:
        results = [ind.result, ind.region_result]
        panel = ind.bar_panel
        keys = [r["badge"]["key"] for r in (panel["rows"] if panel else [])] + [
            r["badge"]["key"] for r in ind.trend_rows
        ]
        for result in results:
            seen.setdefault(result.key, result)
        for key in keys:
            seen.setdefault(key, None)
    groups = []
    for title, keys in LEGEND_ORDER:
        items = [k for k in keys if k in seen or k in ALWAYS_IN_LEGEND]
        if items:
            groups.append(
                {"title": wording.text("legend", title), "items": [_legend_badge(k, theme, wording) for k in items]}
            )
    return groups


def _legend_badge(key: str, theme: Theme, wording: Wording) -> dict[str, Any]:
    return badge(RESULTS_BY_KEY[key], theme, wording)
