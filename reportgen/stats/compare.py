"""Fingertips' benchmark comparisons: area confidence interval against a benchmark value, and quintiles."""

from __future__ import annotations

import numpy as np

NOT_COMPARED = "Not compared"
SIMILAR = "Similar"

#: Labels for (polarity family, raw direction): raw direction is +1 when the area is higher.
_DIRECTION_LABELS = {
    "rag": {1: "Better", -1: "Worse"},
    "bob": {1: "Higher", -1: "Lower"},
}
RAG_POLARITIES = ("high_is_good", "low_is_good")
QUINTILE_LABELS_RAG = ("Best quintile", "2nd best quintile", "Middle quintile", "2nd worst quintile", "Worst quintile")
QUINTILE_LABELS_BOB = (
    "Lowest quintile",
    "2nd lowest quintile",
    "Middle quintile",
    "2nd highest quintile",
    "Highest quintile",
)

#: Every label a comparison can produce, in legend order.
RAG_LABELS = ("Better 99.8%", "Better 95%", "Better", SIMILAR, "Worse", "Worse 95%", "Worse 99.8%")
BOB_LABELS = ("Higher 99.8%", "Higher 95%", "Higher", SIMILAR, "Lower", "Lower 95%", "Lower 99.8%")


def _as_array(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _polarity_sign(polarity: str) -> float:
    """-1 for low-is-good (a lower value is Better), else +1 (Fingertips' AdjustForPolarity)."""
    return -1.0 if polarity == "low_is_good" else 1.0


def ci_direction(value, lower, upper, benchmark) -> np.ndarray:
    """Raw comparison of the area CI with a benchmark value (methods.md 8.1).

    Returns +1 (area significantly higher), -1 (lower), 0 (benchmark inside the CI, inclusive
    bounds) or NaN when the value, either limit or the benchmark is missing.
    """
    value, lower, upper, benchmark = map(_as_array, (value, lower, upper, benchmark))
    missing = np.isnan(value) | np.isnan(lower) | np.isnan(upper) | np.isnan(benchmark)
    inside = (lower <= benchmark) & (benchmark <= upper)
    raw = np.where(inside, 0.0, np.where(value < benchmark, -1.0, 1.0))
    return np.where(missing, np.nan, raw)


def _family(polarity: str) -> str | None:
    if polarity in RAG_POLARITIES:
        return "rag"
    if polarity == "no_judgement":
        return "bob"
    return None


def label_one_level(direction, polarity: str) -> np.ndarray:
    """Better/Similar/Worse (or Higher/Similar/Lower) from :func:`ci_direction` results."""
    direction = _as_array(direction)
    family = _family(polarity)
    labels = np.full(direction.shape, NOT_COMPARED, dtype=object)
    if family is None:
        return labels
    signed = direction * _polarity_sign(polarity)
    names = _DIRECTION_LABELS[family]
    labels[signed == 0] = SIMILAR
    labels[signed == 1] = names[1]
    labels[signed == -1] = names[-1]
    return labels


def label_two_levels(direction95, direction998, polarity: str) -> np.ndarray:
    """Two-level labels (methods.md 8.2): 'Better 99.8%' ... 'Worse 99.8%'; needs both CI levels."""
    d95, d998 = _as_array(direction95), _as_array(direction998)
    family = _family(polarity)
    labels = np.full(d95.shape, NOT_COMPARED, dtype=object)
    if family is None:
        return labels
    sign = _polarity_sign(polarity)
    s95, s998 = d95 * sign, d998 * sign
    names = _DIRECTION_LABELS[family]
    valid = ~(np.isnan(s95) | np.isnan(s998))
    labels[valid & (s95 == 0)] = SIMILAR
    for direction in (1, -1):
        labels[valid & (s95 == direction) & (s998 == direction)] = f"{names[direction]} 99.8%"
        labels[valid & (s95 == direction) & (s998 != direction)] = f"{names[direction]} 95%"
    return labels


def type7_percentile(sorted_values: np.ndarray, fraction: float) -> float:
    """Percentile of sorted values as R's quantile(type = 7) and Fingertips' calculator."""
    n = sorted_values.size
    h = (n - 1) * fraction + 1
    k = int(np.floor(h))
    if k >= n:
        return float(sorted_values[-1])
    return float(sorted_values[k - 1] + (h - k) * (sorted_values[k] - sorted_values[k - 1]))


def quintile_bounds(values) -> np.ndarray | None:
    """``[min, P20, P40, P60, P80, max]`` rounded to 10 dp, or ``None`` with fewer than 5 values."""
    valid = np.sort(_as_array(values)[~np.isnan(_as_array(values))])
    if valid.size < 5:
        return None
    return np.round([valid[0], *(type7_percentile(valid, f) for f in (0.2, 0.4, 0.6, 0.8)), valid[-1]], 10)


def quintile_labels(values, comparison_set, polarity: str) -> np.ndarray:
    """Quintile label of each value among ``comparison_set`` (methods.md 8.3).

    With a polarity the categories run Best (1) to Worst (5); otherwise Lowest to Highest.
    Fewer than five valid values in the set, or a missing value, give 'Not compared'.
    """
    values = _as_array(values)
    labels = np.full(values.shape, NOT_COMPARED, dtype=object)
    bounds = quintile_bounds(comparison_set)
    if bounds is None:
        return labels
    valid = ~np.isnan(values)
    category = np.searchsorted(bounds[1:], np.round(values, 10), side="left") + 1
    category = np.clip(category, 1, 5)
    if polarity == "high_is_good":
        category = 6 - category
    names = QUINTILE_LABELS_RAG if polarity in RAG_POLARITIES else QUINTILE_LABELS_BOB
    labels[valid] = np.array(names, dtype=object)[category[valid] - 1]
    return labels


def compare_with_benchmark(
    value, lower95, upper95, lower998, upper998, benchmark, polarity: str, method: str
) -> np.ndarray:
    """Label every area against a benchmark value with the spec's comparison method (not quintiles)."""
    value = _as_array(value)
    if method == "none" or polarity == "not_applicable":
        return np.full(value.shape, NOT_COMPARED, dtype=object)
    d95 = ci_direction(value, lower95, upper95, benchmark)
    if method == "ci95":
        return label_one_level(d95, polarity)
    d998 = ci_direction(value, lower998, upper998, benchmark)
    if method == "ci998":
        return label_one_level(d998, polarity)
    if method == "ci95_998":
        return label_two_levels(d95, d998, polarity)
    raise ValueError(f"unknown comparison method {method!r}")
