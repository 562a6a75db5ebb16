"""Plan a profile from the benchmark table: each indicator's rows and the charts to draw.

Every number and colour comes from the benchmark table. Two steps keep the data flowing one
way: :func:`plan_profile` decides what to draw, the charts stage draws it, and
:func:`reportgen.document.context.profile_context` assembles the text around the drawings.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import SupportsFloat

import pandas as pd

from reportgen.core import formatting as fmt
from reportgen.core.geography import ENGLAND_CODE, Area
from reportgen.core.periods import period_sort_key
from reportgen.core.specs import IndicatorSpec
from reportgen.document import narrative
from reportgen.document.models import Marker, SpineChart, Theme, TrendChart, TrendPoint
from reportgen.document.view import Comparison, Wording, comparison
from reportgen.stats.compare import NOT_COMPARED
from reportgen.stats.distribution import spine_positions
from reportgen.stats.trend import CANNOT

SYNTHETIC_PREFIX = "Synthetic demonstration data"


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
    wording: Wording
    provenance: dict[str, str] = field(default_factory=dict)
    changes: dict | None = None


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
    bars: tuple[BarPanel, ...]
    trends: tuple[TrendChart, ...]
    authorities: int = 0  # upper-tier authorities in the benchmark table (fewer than 153: partial coverage)


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


def result_of(row: pd.Series | None, spec: IndicatorSpec, column: str = "compared_to_england") -> Comparison:
    """The typed comparison of a benchmark-table row (Not compared when there is no row)."""
    return comparison(comparison_label(row, column), spec.polarity)


def marker_for(label: str, theme: Theme, polarity: str = "high_is_good") -> Marker:
    """Fill colour and greyscale-safe shape of a comparison label."""
    return comparison(label, polarity).marker(theme)


# --------------------------------------------------------------------------- planning


def plan_profile(inputs: ProfileInputs) -> ProfilePlan:
    """Select each indicator's rows and decide the charts to draw."""
    by_spec = dict(tuple(inputs.table.groupby("indicator_id", sort=False)))
    facts = tuple(_facts(spec, by_spec.get(spec.id), inputs.area) for spec in inputs.specs)
    spines = tuple(s for f in facts if (s := _spine_chart(f, inputs)) is not None)
    bars = tuple(b for f in facts if (b := _bar_chart(f, inputs)) is not None)
    trends = tuple(t for f in facts if (t := _trend_chart(f, inputs)) is not None)
    table = inputs.table
    authorities = table.loc[table["area_type"] == "UTLA", "area_code"].nunique() if len(table) else 0
    return ProfilePlan(inputs, facts, spines, bars, trends, int(authorities))


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
    result = result_of(row, spec)
    wording = inputs.wording
    worst, best = (row["spine_max"], row["spine_min"]) if low_is_good else (row["spine_min"], row["spine_max"])
    alt = narrative.spine_alt(
        wording,
        spec.short_name,
        inputs.area.display_name,
        value_text(row, "value", spec),
        wording.phrase(result, wording.england, value_text(row, "england_value", spec)),
        (fmt.with_unit(worst, spec.decimals, spec.unit), fmt.with_unit(best, spec.decimals, spec.unit)),
        spec.polarity in ("high_is_good", "low_is_good"),
        (str(row["region_name"] or ""), value_text(row, "region_value", spec)),
    )
    return SpineChart(
        f"spine-{spec.id}",
        _span(geometry["outer"]),
        _span(geometry["inner"]),
        _position(geometry["area"]),
        _position(geometry["region"]),
        result.marker(inputs.theme),
        alt,
    )


def _span(value: object) -> tuple[float, float]:
    """A (start, end) pair of spine positions."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError(f"a spine span is a pair of positions, not {value!r}")
    return float(value[0]), float(value[1])


def _position(value: object) -> float | None:
    """A spine position (0 to 1), or None for a missing value."""
    if value is not None and not isinstance(value, int | float):
        raise TypeError(f"a spine position is a number, not {value!r}")
    return None if value is None else float(value)


@dataclass(frozen=True)
class BarRow:
    """One authority of a compare-areas chart, with positions as percentages of the chart's track."""

    name: str
    value: str
    ci: str
    result: Comparison
    highlight: bool
    x: float | None  # the value's position
    start: float  # where the bar starts (0, or the axis minimum when drawn as dots)
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class BarPanel:
    """Compare-areas chart and its data table in one: the region's authorities, best first."""

    key: str
    rows: tuple[BarRow, ...]
    england: float | None  # position of England's line
    dots: bool  # dots on a truncated axis instead of bars from zero
    axis_low: str
    axis_high: str
    alt: str
    headings: tuple[str, str, str, str]  # authority, value, interval, comparison (wording.yaml ``charts``)


def _bar_chart(f: IndicatorFacts, inputs: ProfileInputs) -> BarPanel | None:
    rows = f.region_rows
    if f.row is None or len(rows) < 2:  # without the area's own value the chart still shows its region
        return None
    spec = f.spec
    known = rows[rows["value"].notna()]
    if len(known) < 2:
        return None
    england = optional(f.row["england_value"])
    low, high, dots = bar_scale(known, england)

    def pos(value: SupportsFloat | None) -> float | None:
        return None if value is None or fmt.is_missing(value) else round(100 * (float(value) - low) / (high - low), 2)

    bars = tuple(
        BarRow(
            r.area_name,
            fmt.number(optional(r.value), spec.decimals),
            fmt.interval(r.lower_ci_95, r.upper_ci_95, spec.decimals),
            comparison(r.compared_to_england, spec.polarity),
            r.area_code == inputs.area.code,
            pos(r.value),
            0.0,
            pos(r.lower_ci_95),
            pos(r.upper_ci_95),
        )
        for r in rows.itertuples()
    )
    top, bottom = known.iloc[0], known.iloc[-1]
    high_row, low_row = (bottom, top) if spec.polarity == "low_is_good" else (top, bottom)
    wording = inputs.wording
    alt = narrative.bar_alt(
        wording,
        spec.short_name,
        f.latest,
        len(known),
        fmt.place(f.row["region_name"]) if f.row["region_name"] else wording.text("names", "region"),
        (
            inputs.area.display_name,
            value_text(f.row, "value", spec),
            fmt.interval(f.row["lower_ci_95"], f.row["upper_ci_95"], spec.decimals),
        ),
        value_text(f.row, "england_value", spec),
        (high_row.area_name, value_text(high_row, "value", spec)),
        (low_row.area_name, value_text(low_row, "value", spec)),
    )
    return BarPanel(
        f"bars-{spec.id}",
        bars,
        pos(england),
        dots,
        fmt.number(low, spec.decimals),
        fmt.number(high, spec.decimals),
        alt,
        compare_headings(wording),
    )


def compare_headings(wording: Wording) -> tuple[str, str, str, str]:
    """Column titles of a compare-areas chart: authority, value, interval and the comparison with England."""
    text = functools.partial(wording.text, "charts")
    return text("compare_authority"), text("compare_value"), text("compare_interval"), text("compare_versus")


def bar_scale(rows: pd.DataFrame, england: float | None) -> tuple[float, float, bool]:
    """Axis range of a compare-areas chart: from zero, or truncated (dots) when every value is far from zero."""
    lows = rows["lower_ci_95"].fillna(rows["value"]).astype(float)
    highs = rows["upper_ci_95"].fillna(rows["value"]).astype(float)
    top = max([*highs, *([england] if england is not None else [])])
    bottom = min([*lows, *([england] if england is not None else [])])
    if bottom > 0.5 * top > 0:
        pad = (top - bottom) * 0.06 or abs(top) * 0.02 or 1.0
        return bottom - pad, top + pad, True
    return min(0.0, bottom), (top * 1.05 if top > 0 else 1.0), False


def optional(value: SupportsFloat | None) -> float | None:
    return None if value is None or fmt.is_missing(value) else float(value)


AXIS_KEYS = {"%": "axis_percent", "£": "axis_pounds", "score": "axis_score", "": "axis_value"}


def _axis_label(spec: IndicatorSpec, wording: Wording) -> str:
    """The value axis of a trend chart: worded by unit, or the spec's unit as written."""
    key = AXIS_KEYS.get(spec.unit)
    return wording.text("charts", key) if key else spec.unit.capitalize()


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
            result_of(by_period.get(p), spec).marker(inputs.theme),
        )
        for p in f.periods
    )
    known = [p for p in points if p.value is not None]
    if len(known) < 2:  # one value is no trend: the headline gives it, and a note says why there is no chart
        return None
    first, last = known[0], known[-1]
    eng: list[float | None] = [p.england for p in points if p.england is not None] or [None]
    wording = inputs.wording
    alt = narrative.trend_alt(
        wording,
        spec.short_name,
        inputs.area.in_sentence,  # "in the Isles of Scilly and England"
        (fmt.with_unit(first.value, spec.decimals, spec.unit), first.period),
        (fmt.with_unit(last.value, spec.decimals, spec.unit), last.period),
        (fmt.with_unit(eng[0], spec.decimals, spec.unit), fmt.with_unit(eng[-1], spec.decimals, spec.unit)),
        str(f.row["recent_trend"]) if f.row is not None else CANNOT,
    )
    return TrendChart(
        f"trend-{spec.id}",
        inputs.area.display_name,
        points,
        _axis_label(spec, wording),
        alt,
        wording.text("charts", "trend_england"),
    )
