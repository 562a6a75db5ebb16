"""Load Fingertips "download data" CSV exports (and local data in the same format) into one table."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from .errors import DataError, Problem, errors_only
from .geography import Geography

# Canonical column names used everywhere after loading.
INDICATOR_ID = "indicator_id"
INDICATOR_NAME = "indicator_name"
PARENT_CODE = "parent_code"
PARENT_NAME = "parent_name"
AREA_CODE = "area_code"
AREA_NAME = "area_name"
AREA_TYPE = "area_type"
SEX = "sex"
AGE = "age"
CATEGORY_TYPE = "category_type"
CATEGORY = "category"
PERIOD = "period"
VALUE = "value"
LOWER_95 = "lower_ci_95"
UPPER_95 = "upper_ci_95"
LOWER_998 = "lower_ci_99_8"
UPPER_998 = "upper_ci_99_8"
COUNT = "count"
DENOMINATOR = "denominator"
VALUE_NOTE = "value_note"
RECENT_TREND = "recent_trend"
COMPARED_ENGLAND = "compared_to_england"
COMPARED_PARENT = "compared_to_parent"
PERIOD_SORTABLE = "period_sortable"
NEW_DATA = "new_data"
COMPARED_GOAL = "compared_to_goal"
PERIOD_RANGE = "period_range"
STD_DEV = "standard_deviation"
LINE = "line"

#: Value notes starting with this mark identify synthetic demonstration data.
SYNTHETIC_MARK = "Synthetic demonstration data"

#: The current Fingertips export header (27 columns), as written by ``demo-data``.
FINGERTIPS_HEADER: tuple[tuple[str, str], ...] = (
    (INDICATOR_ID, "Indicator ID"),
    (INDICATOR_NAME, "Indicator Name"),
    (PARENT_CODE, "Parent Code"),
    (PARENT_NAME, "Parent Name"),
    (AREA_CODE, "Area Code"),
    (AREA_NAME, "Area Name"),
    (AREA_TYPE, "Area Type"),
    (SEX, "Sex"),
    (AGE, "Age"),
    (CATEGORY_TYPE, "Category Type"),
    (CATEGORY, "Category"),
    (PERIOD, "Time period"),
    (VALUE, "Value"),
    (LOWER_95, "Lower CI 95.0 limit"),
    (UPPER_95, "Upper CI 95.0 limit"),
    (LOWER_998, "Lower CI 99.8 limit"),
    (UPPER_998, "Upper CI 99.8 limit"),
    (COUNT, "Count"),
    (DENOMINATOR, "Denominator"),
    (VALUE_NOTE, "Value note"),
    (RECENT_TREND, "Recent Trend"),
    (COMPARED_ENGLAND, "Compared to England value or percentiles"),
    (COMPARED_PARENT, "Compared to Region value or percentiles"),
    (PERIOD_SORTABLE, "Time period Sortable"),
    (NEW_DATA, "New data"),
    (COMPARED_GOAL, "Compared to goal"),
    (PERIOD_RANGE, "Time period range"),
)
DISPLAY_NAME = dict(FINGERTIPS_HEADER) | {STD_DEV: "Standard deviation"}

NUMERIC_COLUMNS = (VALUE, LOWER_95, UPPER_95, LOWER_998, UPPER_998, COUNT, DENOMINATOR, STD_DEV)
REQUIRED_COLUMNS = (INDICATOR_ID, AREA_CODE, SEX, AGE, PERIOD, VALUE)
KEY_COLUMNS = (INDICATOR_ID, AREA_CODE, SEX, AGE, CATEGORY_TYPE, CATEGORY, PERIOD)
PAYLOAD_COLUMNS = (VALUE, LOWER_95, UPPER_95, LOWER_998, UPPER_998, COUNT, DENOMINATOR)


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", name.casefold())


_HEADER_ALIASES = {_header_key(display): canonical for canonical, display in FINGERTIPS_HEADER} | {
    _header_key("Target data"): COMPARED_GOAL,
    _header_key("Standard deviation"): STD_DEV,
    _header_key("Compared to percentiles"): COMPARED_PARENT,
}


def canonical_column(name: str) -> str | None:
    """Map an export header (current or underscore style) to its canonical column name."""
    key = _header_key(name)
    if key in _HEADER_ALIASES:
        return _HEADER_ALIASES[key]
    if key.startswith("comparedto") and key.endswith("valueorpercentiles"):
        return COMPARED_PARENT
    return None


@dataclass(frozen=True)
class IndicatorData:
    """A loaded data file: one row per record, canonical columns, plus the source line of each."""

    path: str
    frame: pd.DataFrame
    warnings: tuple[Problem, ...] = field(default=())
    synthetic: bool = False
    sha256: str = ""


def load_indicator_data(path: Path | str, geography: Geography | None = None) -> IndicatorData:
    """Read a Fingertips-format CSV file and check it.

    Accepts the current (26 or 27 column) header and the older underscore header, UTF-8 with or
    without BOM, quoted newlines and blank values. Raises :class:`DataError` listing every problem
    (file, line, column, what to do); unknown area codes are returned as warnings.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist. Pass --data FILE (a Fingertips CSV export).")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            data = parse_indicator_csv(handle, str(path), geography)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}). Save the file as 'CSV UTF-8' and try again."
        ) from None
    return dataclasses.replace(data, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def parse_indicator_csv(handle: TextIO, label: str, geography: Geography | None = None) -> IndicatorData:
    """Parse and check CSV text from an open text stream; ``label`` names it in messages."""
    records, lines, header = _read_records(handle, label)
    frame = _to_frame(label, records, lines, header)
    frame, problems = _parse_numbers(label, frame)
    problems += _range_problems(label, frame)
    frame, duplicate_problems = _resolve_duplicates(label, frame)
    problems += duplicate_problems
    if geography is not None:
        problems += _area_warnings(label, frame, geography)
    errors = errors_only(problems)
    if errors:
        raise DataError(f"{len(errors)} problem(s) in data file {label}:", errors)
    synthetic = bool(frame[VALUE_NOTE].astype(str).str.startswith(SYNTHETIC_MARK).any())
    return IndicatorData(label, frame, tuple(p for p in problems if p.severity == "warning"), synthetic)


def _read_records(handle: TextIO, path: str) -> tuple[list[list[str]], list[int], list[str]]:
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a Fingertips CSV export with a header row.")
        records: list[list[str]] = []
        lines: list[int] = []
        previous_end = reader.line_num
        for row in reader:
            lines.append(previous_end + 1)
            previous_end = reader.line_num
            records.append(row)
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not a readable CSV file ({exc}).") from None
    return records, lines, header


def _to_frame(path: str, records: list[list[str]], lines: list[int], header: list[str]) -> pd.DataFrame:
    columns: list[str | None] = [canonical_column(h) for h in header]
    missing = [DISPLAY_NAME[c] for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(h for h in header[:12] if h) or "nothing"
        raise DataError(
            f"{path}:1: missing required column(s): {', '.join(missing)}. "
            f"Found: {found}. Export the data from Fingertips with 'Download data' (CSV) or use the same column names."
        )
    width = len(header)
    problems = [
        Problem(f"{path}:{line}", "", f"has {len(row)} fields but the header has {width}; check quoting and commas")
        for row, line in zip(records, lines, strict=True)
        if len(row) > width and any(cell.strip() for cell in row[width:])
    ]
    if problems:
        raise DataError(f"{len(problems)} problem(s) in data file {path}:", problems)
    # Exports often drop trailing empty fields: pad short rows; skip blank lines.
    body = [
        ((row + [""] * width)[:width], line)
        for row, line in zip(records, lines, strict=True)
        if any(cell.strip() for cell in row)
    ]
    keep = [(i, c) for i, c in enumerate(columns) if c is not None]
    data = {c: [row[i].strip() for row, _ in body] for i, c in keep}
    frame = pd.DataFrame(data, dtype=object)
    for canonical, _ in FINGERTIPS_HEADER:
        if canonical not in frame:
            frame[canonical] = ""
    if STD_DEV not in frame:
        frame[STD_DEV] = ""
    frame[LINE] = np.array([line for _, line in body], dtype=np.int64)
    return frame.astype({c: object for c in frame.columns if c != LINE})


def _parse_numbers(path: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Convert the numeric columns to floats (blank = missing), reporting cells that are not numbers."""
    problems: list[Problem] = []
    converted = {}
    for column in NUMERIC_COLUMNS:
        text = frame[column].astype(str)
        parsed = pd.to_numeric(text.where(text != "", None), errors="coerce").astype(float)
        bad = (text != "") & parsed.isna()
        for line, cell in zip(frame.loc[bad, LINE], text[bad], strict=True):
            problems.append(
                Problem(
                    f"{path}:{line}",
                    DISPLAY_NAME[column],
                    f"{cell!r} is not a number; use digits with a '.' decimal point, or leave it blank if missing",
                )
            )
        converted[column] = parsed
    return frame.assign(**converted), problems


def _range_problems(path: str, frame: pd.DataFrame) -> list[Problem]:
    checks = [
        (frame[COUNT] < 0, COUNT, "is negative; counts must be 0 or more"),
        (frame[DENOMINATOR] < 0, DENOMINATOR, "is negative; denominators must be 0 or more"),
        (
            frame[LOWER_95] > frame[UPPER_95],
            LOWER_95,
            "is greater than the upper 95% limit; check the two limits are not swapped",
        ),
        (
            frame[LOWER_998] > frame[UPPER_998],
            LOWER_998,
            "is greater than the upper 99.8% limit; check the two limits are not swapped",
        ),
        (frame[STD_DEV] < 0, STD_DEV, "is negative; a standard deviation must be 0 or more"),
    ]
    problems = []
    for mask, column, message in checks:
        for line, cell in zip(frame.loc[mask, LINE], frame.loc[mask, column], strict=True):
            problems.append(Problem(f"{path}:{line}", DISPLAY_NAME[column], f"{_fmt(cell)} {message}"))
    outside = (frame[VALUE] < frame[LOWER_95] - 1e-9 * frame[VALUE].abs()) | (
        frame[VALUE] > frame[UPPER_95] + 1e-9 * frame[VALUE].abs()
    )
    for line in frame.loc[outside, LINE]:
        problems.append(Problem(f"{path}:{line}", "Value", "lies outside its own 95% confidence interval", "warning"))
    return problems


def _fmt(number: float) -> str:
    return f"{number:g}"


def _resolve_duplicates(path: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Drop rows repeated with a different parent; report rows that disagree on their numbers."""
    keys = list(KEY_COLUMNS)
    dup_mask = frame.duplicated(keys, keep=False)
    if not dup_mask.any():
        return frame, []
    dups = frame[dup_mask]
    problems: list[Problem] = []
    for _, group in dups.groupby(keys, sort=False):
        payload = group[list(PAYLOAD_COLUMNS)].fillna(-np.inf)
        if len(payload.drop_duplicates()) > 1:
            lines = ", ".join(str(n) for n in group[LINE])
            first = group.iloc[0]
            problems.append(
                Problem(
                    f"{path}:{group[LINE].iloc[1]}",
                    "",
                    f"conflicting duplicate rows (lines {lines}) for indicator {first[INDICATOR_ID]}, "
                    f"area {first[AREA_CODE]}, "
                    f"period {first[PERIOD]}: the numbers differ; keep one row",
                )
            )
    # Prefer the row whose parent is a region, then the first in file order.
    rank = (~frame[PARENT_CODE].astype(str).str.startswith("E12")).astype(int)
    ordered = frame.assign(_rank=rank).sort_values(["_rank", LINE], kind="stable")
    kept = ordered.drop_duplicates(keys, keep="first").drop(columns="_rank").sort_values(LINE, kind="stable")
    return kept.reset_index(drop=True), problems


def _area_warnings(path: str, frame: pd.DataFrame, geography: Geography) -> list[Problem]:
    headline = frame[frame[CATEGORY_TYPE] == ""]
    codes = sorted(set(headline[AREA_CODE]))
    unknown = [c for c in codes if geography.lookup(c) is None]
    older = [c for c in codes if (a := geography.lookup(c)) is not None and not a.current and a.kind == "UTLA"]
    problems = []
    if unknown:
        problems.append(
            Problem(
                str(path),
                "Area Code",
                f"{len(unknown)} area code(s) not in the April 2023 upper-tier geography: {', '.join(unknown[:20])}"
                f"{' ...' if len(unknown) > 20 else ''}. "
                "They are still benchmarked, using the parent given in the file.",
                "warning",
            )
        )
    if older:
        problems.append(
            Problem(
                str(path),
                "Area Code",
                f"{len(older)} area code(s) are on boundaries before April 2023: {', '.join(older)}. "
                "The hierarchy in the file is used for them.",
                "warning",
            )
        )
    return problems


def headline_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without an inequality category (the headline value of each area)."""
    return frame[(frame[CATEGORY_TYPE] == "") & (frame[CATEGORY] == "")]


def select_series(frame: pd.DataFrame, data_key: str, sex: str, age: str) -> pd.DataFrame:
    """Headline rows of one indicator series (``Indicator ID``, sex and age)."""
    rows = headline_rows(frame)
    mask = (rows[INDICATOR_ID] == data_key) & (rows[SEX] == sex) & (rows[AGE] == age)
    return rows[mask]


def series_index(frame: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Headline rows grouped once by (``Indicator ID``, sex), for fast selection of many series."""
    rows = headline_rows(frame)
    return {key: group for key, group in rows.groupby([INDICATOR_ID, SEX], sort=False)}


def check_against_specs(data: IndicatorData, specs: Sequence) -> list[Problem]:
    """Problems that need the specs: missing series, impossible counts for the value type."""
    problems: list[Problem] = []
    index = series_index(data.frame)
    for spec in specs:
        same = index.get((spec.data_key, spec.sex))
        rows = same[same[AGE] == spec.age] if same is not None else data.frame.iloc[:0]
        if rows.empty:
            problems.append(_missing_series(data, spec))
            continue
        problems += _value_type_problems(data.path, spec, rows)
    return problems


def _missing_series(data: IndicatorData, spec) -> Problem:
    frame = data.frame
    same_id = frame[frame[INDICATOR_ID] == spec.data_key]
    if same_id.empty and getattr(spec, "derive", None) is not None:
        hint = f"no rows have Indicator ID {spec.source_key} (the Fingertips series it is derived from)"
    elif same_id.empty:
        hint = f"no rows have Indicator ID {spec.data_key}"
    else:
        pairs = sorted(set(zip(same_id[SEX], same_id[AGE], strict=True)))[:6]
        found = "; ".join(f"{s}, {a}" for s, a in pairs)
        hint = (
            f"Indicator ID {spec.data_key} is present but not for sex {spec.sex!r} "
            f"and age {spec.age!r} (found: {found})"
        )
    return Problem(
        data.path,
        spec.id,
        f"indicator missing from the data: {hint}. Add the data or check the spec's sex and age ({spec.path}).",
    )


def _value_type_problems(path: str, spec, rows: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    needs_denominator = spec.value_type in ("proportion", "crude_rate", "isr")
    if needs_denominator:
        zero = rows[(rows[DENOMINATOR] == 0) & rows[COUNT].notna()]
        problems += [
            Problem(
                f"{path}:{line}",
                "Denominator",
                f"is 0 for {spec.id}; a {spec.value_type.replace('_', ' ')} needs a positive denominator "
                "(leave it blank if unknown)",
            )
            for line in zero[LINE]
        ]
    if spec.value_type == "proportion":
        over = rows[rows[COUNT] > rows[DENOMINATOR]]
        problems += [
            Problem(
                f"{path}:{line}",
                "Count",
                f"{_fmt(c)} is greater than the denominator {_fmt(d)}; "
                f"{spec.id} is a proportion, so the count cannot exceed it",
            )
            for line, c, d in zip(over[LINE], over[COUNT], over[DENOMINATOR], strict=True)
        ]
    return problems
