"""ONS Explore Local Statistics (ELS) files, read as published, turned into Fingertips-format rows.

ELS publishes one folder per dataset, ``<slug>/<slug>.csv`` and ``<slug>/<slug>.json`` (see
docs/data.md). The CSV's columns are ``areacd, areanm, geography, indicator, period, observation,
measure, unit, lci_95, uci_95, status, notes`` (in any order; files start with a byte-order mark).
This module reads one indicator of such a file and writes it as rows of the Fingertips export
(``Indicator ID`` = the spec's id), so that the snapshot, the loader (:mod:`reportgen.sources.data`),
stats and document treat both publishers alike:

- **periods** (ISO 8601) get a Fingertips-style label, which :mod:`reportgen.core.periods` sorts:
  ``2023-01-01/P1Y`` -> ``2023``; a 12-month year starting on any other day (``2023-04-01/P1Y``
  financial, ``2023-09-01/P1Y`` academic) -> ``2023/24``; ``2022-01-01/P3Y`` -> ``2022 - 24``;
  ``2022-04-01/P3Y`` -> ``2022/23 - 24/25``; a month ``2023-07-01/P1M`` -> ``Jul 2023``; a single
  date ``2023-10-05`` -> ``Oct 2023`` (``5 Oct 2023`` if another date of the indicator falls in
  the same month). Any other form (weeks, days, 6 months, an interval between
  two dates) is refused with the file, line and value;
- ``lci_95``/``uci_95`` become the 95 % limits as published (blank where ELS has none);
- ``status`` (ONS shorthand: ``x`` not available, ``u`` low reliability, ``c`` confidential,
  ``z`` not applicable; other text kept as written) and ``notes`` become the value note; notes of
  the form "Obsolete code since ..." describe the code, not the value, and are left out;
- **geography**: England (``Nation`` E92000001), regions (``Region`` E12) and upper-tier
  authorities are kept. An upper-tier authority is a current (2023) county or unitary code
  (E06, E08, E09, E10), whether ELS labels it ``County or Unitary Authority`` or, as it does for
  metropolitan districts and London boroughs, ``Local Authority District``. Two-tier districts (E07),
  combined authorities, ITL regions, police force areas, other nations and the UK are ignored and
  counted. District rows are never summed into counties: a dataset with no upper-tier rows for the
  indicator is an error (:class:`ElsCoverageError`), and authorities without a value are reported.
- codes ELS has replaced since 2023 are handled: Barnsley and Sheffield's 2025 codes
  (E08000038, E08000039) are read as their 2023 codes (E08000016, E08000019) when ELS gives no row
  under the 2023 code; predecessors of the 2023 authorities (e.g. E10000023 North Yorkshire county)
  are ignored and counted, as the 2023 authorities have their own rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from reportgen.core.errors import DataError, printable
from reportgen.core.geography import ENGLAND_CODE, ENGLAND_NAME, Geography

#: The columns of a per-dataset ELS CSV (any order).
ELS_COLUMNS = (
    "areacd",
    "areanm",
    "geography",
    "indicator",
    "period",
    "observation",
    "measure",
    "unit",
    "lci_95",
    "uci_95",
    "status",
    "notes",
)
UTLA_AREA_TYPE = "Counties & UAs (from Apr 2023)"
#: ELS ``geography`` names of the levels that may hold upper-tier authorities.
UPPER_TIER_LEVELS = ("County or Unitary Authority", "Local Authority District")
#: Codes ELS uses since 2025 for authorities whose 2023 code our geography keeps.
CODE_CHANGES = {"E08000038": "E08000016", "E08000039": "E08000019"}
#: ONS status shorthand (GSS guidance on symbols in tables).
STATUS_WORDS = {
    "x": "not available",
    "u": "low reliability",
    "c": "confidential",
    "z": "not applicable",
    "e": "estimated",
    "p": "provisional",
    "r": "revised",
    "w": "fewer than 0.5 (rounds to zero)",
    "low": "low reliability",
}
OBSOLETE_NOTE = re.compile(r"obsolete code since", re.I)
MAX_FIELD = 10_000
_PERIOD = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:/P(\d{1,2})([YM]))?")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ElsError(DataError):
    """An ELS file that cannot be read as published (its columns, a period, a number)."""


class ElsCoverageError(ElsError):
    """An ELS indicator with no row for any upper-tier authority (districts are never summed)."""


# --- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElsPeriod:
    """An ELS period: its Fingertips-style label, sortable start (YYYYMMDD) and range (``1y``, ``3y``, ``1m``)."""

    label: str
    sortable: str
    range: str


def els_period(text: str, with_day: bool = False) -> ElsPeriod:
    """The Fingertips-style label of an ISO 8601 ELS period; ValueError (saying why) for other forms.

    A single date is labelled by its month (``May 2024``: "66% in May 2024" reads as a sentence),
    or with its day when ``with_day`` (two dates of one indicator in the same month).
    """
    match = _PERIOD.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"period {printable(text[:60])!r} is not a form reportgen reads: a date (2023-10-05) or a date "
            "with a duration of whole years or one month (2023-04-01/P1Y, 2022-01-01/P3Y, 2023-07-01/P1M)"
        )
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        start = date(year, month, day)
    except ValueError:
        raise ValueError(f"period {printable(text[:60])!r} is not a real date") from None
    sortable = start.strftime("%Y%m%d")
    if match[4] is None:
        return ElsPeriod(f"{f'{day} ' if with_day else ''}{_MONTHS[month - 1]} {year}", sortable, "")
    count, unit = int(match[4]), match[5]
    if unit == "M":
        if count != 1:
            raise ValueError(f"period {text!r}: only one-month periods (P1M) are read, not P{count}M")
        return ElsPeriod(f"{_MONTHS[month - 1]} {year}", sortable, "1m")
    if not 1 <= count <= 10:
        raise ValueError(f"period {text!r}: a period of {count} years is not read (1 to 10 years)")
    last = year + count - 1
    if month == 1 and day == 1:
        label = str(year) if count == 1 else f"{year} - {last % 100:02d}"
    elif count == 1:
        label = f"{year}/{(year + 1) % 100:02d}"
    else:
        label = f"{year}/{(year + 1) % 100:02d} - {last % 100:02d}/{(last + 1) % 100:02d}"
    return ElsPeriod(label, sortable, f"{count}y")


# --- the CSV ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElsRow:
    line: int
    code: str
    name: str
    geography: str
    indicator: str
    period: str
    value: str
    lower: str
    upper: str
    status: str
    notes: str


@dataclass
class ElsTable:
    """The rows of an ELS CSV, checked for shape; numbers and periods are checked per indicator."""

    label: str
    rows: list[ElsRow]
    indicators: list[str]


def read_els_csv(data: bytes | str, label: str) -> ElsTable:
    """Read an ELS dataset CSV; :class:`ElsError` names the file and line of any shape problem."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ElsError(f"{label}: not UTF-8 text ({exc.reason}); is this an ELS dataset CSV?") from None
    else:
        text = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ElsError(f"{label}: the file is empty; expected an ELS dataset CSV.")
        index = _header_index(header, label)
        rows: list[ElsRow] = []
        seen: dict[str, None] = {}
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            row = _row(record, len(header), index, label, line)
            seen.setdefault(row.indicator, None)
            rows.append(row)
    except csv.Error as exc:
        raise ElsError(f"{label}:{reader.line_num}: not a readable CSV record ({exc}).") from None
    if not rows:
        raise ElsError(f"{label}: the file has a header but no rows.")
    return ElsTable(label, rows, list(seen))


def _header_index(header: list[str], label: str) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    missing = [c for c in ELS_COLUMNS if c not in names]
    if missing:
        shown = printable(",".join(header)[:120])
        raise ElsError(
            f"{label}:1: not an ELS dataset CSV: column(s) {', '.join(missing)} missing (the header is "
            f"'{shown}'); expected {', '.join(ELS_COLUMNS)}."
        )
    return {c: names.index(c) for c in ELS_COLUMNS}


def _row(record: list[str], width: int, index: dict[str, int], label: str, line: int) -> ElsRow:
    if len(record) != width:
        raise ElsError(
            f"{label}:{line}: {len(record)} fields but the header has {width}; the file is damaged or cut short."
        )
    if any(len(cell) > MAX_FIELD for cell in record):
        raise ElsError(f"{label}:{line}: a field is over {MAX_FIELD:,} characters; not an ELS dataset CSV.")
    cell = {c: record[i].strip() for c, i in index.items()}
    return ElsRow(
        line,
        cell["areacd"].upper(),
        cell["areanm"],
        cell["geography"],
        " ".join(cell["indicator"].split()),
        cell["period"],
        cell["observation"],
        cell["lci_95"],
        cell["uci_95"],
        cell["status"],
        cell["notes"],
    )


# --- one indicator, upper tier ---------------------------------------------------------------------


@dataclass
class Selection:
    """One indicator's rows kept for the profiles, and what was left out (for the fetch report)."""

    indicator: str
    rows: list[tuple[ElsRow, str, str]]  # row, our area code, our area type
    ignored: Counter[str] = field(default_factory=Counter)  # ELS geography -> rows left out
    replaced: set[str] = field(default_factory=set)  # predecessor codes left out
    has_ci: bool = False
    labels: dict[str, ElsPeriod] = field(default_factory=dict)  # ELS period -> our label
    periods: list[str] = field(default_factory=list)  # labels, oldest first
    missing_latest: list[str] = field(default_factory=list)  # current authorities without a latest value

    def report(self, label: str) -> list[str]:
        """Plain lines saying which rows were not used."""
        lines = []
        if self.ignored:
            levels = ", ".join(f"{n} {g or '(blank)'}" for g, n in sorted(self.ignored.items()))
            lines.append(f"{label}: rows not used (not upper tier; districts are never summed): {levels}")
        if self.replaced:
            lines.append(
                f"{label}: {len(self.replaced)} code(s) of authorities replaced before 2023 ignored "
                f"(e.g. {sorted(self.replaced)[0]})"
            )
        return lines

    def gaps(self, label: str) -> list[str]:
        """A warning if some upper-tier authorities have no value in the latest period."""
        lines = []
        if self.missing_latest:
            shown = ", ".join(self.missing_latest[:5]) + (" ..." if len(self.missing_latest) > 5 else "")
            lines.append(
                f"{label}: {len(self.missing_latest)} of the upper-tier authorities have no value for "
                f"{self.periods[-1]} ({shown})"
            )
        return lines


def match_indicator(table: ElsTable, wanted: str, names: dict[str, str] | None = None) -> str:
    """The dataset's indicator value that ``wanted`` names (its code, or its title in the metadata)."""
    key = _fold(wanted)
    for indicator in table.indicators:
        if _fold(indicator) == key:
            return indicator
    for code, title in (names or {}).items():
        if _fold(title) == key and code in table.indicators:
            return code
    offered = "; ".join(printable(i) for i in table.indicators[:20])
    raise ElsError(f"{table.label}: no indicator '{printable(wanted)}' in the dataset; it has: {offered}")


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def select_upper_tier(table: ElsTable, indicator: str, geography: Geography) -> Selection:
    """The England, region and upper-tier rows of ``indicator``, periods and numbers checked.

    Raises :class:`ElsCoverageError` when no upper-tier authority has a row.
    """
    current = frozenset(a.code for a in geography.authorities)
    chosen: dict[tuple[str, str], tuple[ElsRow, str, str]] = {}
    recoded: list[tuple[ElsRow, str]] = []
    selection = Selection(indicator, [])
    for row in table.rows:
        if row.indicator != indicator:
            continue
        _check_numbers(table.label, row)
        try:
            els_period(row.period)
        except ValueError as exc:
            raise ElsError(f"{table.label}:{row.line}: {exc}.") from None
        code, kind = row.code, _kind(row, geography, current)
        if kind == "recoded":
            recoded.append((row, CODE_CHANGES[code]))
            continue
        if kind == "replaced":
            selection.replaced.add(code)
            continue
        if not kind:
            selection.ignored[row.geography] += 1
            continue
        key = (code, row.period)
        if key in chosen and _payload(chosen[key][0]) != _payload(row):
            raise ElsError(
                f"{table.label}:{row.line}: a second row for {code} in {row.period} with other numbers "
                f"(first at line {chosen[key][0].line}); the file is inconsistent."
            )
        chosen.setdefault(key, (row, code, kind))
    for row, code in recoded:
        chosen.setdefault((code, row.period), (row, code, UTLA_AREA_TYPE))
    selection.rows = sorted(chosen.values(), key=lambda item: item[0].line)
    utla = [item for item in selection.rows if item[2] == UTLA_AREA_TYPE]
    if not utla:
        found = sorted({r.geography for r in table.rows if r.indicator == indicator})
        raise ElsCoverageError(
            f"{table.label}: indicator '{printable(indicator)}' has no rows for county or unitary authorities "
            f"(it is published for: {', '.join(found) or 'nothing'}); reportgen never sums districts into "
            "counties. Choose a dataset published at upper-tier level, or remove the spec."
        )
    selection.has_ci = any(item[0].lower and item[0].upper for item in utla)
    selection.labels = _labels({item[0].period for item in selection.rows})
    by_period = sorted(selection.labels.values(), key=lambda p: p.sortable)
    selection.periods = [p.label for p in by_period]
    latest = max((item[0].period for item in utla), key=lambda p: selection.labels[p].sortable)
    have = {item[1] for item in utla if item[0].period == latest and item[0].value}
    selection.missing_latest = sorted(a.name for a in geography.authorities if a.code not in have)
    return selection


def _kind(row: ElsRow, geography: Geography, current: frozenset[str]) -> str:
    """Our area type of a row ('England', 'Region', the UTLA type), or why it is not used."""
    code = row.code
    if code == ENGLAND_CODE:
        return "England"
    if code in geography.regions:
        return "Region"
    upper = row.geography in UPPER_TIER_LEVELS
    if upper and geography.lookup(code) is not None:
        return UTLA_AREA_TYPE if code in current else "replaced"
    if upper and code in CODE_CHANGES:
        return "recoded"
    return ""


def _labels(periods: set[str]) -> dict[str, ElsPeriod]:
    """Each period's label: dates by month, or by day when two dates share a month."""
    labels = {p: els_period(p) for p in periods}
    counts = Counter(p.label for p in labels.values())
    return {p: els_period(p, with_day=True) if counts[got.label] > 1 else got for p, got in labels.items()}


def _payload(row: ElsRow) -> tuple[str, str, str]:
    return (row.value, row.lower, row.upper)


def _check_numbers(label: str, row: ElsRow) -> None:
    for column, text in (("observation", row.value), ("lci_95", row.lower), ("uci_95", row.upper)):
        if not text:
            continue
        try:
            number = float(text)
        except ValueError:
            raise ElsError(
                f"{label}:{row.line}: {column} {printable(text[:40])!r} is not a number (blank is allowed)."
            ) from None
        if not math.isfinite(number) or abs(number) > 1e15:
            raise ElsError(f"{label}:{row.line}: {column} {printable(text[:40])!r} is not a usable number.")


# --- Fingertips-format rows --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Who the rows are for: the spec's id (the ``Indicator ID``), sex and age."""

    indicator_id: str
    sex: str
    age: str


def value_note(row: ElsRow) -> str:
    """``status`` (in words) and ``notes`` of a row, as one value note ('' if neither)."""
    parts = []
    status = row.status.strip()
    if status:
        words = STATUS_WORDS.get(status.lower())
        parts.append(f"{words[0].upper()}{words[1:]} (ONS status '{status}')" if words else status)
    notes = row.notes.strip()
    if notes and not OBSOLETE_NOTE.match(notes):
        parts.append(notes)
    return "; ".join(parts)


def fingertips_records(selection: Selection, target: Target, geography: Geography) -> Iterator[dict[str, str]]:
    """The selection as Fingertips export records, keyed by the export's column titles."""
    names = {a.code: a for a in geography.authorities}
    regions = geography.regions
    for row, code, kind in selection.rows:
        period = selection.labels.get(row.period) or els_period(row.period)
        if kind == "England":
            parent_code, parent_name, name = "", "", ENGLAND_NAME
        elif kind == "Region":
            parent_code, parent_name, name = ENGLAND_CODE, ENGLAND_NAME, regions[code]
        else:
            area = names[code]
            parent_code, parent_name, name = area.region_code, f"{area.region_name} region", area.name
        yield {
            "Indicator ID": target.indicator_id,
            "Indicator Name": selection.indicator,
            "Parent Code": parent_code,
            "Parent Name": parent_name,
            "Area Code": code,
            "Area Name": name,
            "Area Type": kind,
            "Sex": target.sex,
            "Age": target.age,
            "Category Type": "",
            "Category": "",
            "Time period": period.label,
            "Value": row.value,
            "Lower CI 95.0 limit": row.lower if row.value else "",
            "Upper CI 95.0 limit": row.upper if row.value else "",
            "Lower CI 99.8 limit": "",
            "Upper CI 99.8 limit": "",
            "Count": "",
            "Denominator": "",
            "Value note": value_note(row),
            "Recent Trend": "",
            "Compared to England value or percentiles": "",
            "Compared to Region value or percentiles": "",
            "Time period Sortable": period.sortable,
            "New data": "",
            "Compared to goal": "",
            "Time period range": period.range,
        }


def rows_for_header(records: Iterable[dict[str, str]], header: Sequence[str]) -> Iterator[list[str]]:
    """Records as lists in the order of ``header`` (matched case-insensitively; unknown columns blank)."""
    keys = [h.strip().lower() for h in header]
    for record in records:
        lowered = {k.lower(): v for k, v in record.items()}
        yield [lowered.get(k, "") for k in keys]


def fingertips_csv_text(selection: Selection, target: Target, geography: Geography) -> str:
    """The selection as a complete Fingertips-format CSV (27 columns)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    records = list(fingertips_records(selection, target, geography))
    header = list(FINGERTIPS_TITLES)
    writer.writerow(header)
    writer.writerows(rows_for_header(records, header))
    return out.getvalue()


FINGERTIPS_TITLES = (
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Compared to Region value or percentiles",
    "Time period Sortable",
    "New data",
    "Compared to goal",
    "Time period range",
)


# --- the JSON metadata -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElsMetadata:
    """What a dataset's JSON says about one indicator."""

    label: str
    subtitle: str
    unit: str  # the suffix ('%') or the sub-text ('per 10,000 population')
    decimals: int | None
    source: str
    source_url: str
    source_date: str

    def record(self) -> dict[str, object]:
        return {
            "label": self.label,
            "subtitle": self.subtitle,
            "unit": self.unit,
            "decimals": self.decimals,
            "source": self.source,
            "source_url": self.source_url,
            "source_date": self.source_date,
        }


MAX_JSON_BYTES = 5_000_000


def read_els_json(data: bytes, label: str) -> dict[str, ElsMetadata]:
    """A dataset's metadata per indicator code (one entry ``''`` for a single-indicator dataset)."""
    if len(data) > MAX_JSON_BYTES:
        raise ElsError(f"{label}: over {MAX_JSON_BYTES // 1_000_000} MB; not an ELS dataset's metadata.")
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ElsError(f"{label}: not readable JSON ({printable(str(exc))[:120]}).") from None
    meta = doc.get("ess-beta-metadata") if isinstance(doc, dict) else None
    if not isinstance(meta, dict):
        raise ElsError(f"{label}: no 'ess-beta-metadata' object; not an ELS dataset's metadata.")
    if "label" in meta or "subtitle" in meta:
        return {"": _metadata(meta, {}, label)}
    common = meta.get("shared")
    shared: dict[str, object] = common if isinstance(common, dict) else {}
    found = {
        " ".join(str(code).split()): _metadata(entry, shared, label)
        for code, entry in meta.items()
        if code != "shared" and isinstance(entry, dict)
    }
    if not found:
        raise ElsError(f"{label}: the metadata describe no indicator.")
    return found


def _metadata(entry: dict[str, object], shared: dict[str, object], label: str) -> ElsMetadata:
    def text(key: str) -> str:
        value = entry.get(key, shared.get(key))
        return printable(str(value))[:2000] if isinstance(value, str | int | float) else ""

    places = entry.get("decimalPlaces", shared.get("decimalPlaces"))
    decimals = places if isinstance(places, int) and not isinstance(places, bool) and 0 <= places <= 10 else None
    unit = text("suffix") or text("subText")
    return ElsMetadata(
        text("label"), text("subtitle"), unit, decimals, text("sourceOrg"), text("sourceURL"), text("sourceDate")
    )


def metadata_for(found: dict[str, ElsMetadata], indicator: str) -> ElsMetadata | None:
    """The entry of ``indicator`` (its code, or the only entry of a single-indicator dataset)."""
    if "" in found:
        return found[""]
    for code, meta in found.items():
        if _fold(code) == _fold(indicator):
            return meta
    return None


def titles(found: dict[str, ElsMetadata]) -> dict[str, str]:
    """Indicator code -> title, to match a spec that names the indicator by its title."""
    return {code: meta.label for code, meta in found.items() if code}
