"""Fingertips' benchmark comparisons: area confidence interval against a benchmark value, and quintiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

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
#: The inner quintile bounds P20 ... P80 and the fewest valid values a comparison set needs (methods.md 8.3).
QUINTILE_FRACTIONS = (0.2, 0.4, 0.6, 0.8)
MIN_QUINTILE_VALUES = 5

#: Every label a comparison can produce, in legend order.
RAG_LABELS = ("Better 99.8%", "Better 95%", "Better", SIMILAR, "Worse", "Worse 95%", "Worse 99.8%")
BOB_LABELS = ("Higher 99.8%", "Higher 95%", "Higher", SIMILAR, "Lower", "Lower 95%", "Lower 99.8%")


def _as_array(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _polarity_sign(polarity: str) -> float:
    """-1 for low-is-good (a lower value is Better), else +1 (Fingertips' AdjustForPolarity)."""
    return -1.0 if polarity == "low_is_good" else 1.0


def ci_direction(value: ArrayLike, lower: ArrayLike, upper: ArrayLike, benchmark: ArrayLike) -> np.ndarray:
    """Raw comparison of the area CI with a benchmark value (methods.md 8.1).

    Returns +1 (area significantly higher), -1 (lower), 0 (benchmark inside the CI, inclusive
    bounds) or NaN when the value, either limit or the benchmark is missing.
    """
    v, lo, up, bench = map(_as_array, (value, lower, upper, benchmark))
    missing = np.isnan(v) | np.isnan(lo) | np.isnan(up) | np.isnan(bench)
    inside = (lo <= bench) & (bench <= up)
    raw = np.where(inside, 0.0, np.where(v < bench, -1.0, 1.0))
    return np.where(missing, np.nan, raw)


def _family(polarity: str) -> str | None:
    if polarity in RAG_POLARITIES:
        return "rag"
    if polarity == "no_judgement":
        return "bob"
    return None


def label_one_level(direction: ArrayLike, polarity: str) -> np.ndarray:
    """Better/Similar/Worse (or Higher/Similar/Lower) from :func:`ci_direction` results."""
    raw = _as_array(direction)
    family = _family(polarity)
    labels = np.full(raw.shape, NOT_COMPARED, dtype=object)
    if family is None:
        return labels
    signed = raw * _polarity_sign(polarity)
    names = _DIRECTION_LABELS[family]
    labels[signed == 0] = SIMILAR
    labels[signed == 1] = names[1]
    labels[signed == -1] = names[-1]
    return labels


def label_two_levels(direction95: ArrayLike, direction998: ArrayLike, polarity: str) -> np.ndarray:
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


# --------------------------------------------------------------------------- quintiles (methods.md 8.3)


def quintile_bounds(values: pd.Series, keys: pd.DataFrame) -> pd.DataFrame:
    """Inner quintile bounds of every comparison set: P20, P40, P60 and P80 rounded to 10 dp.

    ``keys`` (one column per key, aligned with ``values``) names each value's set. The
    percentiles are R's ``quantile(type = 7)`` (linear interpolation, as Fingertips' calculator)
    of the set's valid values; a set with fewer than five valid values is left out, so it is
    not compared. Indexed by the key columns (a MultiIndex), one column per fraction.
    """
    index = pd.MultiIndex.from_frame(keys)
    grouped = pd.Series(values.to_numpy(dtype=float), index=index).groupby(level=list(range(index.nlevels)), sort=False)
    bounds = grouped.quantile(list(QUINTILE_FRACTIONS), interpolation="linear").round(10).unstack()
    bounds = bounds[(grouped.count().reindex(bounds.index) >= MIN_QUINTILE_VALUES).to_numpy()]
    return bounds.set_axis(pd.MultiIndex.from_frame(bounds.index.to_frame(index=False)))


def quintile_category(values: ArrayLike, bounds: ArrayLike) -> np.ndarray:
    """Category 1 (lowest values) to 5 (highest) of each value, or 0 (not compared).

    ``bounds`` holds one row of :func:`quintile_bounds` per value. The category is the first i
    with value <= bound i (the value rounded to 10 dp, as the bounds are); a missing value or
    missing bounds give 0.
    """
    v = _as_array(values)
    limits = np.atleast_2d(_as_array(bounds))
    category = (np.round(v, 10)[:, None] > limits).sum(axis=1) + 1
    compared = ~np.isnan(v) & ~np.isnan(limits).any(axis=1)
    return np.where(compared, category, 0)


def quintile_labels(category: ArrayLike, polarity: str) -> np.ndarray:
    """Labels of :func:`quintile_category` results.

    With a polarity the categories run Best (1) to Worst (5), the order reversed when high is
    good; otherwise Lowest to Highest. Category 0 is 'Not compared'.
    """
    number = np.asarray(category, dtype=int)
    if polarity == "high_is_good":
        number = np.where(number > 0, 6 - number, 0)
    names = QUINTILE_LABELS_RAG if polarity in RAG_POLARITIES else QUINTILE_LABELS_BOB
    return np.array((NOT_COMPARED, *names), dtype=object)[number]


def compare_quintiles(
    values: pd.Series,
    keys: pd.DataFrame,
    polarity: str,
    pool: pd.Series | None = None,
    pool_keys: pd.DataFrame | None = None,
) -> np.ndarray:
    """Quintile label of each value within its comparison set (methods.md 8.3).

    The set of a value is every value with the same ``keys``, or, given ``pool`` and
    ``pool_keys`` (e.g. a comparator group's values), the pool's values with those keys.
    """
    if pool is None or pool_keys is None:
        pool, pool_keys = values, keys
    at_row = quintile_bounds(pool, pool_keys).reindex(pd.MultiIndex.from_frame(keys))
    return quintile_labels(quintile_category(values, at_row.to_numpy(dtype=float)), polarity)


def compare_with_benchmark(
    value: ArrayLike,
    lower95: ArrayLike,
    upper95: ArrayLike,
    lower998: ArrayLike,
    upper998: ArrayLike,
    benchmark: ArrayLike,
    polarity: str,
    method: str,
) -> np.ndarray:
    """Label every area against a benchmark value with the spec's comparison method (not quintiles)."""
    if method == "none" or polarity == "not_applicable":
        return np.full(_as_array(value).shape, NOT_COMPARED, dtype=object)
    d95 = ci_direction(value, lower95, upper95, benchmark)
    if method == "ci95":
        return label_one_level(d95, polarity)
    d998 = ci_direction(value, lower998, upper998, benchmark)
    if method == "ci998":
        return label_one_level(d998, polarity)
    if method == "ci95_998":
        return label_two_levels(d95, d998, polarity)
    raise ValueError(f"unknown comparison method {method!r}")
