"""Plan a profile from the benchmark table: each indicator's rows and the charts to draw.

Every number and colour comes from the benchmark table. Two steps keep the data flowing one
way: :func:`plan_profile` decides what to draw, the charts stage draws it, and
:func:`reportgen.context.profile_context` assembles the text around the drawings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from . import formatting as fmt
from . import narrative
from .geography import ENGLAND_CODE, Area
from .models import Bar, BarChart, Marker, SpineChart, Theme, TrendChart, TrendPoint
from .periods import period_sort_key
from .specs import IndicatorSpec
from .stats.compare import NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG
from .stats.distribution import spine_positions

GLYPHS = {"^": "▲", "v": "▼", "o": "●", "s": "■"}
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
    region_rows: pd.DataFrame  # the region's authorities in the latest period, best first
    by_period: dict[str, pd.Series] = field(default_factory=dict)  # the area's row of each period
    england_by_period: dict[str, pd.Series] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfilePlan:
    """What to draw and what to say, before drawing."""

    inputs: ProfileInputs
    facts: tuple[IndicatorFacts, ...]
    spines: tuple[SpineChart, ...]
    bars: tuple[BarChart, ...]
    trends: tuple[TrendChart, ...]


# --------------------------------------------------------------------------- small helpers


def value_of(row: pd.Series | None, column: str) -> float | None:
    if row is None:
        return None
    value = row[column]
    return None if fmt.is_missing(value) else float(value)


def value_text(row: pd.Series | None, column: str, spec: IndicatorSpec) -> str:
    return fmt.with_unit(value_of(row, column), spec.decimals, spec.unit)


def comparison_label(row: pd.Series | None, column: str = "compared_to_england") -> str:
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


def badge(label: str, theme: Theme) -> dict[str, str]:
    """Template data of a comparison badge: label, short label, glyph and colours."""
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
    england = rows[rows["area_code"] == ENGLAND_CODE]
    by_period = {r["period"]: r for _, r in series.iterrows()}
    row = by_period.get(latest)
    region = row["region_code"] if row is not None else area.region_code
    region_rows = (
        rows[(rows["period"] == latest) & (rows["region_code"] == region) & (rows["area_type"] != "Region")]
        if region
        else rows.iloc[:0]
    )
    region_rows = region_rows.sort_values(
        ["value", "area_name"], ascending=[spec.polarity == "low_is_good", True], kind="stable", na_position="last"
    )
    england_by_period = {r["period"]: r for _, r in england.iterrows()}
    return IndicatorFacts(spec, periods, latest, row, series, england, region_rows, by_period, england_by_period)


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
        {"area": value_of(row, "value"), "region": value_of(row, "region_value")},
        low_is_good,
    )
    label = comparison_label(row)
    worst, best = (row["spine_max"], row["spine_min"]) if low_is_good else (row["spine_min"], row["spine_max"])
    alt = narrative.spine_alt(
        spec.short_name,
        inputs.area.name,
        value_text(row, "value", spec),
        label,
        value_text(row, "england_value", spec),
        fmt.with_unit(worst, spec.decimals, spec.unit),
        fmt.with_unit(best, spec.decimals, spec.unit),
        spec.polarity in ("high_is_good", "low_is_good"),
        row["region_name"] or "Region",
        value_text(row, "region_value", spec),
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
    bars = tuple(
        Bar(
            r.area_name,
            float(r.value),
            optional(r.lower_ci_95),
            optional(r.upper_ci_95),
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
        value_text(f.row, "value", spec),
        fmt.interval(f.row["lower_ci_95"], f.row["upper_ci_95"], spec.decimals),
        value_text(f.row, "england_value", spec),
        (high.area_name, value_text(high, "value", spec)),
        (low.area_name, value_text(low, "value", spec)),
    )
    return BarChart(f"bars-{spec.id}", bars, optional(f.row["england_value"]), _axis_label(spec), alt)


def optional(value) -> float | None:
    return None if fmt.is_missing(value) else float(value)


def _axis_label(spec: IndicatorSpec) -> str:
    return {"%": "Percentage", "£": "Pounds (£)", "score": "Score", "": "Value"}.get(spec.unit, spec.unit.capitalize())


def _trend_chart(f: IndicatorFacts, inputs: ProfileInputs) -> TrendChart | None:
    series = f.series[f.series["value"].notna()] if len(f.series) else f.series
    if series.empty:
        return None
    spec = f.spec
    by_period, england = f.by_period, f.england_by_period
    points = tuple(
        TrendPoint(
            p,
            value_of(by_period.get(p), "value"),
            value_of(by_period.get(p), "lower_ci_95"),
            value_of(by_period.get(p), "upper_ci_95"),
            value_of(england.get(p), "value"),
            marker_for(comparison_label(by_period.get(p)), inputs.theme),
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
