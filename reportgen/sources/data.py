"""Load Fingertips "download data" CSV exports (and local data in the same format) into one table."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import html
import itertools
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, AnyStr, BinaryIO, TextIO

import numpy as np
import pandas as pd

from reportgen.core.errors import DataError, Problem, errors_only, escape_bidi
from reportgen.core.geography import Geography
from reportgen.core.periods import period_problem

if TYPE_CHECKING:
    from reportgen.core.specs import IndicatorSpec

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


#: Longest physical line accepted (bytes or characters); real exports have lines under 2 kB.
MAX_LINE_LENGTH = 1 << 20
#: Most fields accepted in a header or row (exports have 26 or 27).
MAX_FIELDS = 200
#: Most physical lines one record may span (names sometimes hold a newline or two).
MAX_RECORD_LINES = 20
#: Rows parsed into numbers at a time, so text is held for one chunk only.
CHUNK_ROWS = 50_000
#: Largest magnitude any indicator number may have.
MAX_MAGNITUDE = 1e15
#: Most problems collected per check before the rest are only counted.
MAX_PROBLEMS = 1000
#: Most characters kept of each free-text column (a value note of 190 KB would make a profile of
#: hundreds of pages): longer text is cut to this length, ending with "…", and a warning names the
#: file and lines. Fingertips' own text is far shorter (names under 300, notes under 400 characters).
TEXT_LIMITS = {
    INDICATOR_NAME: 500,
    PARENT_NAME: 200,
    AREA_NAME: 200,
    AREA_TYPE: 200,
    SEX: 100,
    AGE: 100,
    CATEGORY_TYPE: 200,
    CATEGORY: 200,
    VALUE_NOTE: 500,
    RECENT_TREND: 200,
    COMPARED_ENGLAND: 200,
    COMPARED_PARENT: 200,
    COMPARED_GOAL: 200,
    NEW_DATA: 100,
    PERIOD_RANGE: 100,
}
#: Identifiers are never cut (two cut ids could become one): a longer value is an error.
MAX_ID_LENGTH = 100
#: What an ``Indicator ID`` may be: a Fingertips indicator number, or a spec's id for local data.
INDICATOR_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ELLIPSIS = "\u2026"
_SHORT = min(MAX_ID_LENGTH, *TEXT_LIMITS.values())  # ASCII text this short needs no check

_BOM = "\ufeff"
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_NO_DATA = re.compile(r"(<[^>]*>\s*)*-?\s*(<[^>]*>\s*)*", re.S)
_THOUSANDS_COLUMNS = (COUNT, DENOMINATOR)
_LIMIT_COLUMNS = (LOWER_95, UPPER_95, LOWER_998, UPPER_998)
SOURCE = "source"


def load_indicator_data(path: Path | str, geography: Geography | None = None) -> IndicatorData:
    """Read a Fingertips-format CSV file and check it.

    Accepts the current (26 or 27 column) header, the older underscore header and the website's
    "compare areas" variants, UTF-8 with or without BOM, quoted newlines and blank values. Reads
    the file in bounded lines (never a whole line over :data:`MAX_LINE_LENGTH`), refuses anything
    but a regular file, and raises :class:`DataError` listing every problem (file, line, column,
    what to do); unknown area codes are returned as warnings.
    """
    path = Path(path)
    digest = hashlib.sha256()
    with _open_regular(path) as handle:
        data = _parse_lines(_binary_lines(handle, str(path), digest), str(path), geography)
        # The reader stops at the last record; hash whatever follows it too.
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return dataclasses.replace(data, sha256=digest.hexdigest())


def data_files(paths: Path | str | Sequence[Path | str]) -> list[Path]:
    """The files a ``--data`` value names: each file as given, each folder as its ``*.csv`` files, sorted."""
    given = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    files: list[Path] = []
    for path in given:
        if path.is_dir():
            found = [_folder_entry(path, p) for p in sorted(path.glob("*.csv"))]
            if not found:
                raise DataError(f"{path}: the folder has no *.csv files; pass --data with a Fingertips CSV export.")
            files += found
        else:
            files.append(path)
    return files


def _folder_entry(folder: Path, entry: Path) -> Path:
    """A ``*.csv`` entry of a ``--data`` folder: a regular file inside the folder after following links."""
    try:
        real = entry.resolve(strict=True)
        inside = real.is_relative_to(folder.resolve(strict=True))
        regular = stat.S_ISREG(real.stat().st_mode)
    except (OSError, RuntimeError):
        raise DataError(
            f"{entry} is a broken link or link loop; remove it from the folder or pass the files with --data."
        ) from None
    if not inside:
        raise DataError(
            f"{entry} is a link to a file outside {folder}; copy the file into the folder or name it in --data."
        )
    if not regular:
        raise DataError(f"{entry} is not a regular file (a folder, pipe or device); remove it from the --data folder.")
    return entry


def load_data_files(paths: Path | str | Sequence[Path | str], geography: Geography | None = None) -> IndicatorData:
    """Load one or more data files (folders mean their ``*.csv`` files) and merge them.

    Rows repeated across files with the same numbers are kept once; rows with the same key and
    different numbers are reported with both files and lines. A single file loads exactly as
    :func:`load_indicator_data`; for several, the SHA-256 is that of their sorted hashes.
    """
    files = data_files(paths)
    if len(files) == 1:
        return load_indicator_data(files[0], geography)
    loaded, problems = [], []
    for path in files:
        try:
            loaded.append(load_indicator_data(path, geography))
        except DataError as exc:
            problems += [Problem("", "", exc.message), *exc.problems]
    if problems:
        raise DataError(f"problems in {len(files)} data files:", problems)
    return _merge(loaded)


def _merge(loaded: list[IndicatorData]) -> IndicatorData:
    frame = pd.concat(
        [d.frame.assign(**{SOURCE: np.full(len(d.frame), d.path, dtype=object)}) for d in loaded], ignore_index=True
    )
    label = ", ".join(Path(d.path).name for d in loaded)
    frame, problems = _resolve_duplicates(label, frame)
    errors = errors_only(problems)
    if errors:
        raise DataError(f"{len(errors)} problem(s) across data files {label}:", errors)
    warnings = tuple(w for d in loaded for w in d.warnings)
    digest = hashlib.sha256("\n".join(sorted(d.sha256 for d in loaded)).encode("ascii")).hexdigest()
    return IndicatorData(label, frame, warnings, any(d.synthetic for d in loaded), digest)


def _where(path: str, rows: pd.DataFrame) -> list[str]:
    """``file:line`` of each row (rows of merged files carry their own file)."""
    sources = rows[SOURCE] if SOURCE in rows else [path] * len(rows)
    return [f"{source}:{line}" for source, line in zip(sources, rows[LINE], strict=True)]


def _open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading without ever blocking on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise DataError(f"Data file {path} does not exist. Pass --data FILE (a Fingertips CSV export).") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; pass --data with a CSV file, or a folder of CSV files.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); check the file name and permissions.") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, device or socket)"
        raise DataError(f"{path} is {kind}; pass --data with a CSV file (a Fingertips export).")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def parse_indicator_csv(handle: TextIO, label: str, geography: Geography | None = None) -> IndicatorData:
    """Parse and check CSV text from an open text stream; ``label`` names it in messages."""
    return _parse_lines(_text_lines(handle, label), label, geography)


def _binary_lines(handle: BinaryIO, label: str, digest: hashlib._Hash) -> Iterator[str]:
    """Decoded physical lines of a binary file, each at most :data:`MAX_LINE_LENGTH` bytes."""
    number = 0
    while raw := handle.readline(MAX_LINE_LENGTH + 1):
        digest.update(raw)
        number += 1
        _check_line_length(raw, b"\n", label, number)
        if b"\x00" in raw:
            raise DataError(
                f"{label}:{number}: contains NUL bytes, so it is a binary file (for example a spreadsheet), "
                "not CSV text. Export the data as CSV (UTF-8) and try again."
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{label}:{number}: not UTF-8 text (byte {exc.start + 1} of the line: {exc.reason}). "
                "Save the file as 'CSV UTF-8' and try again."
            ) from None
        yield text.removeprefix(_BOM) if number == 1 else text


def _text_lines(handle: TextIO, label: str) -> Iterator[str]:
    number = 0
    while text := handle.readline(MAX_LINE_LENGTH + 1):
        number += 1
        _check_line_length(text, "\n", label, number)
        if "\x00" in text:
            raise DataError(f"{label}:{number}: contains NUL characters, so it is not CSV text.")
        yield text.removeprefix(_BOM) if number == 1 else text


def _check_line_length(line: AnyStr, newline: AnyStr, label: str, number: int) -> None:
    if len(line) > MAX_LINE_LENGTH and not line.endswith(newline):
        raise DataError(
            f"{label}:{number}: line longer than {MAX_LINE_LENGTH // (1 << 20)} MB; a Fingertips export has one "
            "short line per row. Check the file is a CSV export with line breaks."
        )


def _parse_lines(lines: Iterator[str], label: str, geography: Geography | None) -> IndicatorData:
    reader = _Reader(lines, label)
    frame, problems = reader.read()
    problems += _range_problems(label, frame)
    problems += _period_problems(label, frame)
    frame, duplicate_problems = _resolve_duplicates(label, frame)
    problems += duplicate_problems
    if geography is not None:
        problems += _area_warnings(label, frame, geography)
    errors = errors_only(problems)
    if errors:
        raise DataError(f"{len(errors)} problem(s) in data file {label}:", errors)
    synthetic = any(note.startswith(SYNTHETIC_MARK) for note in reader.distinct(VALUE_NOTE))
    return IndicatorData(label, frame, tuple(p for p in problems if p.severity == "warning"), synthetic)


def _plain_id(text: str) -> bool:
    """An empty ``Indicator ID``, or one made of ASCII letters, digits, '_', '.' and '-'."""
    return not text or INDICATOR_ID_PATTERN.fullmatch(text) is not None


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column position: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class _Reader:
    """Streams CSV records into compact columns: shared strings for text, floats for numbers."""

    def __init__(self, lines: Iterator[str], label: str) -> None:
        csv.field_size_limit(MAX_LINE_LENGTH)
        self.reader = csv.reader(lines)
        self.label = label
        self.problems: list[Problem] = []
        self.lines: list[int] = []
        self.text: dict[str, list[str]] = {}
        self.numbers: dict[str, list[np.ndarray]] = {}
        self.pooled: dict[str, dict[str, str]] = {}
        self.changed: dict[tuple[str, str], list[int]] = {}  # (column, "cut"/"bidi") -> first 10 lines
        self.changes: dict[tuple[str, str], int] = {}  # (column, "cut"/"bidi") -> texts changed

    def distinct(self, column: str) -> Iterable[str]:
        """Every distinct value of a text column (as cleaned: cut to its limit, bidi controls escaped)."""
        return self.pooled.get(column, {}).values()

    def read(self) -> tuple[pd.DataFrame, list[Problem]]:
        header = self._header()
        self.width = len(header)
        self.keep = _keep_columns(self.label, header)
        for column, _ in self.keep:
            (self.numbers if column in NUMERIC_COLUMNS else self.text)[column] = []
            self.pooled[column] = {}
        chunk: list[list[str]] = []
        for row, line in self._records():
            chunk.append(row)
            self.lines.append(line)
            if len(chunk) >= CHUNK_ROWS:
                self._store(chunk)
                chunk = []
        self._store(chunk)
        if not self.lines:
            raise DataError(
                f"{self.label}: has a header but no data rows; export the indicator data again (Fingertips "
                "'Download data')."
            )
        return self._frame(), self.problems + self._change_warnings()

    def _header(self) -> list[str]:
        try:
            header = next(self.reader, None)
        except csv.Error as exc:
            raise DataError(f"{self.label}:1: not a readable CSV file ({exc}).") from None
        if header is None:
            raise DataError(f"{self.label}: the file is empty; expected a Fingertips CSV export with a header row.")
        if len(header) > MAX_FIELDS:
            raise DataError(f"{self.label}:1: the header has {len(header)} fields; a Fingertips export has 26 or 27.")
        return [h.strip() for h in header]

    def _records(self) -> Iterator[tuple[list[str], int]]:
        reader = self.reader
        previous_end = reader.line_num
        try:
            for row in reader:
                start, previous_end = previous_end + 1, reader.line_num
                self._check_record(row, start, previous_end)
                if "".join(row).strip():
                    yield row, start
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise DataError(
                    f"{self.label}:{previous_end + 1}: a field starting on this line runs over "
                    f"{MAX_LINE_LENGTH // (1 << 20)} MB (to line {reader.line_num}); check for a quote that is "
                    "not closed."
                ) from None
            raise DataError(f"{self.label}:{reader.line_num}: not a readable CSV file ({exc}).") from None

    def _check_record(self, row: list[str], start: int, end: int) -> None:
        if len(row) > MAX_FIELDS:
            raise DataError(f"{self.label}:{start}: has {len(row)} fields; a Fingertips export has 26 or 27.")
        if end > start or len(row) < self.width:
            self._check_quotes(row, start, end)
        if len(row) > self.width and any(cell.strip() for cell in row[self.width :]):
            self._add(
                Problem(
                    f"{self.label}:{start}",
                    "",
                    f"has {len(row)} fields but the header has {self.width}; check quoting and commas",
                )
            )

    def _check_quotes(self, row: list[str], start: int, end: int) -> None:
        for index, cell in enumerate(row):
            swallowed = cell.count(",") >= max(self.width // 2, 3)
            if swallowed or ("\n" in cell and end - start >= MAX_RECORD_LINES):
                what = f"lines {start + 1} to {end}" if end > start else "the rest of the line"
                raise DataError(
                    f"{self.label}:{start}: column {column_letter(index)}: a quoted field opened on this line is "
                    f"not closed, so it swallows {what}; close or remove the quote."
                )

    def _add(self, problem: Problem) -> None:
        self.problems.append(problem)
        if len(self.problems) > MAX_PROBLEMS:
            raise DataError(
                f"more than {MAX_PROBLEMS} problems in data file {self.label}; fix these first:",
                self.problems[:MAX_PROBLEMS],
            )

    def _store(self, chunk: list[list[str]]) -> None:
        if not chunk:
            return
        width = self.width
        lengths = list(map(len, chunk))
        if min(lengths) != width or max(lengths) != width:
            chunk = [row if len(row) == width else (row + [""] * width)[:width] for row in chunk]
        columns = list(zip(*chunk, strict=True))
        lines = self.lines[len(self.lines) - len(chunk) :]
        for column, index in self.keep:
            cells = list(map(str.strip, columns[index]))
            if column in NUMERIC_COLUMNS:
                self.numbers[column].append(self._numbers(column, cells, lines))
            else:
                self.text[column].extend(self._texts(column, cells, lines))

    def _texts(self, column: str, cells: list[str], lines: list[int]) -> list[str]:
        """The chunk's cells of a text column, each distinct text stored once and checked once:
        bidirectional controls escaped, free text cut to its limit, identifiers checked."""
        pool = self.pooled[column]
        before = len(pool)
        values = list(map(pool.setdefault, cells, cells))
        if len(pool) == before:
            return values
        first_line: dict[str, int] = {}
        changed = False
        for text in list(itertools.islice(pool, before, None)):
            clean = self._clean(column, text, first_line, cells, lines)
            if clean is not text:
                pool[text] = clean
                changed = True
        return list(map(pool.__getitem__, cells)) if changed else values

    def _clean(self, column: str, text: str, first_line: dict[str, int], cells: list[str], lines: list[int]) -> str:
        """``text`` as stored: the same object when nothing changes; problems and changes recorded."""
        if text.isascii() and len(text) <= _SHORT and (column != INDICATOR_ID or _plain_id(text)):
            return text  # the usual case, decided without looking at each character
        if not first_line:
            first_line.update(zip(reversed(cells), reversed(lines), strict=True))
        line = first_line[text]
        clean = escape_bidi(text)
        if clean != text:
            self._changed(column, "bidi", line)
        if column in TEXT_LIMITS:
            limit = TEXT_LIMITS[column]
            if len(clean) > limit:
                clean = clean[: limit - 1].rstrip() + ELLIPSIS
                self._changed(column, "cut", line)
        elif len(clean) > MAX_ID_LENGTH:
            self._add(
                Problem(
                    f"{self.label}:{line}",
                    DISPLAY_NAME[column],
                    f"is {len(clean):,} characters long; a code, id or period has at most {MAX_ID_LENGTH}: "
                    "check the column holds what its header says",
                )
            )
        elif column == INDICATOR_ID and not _plain_id(clean):
            self._add(
                Problem(
                    f"{self.label}:{line}",
                    DISPLAY_NAME[column],
                    f"{clean!r} is not an indicator id; use the Fingertips indicator number (digits 0-9) or, "
                    "for local data, the spec's id (letters, digits and '_')",
                )
            )
        return text if clean == text else clean

    def _changed(self, column: str, kind: str, line: int) -> None:
        lines = self.changed.setdefault((column, kind), [])
        if len(lines) < 10:
            lines.append(line)
        self.changes[column, kind] = self.changes.get((column, kind), 0) + 1

    def _change_warnings(self) -> list[Problem]:
        """One warning per column and kind of change (cut or bidi controls escaped), naming its lines."""
        warnings = []
        for (column, kind), lines in sorted(self.changed.items(), key=lambda item: item[1][0]):
            count = self.changes[column, kind]
            more = f" and {count - len(lines):,} more" if count > len(lines) else ""
            where = f"line{'s' if count > 1 else ''} {', '.join(map(str, lines))}{more}"
            if kind == "cut":
                what = (
                    f"{count:,} different text(s) longer than {TEXT_LIMITS[column]:,} characters (this column's "
                    f"limit) are cut to that length, ending with '{ELLIPSIS}' ({where}); shorten them in the data "
                    "to show them whole"
                )
            else:
                what = (
                    "bidirectional control characters (such as U+202E, which shows text reversed) are shown as "
                    f"escapes such as \\u202e in {count:,} different text(s) ({where}); check where the data came from"
                )
            warnings.append(Problem(f"{self.label}:{lines[0]}", DISPLAY_NAME[column], what, "warning"))
        return warnings

    def _numbers(self, column: str, cells: list[str], lines: list[int]) -> np.ndarray:
        parsed = np.array(pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce"), dtype=float)
        filled = np.fromiter(map(bool, cells), bool, len(cells))
        suspect = filled & ~np.isfinite(parsed) | (np.abs(parsed) > MAX_MAGNITUDE)
        for i in np.flatnonzero(suspect):
            parsed[i] = self._special_number(column, cells[i], lines[i])
        return parsed

    def _special_number(self, column: str, cell: str, line: int) -> float:
        number, problem = parse_number(column, cell)
        if problem:
            self._add(Problem(f"{self.label}:{line}", DISPLAY_NAME[column], problem))
        return number

    def _frame(self) -> pd.DataFrame:
        data: dict[str, object] = {c: np.array(v, dtype=object) for c, v in self.text.items()}
        data |= {c: np.concatenate(v) for c, v in self.numbers.items()}
        frame = pd.DataFrame(data)
        n = len(self.lines)
        for canonical in [c for c, _ in FINGERTIPS_HEADER] + [STD_DEV]:
            if canonical not in frame:
                frame[canonical] = np.full(n, np.nan) if canonical in NUMERIC_COLUMNS else np.full(n, "", dtype=object)
        frame[LINE] = np.array(self.lines, dtype=np.int64)
        frame = _unsentinel_limits(frame)
        return frame


def _keep_columns(label: str, header: list[str]) -> list[tuple[str, int]]:
    """Canonical column and position of each recognised header cell; errors for missing or repeated ones."""
    seen: dict[str, int] = {}
    repeated = []
    for index, name in enumerate(header):
        canonical = canonical_column(name)
        if canonical is None:
            continue
        if canonical in seen:
            first = seen[canonical]
            repeated.append(
                Problem(
                    f"{label}:1",
                    DISPLAY_NAME[canonical],
                    f"two columns give it: {header[first]!r} (column {column_letter(first)}) and {name!r} "
                    f"(column {column_letter(index)}); delete one of them",
                )
            )
        else:
            seen[canonical] = index
    missing = [DISPLAY_NAME[c] for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        found = ", ".join(h for h in header[:12] if h) or "nothing"
        raise DataError(
            f"{label}:1: missing required column(s): {', '.join(missing)}. "
            f"Found: {found}. Export the data from Fingertips with 'Download data' (CSV) or use the same column names."
        )
    if repeated:
        raise DataError(f"{len(repeated)} problem(s) in data file {label}:", repeated)
    return list(seen.items())


def parse_number(column: str, cell: str) -> tuple[float, str]:
    """A numeric cell the fast parser did not accept: (number or NaN, problem message or "")."""
    if _NO_DATA.fullmatch(cell):
        return np.nan, ""
    if column in _THOUSANDS_COLUMNS and _THOUSANDS.fullmatch(cell):
        return float(cell.replace(",", "")), ""
    try:
        if not cell.isascii() or "_" in cell:  # float() reads "١٢", "１２" and "1_000"; a number has 0-9 only
            raise ValueError(cell)
        number = float(cell)
    except ValueError:
        return np.nan, f"{cell!r} is not a number; use digits with a '.' decimal point, or leave it blank if missing"
    if not math.isfinite(number):
        return np.nan, f"{cell!r} is not a finite number; use digits, or leave it blank if missing"
    if abs(number) > MAX_MAGNITUDE:
        return np.nan, f"{cell} is too large for any indicator (over {MAX_MAGNITUDE:g}); check the number"
    return number, ""


def _unsentinel_limits(frame: pd.DataFrame) -> pd.DataFrame:
    """Suppressed rows (blank value) give confidence limits of -1: they mean missing, not negative."""
    blank_value = frame[VALUE].isna()
    if not blank_value.any():
        return frame
    changes = {c: frame[c].mask(blank_value & (frame[c] == -1)) for c in _LIMIT_COLUMNS}
    return frame.assign(**changes)


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


def _period_problems(path: str, frame: pd.DataFrame) -> list[Problem]:
    problems = []
    for label in frame[PERIOD].unique():
        reason = period_problem(label)
        if reason:
            line = frame.loc[frame[PERIOD] == label, LINE].iloc[0]
            problems.append(Problem(f"{path}:{line}", DISPLAY_NAME[PERIOD], f"{label!r} {reason}"))
    return problems


def _fmt(number: float) -> str:
    return f"{number:g}"


def _resolve_duplicates(path: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Drop rows repeated with the same numbers (e.g. with another parent); report rows that disagree."""
    keys = list(KEY_COLUMNS)
    dup_mask = frame.duplicated(keys, keep=False)
    if not dup_mask.any():
        return frame, []
    dups = frame[dup_mask]
    problems: list[Problem] = []
    for _, group in dups.groupby(keys, sort=False):
        payload = group[list(PAYLOAD_COLUMNS)].fillna(-np.inf)
        if len(payload.drop_duplicates()) > 1:
            where = _where(path, group)
            rows = ", ".join(where) if SOURCE in group else "lines " + ", ".join(str(n) for n in group[LINE])
            first = group.iloc[0]
            problems.append(
                Problem(
                    where[1],
                    "",
                    f"conflicting duplicate rows ({rows}) for indicator {first[INDICATOR_ID]}, "
                    f"area {first[AREA_CODE]}, "
                    f"period {first[PERIOD]}: the numbers differ; keep one row",
                )
            )
    # Prefer the row whose parent is a region, then the first in file order.
    rank = (~frame[PARENT_CODE].astype(str).str.startswith("E12")).astype(int)
    order = frame.index.to_numpy()
    ordered = frame.assign(_rank=rank, _order=order).sort_values(["_rank", "_order"], kind="stable")
    kept = ordered.drop_duplicates(keys, keep="first").sort_values("_order", kind="stable")
    return kept.drop(columns=["_rank", "_order"]).reset_index(drop=True), problems


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


def note_text(note: object) -> str:
    """A value note as plain text for display: HTML tags removed, entities decoded, spaces collapsed.

    Downloads sometimes carry notes such as ``<b>Note:</b> value for Cornwall &amp; Isles of Scilly``;
    the table keeps the raw note, the profile shows the text.
    """
    if not isinstance(note, str) or not note:
        return ""
    text = re.sub(r"<[^>]*>", " ", note) if "<" in note else note
    return " ".join(html.unescape(text).split())


def headline_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without an inequality category (the headline value of each area)."""
    return frame[(frame[CATEGORY_TYPE] == "") & (frame[CATEGORY] == "")]


def select_series(frame: pd.DataFrame, data_key: str, sex: str, age: str) -> pd.DataFrame:
    """Headline rows of one indicator series (``Indicator ID``, sex and age)."""
    rows = headline_rows(frame)
    mask = (rows[INDICATOR_ID] == data_key) & (rows[SEX] == sex) & (rows[AGE] == age)
    return rows[mask]


def series_index(frame: pd.DataFrame, keys: Iterable[str] | None = None) -> dict[tuple[str, str], pd.DataFrame]:
    """Headline rows grouped once by (``Indicator ID``, sex), for fast selection of many series.

    With ``keys`` (the specs' data keys) only those indicators are grouped, so a file with
    100,000 other indicator ids costs no more than its rows.
    """
    rows = headline_rows(frame)
    if keys is not None:
        rows = rows[rows[INDICATOR_ID].isin(set(keys))]
    return {key: group for key, group in rows.groupby([INDICATOR_ID, SEX], sort=False)}


def check_against_specs(data: IndicatorData, specs: Sequence[IndicatorSpec]) -> list[Problem]:
    """Problems that need the specs: missing series, impossible counts for the value type."""
    problems: list[Problem] = []
    index = series_index(data.frame, {spec.data_key for spec in specs})
    for spec in specs:
        same = index.get((spec.data_key, spec.sex))
        rows = same[same[AGE] == spec.age] if same is not None else data.frame.iloc[:0]
        if rows.empty:
            problems.append(_missing_series(data, spec))
            continue
        problems += _value_type_problems(data.path, spec, rows)
    return problems


def _missing_series(data: IndicatorData, spec: IndicatorSpec) -> Problem:
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


def _value_type_problems(path: str, spec: IndicatorSpec, rows: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    needs_denominator = spec.value_type in ("proportion", "crude_rate", "isr")
    if needs_denominator:
        zero = rows[(rows[DENOMINATOR] == 0) & rows[COUNT].notna()]
        problems += [
            Problem(
                where,
                "Denominator",
                f"is 0 for {spec.id}; a {spec.value_type.replace('_', ' ')} needs a positive denominator "
                "(leave it blank if unknown)",
            )
            for where in _where(path, zero)
        ]
    if spec.value_type == "proportion":
        over = rows[rows[COUNT] > rows[DENOMINATOR]]
        problems += [
            Problem(
                where,
                "Count",
                f"{_fmt(c)} is greater than the denominator {_fmt(d)}; "
                f"{spec.id} is a proportion, so the count cannot exceed it",
            )
            for where, c, d in zip(_where(path, over), over[COUNT], over[DENOMINATOR], strict=True)
        ]
        problems += _proportion_range_problems(path, spec, rows)
    return problems


def _proportion_range_problems(path: str, spec: IndicatorSpec, rows: pd.DataFrame) -> list[Problem]:
    """A proportion's value and limits lie in 0..multiplier (0..100 for a percentage)."""
    problems: list[Problem] = []
    top = float(spec.multiplier)
    for column in (VALUE, *_LIMIT_COLUMNS):
        wrong = (rows[column] < 0) | (rows[column] > top)
        if not wrong.any():  # the usual case: no rows to select
            continue
        outside = rows[wrong]
        problems += [
            Problem(
                where,
                DISPLAY_NAME[column],
                f"{_fmt(number)} is outside 0..{_fmt(top)}; {spec.id} is a proportion with multiplier "
                f"{_fmt(top)}, so check the number or the spec's multiplier",
            )
            for where, number in zip(_where(path, outside), outside[column], strict=True)
        ]
    return problems
