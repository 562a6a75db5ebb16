"""The benchmarking engine: intervals, Fingertips comparisons, spine statistics, ranks, trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_helpers import dataset, proportion_record, record, spec

from reportgen.core.errors import DataError
from reportgen.core.geography import load_geography
from reportgen.stats.benchmark import BENCHMARK_COLUMNS, BenchmarkOptions, ComparatorGroup, benchmark_table
from reportgen.stats.compare import (
    ci_direction,
    compare_quintiles,
    label_one_level,
    label_two_levels,
    quintile_bounds,
)

GEO = load_geography()
NE = [a.code for a in GEO.in_region("E12000001")]

CONTRACT = [
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
]


def north_east(counts, denominator=1000, period="2022", **kwargs):
    """England, the North East region and its 12 authorities with the given counts."""
    rows = [
        proportion_record(code, c, denominator, period=period, **kwargs) for code, c in zip(NE, counts, strict=False)
    ]
    total = sum(counts[: len(NE)])
    rows.append(proportion_record("E12000001", total, denominator * len(counts[: len(NE)]), period=period, **kwargs))
    rows.append(proportion_record("E92000001", 500_000, 1_000_000, period=period, **kwargs))
    return rows


def test_columns_start_with_the_contract():
    assert list(BENCHMARK_COLUMNS[: len(CONTRACT)]) == CONTRACT


def test_ci_rule_uses_inclusive_bounds_and_the_benchmark_point():
    value, lower, upper = np.array([50.0, 50, 50, 50]), np.array([45.0, 45, 45, 45]), np.array([55.0, 55, 55, 55])
    benchmark = np.array([45.0, 55.0, 44.99, 55.01])
    assert list(ci_direction(value, lower, upper, benchmark)) == [0, 0, 1, -1]
    assert list(label_one_level([0, 1, -1, np.nan], "high_is_good")) == ["Similar", "Better", "Worse", "Not compared"]
    assert list(label_one_level([0, 1, -1], "low_is_good")) == ["Similar", "Worse", "Better"]
    assert list(label_one_level([0, 1, -1], "no_judgement")) == ["Similar", "Higher", "Lower"]
    assert list(label_one_level([0, 1, -1], "not_applicable")) == ["Not compared"] * 3


def test_two_level_labels():
    d95, d998 = [1, 1, 0, -1, -1, 1], [1, 0, 0, 0, -1, np.nan]
    assert list(label_two_levels(d95, d998, "high_is_good")) == [
        "Better 99.8%",
        "Better 95%",
        "Similar",
        "Worse 95%",
        "Worse 99.8%",
        "Not compared",
    ]
    assert list(label_two_levels(d95, d998, "low_is_good"))[:2] == ["Worse 99.8%", "Worse 95%"]
    assert list(label_two_levels(d95, d998, "no_judgement"))[:2] == ["Higher 99.8%", "Higher 95%"]


def same_set(n: int) -> pd.DataFrame:
    """Keys putting ``n`` values in one comparison set."""
    return pd.DataFrame({"indicator": ["x"] * n, "period": ["2022"] * n})


def quintiles_among(points: list[float], pool: list[float], polarity: str) -> list[str]:
    values, among = pd.Series(points, dtype=float), pd.Series(pool, dtype=float)
    return list(compare_quintiles(values, same_set(len(values)), polarity, among, same_set(len(among))))


def test_quintiles_follow_type7_bounds():
    values = np.arange(1.0, 11.0)
    bounds = quintile_bounds(pd.Series(values), same_set(10))
    np.testing.assert_allclose(bounds.loc[("x", "2022")], np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
    assert quintiles_among([1, 2.8, 2.81, 6.4, 10], list(values), "no_judgement") == [
        "Lowest quintile",
        "Lowest quintile",
        "2nd lowest quintile",
        "Middle quintile",
        "Highest quintile",
    ]
    assert quintiles_among([1, 10], list(values), "high_is_good") == ["Worst quintile", "Best quintile"]
    assert quintiles_among([1, 10], list(values), "low_is_good") == ["Best quintile", "Worst quintile"]
    assert quintiles_among([1], [1, 2, 3, 4], "high_is_good") == ["Not compared"]
    assert quintiles_among([np.nan, 1], list(values), "low_is_good") == ["Not compared", "Best quintile"]


def test_computed_intervals_and_comparisons():
    counts = [400, 500, 600, 480, 520, 450, 550, 505, 495, 300, 700, 510]
    table = benchmark_table(dataset(north_east(counts)), [spec()], GEO)
    local = table[table["area_type"] == "UTLA"].set_index("area_code")
    assert (
        len(local) == 12 and (local["ci_source"] == "computed").all() and (local["ci_method"] == "Wilson score").all()
    )
    assert local.loc[NE[0], "compared_to_england"] == "Worse" and local.loc[NE[2], "compared_to_england"] == "Better"
    assert local.loc[NE[1], "compared_to_england"] == "Similar"
    region_value = sum(counts) / 12_000 * 100
    assert local["region_value"].iloc[0] == pytest.approx(region_value)
    assert local.loc[NE[10], "rank_in_england"] == 1 and local.loc[NE[9], "rank_in_region"] == 12
    england = table[table["area_code"] == "E92000001"].iloc[0]
    assert england["compared_to_england"] == "Not compared" and england["england_value"] == 50.0
    assert (local["lower_ci_95"] >= local["lower_ci_99_8"]).all() and (
        local["upper_ci_95"] <= local["upper_ci_99_8"]
    ).all()


def test_supplied_limits_are_used():
    rows = north_east([500] * 12)
    rows[0] = record(NE[0], value=60.0, count=600, denominator=1000, lower=40.0, upper=70.0)
    table = benchmark_table(dataset(rows), [spec()], GEO).set_index("area_code")
    assert table.loc[NE[0], "ci_source"] == "data" and table.loc[NE[0], "lower_ci_95"] == 40.0
    assert table.loc[NE[0], "compared_to_england"] == "Similar"
    assert table.loc[NE[0], "ci_method"] == "Supplied with the data (95%); Wilson score (99.8%)"
    assert table.loc[NE[1], "ci_source"] == "computed"


def test_mean_without_spread_has_no_interval():
    rows = [record(code, value=40.0 + i, denominator=100) for i, code in enumerate(NE)] + [
        record("E92000001", value=45.0)
    ]
    table = benchmark_table(dataset(rows), [spec(value_type="mean", multiplier=1)], GEO)
    assert set(table["ci_source"]) == {"none"} and set(table["compared_to_england"]) == {"Not compared"}


def test_count_zero_and_count_equal_to_denominator():
    rows = north_east([0, 1000] + [500] * 10)
    table = benchmark_table(dataset(rows), [spec()], GEO).set_index("area_code")
    assert table.loc[NE[0], "lower_ci_95"] == 0 and table.loc[NE[0], "compared_to_england"] == "Worse"
    assert table.loc[NE[1], "upper_ci_95"] == 100 and table.loc[NE[1], "compared_to_england"] == "Better"


def test_denominator_zero_is_a_data_error():
    rows = north_east([500] * 12)
    rows[3] = record(NE[3], value=None, count=5, denominator=0)
    with pytest.raises(DataError) as info:
        benchmark_table(dataset(rows), [spec()], GEO)
    assert (
        str(info.value.problems[0])
        == "test.csv:5: Denominator: is 0 for ind; a proportion needs a positive denominator (leave it blank if unknown)"
    )


def test_one_area_only():
    rows = [proportion_record(NE[0], 300, 1000), proportion_record("E92000001", 500_000, 1_000_000)]
    table = benchmark_table(dataset(rows), [spec()], GEO).set_index("area_code")
    row = table.loc[NE[0]]
    assert row["compared_to_england"] == "Worse" and row["compared_to_region"] == "Not compared"
    assert row["rank_in_england"] == 1 and row["n_in_england"] == 1 and not row["spine_shown"]


def test_all_values_suppressed():
    rows = [record(code, note="suppressed") for code in NE] + [record("E92000001", note="suppressed")]
    table = benchmark_table(dataset(rows), [spec()], GEO)
    assert set(table["compared_to_england"]) == {"Not compared"} and table["rank_in_england"].isna().all()
    assert not table["spine_shown"].any() and set(table["recent_trend"]) == {"Cannot be calculated"}


def test_missing_england_row():
    rows = north_east([500] * 12)[:-1]
    table = benchmark_table(dataset(rows), [spec()], GEO)
    local = table[table["area_type"] == "UTLA"]
    assert local["england_value"].isna().all() and set(local["compared_to_england"]) == {"Not compared"}
    assert set(local["compared_to_region"]) == {"Similar"}
    assert set(local["spine_note"]) == {"No England value"} and not local["spine_shown"].any()


def test_spine_statistics_are_type7_without_small_areas():
    rng = np.random.default_rng(3)
    codes = [a.code for a in GEO.authorities]
    counts = rng.integers(300, 700, len(codes))
    rows = [
        proportion_record(c, int(k), 1000, parent=GEO.lookup(c).region_code) for c, k in zip(codes, counts, strict=True)
    ]
    rows.append(proportion_record("E92000001", int(counts.sum()), 1000 * len(codes)))
    table = benchmark_table(dataset(rows), [spec()], GEO)
    first = table.iloc[0]
    kept = np.array([k / 10 for c, k in zip(codes, counts, strict=True) if c not in ("E06000053", "E09000001")])
    expected = np.round(np.quantile(kept, [0, 0.25, 0.5, 0.75, 1.0]), 5)
    got = [first[c] for c in ("spine_min", "spine_p25", "spine_median", "spine_p75", "spine_max")]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert first["spine_n"] == 151 and first["spine_shown"]
    # Issue 17: ranks describe the spine's authorities; a left-out small one ranks among them plus itself.
    local = table[table["area_type"] == "UTLA"].set_index("area_code")
    small = local.index.isin(["E06000053", "E09000001"])
    assert local.loc[~small, "n_in_england"].eq(151).all() and local.loc[~small, "rank_in_england"].max() == 151
    assert local.loc[small, "n_in_england"].eq(152).all()
    for code in ("E06000053", "E09000001"):
        value = local.loc[code, "value"]
        assert local.loc[code, "rank_in_england"] == 1 + int((kept > value).sum())
        assert local.loc[code, "spine_min"] <= round(value, 5) <= local.loc[code, "spine_max"]


def test_spine_needs_three_quarters_coverage():
    rows = north_east([500] * 12)
    for i in range(4):  # 4 of 12 suppressed leaves 67% coverage
        rows[i] = record(NE[i], note="suppressed")
    table = benchmark_table(dataset(rows), [spec()], GEO)
    assert not table["spine_shown"].any()
    assert set(table.loc[table["area_type"] == "UTLA", "spine_note"]) == {
        "Insufficient number of values for a spine chart"
    }


def test_quintile_comparison_in_the_table():
    counts = list(range(400, 640, 20))
    table = benchmark_table(dataset(north_east(counts)), [spec(comparison="quintiles", polarity="no_judgement")], GEO)
    local = table[table["area_type"] == "UTLA"]
    assert (
        local["compared_to_england"].iloc[0] == "Lowest quintile"
        and local["compared_to_england"].iloc[-1] == "Highest quintile"
    )
    assert local["compared_to_region"].tolist() == local["compared_to_england"].tolist()


def test_comparator_group_pooled_and_mean():
    counts = [400 + 10 * i for i in range(12)]
    group = ComparatorGroup("Neighbours", tuple(NE[:3]))
    table = benchmark_table(dataset(north_east(counts)), [spec()], GEO, BenchmarkOptions(comparator=group))
    assert table["comparator_value"].iloc[0] == pytest.approx((400 + 410 + 420) / 3000 * 100)
    assert set(table["comparator_name"]) == {"Neighbours"}
    rows = [record(code, value=40.0 + i, lower=39.5 + i, upper=40.5 + i) for i, code in enumerate(NE)] + [
        record("E92000001", value=45.0)
    ]
    table = benchmark_table(
        dataset(rows), [spec(value_type="score", multiplier=1)], GEO, BenchmarkOptions(comparator=group)
    )
    local = table[table["area_type"] == "UTLA"].set_index("area_code")
    assert local["comparator_value"].iloc[0] == pytest.approx(41.0)
    assert (
        local.loc[NE[0], "compared_to_comparator"] == "Worse"
        and local.loc[NE[1], "compared_to_comparator"] == "Similar"
    )


def test_area_outside_the_geography_is_still_benchmarked():
    rows = north_east([500] * 12) + [proportion_record("E06000999", 700, 1000, parent="E12000001")]
    table = benchmark_table(dataset(rows), [spec()], GEO).set_index("area_code")
    assert (
        table.loc["E06000999", "compared_to_england"] == "Better"
        and table.loc["E06000999", "region_code"] == "E12000001"
    )


def test_output_sorted_england_regions_then_authorities():
    table = benchmark_table(dataset(north_east([500] * 12)), [spec()], GEO)
    assert list(table["area_type"][:2]) == ["England", "Region"]
    assert table["area_code"].iloc[2:].is_monotonic_increasing
    assert isinstance(table, pd.DataFrame)
