"""The population pyramid's data: ONS Explore Local Statistics ``population-by-age-and-sex``.

ELS publishes, for every area and mid-year (``2024-06-30``), the percentage of the area's total
population in each sex (``female``, ``male`` and ``all``) and five-year age band (``0-4`` ...
``80-84``, ``85+``: 18 bands), in the usual ELS columns plus ``sex`` and ``age`` (the service's
CSVW and JSON-stat metadata). The published file is large (every UK area, 1991 onwards), so
:func:`read_els_population` streams it and keeps only what a profile draws: England and the 153
upper-tier authorities (district, regional and other rows are counted and ignored, never summed),
in the latest period, females and males (the ``all`` rows are the sum of the two and not needed).

``reportgen fetch`` writes what it kept as a small tidy file beside the snapshot
(:func:`population_path`: ``<snapshot>.population.csv``, columns :data:`TIDY_COLUMNS`), which
``build`` reads with :func:`read_population_file`. Every value is checked: 18 bands by 2 sexes per
area, each a percentage, the 36 summing to 100 (within rounding). A bad file is a
:class:`~reportgen.core.errors.DataError` naming the file, line and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reportgen.core.errors import DataError, printable
from reportgen.core.geography import ENGLAND_CODE, Geography
from reportgen.sources import els

#: The ELS dataset (its folder in the data repository) and the source the document names.
DATASET = "population-by-age-and-sex"
AGE_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 85, 5)) + ("85+",)
SEXES = ("Female", "Male")
#: The 36 percentages of an area add up to 100 within this (published values are rounded).
SUM_TOLERANCE = 1.5
#: Columns of the tidy file ``fetch`` writes (``note`` is optional: the demonstration data mark it).
TIDY_COLUMNS = ("area_code", "sex", "age_band", "percent", "period")
MAX_TIDY_BYTES = 5_000_000
MAX_FIELD = 10_000

_RANGE = re.compile(r"(?:aged?\s+)?(\d{1,2})\s*(?:-|–|—|to)\s*(\d{1,2})(?:\s*years?(?:\s+old)?)?")
_OPEN = re.compile(r"(?:aged?\s+)?85\s*(?:\+|plus|(?:years?\s+)?(?:and|or)\s+(?:over|older|above))(?:\s*years?)?")
_TOTAL_AGES = {"all", "all ages", "total", "all persons"}
_SEX_WORDS = {
    "female": "Female",
    "females": "Female",
    "f": "Female",
    "male": "Male",
    "males": "Male",
    "m": "Male",
}
_TOTAL_SEXES = {"all", "persons", "people", "total", "all persons", "all people", "both sexes"}


class PopulationError(DataError):
    """A population file that cannot be read as published (columns, an age band, a sex, a number)."""


def age_band(text: str) -> str | None:
    """The band (``0-4`` ... ``85+``) of an age label; ``None`` for a total; ValueError if unknown.

    Reads ``0-4``, ``0 to 4``, ``00-04``, ``Aged 0 to 4``, ``0-4 years``, ``85+``, ``85 and over``,
    ``Aged 85 and over``, ``85 plus``.
    """
    key = " ".join(text.strip().lower().split())
    if key in _TOTAL_AGES:
        return None
    if _OPEN.fullmatch(key):
        return "85+"
    match = _RANGE.fullmatch(key)
    if match:
        low, high = int(match[1]), int(match[2])
        band = f"{low}-{high}"
        if band in AGE_BANDS:
            return band
    raise ValueError(
        f"age {printable(text[:40])!r} is not one of the five-year bands 0-4, 5-9, ... 80-84, 85+ "
        "(also read as '0 to 4', 'Aged 85 and over')"
    )


def sex_of(text: str) -> str | None:
    """``Female`` or ``Male``; ``None`` for the total of both; ValueError if unknown."""
    key = " ".join(text.strip().lower().split())
    if key in _SEX_WORDS:
        return _SEX_WORDS[key]
    if key in _TOTAL_SEXES:
        return None
    raise ValueError(f"sex {printable(text[:40])!r} is not Female, Male or All")


# --- the pyramids ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pyramid:
    """One area's population by sex and age band: percentages of its total population, youngest first."""

    code: str
    period: str
    female: tuple[float, ...]
    male: tuple[float, ...]

    def share(self, first: int, last: int | None = None) -> float:
        """The percentage of the population in bands ``first`` to ``last`` (inclusive), both sexes."""
        end = len(AGE_BANDS) if last is None else last + 1
        return sum(self.female[first:end]) + sum(self.male[first:end])


@dataclass(frozen=True)
class PopulationTable:
    """The pyramids of a build: England's and the authorities', one period; where they came from."""

    label: str
    pyramids: dict[str, Pyramid]
    period: str
    synthetic: bool = False
    sha256: str = ""

    def of(self, code: str) -> Pyramid | None:
        return self.pyramids.get(code)

    @property
    def england(self) -> Pyramid | None:
        return self.pyramids.get(ENGLAND_CODE)


def period_label(text: str) -> str:
    """An ELS period as the document names it: ``2024-06-30`` -> ``mid-2024`` (the mid-year estimate)."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-06-30", value):
        return f"mid-{value[:4]}"
    return els.els_period(value).label


class _Cells:
    """The percentages of one area as they are read: (sex, band) -> (value, line)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[float, int]] = {}


def _pyramids(label: str, cells: dict[str, _Cells], periods: dict[str, str], column: str) -> dict[str, Pyramid]:
    out = {}
    for code, got in cells.items():
        missing = [f"{s} {b}" for s in SEXES for b in AGE_BANDS if (s, b) not in got.values]
        if missing:
            shown = ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else "")
            raise PopulationError(
                f"{label}: {code} has no value for {len(missing)} of the 36 sex and age bands ({shown}); "
                "every area needs females and males in all 18 five-year bands."
            )
        total = sum(v for v, _ in got.values.values())
        if abs(total - 100) > SUM_TOLERANCE:
            first = min(line for _, line in got.values.values())
            raise PopulationError(
                f"{label}:{first}: {column}: the 36 percentages of {code} add up to {total:.1f}, not 100; "
                "the values must be percentages of the area's total population (females and males)."
            )
        female = tuple(got.values[("Female", b)][0] for b in AGE_BANDS)
        male = tuple(got.values[("Male", b)][0] for b in AGE_BANDS)
        out[code] = Pyramid(code, periods[code], female, male)
    return out


def _percent(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PopulationError(f"{where}: {column}: {printable(text[:40])!r} is not a number.") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise PopulationError(f"{where}: {column}: {printable(text[:40])!r} is not a percentage (0 to 100).")
    return value


# --- the ELS file, as published ------------------------------------------------------------------


#: Columns the reader needs; ``value`` is read where ``observation`` is absent (the CSVW's name).
ELS_NEEDED = ("areacd", "geography", "period", "sex", "age")


@dataclass
class ElsPopulation:
    """What :func:`read_els_population` kept, and what it left out (for the fetch report)."""

    table: PopulationTable
    ignored: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)  # authorities without a pyramid

    def report(self, label: str) -> list[str]:
        lines = []
        if self.ignored:
            levels = ", ".join(f"{n} {g or '(blank)'}" for g, n in sorted(self.ignored.items()))
            lines.append(f"{label}: rows not used (not England or upper tier, or an older period): {levels}")
        return lines

    def gaps(self, label: str) -> list[str]:
        if not self.missing:
            return []
        shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
        return [f"{label}: {len(self.missing)} upper-tier authorities have no population pyramid ({shown})"]


def read_els_population(reader: Iterator[list[str]], label: str, geography: Geography) -> ElsPopulation:
    """Stream an ELS ``population-by-age-and-sex`` CSV; keep England and the authorities, latest period.

    Rows are checked as they are read (age band, sex, number); :class:`PopulationError` names the
    file (``label``) and line.
    """
    try:
        return _read_els(reader, label, geography)
    except csv.Error as exc:
        raise PopulationError(f"{label}:{getattr(reader, 'line_num', 0)}: not a readable CSV record ({exc}).") from None


def _els_header(header: list[str] | None, label: str) -> tuple[dict[str, int], str]:
    if header is None:
        raise PopulationError(f"{label}: the file is empty; expected the ELS population-by-age-and-sex CSV.")
    names = [h.strip().lower().removeprefix("\ufeff") for h in header]
    value_name = "observation" if "observation" in names else "value"
    missing = [c for c in (*ELS_NEEDED, value_name) if c not in names]
    if missing:
        raise PopulationError(
            f"{label}:1: not the ELS population-by-age-and-sex CSV: column(s) {', '.join(missing)} missing "
            f"(the header is '{printable(','.join(header)[:160])}')."
        )
    return {c: names.index(c) for c in (*ELS_NEEDED, value_name)}, value_name


@dataclass
class _ElsCells:
    """The rows kept so far: period -> area -> cells, the periods' sort keys, the rows left out."""

    by_period: dict[str, dict[str, _Cells]] = field(default_factory=dict)
    sortable: dict[str, str] = field(default_factory=dict)
    ignored: Counter[str] = field(default_factory=Counter)

    def add(self, code: str, cell: dict[str, str], value_name: str, where: str) -> None:
        try:
            band, sex = age_band(cell["age"]), sex_of(cell["sex"])
        except ValueError as exc:
            raise PopulationError(f"{where}: {exc}.") from None
        if band is None or sex is None:
            return  # the totals (all ages, both sexes) are sums of what is kept
        period = cell["period"]
        if period not in self.sortable:
            try:
                self.sortable[period] = els.els_period(period).sortable
            except ValueError as exc:
                raise PopulationError(f"{where}: {exc}.") from None
        if not cell[value_name]:
            return  # a value ELS does not publish: the area gets no pyramid for that period
        value = _percent(cell[value_name], where, value_name)
        cells = self.by_period.setdefault(period, {}).setdefault(code, _Cells())
        first = cells.values.setdefault((sex, band), (value, int(where.rsplit(":", 1)[1])))
        if first[0] != value:
            raise PopulationError(
                f"{where}: a second value for {code} {sex} {band} in {period} (first at line {first[1]}); "
                "the file is inconsistent."
            )


def _read_els(reader: Iterator[list[str]], label: str, geography: Geography) -> ElsPopulation:
    header = next(reader, None)
    index, value_name = _els_header(header, label)
    width = len(header or [])
    current = frozenset(a.code for a in geography.authorities)
    kept = _ElsCells()
    for record in reader:
        line = getattr(reader, "line_num", 0)
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != width:
            raise PopulationError(
                f"{label}:{line}: {len(record)} fields but the header has {width}; the file is damaged or cut short."
            )
        if any(len(cell) > MAX_FIELD for cell in record):
            raise PopulationError(f"{label}:{line}: a field is over {MAX_FIELD:,} characters.")
        cell = {c: record[i].strip() for c, i in index.items()}
        code = els.CODE_CHANGES.get(cell["areacd"].upper(), cell["areacd"].upper())
        if code != ENGLAND_CODE and not (cell["geography"] in els.UPPER_TIER_LEVELS and code in current):
            kept.ignored[cell["geography"]] += 1
            continue
        kept.add(code, cell, value_name, f"{label}:{line}")
    return _latest(kept, label, geography, value_name)


def _latest(kept: _ElsCells, label: str, geography: Geography, value_name: str) -> ElsPopulation:
    """The pyramids of the latest period (authorities with all 36 values; England required)."""
    if not kept.by_period:
        raise PopulationError(
            f"{label}: no rows for England or the county and unitary authorities; reportgen never sums "
            "districts into counties."
        )
    latest = max(kept.by_period, key=lambda p: kept.sortable[p])
    for other, areas in kept.by_period.items():
        if other != latest:
            kept.ignored[f"period {other}"] += sum(len(c.values) for c in areas.values())
    cells = {c: got for c, got in kept.by_period[latest].items() if len(got.values) == 36 or c == ENGLAND_CODE}
    if ENGLAND_CODE not in cells:
        raise PopulationError(f"{label}: no rows for England ({ENGLAND_CODE}) in {latest}; the pyramid needs them.")
    name = period_label(latest)
    pyramids = _pyramids(label, cells, dict.fromkeys(cells, name), value_name)
    gaps = sorted(a.name for a in geography.authorities if a.code not in pyramids)
    return ElsPopulation(PopulationTable(label, pyramids, name), kept.ignored, gaps)


def els_population_text(data: str, label: str, geography: Geography) -> ElsPopulation:
    """:func:`read_els_population` of a whole file's text (tests, small files)."""
    reader = csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline=""), strict=True)
    return read_els_population(reader, label, geography)


# --- the tidy file beside a snapshot ------------------------------------------------------------


def population_path(data_file: Path) -> Path:
    """Where the population file of a snapshot (or demonstration data file) is: ``<file>.population.csv``."""
    return data_file.with_name(data_file.name + ".population.csv")


def tidy_csv_text(table: PopulationTable, note: str = "") -> str:
    """The pyramids as the tidy file: England first, then the authorities by code; females then males."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*TIDY_COLUMNS, "note"] if note else TIDY_COLUMNS)
    codes = sorted(table.pyramids, key=lambda c: (c != ENGLAND_CODE, c))
    for code in codes:
        pyramid = table.pyramids[code]
        for sex, values in (("Female", pyramid.female), ("Male", pyramid.male)):
            for band, value in zip(AGE_BANDS, values, strict=True):
                row = [code, sex, band, f"{value:.2f}".rstrip("0").rstrip("."), pyramid.period]
                writer.writerow([*row, note] if note else row)
    return out.getvalue()


def read_population_file(path: Path, synthetic_mark: str = "") -> PopulationTable:
    """Read a tidy population file (written by ``fetch`` or ``demo-data``), every value checked.

    Rows marked with ``synthetic_mark`` in the ``note`` column make the table synthetic (the
    demonstration data's pyramids). A problem is a :class:`PopulationError` naming file, line and column.
    """
    try:
        size = path.stat().st_size
        if size > MAX_TIDY_BYTES:
            raise PopulationError(f"{path}: over {MAX_TIDY_BYTES // 1_000_000} MB; not a population file.")
        data = path.read_bytes()
    except OSError as exc:
        raise PopulationError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PopulationError(f"{path}: not UTF-8 text ({exc.reason}).") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        table = _read_tidy(reader, str(path), synthetic_mark)
    except csv.Error as exc:
        raise PopulationError(f"{path}:{reader.line_num}: not a readable CSV record ({exc}).") from None
    return PopulationTable(table.label, table.pyramids, table.period, table.synthetic, hashlib.sha256(data).hexdigest())


def _tidy_header(header: list[str] | None, label: str) -> tuple[dict[str, int], int | None]:
    names = [h.strip().lower() for h in header or []]
    missing = [c for c in TIDY_COLUMNS if c not in names]
    if header is None or missing:
        raise PopulationError(
            f"{label}:1: not a population file: column(s) {', '.join(missing or TIDY_COLUMNS)} missing; "
            f"expected {', '.join(TIDY_COLUMNS)} (written by 'reportgen fetch')."
        )
    return {c: names.index(c) for c in TIDY_COLUMNS}, names.index("note") if "note" in names else None


def _tidy_row(cell: dict[str, str], where: str) -> tuple[str, str, str, float, str]:
    """One row of a tidy file checked: area code, sex, band, percentage and period."""
    code = cell["area_code"].upper()
    if not re.fullmatch(r"E\d{8}", code):
        raise PopulationError(f"{where}: area_code: {printable(code[:20])!r} is not an English area code.")
    try:
        sex = sex_of(cell["sex"])
    except ValueError as exc:
        raise PopulationError(f"{where}: sex: {exc}.") from None
    try:
        band = age_band(cell["age_band"])
    except ValueError as exc:
        raise PopulationError(f"{where}: age_band: {exc}.") from None
    if sex is None or band is None:
        raise PopulationError(f"{where}: sex, age_band: totals are not part of a population file.")
    period = cell["period"]
    if not period or len(period) > 40:
        raise PopulationError(f"{where}: period: must be a short label such as mid-2024.")
    return code, sex, band, _percent(cell["percent"], where, "percent"), period


def _read_tidy(reader: Iterator[list[str]], label: str, synthetic_mark: str) -> PopulationTable:
    header = next(reader, None)
    index, note_at = _tidy_header(header, label)
    cells: dict[str, _Cells] = {}
    periods: dict[str, str] = {}
    synthetic = False
    for record in reader:
        line = getattr(reader, "line_num", 0)
        if not any(c.strip() for c in record):
            continue
        where = f"{label}:{line}"
        if len(record) != len(header or []):
            raise PopulationError(f"{where}: {len(record)} fields but the header has {len(header or [])}.")
        code, sex, band, value, period = _tidy_row({c: record[i].strip() for c, i in index.items()}, where)
        if periods.setdefault(code, period) != period:
            raise PopulationError(f"{where}: period: {code} has two periods ({periods[code]} and {period}).")
        synthetic = synthetic or bool(note_at is not None and synthetic_mark and synthetic_mark in record[note_at])
        got = cells.setdefault(code, _Cells())
        if (sex, band) in got.values:
            raise PopulationError(
                f"{where}: a second row for {code} {sex} {band} (first at line {got.values[(sex, band)][1]})."
            )
        got.values[(sex, band)] = (value, line)
    if ENGLAND_CODE not in cells:
        raise PopulationError(f"{label}: no rows for England ({ENGLAND_CODE}); the pyramid compares with England.")
    pyramids = _pyramids(label, cells, periods, "percent")
    return PopulationTable(label, pyramids, periods[ENGLAND_CODE], synthetic)


def from_shares(code: str, period: str, female: Iterable[float], male: Iterable[float]) -> Pyramid:
    """A pyramid from two series of 18 shares, scaled so that the 36 values add up to 100."""
    f, m = [float(v) for v in female], [float(v) for v in male]
    if len(f) != len(AGE_BANDS) or len(m) != len(AGE_BANDS):
        raise ValueError("a pyramid needs 18 values for each sex")
    total = sum(f) + sum(m)
    return Pyramid(code, period, tuple(100 * v / total for v in f), tuple(100 * v / total for v in m))
