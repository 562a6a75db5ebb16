"""Number and date formatting for profiles: fixed decimals, units, no locale, no 'nan'."""

from __future__ import annotations

import math
from datetime import date
from typing import SupportsFloat, SupportsIndex

DASH = "–"  # en dash for a missing number


def as_number(value: object) -> float | None:
    """``value`` as a float, or None for None, NaN, pandas' NA and anything that is not a number."""
    if not isinstance(value, SupportsFloat | SupportsIndex | str | bytes):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NA."""
    return as_number(value) is None


def round_half_away(value: float, decimals: int) -> float:
    """Round half away from zero, as PHE's tools do (Python's round() rounds half to even)."""
    factor = 10**decimals
    scaled = abs(value) * factor
    rounded = math.floor(scaled + 0.5 + 1e-9) / factor
    return math.copysign(rounded, value)


def number(value: object, decimals: int) -> str:
    """``1,234.5``; an en dash when missing."""
    given = as_number(value)
    if given is None:
        return DASH
    return f"{round_half_away(given, decimals):,.{decimals}f}"


def count(value: object) -> str:
    """A count with thousands separators, no decimals."""
    return number(value, 0)


def with_unit(value: object, decimals: int, unit: str) -> str:
    """A value with its unit: ``70.2%``, ``£683``, ``79.4 years``, ``2.61 per 1,000``, ``46.3``."""
    text = number(value, decimals)
    if text == DASH or unit in ("", "score"):
        return text
    if unit == "%":
        return f"{text}%"
    if unit == "£":
        return f"£{text}"
    return f"{text} {unit}"


def interval(lower: object, upper: object, decimals: int) -> str:
    """``66.0 to 74.1``; empty when either limit is missing."""
    if is_missing(lower) or is_missing(upper):
        return ""
    return f"{number(lower, decimals)} to {number(upper, decimals)}"


def long_date(day: date) -> str:
    """``31 March 2024``."""
    return f"{day.day} {day:%B %Y}"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place(name: str) -> str:
    """A region's name as used in a sentence: 'the North East', 'London', 'Yorkshire and The Humber'."""
    if name.split(" ", 1)[0] in ("North", "South", "East", "West"):
        return f"the {name}"
    return name
