"""Fingertips' recent trend: weighted regression over the five most recent valid points (methods.md 10a).

A point is valid when its value, count and denominator are present; missing or suppressed years are
skipped (the five points need not be consecutive years) and the five are indexed t = 1..5 by position.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

CHI2_THRESHOLD = 9.54953570608324  # 99.8% point of chi-squared with 1 degree of freedom
N_POINTS = 5
CANNOT = "Cannot be calculated"
NO_CHANGE = "No significant change"
TREND_VALUE_TYPES = ("proportion", "crude_rate", "dsr")

_LABELS = {
    "high_is_good": ("Increasing and getting better", "Decreasing and getting worse"),
    "low_is_good": ("Increasing and getting worse", "Decreasing and getting better"),
}


def _slopes(values: np.ndarray, weights: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares slope and its chi-squared statistic, per row (NaN weight = left out)."""
    w = np.where(np.isnan(weights), 0.0, weights)
    v = np.nan_to_num(values)
    s1, s2, s3 = w.sum(1), (w * v * t).sum(1), (w * t).sum(1)
    s4, s5 = (w * v).sum(1), (w * t * t).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = s1 * s5 - s3**2
        slope = (s1 * s2 - s3 * s4) / denominator
        chi2 = slope**2 / (s1 / denominator)
    return slope, chi2


def recent_trend_markers(
    value: ArrayLike, lower95: ArrayLike, upper95: ArrayLike, count: ArrayLike, denominator: ArrayLike
) -> np.ndarray:
    """Marker per row of (rows, 5) arrays ordered oldest to newest.

    Returns +1 (increasing), -1 (decreasing), 0 (no significant change) or NaN (cannot be
    calculated: a missing point or limit, zero-width interval, or count equal to denominator).
    """
    v, lower, upper, n, d = (np.asarray(a, float) for a in (value, lower95, upper95, count, denominator))
    se = (upper - lower) / 3.92
    invalid = np.isnan(v) | np.isnan(se) | np.isnan(n) | np.isnan(d) | ~(se > 0)
    invalid |= n == d
    cannot = invalid.any(axis=1)
    weights = 1.0 / se**2
    t = np.arange(1, N_POINTS + 1, dtype=float)[None, :]
    slope, chi2 = _slopes(v, weights, t)
    signs = [np.sign(slope)]
    for left_out in range(N_POINTS):
        w = weights.copy()
        w[:, left_out] = np.nan
        signs.append(np.sign(_slopes(v, w, t)[0]))
    stable = np.all(np.array(signs) == signs[0], axis=0) & (signs[0] != 0)
    significant = (chi2 > CHI2_THRESHOLD) & stable
    marker = np.where(significant, np.sign(slope), 0.0)
    return np.where(cannot, np.nan, marker)


def trend_labels(markers: ArrayLike, polarity: str) -> np.ndarray:
    """Fingertips' Recent Trend wording for markers from :func:`recent_trend_markers`."""
    marks = np.asarray(markers, float)
    up, down = _LABELS.get(polarity, ("Increasing", "Decreasing"))
    labels = np.full(marks.shape, CANNOT, dtype=object)
    labels[marks == 0] = NO_CHANGE
    labels[marks == 1] = up
    labels[marks == -1] = down
    return labels


def recent_valid_points(
    value: ArrayLike, lower95: ArrayLike, upper95: ArrayLike, count: ArrayLike, denominator: ArrayLike
) -> list[np.ndarray]:
    """The five most recent valid points of each row of (rows, k) arrays ordered oldest to newest.

    Valid means value, count and denominator present; invalid years are skipped, not a break. Returns
    five (rows, 5) arrays in the order of the arguments, oldest to newest; a row with fewer than five
    valid points is all NaN (so its trend cannot be calculated).
    """
    arrays = [np.atleast_2d(np.asarray(a, float)) for a in (value, lower95, upper95, count, denominator)]
    valid = ~(np.isnan(arrays[0]) | np.isnan(arrays[3]) | np.isnan(arrays[4]))
    from_newest = np.cumsum(valid[:, ::-1], axis=1)[:, ::-1]
    chosen = valid & (from_newest <= N_POINTS)
    enough = valid.sum(axis=1) >= N_POINTS
    rows, columns = np.nonzero(chosen & enough[:, None])
    out = []
    for array in arrays:
        picked = np.full((array.shape[0], N_POINTS), np.nan)
        picked[enough] = array[rows, columns].reshape(-1, N_POINTS)
        out.append(picked)
    return out


def recent_trend_from_history(
    value: ArrayLike, lower95: ArrayLike, upper95: ArrayLike, count: ArrayLike, denominator: ArrayLike
) -> np.ndarray:
    """Markers (see :func:`recent_trend_markers`) from each row's whole history up to the labelled period."""
    return recent_trend_markers(*recent_valid_points(value, lower95, upper95, count, denominator))
