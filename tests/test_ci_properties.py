"""Property-based tests (hypothesis) for reportgen.stats.ci."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.stats import ci

FAST = settings(max_examples=200, deadline=None)
SLACK = 1e-12  # relative slack for comparisons between independently rounded limits

multipliers = st.sampled_from([1.0, 100.0, 1000.0, 100000.0])
confidences = st.sampled_from([0.95, 0.998, 95, 99.8, 0.9, 0.99])


@st.composite
def proportions(draw):
    """(count, denominator) with 0 <= count <= denominator and denominator > 0."""
    n = draw(st.integers(min_value=1, max_value=10**8))
    x = draw(st.one_of(st.just(0), st.just(n), st.integers(min_value=0, max_value=n)))
    return float(x), float(n)


counts = st.one_of(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=10**7))
positive = st.floats(min_value=1e-3, max_value=1e9, allow_nan=False, allow_infinity=False)


def ordered(lower, value, upper) -> None:
    """lower <= value <= upper, allowing for floating-point rounding."""
    lower, value, upper = (np.asarray(a, dtype=float) for a in (lower, value, upper))
    scale = SLACK * np.maximum(np.abs(value), 1e-300)
    assert np.all(lower <= value + scale), (lower, value)
    assert np.all(value <= upper + scale), (value, upper)


def contains(outer, inner) -> None:
    """The 99.8% interval (outer) contains the 95% interval (inner)."""
    (lo_out, up_out), (lo_in, up_in) = outer, inner
    lo_out = np.nan_to_num(np.asarray(lo_out, dtype=float), nan=0.0)  # Byar's NA lower = below 0
    assert np.all(lo_out <= lo_in * (1 + SLACK))
    assert np.all(up_out >= up_in * (1 - SLACK))


# --------------------------------------------------------------------------- Wilson


@FAST
@given(proportions(), multipliers, confidences)
def test_wilson_ordered_and_bounded(prop, multiplier, confidence):
    value, lower, upper = ci.wilson_interval(*prop, confidence, multiplier)
    ordered(lower, value, upper)
    assert 0.0 <= lower <= upper <= multiplier


@FAST
@given(proportions(), multipliers)
def test_wilson_998_contains_95(prop, multiplier):
    wide = ci.wilson_interval(*prop, 0.998, multiplier)[1:]
    narrow = ci.wilson_interval(*prop, 0.95, multiplier)[1:]
    contains(wide, narrow)


@pytest.mark.parametrize("n", [1, 7, 100, 10**9])
def test_wilson_count_zero_and_count_equal_denominator(n):
    value, lower, upper = ci.wilson_interval([0, n], [n, n], 0.95, 100)
    assert value.tolist() == [0.0, 100.0]
    assert lower[0] == 0.0 and 0 < upper[0] < 100
    assert 0 < lower[1] < 100 and upper[1] == 100.0


# ------------------------------------------------------------- crude rates and ISRs


@FAST
@given(counts, positive, multipliers, confidences)
def test_crude_rate_ordered(count, denominator, multiplier, confidence):
    value, lower, upper, method = ci.crude_rate_interval(count, denominator, confidence, multiplier)
    ordered(np.nan_to_num(lower, nan=0.0), value, upper)
    assert method.item() == ("Exact" if count < 10 else "Byars")


@FAST
@given(counts, positive, multipliers)
def test_crude_rate_998_contains_95(count, denominator, multiplier):
    wide = ci.crude_rate_interval(count, denominator, 0.998, multiplier)[1:3]
    narrow = ci.crude_rate_interval(count, denominator, 0.95, multiplier)[1:3]
    contains(wide, narrow)


@FAST
@given(counts, positive, st.sampled_from([1.0, 100.0, 9349.9]), confidences)
def test_isr_ordered(observed, expected, reference, confidence):
    value, lower, upper, _ = ci.isr_interval(observed, expected, confidence, reference)
    ordered(np.nan_to_num(lower, nan=0.0), value, upper)


@FAST
@given(counts, positive)
def test_isr_998_contains_95(observed, expected):
    wide = ci.isr_interval(observed, expected, 0.998, 100)[1:3]
    narrow = ci.isr_interval(observed, expected, 0.95, 100)[1:3]
    contains(wide, narrow)


@FAST
@given(st.integers(min_value=0, max_value=10**6))
def test_poisson_count_limits_bracket_count(count):
    lower, upper, method = ci.poisson_count_interval(count)
    assert lower <= count <= upper
    exact_lower, _ = ci.exact_poisson_interval(count)
    assert (exact_lower == 0) == (count == 0)
    assert method.item() == ("Exact" if count < 10 else "Byars")


@FAST
@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=19, max_size=19),
    st.lists(st.integers(min_value=1, max_value=10**5), min_size=19, max_size=19),
)
def test_dsr_ordered(counts_by_band, pops_by_band):
    stdpop = np.linspace(5000, 1000, 19)
    result = ci.dobson_dsr(counts_by_band, pops_by_band, stdpop, ["a"] * 19)
    row = result.loc["a"]
    if row["total_count"] < 10:
        assert np.isnan(row["value"]) and row["method"] == ci.DSR_NA_TEXT
    else:
        ordered(row["lower"], row["value"], row["upper"])


# ----------------------------------------------------------------- NaN in, NaN out


def test_nan_in_nan_out():
    nan = np.nan
    for result in (
        ci.wilson_interval([nan, 1, nan], [10, nan, nan]),
        ci.crude_rate_interval([nan, 1], [10, nan])[:3],
        ci.isr_interval([nan, 1], [10, nan])[:3],
        ci.byars_interval([nan]),
        ci.exact_poisson_interval([nan]),
        ci.poisson_count_interval([nan])[:2],
        ci.t_mean_interval_from_summary([nan, nan], [1, nan], [5, nan]),
    ):
        for array in result:
            assert np.isnan(array).all()
    value, lower, upper = ci.t_mean_interval_from_summary([1, 1], [nan, 1], [5, nan])
    assert value.tolist() == [1.0, 1.0] and np.isnan(lower).all() and np.isnan(upper).all()
    assert ci.poisson_count_interval([nan])[2].tolist() == [None]
    assert np.isnan(ci.quantile_category([nan, 1, 2, 3, 4], None, 4)[0])
    dsr = ci.dobson_dsr([20] * 3, [100, nan, 100], [1, 1, 1], ["a"] * 3)
    assert dsr[["value", "lower", "upper"]].isna().all().all()
    means = ci.t_mean_interval([1.0, nan, 3.0, 4.0], ["a", "a", "b", "b"])
    assert means.loc["a", ["value", "lower", "upper"]].isna().all()
    assert means.loc["b", ["value", "lower", "upper"]].notna().all()


@FAST
@given(st.lists(st.one_of(st.just(np.nan), st.floats(-1e6, 1e6)), min_size=1, max_size=30))
def test_nan_values_never_raise(values):
    arr = np.abs(np.asarray(values, dtype=float))
    ci.wilson_interval(arr, arr + 1)
    ci.crude_rate_interval(arr, arr + 1)
    ci.isr_interval(arr, arr + 1)
    q = ci.quantile_category(arr, None, 4)
    assert np.isnan(q[np.isnan(arr)]).all()


def test_t_mean_needs_two_observations():
    value, lower, upper = ci.t_mean_interval_from_summary([5.0, 5.0], [1.0, 1.0], [1, 2])
    assert value.tolist() == [5.0, 5.0]
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert lower[1] < 5 < upper[1]


# ------------------------------------------------------------------- invalid inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ci.wilson_interval(-1, 10), "count must be >= 0"),
        (lambda: ci.wilson_interval(11, 10), "count must not exceed denominator"),
        (lambda: ci.wilson_interval(1, 0), "denominator must be > 0"),
        (lambda: ci.wilson_interval(1, -5), "denominator must be > 0"),
        (lambda: ci.crude_rate_interval(-1, 10), "count must be >= 0"),
        (lambda: ci.crude_rate_interval(1, 0), "denominator must be > 0"),
        (lambda: ci.isr_interval(-1, 10), "observed count must be >= 0"),
        (lambda: ci.isr_interval(1, 0), "expected count must be > 0"),
        (lambda: ci.byars_interval(-2), "count must be >= 0"),
        (lambda: ci.exact_poisson_interval(-2), "count must be >= 0"),
        (lambda: ci.z_value(0.5), "confidence must be between"),
        (lambda: ci.z_value(101), "confidence must be between"),
        (lambda: ci.wilson_interval(1, 10, confidence=0.8), "confidence must be between"),
        (lambda: ci.dobson_dsr([1, 2], [0, 5], [1, 1], ["a", "a"]), "population must be > 0"),
        (lambda: ci.dobson_dsr([1, -2], [5, 5], [1, 1], ["a", "a"]), "count must be >= 0"),
        (lambda: ci.dobson_dsr([1, 2], [5, 5], [1, 1], ["a"]), "groups has 1 entries"),
        (lambda: ci.t_mean_interval_from_summary(1, -1, 5), "standard deviation must be >= 0"),
        (lambda: ci.quantile_category([1, 2], None, 0), "n_quantiles must be a positive integer"),
        (
            lambda: ci.chiang_life_expectancy([1] * 20, [300] * 20, ci.LE_START_AGES, ["a"] * 20, le_age=3),
            "le_age must be one of",
        ),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@FAST
@given(proportions(), st.floats(min_value=1e-6, max_value=1e6))
def test_wilson_count_above_denominator_raises(prop, excess):
    _, n = prop
    with pytest.raises(ValueError, match="count must not exceed denominator"):
        ci.wilson_interval(n + excess * max(n, 1.0), n)


@FAST
@given(st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=-1e6, max_value=0))
def test_nonpositive_denominator_raises(count, denominator):
    with pytest.raises(ValueError, match="denominator must be > 0"):
        ci.crude_rate_interval(count, denominator)
