"""The benchmark table: every indicator, area and period with its intervals and comparisons.

One vectorised pass over the whole table: rows of every spec are stacked, then intervals,
benchmarks, comparisons, spine statistics, ranks and trends are computed with grouped array
operations (by indicator and period), not per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.core.errors import DataError, Problem, errors_only
from reportgen.core.geography import ENGLAND_CODE, Geography, area_kind
from reportgen.core.periods import parse_period, period_sort_key
from reportgen.core.specs import IndicatorSpec
from reportgen.sources.data import (
    AGE,
    AREA_CODE,
    AREA_NAME,
    AREA_TYPE,
    COUNT,
    DENOMINATOR,
    LINE,
    LOWER_95,
    LOWER_998,
    PARENT_CODE,
    PARENT_NAME,
    PERIOD,
    SEX,
    STD_DEV,
    UPPER_95,
    UPPER_998,
    VALUE,
    VALUE_NOTE,
    IndicatorData,
    check_against_specs,
    series_index,
)
from reportgen.stats.compare import NOT_COMPARED, compare_quintiles, compare_with_benchmark
from reportgen.stats.coverage import ENGLAND, coverage_columns
from reportgen.stats.distribution import DEFAULT_SPINE_EXCLUSIONS, OWN_RANGE_NOTE, SPINE_COLUMNS, spine_statistics
from reportgen.stats.intervals import CI_METHOD, CI_SOURCE, attach_intervals, band_start, headline_from_age_bands
from reportgen.stats.trend import CANNOT, N_POINTS, TREND_VALUE_TYPES, recent_trend_from_history, trend_labels

#: The columns of ``reportgen benchmark``, in order (the first 25 are the documented contract).
BENCHMARK_COLUMNS = (
    "indicator_id",
    "fingertips_id",
    "area_code",
    "area_name",
    "area_type",
    "region_code",
    "period",
    "sex",
    "age",
    "count",
    "denominator",
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_99_8",
    "upper_ci_99_8",
    "ci_method",
    "ci_source",
    "england_value",
    "compared_to_england",
    "region_value",
    "compared_to_region",
    "recent_trend",
    "rank_in_england",
    "rank_in_region",
    "region_name",
    "n_in_england",
    "n_in_region",
    "value_note",
    *SPINE_COLUMNS,
    "coverage",
    "rank_scope",
)
COMPARATOR_COLUMNS = ("comparator_name", "comparator_value", "compared_to_comparator")
AREA_TYPE_ORDER = {"England": 0, "Region": 1, "UTLA": 2, "Other": 3}
_SPEC = "indicator_id"


@dataclass(frozen=True)
class ComparatorGroup:
    """A user-defined comparator group, e.g. an authority's statistical neighbours."""

    name: str
    areas: tuple[str, ...]


@dataclass(frozen=True)
class BenchmarkOptions:
    """Spine exclusions and an optional comparator group."""

    spine_exclusions: tuple[str, ...] = DEFAULT_SPINE_EXCLUSIONS
    comparator: ComparatorGroup | None = None


def benchmark_table(
    data: IndicatorData,
    specs: Sequence[IndicatorSpec],
    geography: Geography,
    options: BenchmarkOptions = BenchmarkOptions(),
) -> pd.DataFrame:
    """Compute the benchmark table: one row per spec, area and period.

    Intervals come from the data where given, else from counts by the spec's value type; areas
    are compared with England and their region by the spec's method (Fingertips' rules), with
    spine statistics, ranks and the recent trend. Raises :class:`DataError` for data that
    cannot be computed (for example a zero denominator).
    """
    errors = [p for p in errors_only(check_against_specs(data, specs)) if "missing from the data" not in p.message]
    if errors:
        raise DataError(f"{len(errors)} problem(s) in data file {data.path}:", errors)
    columns = list(BENCHMARK_COLUMNS) + (list(COMPARATOR_COLUMNS) if options.comparator else [])
    table = _stack_series(data.frame, specs)
    if table.empty:
        return pd.DataFrame(columns=columns)
    attributes = pd.DataFrame([_spec_attributes(s, i) for i, s in enumerate(specs)]).set_index(_SPEC)
    table = table.join(attributes, on=_SPEC)
    table = _with_intervals(table)
    table = _attach_hierarchy(table, geography)
    table = _attach_benchmarks(table)
    table = _compare(table)
    table = _distribution(table, options)
    table = _coverage(table, len(geography.authorities))
    table = _trend(table)
    if options.comparator:
        table = _compare_with_group(table, options.comparator)
    table["fingertips_id"] = table["fingertips_id"].astype("Int64")
    order = table["area_type"].map(AREA_TYPE_ORDER)
    table = table.assign(_type=order).sort_values(["_spec_order", "_type", AREA_CODE, "_period_order"], kind="stable")
    return table[columns].reset_index(drop=True)


def _spec_attributes(spec: IndicatorSpec, position: int) -> dict[str, object]:
    return {
        _SPEC: spec.id,
        "fingertips_id": spec.fingertips_id,
        "_value_type": spec.value_type,
        "_multiplier": spec.multiplier,
        "_polarity": spec.polarity,
        "_comparison": spec.comparison,
        "_spec_order": position,
    }


def _stack_series(frame: pd.DataFrame, specs: Sequence[IndicatorSpec]) -> pd.DataFrame:
    index = series_index(frame, {spec.data_key for spec in specs})
    parts = []
    for spec in specs:
        same = index.get((spec.data_key, spec.sex))
        if same is not None:
            rows = _series_rows(same, spec)
            if not rows.empty:
                parts.append(rows.assign(**{_SPEC: spec.id}))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def _series_rows(same: pd.DataFrame, spec: IndicatorSpec) -> pd.DataFrame:
    """Headline rows of the spec's series, plus rows computed from age bands where needed.

    ``same`` holds the headline rows with the spec's ``Indicator ID`` and sex (all ages).
    """
    series = same[same[AGE] == spec.age]
    if spec.value_type not in ("dsr", "life_expectancy"):
        return series
    bands = same[same[AGE].map(band_start).notna() & (same[AGE] != spec.age)]
    if bands.empty:
        return series
    derived = headline_from_age_bands(bands, spec.value_type, spec.multiplier).set_index([AREA_CODE, PERIOD])
    known = series.set_index([AREA_CODE, PERIOD])
    need = derived.index.difference(known[known[VALUE].notna()].index)
    derived = derived.loc[need].reset_index()
    template = bands.drop_duplicates([AREA_CODE, PERIOD]).set_index([AREA_CODE, PERIOD])
    meta = template.loc[
        list(zip(derived[AREA_CODE], derived[PERIOD], strict=True)), [AREA_NAME, AREA_TYPE, PARENT_CODE, PARENT_NAME]
    ].reset_index(drop=True)
    derived = pd.concat([derived, meta], axis=1).assign(
        **{AGE: spec.age, SEX: spec.sex, VALUE_NOTE: "", STD_DEV: np.nan}
    )
    kept = series[~known.index.isin(need)]
    return pd.concat([kept, derived], ignore_index=True)


def _with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """Attach limits per value type (one vectorised call per type), keeping age-band methods."""
    derived = table[CI_METHOD] if CI_METHOD in table else pd.Series(np.nan, index=table.index)
    parts = []
    # Indicators compared by quintiles keep only the limits their data supply (see attach_intervals).
    by_quintiles = (table["_comparison"] == "quintiles").rename("_by_quintiles")
    groups = table.drop(columns=[CI_METHOD], errors="ignore").groupby(["_value_type", by_quintiles], sort=False)
    for (value_type, quintiles), rows in groups:
        parts.append(attach_intervals(rows, value_type, rows["_multiplier"].to_numpy(float), not quintiles))
    out = pd.concat(parts).loc[table.index]
    from_bands = derived.notna() & out[LOWER_95].notna()
    out.loc[derived.notna(), CI_METHOD] = derived[derived.notna()]
    out.loc[from_bands, CI_SOURCE] = "computed"
    return out


def _map_unique(series: pd.Series, func: Callable[[str], object]) -> pd.Series:
    """Apply ``func`` once per distinct value (area codes and names repeat across many rows)."""
    return series.map({v: func(v) for v in series.unique()})


def _attach_hierarchy(table: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    """Area type and region of every row: from the file's parent codes, else the geography."""
    codes = table[AREA_CODE]
    known = {a.code: a for a in (*geography.authorities, *geography.predecessors)}
    regions = geography.regions
    unique = codes.unique()
    kinds = codes.map({c: area_kind(c) for c in unique})
    looks_local = (kinds == "Other") & _map_unique(table[AREA_TYPE], lambda t: bool(re.search(r"County|UA", t, re.I)))
    area_type = kinds.mask(looks_local, "UTLA")
    from_parent = _map_unique(table[PARENT_CODE], lambda c: c if c.startswith("E12") else "")
    from_geography = codes.map({c: known[c].region_code if c in known else "" for c in unique})
    local = area_type.isin(["UTLA", "Other"])
    region = from_parent.where(from_parent != "", from_geography).where(local, "")
    file_names = _map_unique(table[PARENT_NAME], lambda n: n.removesuffix(" region")).where(from_parent != "", "")
    region_name = region.map(regions).fillna(file_names).where(region != "", "")
    official = codes.map({c: _official_name(c, geography) or "" for c in unique})
    fallback = table[AREA_NAME].where(table[AREA_NAME] != "", codes)
    area_name = official.where(official != "", fallback)
    periods = {p: period_sort_key(p) for p in table[PERIOD].unique()}
    return table.assign(
        area_type=area_type,
        region_code=region,
        region_name=region_name,
        _period_order=table[PERIOD].map(periods),
        **{AREA_NAME: area_name},
    )


def _official_name(code: str, geography: Geography) -> str | None:
    """The geography's name of an area code (authority, former authority, region, England), if known."""
    area = geography.lookup(code) if code.strip().upper() == code else None
    return area.name if area is not None else None


def _same_name(given: str, official: str) -> bool:
    """Names equal apart from case, punctuation, '&'/'and', a ', City of' style suffix or ' region'."""

    def norm(text: str) -> str:
        tokens = re.sub(r"[^a-z0-9]+", " ", text.casefold().replace("&", " and ")).split()
        words = [w for w in tokens if w not in ("city", "county", "of", "the")]
        return " ".join(words).removesuffix(" region")

    return norm(given) == norm(official)


def area_name_warnings(frame: pd.DataFrame, path: str, geography: Geography) -> list[Problem]:
    """One warning per area whose name in the data differs from the geography's official name.

    Outputs always use the official name where the code is known; the warning names the file and
    the first line with the different name.
    """
    rows = frame.loc[frame[AREA_NAME] != "", [AREA_CODE, AREA_NAME, LINE]].drop_duplicates([AREA_CODE, AREA_NAME])
    problems = []
    warned: set[str] = set()
    for code, name, line in rows.itertuples(index=False):
        official = _official_name(code, geography)
        if official is None or code in warned or _same_name(name, official):
            continue
        warned.add(code)
        problems.append(
            Problem(
                f"{path}:{line}",
                "Area Name",
                f"{name!r} is not the official name of {code}; the official name {official!r} is used",
                "warning",
            )
        )
    return problems


def _attach_benchmarks(table: pd.DataFrame) -> pd.DataFrame:
    keys = [_SPEC, PERIOD]
    england = (
        table.loc[table[AREA_CODE] == ENGLAND_CODE, [*keys, VALUE]]
        .drop_duplicates(keys)
        .rename(columns={VALUE: "england_value"})
    )
    regions = (
        table.loc[table["area_type"] == "Region", [*keys, AREA_CODE, VALUE]]
        .drop_duplicates([*keys, AREA_CODE])
        .rename(columns={AREA_CODE: "region_code", VALUE: "region_value"})
    )
    table = table.merge(england, on=keys, how="left", validate="many_to_one")
    return table.merge(regions, on=[*keys, "region_code"], how="left", validate="many_to_one")


def _limits(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """Value, lower and upper 95% and lower and upper 99.8% limits of the rows."""
    return rows[VALUE], rows[LOWER_95], rows[UPPER_95], rows[LOWER_998], rows[UPPER_998]


def _compare(table: pd.DataFrame) -> pd.DataFrame:
    """England and region comparisons, one vectorised call per (polarity, method) pair."""
    vs_england = pd.Series(NOT_COMPARED, index=table.index, dtype=object)
    vs_region = vs_england.copy()
    local = table["area_type"].isin(["UTLA", "Other"])
    for (polarity, method), rows in table.groupby(["_polarity", "_comparison"], sort=False):
        if method == "quintiles":
            # Among the areas of the same type, and an authority among its region's authorities.
            vs_england[rows.index] = compare_quintiles(rows[VALUE], rows[[_SPEC, PERIOD, "area_type"]], polarity)
            in_region = rows[local[rows.index] & (rows["region_code"] != "")]
            by_region = in_region[[_SPEC, PERIOD, "region_code"]]
            vs_region[in_region.index] = compare_quintiles(in_region[VALUE], by_region, polarity)
            continue
        vs_england[rows.index] = compare_with_benchmark(*_limits(rows), rows["england_value"], polarity, method)
        vs_region[rows.index] = compare_with_benchmark(*_limits(rows), rows["region_value"], polarity, method)
    vs_england = vs_england.where(table[AREA_CODE] != ENGLAND_CODE, NOT_COMPARED)
    return table.assign(compared_to_england=vs_england, compared_to_region=vs_region.where(local, NOT_COMPARED))


def _distribution(table: pd.DataFrame, options: BenchmarkOptions) -> pd.DataFrame:
    """Spine statistics per indicator and period over authorities, and best-first ranks.

    Ranks in England and the spine's ends describe the same authorities: those the spine keeps
    (every authority but the small ones of ``options.spine_exclusions``, as Fingertips does), so a
    row's rank agrees with its worst and best values. A left-out authority's own row ranks it among
    the kept ones plus itself, and its ends include its own value; its ``spine_note`` says so.
    Ranks in a region are among all the region's authorities (those its compare-areas chart lists).
    """
    local = table["area_type"] == "UTLA"
    stats = spine_statistics(table[local], [_SPEC, PERIOD], options.spine_exclusions)
    table = table.merge(stats, on=[_SPEC, PERIOD], how="left", validate="many_to_one")
    local = table["area_type"] == "UTLA"
    shown = table["spine_shown"].astype("boolean").fillna(False).astype(bool)
    has_england = table["england_value"].notna()
    not_count = table["_value_type"] != "count"
    note = table["spine_note"].fillna("")
    note = note.where(not_count, "No spine chart for counts").where(has_england, "No England value")
    # Rank on a signed value so that 1 is always the best (the highest unless low is good).
    signed = table[VALUE].where(local) * np.where(table["_polarity"] == "low_is_good", -1.0, 1.0)
    left_out = local & table[AREA_CODE].isin(options.spine_exclusions)
    kept = signed.where(~left_out)
    keys = [table[_SPEC], table[PERIOD]]
    by_england = kept.groupby(keys, sort=False)
    rank_in_england = by_england.rank(method="min", ascending=False)
    n_in_england = by_england.transform("count")
    own = left_out & signed.notna()
    if own.any():
        # A left-out authority among the kept ones plus itself: 1 + the kept values better than its own.
        groups = kept.groupby(keys, sort=False)
        for index in table.index[own]:
            peers = groups.get_group((table.at[index, _SPEC], table.at[index, PERIOD])).dropna()
            rank_in_england[index] = 1 + int((peers > signed[index]).sum())
            n_in_england[index] = len(peers) + 1
    by_region = signed.where(table["region_code"] != "").groupby(
        [table[_SPEC], table[PERIOD], table["region_code"]], sort=False
    )
    counted = signed.notna()
    visible = shown & has_england & not_count
    spine_min, spine_max = table["spine_min"], table["spine_max"]
    value = table[VALUE].round(5)
    extend = own & spine_min.notna()
    return table.assign(
        spine_min=spine_min.where(~extend, np.fmin(spine_min, value)),
        spine_max=spine_max.where(~extend, np.fmax(spine_max, value)),
        spine_shown=visible,
        spine_note=note.where(~visible, "").where(~(visible & own), OWN_RANGE_NOTE),
        rank_in_england=rank_in_england.astype("Int64"),
        n_in_england=n_in_england.where(counted).astype("Int64"),
        rank_in_region=by_region.rank(method="min", ascending=False).astype("Int64"),
        n_in_region=by_region.transform("count").where(counted & (table["region_code"] != "")).astype("Int64"),
    )


def _coverage(table: pd.DataFrame, n_england: int) -> pd.DataFrame:
    """Which authorities each indicator and period covers; spine notes say so when not all England."""
    columns = coverage_columns(table, [_SPEC, PERIOD], n_england)
    table = table.merge(columns, on=[_SPEC, PERIOD], how="left", validate="many_to_one")
    table["coverage"] = table["coverage"].fillna("")
    table["rank_scope"] = table["rank_scope"].fillna("")
    partial = table["spine_shown"] & (table["coverage"] != ENGLAND) & (table["coverage"] != "")
    note = "Range among " + table["coverage"].str.replace(" of ", " of England's ", n=1) + " in this file"
    return table.assign(spine_note=table["spine_note"].where(~partial, note))


def _trend(table: pd.DataFrame) -> pd.DataFrame:
    """Recent trend for each row from the five most recent valid points up to its period (methods.md 10a)."""
    labels = pd.Series(CANNOT, index=table.index, dtype=object)
    eligible = table[table["_value_type"].isin(TREND_VALUE_TYPES)]
    if eligible.empty:
        return table.assign(recent_trend=labels)
    years = {p: (parsed.years if (parsed := parse_period(p)) else 0) for p in eligible[PERIOD].unique()}
    single = eligible[PERIOD].map(years).eq(1).groupby(eligible[_SPEC]).transform("all")
    eligible = eligible[single]
    position = eligible.groupby(_SPEC)["_period_order"].rank(method="dense").astype(int) - 1
    eligible = eligible.assign(_position=position)
    fields = (VALUE, LOWER_95, UPPER_95, COUNT, DENOMINATOR)
    wide = eligible.pivot_table(
        index=[_SPEC, AREA_CODE], columns="_position", values=list(fields), aggfunc="first", dropna=False
    )
    n_positions = int(position.max()) + 1 if len(position) else 0
    polarity = eligible.drop_duplicates(_SPEC).set_index(_SPEC)["_polarity"]
    for end in range(N_POINTS - 1, n_positions):
        window = list(range(end + 1))
        arrays = [wide[field].reindex(columns=window).to_numpy(float) for field in fields]
        markers = recent_trend_from_history(*arrays)
        spec_of_row = wide.index.get_level_values(0)
        words = np.empty(len(markers), dtype=object)
        for spec_id in polarity.index:
            mine = spec_of_row == spec_id
            words[mine] = trend_labels(markers[mine], polarity[spec_id])
        result = pd.Series(words, index=wide.index)
        at_end = eligible.index[eligible["_position"] == end]
        keys = pd.MultiIndex.from_frame(eligible.loc[at_end, [_SPEC, AREA_CODE]])
        labels[at_end] = result.reindex(keys).fillna(CANNOT).to_numpy()
    return table.assign(recent_trend=labels)


def _group_values(members: pd.DataFrame) -> pd.Series:
    """Comparator value per (indicator, period): pooled counts where every member has them, else the mean."""
    keys = [members[_SPEC], members[PERIOD]]
    pooled_types = members["_value_type"].isin(["proportion", "crude_rate", "isr"])
    has_counts = (members[COUNT].notna() & (members[DENOMINATOR] > 0) & pooled_types).groupby(keys).transform("all")
    sums = members[[COUNT, DENOMINATOR]].groupby(keys).sum()
    multiplier = members.groupby(keys)["_multiplier"].first()
    pooled = sums[COUNT] / sums[DENOMINATOR] * multiplier
    use_pooled = has_counts.groupby(keys).first()
    mean = members[VALUE].groupby(keys).mean()
    return pooled.where(use_pooled, mean)


def _compare_with_group(table: pd.DataFrame, group: ComparatorGroup) -> pd.DataFrame:
    members = table[table[AREA_CODE].isin(group.areas)]
    values = _group_values(members).rename("comparator_value").reset_index()
    table = table.merge(values, on=[_SPEC, PERIOD], how="left", validate="many_to_one")
    labels = pd.Series(NOT_COMPARED, index=table.index, dtype=object)
    keys = [_SPEC, PERIOD]
    for (polarity, method), rows in table.groupby(["_polarity", "_comparison"], sort=False):
        if method == "quintiles":
            labels[rows.index] = compare_quintiles(rows[VALUE], rows[keys], polarity, members[VALUE], members[keys])
            continue
        labels[rows.index] = compare_with_benchmark(*_limits(rows), rows["comparator_value"], polarity, method)
    return table.assign(comparator_name=group.name, compared_to_comparator=labels)
