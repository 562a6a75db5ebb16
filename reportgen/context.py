"""The template context of a profile: every number formatted, every sentence worded from the table."""

from __future__ import annotations

import base64
from typing import Any

import pandas as pd

from . import formatting as fmt
from . import narrative
from .compose import (
    SHORT_LABELS,
    SYNTHETIC_PREFIX,
    IndicatorFacts,
    ProfileInputs,
    ProfilePlan,
    badge,
    comparison_label,
    optional,
    value_of,
    value_text,
)
from .data import note_text
from .geography import Area
from .models import ChartImage, Theme
from .specs import DOMAINS, IndicatorSpec
from .stats.compare import NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG

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


def image(images: dict[str, ChartImage], key: str) -> dict[str, Any] | None:
    """Template data of one drawn chart: a data: URI, its alternative text and size."""
    chart = images.get(key)
    if chart is None:
        return None
    uri = "data:image/svg+xml;base64," + base64.b64encode(chart.svg.encode("utf-8")).decode("ascii")
    return {"src": uri, "alt": chart.alt, "width_mm": round(chart.width_mm, 2), "height_mm": round(chart.height_mm, 2)}


def profile_context(plan: ProfilePlan, images: dict[str, ChartImage]) -> dict[str, Any]:
    """Everything the templates need, already formatted as text."""
    inputs = plan.inputs
    indicators = [_indicator_context(f, inputs, images) for f in plan.facts]
    domains = [
        {"name": d, "slug": d.lower().replace(" ", "-"), "indicators": [i for i in indicators if i["domain"] == d]}
        for d in DOMAINS
    ]
    domains = [d for d in domains if d["indicators"]]
    area = inputs.area
    return {
        "title": f"Health assets profile: {area.name}",
        "subject": (
            f"Health assets profile {inputs.edition} for {area.name}: "
            "asset indicators benchmarked against England and the region"
        ),
        "keywords": f"health assets, asset-based, public health, JSNA, {area.name}, {area.code}",
        "language": "en-GB",
        "area": area,
        "edition": inputs.edition,
        "author": inputs.author,
        "data_date": inputs.data_date.isoformat(),
        "data_date_text": fmt.long_date(inputs.data_date),
        "synthetic": inputs.synthetic,
        "version": inputs.version,
        "theme": inputs.theme,
        "region_name": area.region_name or _first_region(plan),
        "population": _population(plan),
        "glance": _glance(plan, indicators),
        "domains": domains,
        "indicators": indicators,
        "legend": _legend(inputs.theme),
        "worst_header": _extreme_header(inputs.specs, "worst"),
        "best_header": _extreme_header(inputs.specs, "best"),
        "data_label": inputs.data_label,
        "provenance": inputs.provenance,
        "palette_title": inputs.theme.palette.title,
        "licences": sorted({s.licence for s in inputs.specs if s.licence}),
    }


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


def _indicator_context(f: IndicatorFacts, inputs: ProfileInputs, images: dict[str, ChartImage]) -> dict[str, Any]:
    spec, row, theme = f.spec, f.row, inputs.theme
    label = comparison_label(row)
    has_value = row is not None and not fmt.is_missing(row["value"])
    low_is_good = spec.polarity == "low_is_good"
    worst, best = ("spine_max", "spine_min") if low_is_good else ("spine_min", "spine_max")
    trend = str(row["recent_trend"]) if row is not None else "Cannot be calculated"
    return {
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
        "worst": fmt.number(
            value_of(row, worst) if row is not None and bool(row["spine_shown"]) else None, spec.decimals
        ),
        "best": fmt.number(
            value_of(row, best) if row is not None and bool(row["spine_shown"]) else None, spec.decimals
        ),
        "spine_note": "" if row is None else str(row["spine_note"]),
        "badge": badge(label, theme),
        "badge_region": badge(comparison_label(row, "compared_to_region"), theme),
        "comparison_sentence": narrative.comparison_phrase(label, "England", value_text(row, "england_value", spec))
        if has_value
        else "",
        "trend": trend,
        "trend_arrow": _trend_arrow(trend, theme),
        "rank": _rank(row),
        "notes": _notes(f, inputs, has_value),
        "subline": _subline(row, spec, inputs.area, trend),
        "spine": image(images, f"spine-{spec.id}"),
        "bars": image(images, f"bars-{spec.id}"),
        "trend_chart": image(images, f"trend-{spec.id}"),
        "bar_rows": _bar_rows(f, inputs),
        "trend_rows": _trend_rows(f),
        "value_type": VALUE_TYPE_NAMES[spec.value_type],
        "ci_text": _ci_text(row),
        "comparison_method": COMPARISON_NAMES[spec.comparison],
        "polarity": POLARITY_NAMES[spec.polarity],
        "value_note": _clean_note(row["value_note"]) if row is not None else "",
    }


def _subline(row: pd.Series | None, spec: IndicatorSpec, area: Area, trend: str) -> str:
    """Region comparison, ranks and trend in one line of text."""
    if row is None or fmt.is_missing(row["value"]):
        return ""
    parts = []
    if not fmt.is_missing(row["region_value"]):
        label = str(row["compared_to_region"])
        verdict = label.lower() if not label.endswith("quintile") else f"{label.lower()} of the region's authorities"
        parts.append(
            f"Compared with {fmt.place(row['region_name']) if row['region_name'] else 'the region'} "
            f"({value_text(row, 'region_value', spec)}): {verdict}."
        )
    if rank := _rank(row):
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


def _rank(row: pd.Series | None) -> str:
    if row is None or fmt.is_missing(row["rank_in_england"]):
        return ""
    scope = row.get("rank_scope") or "in England"
    text = f"{fmt.ordinal(int(row['rank_in_england']))} of {int(row['n_in_england'])} authorities {scope}"
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
    name = inputs.area.name
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


def _bar_rows(f: IndicatorFacts, inputs: ProfileInputs) -> list[dict[str, Any]]:
    rows = f.region_rows
    if f.row is None or len(rows) < 2:
        return []
    spec = f.spec
    return [
        {
            "name": r.area_name,
            "value": fmt.number(optional(r.value), spec.decimals),
            "ci": fmt.interval(r.lower_ci_95, r.upper_ci_95, spec.decimals),
            "badge": badge(str(r.compared_to_england), inputs.theme),
            "highlight": r.area_code == inputs.area.code,
        }
        for r in rows.itertuples()
    ]


def _trend_rows(f: IndicatorFacts) -> list[dict[str, str]]:
    spec = f.spec
    by_period, england = f.by_period, f.england_by_period
    return [
        {
            "period": p,
            "value": fmt.number(value_of(by_period.get(p), "value"), spec.decimals),
            "ci": fmt.interval(
                value_of(by_period.get(p), "lower_ci_95"), value_of(by_period.get(p), "upper_ci_95"), spec.decimals
            ),
            "england": fmt.number(value_of(england.get(p), "value"), spec.decimals),
            "label": comparison_label(by_period.get(p)),
            "short": SHORT_LABELS.get(comparison_label(by_period.get(p)), comparison_label(by_period.get(p))),
        }
        for p in f.periods
    ]


def _glance(plan: ProfilePlan, indicators: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and key messages of page 1."""
    counts = {"Better": 0, "Similar": 0, "Worse": 0, "Not compared": 0}
    strengths, develop, trends = [], [], []
    for f, ind in zip(plan.facts, indicators, strict=True):
        label = comparison_label(f.row) if ind["has_value"] else NOT_COMPARED
        counts[_bucket(label)] += 1
        if not ind["has_value"]:
            continue
        sentence = narrative.key_message(ind["name"], ind["value"], ind["period"], label, ind["england_text"])
        rank = (0 if label.endswith("99.8%") else 1, len(strengths) + len(develop))
        if narrative.is_strength(label):
            strengths.append((rank, sentence))
        elif narrative.is_to_develop(label):
            develop.append((rank, sentence))
        message = _trend_sentence(f, ind)
        if message:
            trends.append(message)
    return {
        "by_domain": _domain_counts(plan, indicators),
        "counts": [{"label": k, "n": v, "badge": badge(k, plan.inputs.theme)} for k, v in counts.items()],
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


def _bucket(label: str) -> str:
    return next(
        (k for k in ("Better", "Worse") if label.startswith(k)), "Similar" if label == "Similar" else "Not compared"
    )


def _domain_counts(plan: ProfilePlan, indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for domain in DOMAINS:
        labels = [
            comparison_label(f.row) if ind["has_value"] else NOT_COMPARED
            for f, ind in zip(plan.facts, indicators, strict=True)
            if f.spec.domain == domain
        ]
        if labels:
            buckets = [_bucket(label) for label in labels]
            rows.append(
                {
                    "name": domain,
                    "total": len(labels),
                    **{k: buckets.count(k) for k in ("Better", "Similar", "Worse", "Not compared")},
                }
            )
    return rows


def _trend_sentence(f: IndicatorFacts, ind: dict[str, Any]) -> str:
    trend = ind["trend"]
    if trend not in narrative.TREND_WORDS:
        return ""
    known = [p for p in f.periods if value_of(f.by_period.get(p), "value") is not None][-5:]
    first = (value_text(f.by_period[known[0]], "value", f.spec), known[0])
    return narrative.trend_message(ind["name"], trend, first, (ind["value"], ind["period"]))


def _legend(theme: Theme) -> list[dict[str, Any]]:
    groups = [
        ("Compared with England", ["Better 99.8%", "Better", "Similar", "Worse", "Worse 99.8%", "Not compared"]),
        ("No judgement", ["Higher", "Lower"]),
        ("Quintiles", [*QUINTILE_LABELS_RAG[::4], *QUINTILE_LABELS_BOB[::4]]),
    ]
    return [{"title": title, "items": [badge(label, theme) for label in labels]} for title, labels in groups]
