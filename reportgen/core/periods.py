"""Fingertips time-period labels: parsing into years, spans and end dates."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


@dataclass(frozen=True)
class Period:
    """A parsed period label such as ``2019/20`` or ``2017 - 19``."""

    label: str
    start_year: int
    end: date
    years: int

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Chronological order: by start year, then end date, then label."""
        return (self.start_year, self.end.toordinal(), self.label)


def _full_year(two_or_four: str, century_from: int) -> int:
    if len(two_or_four) == 4:
        return int(two_or_four)
    year = century_from // 100 * 100 + int(two_or_four)
    return year if year >= century_from else year + 100


#: Years a period may start or end in; anything else is a typing or export error.
FIRST_YEAR, LAST_YEAR = 1900, 2100


def parse_period(label: str) -> Period | None:
    """Parse a Fingertips period label; ``None`` if it has no recognisable year or an impossible one."""
    try:
        parsed = _parse(label)
    except ValueError:  # a year date() cannot hold, such as 0000
        return None
    if parsed is None or not _possible(parsed.start_year) or not _possible(parsed.end.year):
        return None
    return parsed


def period_problem(label: str) -> str:
    """Why a period label is impossible (a year outside 1900..2100), or "" if it is fine."""
    years = [int(y) for y in re.findall(r"\d{4}", label)]
    if any(not _possible(y) for y in years) or (years and parse_period(label) is None):
        return (
            f"has a year outside {FIRST_YEAR}..{LAST_YEAR}; use a Fingertips period such as 2022, 2022/23 or 2020 - 22"
        )
    return ""


def _possible(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def _parse(label: str) -> Period | None:
    text = " ".join(label.split())
    months = re.fullmatch(r"([A-Za-z]{3})\w* (\d{4}) - ([A-Za-z]{3})\w* (\d{4})", text)
    if months and months[1].lower() in _MONTHS and months[3].lower() in _MONTHS:
        start, end_year, end_month = int(months[2]), int(months[4]), _MONTHS[months[3].lower()]
        end = date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
        return Period(
            label, start, end, max(1, end_year - start + (1 if end_month >= _MONTHS[months[1].lower()] else 0))
        )
    fin_range = re.fullmatch(r"(\d{4})/(\d{2}) - (\d{2,4})/(\d{2})", text)
    if fin_range:
        start = int(fin_range[1])
        end_year = _full_year(fin_range[4], start)
        return Period(label, start, date(end_year, 3, 31), end_year - start)
    financial = re.fullmatch(r"(\d{4})/(\d{2})", text)
    if financial:
        start = int(financial[1])
        return Period(label, start, date(_full_year(financial[2], start), 3, 31), 1)
    cal_range = re.fullmatch(r"(\d{4}) ?- ?(\d{2,4})", text)
    if cal_range:
        start = int(cal_range[1])
        end_year = _full_year(cal_range[2], start)
        return Period(label, start, date(end_year, 12, 31), end_year - start + 1)
    dated = re.fullmatch(r"(?:(\d{1,2}) )?([A-Za-z]{3}) (\d{4})", text)  # ELS: "5 Oct 2023", "Jul 2023"
    if dated and dated[2].lower() in _MONTHS:
        year, month = int(dated[3]), _MONTHS[dated[2].lower()]
        day = int(dated[1]) if dated[1] else calendar.monthrange(year, month)[1]
        return Period(label, year, date(year, month, day), 1)
    single = re.fullmatch(r"(\d{4})", text)
    if single:
        year = int(single[1])
        return Period(label, year, date(year, 12, 31), 1)
    anything = re.search(r"(\d{4})", text)
    if anything:
        year = int(anything[1])
        return Period(label, year, date(year, 12, 31), 1)
    return None


def period_sort_key(label: str) -> tuple[int, int, str]:
    """Sort key for a label; unparseable labels sort first, alphabetically."""
    parsed = parse_period(label)
    return parsed.sort_key if parsed else (0, 0, label)
