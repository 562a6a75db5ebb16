"""Spine-chart statistics and ranks over all authorities of one type (methods.md 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Small authorities left out of the spine ranges by default, as Fingertips does.
DEFAULT_SPINE_EXCLUSIONS = ("E06000053", "E09000001")  # Isles of Scilly, City of London
SPINE_COVERAGE = 0.75
#: The ``spine_note`` of a left-out small authority's own rows: its range and rank include it.
OWN_RANGE_NOTE = (
    "Range and rank include this authority; other authorities' ranges and ranks leave it out "
    "as Fingertips does (very small population)"
)

SPINE_COLUMNS = (
    "spine_min",
    "spine_p25",
    "spine_median",
    "spine_p75",
    "spine_max",
    "spine_n",
    "spine_shown",
    "spine_note",
)


def spine_statistics(frame: pd.DataFrame, keys: list[str], exclusions: tuple[str, ...]) -> pd.DataFrame:
    """Min, quartiles, median and max per group of authorities, with Fingertips' display rules.

    ``frame`` holds authority rows only, with ``area_code`` and ``value`` columns. A spine can
    be shown when more than 3 values exist for at least 75% of the authorities that are not
    excluded. Values are rounded to 5 dp as Fingertips does.
    """
    eligible = frame[~frame["area_code"].isin(exclusions)]
    grouped = eligible.groupby(keys, sort=False)["value"]
    stats = pd.DataFrame(
        {
            "spine_min": grouped.min(),
            "spine_p25": grouped.quantile(0.25),
            "spine_median": grouped.quantile(0.5),
            "spine_p75": grouped.quantile(0.75),
            "spine_max": grouped.max(),
            "spine_n": grouped.count(),
            "_areas": grouped.size(),
        }
    ).round({c: 5 for c in ("spine_min", "spine_p25", "spine_median", "spine_p75", "spine_max")})
    coverage = stats["spine_n"] / stats["_areas"].where(stats["_areas"] > 0)
    enough = (stats["spine_n"] > 3) & (coverage >= SPINE_COVERAGE)
    stats["spine_shown"] = enough
    stats["spine_note"] = np.where(enough, "", "Insufficient number of values for a spine chart")
    return stats.drop(columns="_areas").reset_index()


def spine_positions(
    minimum: float,
    p25: float,
    p75: float,
    maximum: float,
    england: float,
    values: dict[str, float | None],
    low_is_good: bool,
) -> dict[str, object]:
    """Spine geometry on a 0..1 scale with England at 0.5 (methods.md 10.1 and 10.2).

    The scale is symmetric around England: ``d = max(E - min, max - E)``. Low-is-good
    indicators are mirrored so that the worst value is on the left. Returns the outer range,
    the inner (25th to 75th percentile) band and the position of each named value (``None``
    stays ``None``).
    """
    half = max(england - minimum, maximum - england)

    def position(v: float) -> float:
        r = 0.5 if half <= 0 else (v - (england - half)) / (2 * half)
        return 1.0 - r if low_is_good else r

    def scale(v: float | None) -> float | None:
        return None if v is None or v != v else position(v)

    ends = sorted((position(minimum), position(maximum)))
    band = sorted((position(p25), position(p75)))
    return {"outer": tuple(ends), "inner": tuple(band), **{k: scale(v) for k, v in values.items()}}
