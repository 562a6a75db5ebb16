"""Compose a profile from the benchmark table: chart requests first, then the template context.

Every number and colour comes from the benchmark table; this module only selects, formats and
words them. Two steps keep the data flowing one way: :func:`plan_profile` decides what to draw,
the charts stage draws it, and :func:`profile_context` assembles the text around the drawings.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from . import formatting as fmt
from . import narrative
from .geography import ENGLAND_CODE, Area
from .models import Bar, BarChart, ChartImage, Marker, SpineChart, Theme, TrendChart, TrendPoint
from .periods import period_sort_key
from .specs import DOMAINS, IndicatorSpec
from .stats.compare import NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG
from .stats.distribution import spine_positions

GLYPHS = {"^": "▲", "v": "▼", "o": "●", "s": "■"}
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
SYNTHETIC_PREFIX = "Synthetic demonstration data"
SHORT_LABELS = {
    "Best quintile": "Best fifth",
    "2nd best quintile": "2nd best fifth",
    "Middle quintile": "Middle fifth",
    "2nd worst quintile": "2nd worst fifth",
    "Worst quintile": "Worst fifth",
    "Lowest quintile": "Lowest fifth",
    "2nd lowest quintile": "2nd lowest fifth",
    "2nd highest quintile": "2nd highest fifth",
    "Highest quintile": "Highest fifth",
    "Not compared": "Not compared",
}


@dataclass(frozen=True)
class ProfileInputs:
    """Everything a profile is made from."""

    area: Area
    specs: tuple[IndicatorSpec, ...]
    table: pd.DataFrame
    theme: Theme
    edition: str
    data_date: date
    author: str
    synthetic: bool
    version: str
    data_label: str
    provenance: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorFacts:
    """One indicator's rows for the profile: the area's series, its latest row and the region's."""

    spec: IndicatorSpec
    periods: tuple[str, ...]
    latest: str
    row: pd.Series | None
    series: pd.DataFrame
    england: pd.DataFrame
    region_rows: pd.DataFrame


@dataclass(frozen=True)
class ProfilePlan:
    """What to draw and what to say, before drawing."""

    inputs: ProfileInputs
    facts: tuple[IndicatorFacts, ...]
    spines: tuple[SpineChart, ...]
    bars: tuple[BarChart, ...]
    trends: tuple[TrendChart, ...]


# --------------------------------------------------------------------------- small helpers


def _value(row: pd.Series | None, column: str) -> float | None:
    if row is None:
        return None
    value = row[column]
    return None if fmt.is_missing(value) else float(value)


def _text(row: pd.Series | None, column: str, spec: IndicatorSpec) -> str:
    return fmt.with_unit(_value(row, column), spec.decimals, spec.unit)


def _label(row: pd.Series | None, column: str = "compared_to_england") -> str:
    return NOT_COMPARED if row is None else str(row[column])


def marker_for(label: str, theme: Theme) -> Marker:
    """Fill colour and greyscale-safe shape of a comparison label."""
    palette = theme.palette
    if label in QUINTILE_LABELS_RAG:
        return Marker(label, palette.quintiles_judged[QUINTILE_LABELS_RAG.index(label)], "s")
    if label in QUINTILE_LABELS_BOB:
        return Marker(label, palette.quintiles_unjudged[QUINTILE_LABELS_BOB.index(label)], "s")
    colour = palette.comparison.get(label, palette.comparison[NOT_COMPARED])
    shape = "^" if label.startswith(("Better", "Higher")) else "v" if label.startswith(("Worse", "Lower")) else "o"
    return Marker(label, colour, shape)


def text_colour(background: str) -> str:
    """Black or white text, whichever contrasts more with the background (WCAG luminance)."""
    rgb = [int(background.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


def _badge(label: str, theme: Theme) -> dict[str, str]:
    marker = marker_for(label, theme)
    return {
        "label": label,
        "short": SHORT_LABELS.get(label, label),
        "glyph": "○" if label == NOT_COMPARED else GLYPHS[marker.shape],
        "colour": marker.colour,
        "text_colour": text_colour(marker.colour),
    }


# --------------------------------------------------------------------------- planning


def plan_profile(inputs: ProfileInputs) -> ProfilePlan:
    """Select each indicator's rows and decide the charts to draw."""
    by_spec = dict(tuple(inputs.table.groupby("indicator_id", sort=False)))
    facts = tuple(_facts(spec, by_spec.get(spec.id), inputs.area) for spec in inputs.specs)
    spines = tuple(s for f in facts if (s := _spine_chart(f, inputs)) is not None)
    bars = tuple(b for f in facts if (b := _bar_chart(f, inputs)) is not None)
    trends = tuple(t for f in facts if (t := _trend_chart(f, inputs)) is not None)
    return ProfilePlan(inputs, facts, spines, bars, trends)


def _facts(spec: IndicatorSpec, rows: pd.DataFrame | None, area: Area) -> IndicatorFacts:
    if rows is None or rows.empty:
        empty = pd.DataFrame()
        return IndicatorFacts(spec, (), "", None, empty, empty, empty)
    periods = tuple(sorted(rows["period"].unique(), key=period_sort_key))
    latest = periods[-1]
    series = rows[rows["area_code"] == area.code]
    now = series[series["period"] == latest]
    row = now.iloc[0] if len(now) else None
    region = row["region_code"] if row is not None else area.region_code
    region_rows = (
        rows[(rows["period"] == latest) & (rows["region_code"] == region) & (rows["area_type"] != "Region")]
        if region
        else rows.iloc[:0]
    )
    return IndicatorFacts(spec, periods, latest, row, series, rows[rows["area_code"] == ENGLAND_CODE], region_rows)


def _spine_chart(f: IndicatorFacts, inputs: ProfileInputs) -> SpineChart | None:
    row = f.row
    if row is None or not bool(row["spine_shown"]):
        return None
    spec, low_is_good = f.spec, f.spec.polarity == "low_is_good"
    geometry = spine_positions(
        row["spine_min"],
        row["spine_p25"],
        row["spine_p75"],
        row["spine_max"],
        row["england_value"],
        {"area": _value(row, "value"), "region": _value(row, "region_value")},
        low_is_good,
    )
    label = _label(row)
    worst, best = (row["spine_max"], row["spine_min"]) if low_is_good else (row["spine_min"], row["spine_max"])
    alt = narrative.spine_alt(
        spec.short_name,
        inputs.area.name,
        _text(row, "value", spec),
        label,
        _text(row, "england_value", spec),
        fmt.with_unit(worst, spec.decimals, spec.unit),
        fmt.with_unit(best, spec.decimals, spec.unit),
        spec.polarity in ("high_is_good", "low_is_good"),
        row["region_name"] or "Region",
        _text(row, "region_value", spec),
    )
    return SpineChart(
        f"spine-{spec.id}",
        geometry["outer"],
        geometry["inner"],
        geometry["area"],
        geometry["region"],
        marker_for(label, inputs.theme),
        alt,
    )


def _bar_chart(f: IndicatorFacts, inputs: ProfileInputs) -> BarChart | None:
    rows = f.region_rows[f.region_rows["value"].notna()] if len(f.region_rows) else f.region_rows
    if f.row is None or len(rows) < 2 or fmt.is_missing(f.row["value"]):
        return None
    spec = f.spec
    ascending = spec.polarity == "low_is_good"
    rows = rows.sort_values(["value", "area_name"], ascending=[ascending, True], kind="stable")
    bars = tuple(
        Bar(
            r.area_name,
            float(r.value),
            _opt(r.lower_ci_95),
            _opt(r.upper_ci_95),
            marker_for(r.compared_to_england, inputs.theme),
            r.area_code == inputs.area.code,
        )
        for r in rows.itertuples()
    )
    top, bottom = rows.iloc[0], rows.iloc[-1]
    high, low = (bottom, top) if ascending else (top, bottom)
    alt = narrative.bar_alt(
        spec.short_name,
        f.latest,
        len(rows),
        fmt.place(f.row["region_name"]) if f.row["region_name"] else "the region",
        inputs.area.name,
        _text(f.row, "value", spec),
        fmt.interval(f.row["lower_ci_95"], f.row["upper_ci_95"], spec.decimals),
        _text(f.row, "england_value", spec),
        (high.area_name, _text(high, "value", spec)),
        (low.area_name, _text(low, "value", spec)),
    )
    return BarChart(f"bars-{spec.id}", bars, _opt(f.row["england_value"]), _axis_label(spec), alt)


def _opt(value) -> float | None:
    return None if fmt.is_missing(value) else float(value)


def _axis_label(spec: IndicatorSpec) -> str:
    return {"%": "Percentage", "£": "Pounds (£)", "score": "Score", "": "Value"}.get(spec.unit, spec.unit.capitalize())


def _trend_chart(f: IndicatorFacts, inputs: ProfileInputs) -> TrendChart | None:
    series = f.series[f.series["value"].notna()] if len(f.series) else f.series
    if series.empty:
        return None
    spec = f.spec
    by_period = {r["period"]: r for _, r in f.series.iterrows()}
    england = {r["period"]: r for _, r in f.england.iterrows()}
    points = tuple(
        TrendPoint(
            p,
            _value(by_period.get(p), "value"),
            _value(by_period.get(p), "lower_ci_95"),
            _value(by_period.get(p), "upper_ci_95"),
            _value(england.get(p), "value"),
            marker_for(_label(by_period.get(p)), inputs.theme),
        )
        for p in f.periods
    )
    known = [p for p in points if p.value is not None]
    first, last = known[0], known[-1]
    eng = [p for p in points if p.england is not None]
    alt = narrative.trend_alt(
        spec.short_name,
        inputs.area.name,
        (fmt.with_unit(first.value, spec.decimals, spec.unit), first.period),
        (fmt.with_unit(last.value, spec.decimals, spec.unit), last.period),
        fmt.with_unit(eng[0].england if eng else None, spec.decimals, spec.unit),
        fmt.with_unit(eng[-1].england if eng else None, spec.decimals, spec.unit),
        str(f.row["recent_trend"]) if f.row is not None else "Cannot be calculated",
    )
    return TrendChart(f"trend-{spec.id}", inputs.area.name, points, _axis_label(spec), alt)


# --------------------------------------------------------------------------- context


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
        "sources": sorted({s.source for s in inputs.specs}),
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
    label = _label(row)
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
        "unit": spec.unit or "none",
        "caveats": spec.caveats,
        "licence": spec.licence,
        "period": f.latest or fmt.DASH,
        "periods": f"{f.periods[0]} to {f.periods[-1]}" if len(f.periods) > 1 else (f.latest or fmt.DASH),
        "has_value": has_value,
        "has_data": bool(len(f.series)),
        "value": _text(row, "value", spec),
        "value_plain": fmt.number(_value(row, "value"), spec.decimals),
        "count": fmt.count(_value(row, "count")),
        "ci": fmt.interval(*(_value(row, c) for c in ("lower_ci_95", "upper_ci_95")), spec.decimals),
        "region": fmt.number(_value(row, "region_value"), spec.decimals),
        "region_text": _text(row, "region_value", spec),
        "region_name": (row["region_name"] if row is not None else "") or inputs.area.region_name,
        "region_place": fmt.place((row["region_name"] if row is not None else "") or inputs.area.region_name),
        "england": fmt.number(_value(row, "england_value"), spec.decimals),
        "england_text": _text(row, "england_value", spec),
        "worst": fmt.number(
            _value(row, worst) if row is not None and bool(row["spine_shown"]) else None, spec.decimals
        ),
        "best": fmt.number(_value(row, best) if row is not None and bool(row["spine_shown"]) else None, spec.decimals),
        "spine_note": "" if row is None else str(row["spine_note"]),
        "badge": _badge(label, theme),
        "badge_region": _badge(_label(row, "compared_to_region"), theme),
        "comparison_sentence": narrative.comparison_phrase(label, "England", _text(row, "england_value", spec))
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
            f"({_text(row, 'region_value', spec)}): {verdict}."
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
    text = f"{fmt.ordinal(int(row['rank_in_england']))} of {int(row['n_in_england'])} authorities in England"
    if not fmt.is_missing(row["rank_in_region"]):
        region_rank = fmt.ordinal(int(row["rank_in_region"]))
        text += f" and {region_rank} of {int(row['n_in_region'])} in {fmt.place(row['region_name'])}"
    return text


def _clean_note(note) -> str:
    text = note if isinstance(note, str) else ""
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
    rows = rows.sort_values(
        ["value", "area_name"], ascending=[spec.polarity == "low_is_good", True], kind="stable", na_position="last"
    )
    return [
        {
            "name": r.area_name,
            "value": fmt.number(_opt(r.value), spec.decimals),
            "ci": fmt.interval(r.lower_ci_95, r.upper_ci_95, spec.decimals),
            "badge": _badge(str(r.compared_to_england), inputs.theme),
            "highlight": r.area_code == inputs.area.code,
        }
        for r in rows.itertuples()
    ]


def _trend_rows(f: IndicatorFacts) -> list[dict[str, str]]:
    spec = f.spec
    by_period = {r["period"]: r for _, r in f.series.iterrows()}
    england = {r["period"]: r for _, r in f.england.iterrows()}
    return [
        {
            "period": p,
            "value": fmt.number(_value(by_period.get(p), "value"), spec.decimals),
            "ci": fmt.interval(
                _value(by_period.get(p), "lower_ci_95"), _value(by_period.get(p), "upper_ci_95"), spec.decimals
            ),
            "england": fmt.number(_value(england.get(p), "value"), spec.decimals),
            "label": _label(by_period.get(p)),
            "short": SHORT_LABELS.get(_label(by_period.get(p)), _label(by_period.get(p))),
        }
        for p in f.periods
    ]


def _glance(plan: ProfilePlan, indicators: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and key messages of page 1."""
    counts = {"Better": 0, "Similar": 0, "Worse": 0, "Not compared": 0}
    strengths, develop, trends = [], [], []
    for f, ind in zip(plan.facts, indicators, strict=True):
        label = _label(f.row) if ind["has_value"] else NOT_COMPARED
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
        "counts": [{"label": k, "n": v, "badge": _badge(k, plan.inputs.theme)} for k, v in counts.items()],
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
            _label(f.row) if ind["has_value"] else NOT_COMPARED
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
    known = [r for r in _trend_rows(f) if r["value"] != fmt.DASH][-5:]
    unit = f.spec.unit
    first = (fmt.with_unit(float(known[0]["value"].replace(",", "")), f.spec.decimals, unit), known[0]["period"])
    return narrative.trend_message(ind["name"], trend, first, (ind["value"], ind["period"]))


def _legend(theme: Theme) -> list[dict[str, Any]]:
    groups = [
        ("Compared with England", ["Better 99.8%", "Better", "Similar", "Worse", "Worse 99.8%", "Not compared"]),
        ("No judgement", ["Higher", "Lower"]),
        ("Quintiles", [*QUINTILE_LABELS_RAG[::4], *QUINTILE_LABELS_BOB[::4]]),
    ]
    return [{"title": title, "items": [_badge(label, theme) for label in labels]} for title, labels in groups]
