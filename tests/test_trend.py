"""Recent trend (Fingertips' weighted regression, 99.8% threshold, leave-one-out sign check)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_helpers import dataset, proportion_record, record, spec
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.core.geography import load_geography
from reportgen.stats.trend import CHI2_THRESHOLD, recent_trend_markers, trend_labels

GEO = load_geography()


def reference_chi2(values, se):
    """Independent reference: numpy's weighted least squares (polyfit) and its unscaled covariance."""
    t = np.arange(1, 6, dtype=float)
    coefficients, covariance = np.polyfit(t, values, 1, w=1 / se, cov="unscaled")
    return coefficients[0], coefficients[0] ** 2 / covariance[0, 0]


def series(values, n=2000):
    counts = np.round(np.asarray(values) / 100 * n)
    value = counts / n * 100
    p = counts / n
    se = np.sqrt(p * (1 - p) / n) * 100
    return value, value - 1.96 * se, value + 1.96 * se, counts, np.full(5, float(n))


def test_threshold_is_the_998_chi2_point():
    from scipy.stats import chi2

    assert CHI2_THRESHOLD == pytest.approx(chi2.ppf(0.998, 1), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(10, 90), min_size=5, max_size=5))
def test_markers_agree_with_reference_regression(values):
    value, lower, upper, count, denominator = series(values)
    marker = recent_trend_markers(value[None], lower[None], upper[None], count[None], denominator[None])[0]
    slope, chi2 = reference_chi2(value, (upper - lower) / 3.92)
    if chi2 <= CHI2_THRESHOLD * 0.999999:
        assert marker == 0
    elif chi2 > CHI2_THRESHOLD * 1.000001 and marker != 0:
        assert marker == np.sign(slope)


def test_labels_by_polarity():
    rising = series([40, 42, 44, 46, 48])
    falling = series([48, 46, 44, 42, 40])
    flat = series([44, 44.2, 43.9, 44.1, 44])
    arrays = [np.stack(parts) for parts in zip(rising, falling, flat, strict=True)]
    markers = recent_trend_markers(*arrays)
    assert list(markers) == [1, -1, 0]
    assert list(trend_labels(markers, "high_is_good")) == [
        "Increasing and getting better",
        "Decreasing and getting worse",
        "No significant change",
    ]
    assert list(trend_labels(markers, "low_is_good"))[:2] == [
        "Increasing and getting worse",
        "Decreasing and getting better",
    ]
    assert list(trend_labels(markers, "no_judgement"))[:2] == ["Increasing", "Decreasing"]


def test_one_outlier_cannot_make_a_trend():
    # Significant overall, but leaving out the last point reverses the slope.
    value, lower, upper, count, denominator = series([50, 49.5, 49, 48.5, 70])
    slope, chi2 = reference_chi2(value, (upper - lower) / 3.92)
    assert chi2 > CHI2_THRESHOLD and slope > 0
    assert recent_trend_markers(value[None], lower[None], upper[None], count[None], denominator[None])[0] == 0


def test_missing_point_or_full_count_cannot_be_calculated():
    value, lower, upper, count, denominator = series([40, 42, 44, 46, 48])
    gap = value.copy()
    gap[2] = np.nan
    full = count.copy()
    full[0] = denominator[0]
    markers = recent_trend_markers(
        np.stack([gap, value]),
        np.stack([lower, lower]),
        np.stack([upper, upper]),
        np.stack([count, full]),
        np.stack([denominator, denominator]),
    )
    assert np.isnan(markers).all()


def trend_rows(periods, counts):
    rows = []
    for period, c in zip(periods, counts, strict=True):
        rows += [
            proportion_record("E06000001", c, 2000, period=period),
            proportion_record("E92000001", 1_000_000, 2_000_000, period=period),
        ]
    return rows


def test_trend_in_the_table_ends_at_each_period():
    periods = ["2017", "2018", "2019", "2020", "2021", "2022"]
    table = benchmark_table_for(trend_rows(periods, [800, 840, 880, 920, 960, 1000]))
    local = table[table["area_code"] == "E06000001"].set_index("period")["recent_trend"]
    assert list(local[periods[:4]]) == ["Cannot be calculated"] * 4
    assert list(local[periods[4:]]) == ["Increasing and getting better"] * 2


def test_trend_needs_single_year_periods_and_rates():
    periods = ["2015 - 17", "2016 - 18", "2017 - 19", "2018 - 20", "2019 - 21"]
    table = benchmark_table_for(trend_rows(periods, [800, 840, 880, 920, 960]))
    assert set(table["recent_trend"]) == {"Cannot be calculated"}
    table = benchmark_table_for(
        trend_rows([str(y) for y in range(2018, 2023)], [800, 840, 880, 920, 960]), value_type="score"
    )
    assert set(table["recent_trend"]) == {"Cannot be calculated"}


def benchmark_table_for(rows, value_type="proportion"):
    from reportgen.stats.benchmark import benchmark_table

    return benchmark_table(dataset(rows), [spec(value_type=value_type, multiplier=100)], GEO)


# --- The corrected rule (methods.md 10a): five most recent *valid* points, DSRs included. ---


def hand_chi2(values, se):
    """Slope and chi-squared written out from the 10a formulas, t = 1..5 by position."""
    w = [1 / s**2 for s in se]
    t = [1, 2, 3, 4, 5]
    s1 = sum(w)
    s2 = sum(wi * vi * ti for wi, vi, ti in zip(w, values, t, strict=True))
    s3 = sum(wi * ti for wi, ti in zip(w, t, strict=True))
    s4 = sum(wi * vi for wi, vi in zip(w, values, strict=True))
    s5 = sum(wi * ti * ti for wi, ti in zip(w, t, strict=True))
    slope = (s1 * s2 - s3 * s4) / (s1 * s5 - s3**2)
    se_slope = (s1 / (s1 * s5 - s3**2)) ** 0.5
    return slope, (slope / se_slope) ** 2


def test_hand_example_equal_weights():
    # Equal se of 0.1: w = 100, S1 = 500, S3 = 1500, S5 = 5500, S1*S5 - S3^2 = 500000; values 10..14
    # give slope 1 and chi-squared 1 / (500 / 500000) = 1000.
    slope, chi2 = hand_chi2([10, 11, 12, 13, 14], [0.1] * 5)
    assert slope == pytest.approx(1.0) and chi2 == pytest.approx(1000.0)


def test_a_suppressed_year_inside_the_last_five_is_skipped():
    from reportgen.stats.trend import recent_trend_from_history, recent_valid_points

    # Six years, the fourth suppressed (no value or count): the five valid points are used, t = 1..5.
    value = np.array([[10.0, 11.0, 12.0, np.nan, 13.0, 14.0]])
    se = 0.4
    lower, upper = value - 1.96 * se, value + 1.96 * se
    count = np.array([[100.0, 110.0, 120.0, np.nan, 130.0, 140.0]])
    denominator = np.full((1, 6), 1000.0)
    picked = recent_valid_points(value, lower, upper, count, denominator)
    assert list(picked[0][0]) == [10.0, 11.0, 12.0, 13.0, 14.0]
    slope, chi2 = hand_chi2([10, 11, 12, 13, 14], [se] * 5)
    assert (
        chi2 == pytest.approx(62.5) and chi2 > CHI2_THRESHOLD
    )  # w = 6.25: S1 = 31.25, S3 = 93.75, S5 = 343.75; SE^2 = 0.016
    assert recent_trend_from_history(value, lower, upper, count, denominator)[0] == 1
    # Only four valid points: cannot be calculated.
    assert np.isnan(
        recent_trend_from_history(value[:, 1:], lower[:, 1:], upper[:, 1:], count[:, 1:], denominator[:, 1:])[0]
    )


def test_table_trend_across_a_suppressed_year():
    periods = [str(y) for y in range(2015, 2022)]
    counts = [800, 840, 880, None, 960, 1000, 1040]
    rows = []
    for period, c in zip(periods, counts, strict=True):
        if c is None:
            rows.append(record("E06000001", period=period, note="Value suppressed"))
        else:
            rows.append(proportion_record("E06000001", c, 2000, period=period))
        rows.append(proportion_record("E92000001", 1_000_000, 2_000_000, period=period))
    table = benchmark_table_for(rows)
    local = table[table["area_code"] == "E06000001"].set_index("period")["recent_trend"]
    # 2019: five periods exist but only four are valid; 2020 and 2021 skip the suppressed 2018.
    assert local["2019"] == "Cannot be calculated"
    assert local["2020"] == "Increasing and getting better"
    assert local["2021"] == "Increasing and getting better"
    value = [c / 2000 * 100 for c in (840, 880, 960, 1000, 1040)]
    row = table[(table["area_code"] == "E06000001") & (table["period"] == "2021")].iloc[0]
    assert row["value"] == pytest.approx(52.0)
    se = [(p * (100 - p) / 2000) ** 0.5 for p in value]  # close to the Wilson width
    assert hand_chi2(value, se)[1] > CHI2_THRESHOLD


def dsr_rows(values, se):
    rows = []
    for year, (v, s) in enumerate(zip(values, se, strict=True), start=2017):
        rows.append(
            record(
                "E06000001",
                period=str(year),
                value=v,
                lower=v - 1.96 * s,
                upper=v + 1.96 * s,
                count=round(v * 3),
                denominator=300_000,
            )
        )
        rows.append(
            record(
                "E92000001", period=str(year), value=500, lower=499, upper=501, count=1500000, denominator=300_000_000
            )
        )
    return rows


def test_directly_standardised_rates_get_a_trend():
    from reportgen.stats.benchmark import benchmark_table

    falling = [620.0, 600.0, 585.0, 560.0, 540.0]
    se = [12.0, 12.0, 11.5, 11.0, 11.0]
    slope, chi2 = hand_chi2(falling, se)
    assert slope < 0 and chi2 > CHI2_THRESHOLD
    flat = [600.0, 590.0, 605.0, 595.0, 600.0]
    assert hand_chi2(flat, se)[1] < CHI2_THRESHOLD
    specs = [spec(value_type="dsr", multiplier=100_000, polarity="low_is_good")]
    for values, expected in ((falling, "Decreasing and getting better"), (flat, "No significant change")):
        table = benchmark_table(dataset(dsr_rows(values, se)), specs, GEO)
        local = table[table["area_code"] == "E06000001"].set_index("period")["recent_trend"]
        assert local["2021"] == expected
