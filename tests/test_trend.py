"""Recent trend (Fingertips' weighted regression, 99.8% threshold, leave-one-out sign check)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_helpers import dataset, proportion_record, spec
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.geography import load_geography
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
