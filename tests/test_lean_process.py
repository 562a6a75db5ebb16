"""Issue 11, outside the PDF engine: a lighter, faster process with unchanged outputs.

Quantiles without importing scipy.stats, worker processes that receive only what they read,
and garbage collection tuned for building documents.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from reportgen.stats import ci


def _same_bits(ours, reference) -> None:
    ours, reference = np.asarray(ours), np.asarray(reference)
    assert ours.shape == reference.shape and ours.dtype == reference.dtype
    assert ours.tobytes() == reference.tobytes()


PROBABILITIES = np.array([0.0, 1e-300, 1e-12, 0.0005, 0.001, 0.025, 0.05, 0.3, 0.5, 0.95, 0.975, 0.999, 0.9995, 1.0])


def test_normal_quantile_is_scipy_stats_bit_for_bit():
    odd = np.array([-0.1, 1.1, np.nan])
    _same_bits(ci.norm_ppf(PROBABILITIES), stats.norm.ppf(PROBABILITIES))
    _same_bits(ci.norm_ppf(odd), stats.norm.ppf(odd))
    for q in (0.975, 0.999, 0.0, 1.0):
        _same_bits(ci.norm_ppf(q), stats.norm.ppf(q))
    assert ci.Z95 == float(stats.norm.ppf(0.975)) and ci.Z998 == float(stats.norm.ppf(0.999))
    assert ci.z_value(1.0) == float("inf")


@pytest.mark.parametrize("name", ["chi2", "t"])
def test_chi2_and_t_quantiles_are_scipy_stats_bit_for_bit(name):
    ours = {"chi2": ci.chi2_ppf, "t": ci.t_ppf}[name]
    reference = getattr(stats, name)
    rng = np.random.default_rng(11)
    df = np.concatenate([[0.0, -1.0, np.nan, np.inf, 0.5, 1, 2, 3, 19, 20, 1e6], rng.uniform(0, 5000, 200)])
    q = rng.choice(PROBABILITIES, df.size)
    _same_bits(ours(q, df), reference.ppf(q, df))
    # Every probability with every degree of freedom, and scalars.
    grid_q, grid_df = np.meshgrid(PROBABILITIES, df[:11])
    _same_bits(ours(grid_q, grid_df), reference.ppf(grid_q, grid_df))
    _same_bits(ours(0.0005, 7.0), reference.ppf(0.0005, 7.0))
    _same_bits(ours(np.float64(0.975), np.array([4.0, 0.0])), reference.ppf(np.float64(0.975), np.array([4.0, 0.0])))


def test_exact_poisson_and_t_intervals_use_the_same_numbers_as_scipy():
    counts = np.array([0, 1, 2, 5, 9, 10, 57, 1000, np.nan])
    lower, upper = ci.exact_poisson_interval(counts, 0.95)
    alpha = 1 - 0.95
    with np.errstate(invalid="ignore"):
        expected_lower = np.where(counts == 0, 0.0, stats.chi2.ppf(alpha / 2, 2 * counts) / 2)
    _same_bits(lower, expected_lower)
    _same_bits(upper, stats.chi2.ppf(1 - alpha / 2, 2 * counts + 2) / 2)
    sizes, sds = np.array([1, 2, 3, 30, 5000]), np.array([1.0, 2.5, 0.0, 4.0, 9.0])
    value, low, high = ci.t_mean_interval_from_summary(10.0, sds, sizes, 0.998)
    half = stats.t.ppf(1 - (1 - 0.998) / 2, np.where(sizes >= 2, sizes - 1, np.nan)) * sds / np.sqrt(sizes)
    _same_bits(low, 10.0 - half)
    _same_bits(high, 10.0 + half)


def test_the_packages_import_without_scipy_stats():
    """scipy.stats costs a cold build about 0.4 s and each national worker about 65 MB."""
    code = (
        "import sys, reportgen.cli, reportgen.pipeline, reportgen.national, reportgen.stats.benchmark;"
        "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'requests'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
