"""Writing output files safely: inside the output folder, atomically, never leaving temporary files.

A file is written through a temporary file ``.reportgen-<name>.<pid>.<random>.tmp`` in the same
folder, then renamed. The temporary file can be created before slow work starts
(:func:`reserve`), which also proves the folder is writable. Temporary files of processes that
no longer run (a build killed with SIGKILL) are removed the next time the same output is written.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import OutputError

TEMP_PREFIX = ".reportgen-"
TEMP_SUFFIX = ".tmp"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def check_inside(path: Path, root: Path) -> Path:
    """``path`` resolved, after checking it lies inside ``root`` (resolved); else :class:`OutputError`."""
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise OutputError(
            f"Refusing to write {path}: it is outside the output folder {root}. "
            "Output names come from area codes and the edition; check them."
        )
    return resolved


def check_folder(folder: Path) -> Path:
    """Check, without creating anything, that ``folder`` exists or can be created, and can be written.

    Run before slow work so that a bad ``--out`` fails at once.
    """
    existing = folder
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == folder else f"cannot be created: {existing} is a file"
        raise OutputError(f"Output folder {folder} {where}; give a folder with --out.")
    if not existing.exists():
        raise OutputError(f"Output folder {folder} cannot be created: {existing} is a broken link.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write to the output folder {folder}: permission denied. Choose another --out.")
    return folder


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) and check it can be written, before any slow work starts."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"Output folder {folder} is a file; give a folder with --out.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(folder, exc, "create the folder") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write to the output folder {folder}: permission denied. Choose another --out.")
    return folder


def _write_error(path: Path, exc: OSError, doing: str = "write") -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"The disk is full: could not write {path}. Free some space and try again.")
    if exc.errno == errno.EDQUOT:
        return OutputError(f"Disk quota exceeded: could not write {path}. Free some space and try again.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"Cannot {doing} {path}: permission denied. Choose another output location.")
    if exc.errno == errno.ENOTDIR:
        return OutputError(f"Cannot {doing} {path}: part of the path is a file, not a folder.")
    reason = exc.strerror or str(exc)
    return OutputError(f"Cannot {doing} {path}: {reason}.")


def _temp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{TEMP_PREFIX}{name}.") + r"(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files for ``path`` left by processes that are no longer running."""
    pattern = _temp_pattern(path.name)
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not _process_alive(int(match.group(1))) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _write_all(fd: int, payload: bytes) -> None:
    """Write and flush ``payload`` to disk, closing ``fd``."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class Reservation:
    """An output file being written: its final path and the open temporary file."""

    path: Path
    temp: Path
    fd: int

    def commit(self, payload: bytes) -> Path:
        """Write ``payload`` and rename the temporary file to the final path."""
        try:
            fd, self.fd = self.fd, -1
            _write_all(fd, payload)
            os.chmod(self.temp, 0o644)
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None
        except BaseException:
            self.discard()
            raise
        return self.path

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Close and remove the temporary file (safe to call more than once; nothing after a commit)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.temp.unlink(missing_ok=True)


def reserve(path: Path, root: Path | None = None) -> Reservation:
    """Check ``path`` (inside ``root`` if given), create its folder and its temporary file.

    Raises :class:`OutputError` with a clear message when the file cannot be written.
    """
    if root is not None:
        check_inside(path, root)
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: a folder of that name exists.")
    ensure_folder(path.parent)
    remove_stale_temps(path)
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as exc:
        raise _write_error(path, exc) from None
    return Reservation(path, Path(temp), fd)


def write_atomic(path: Path, payload: bytes, root: Path | None = None) -> Path:
    """Write ``payload`` to ``path`` through a temporary file in the same folder and a rename."""
    return reserve(path, root).commit(payload)


#: ONS area codes (E06000001, W06000001, ...): the only area text that may become part of a file name.
ONS_CODE_PATTERN = re.compile(r"[EWSN]\d{8}")
#: Edition labels: a short slug, so an edition can never name another folder.
EDITION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def is_ons_code(code: str) -> bool:
    """Whether ``code`` is an ONS area code: E, W, S or N and eight digits."""
    return isinstance(code, str) and ONS_CODE_PATTERN.fullmatch(code) is not None


def edition_problem(label: str) -> str | None:
    """Why ``label`` cannot be an edition label, or ``None`` when it can."""
    if EDITION_PATTERN.fullmatch(label) is None or label in (".", ".."):
        return (
            f"{label!r} is not a valid edition label; use up to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 2024 or 2024-refresh)"
        )
    return None


#: Spreadsheet headers and descriptions of the benchmark columns (wording from the README's table).
COLUMN_GUIDE: dict[str, tuple[str, str]] = {
    "indicator_id": ("Indicator", "Spec id of the indicator"),
    "fingertips_id": ("Fingertips ID", "Fingertips indicator id (blank for local indicators)"),
    "area_code": ("Area code", "ONS area code"),
    "area_name": ("Area name", "Official name of the area (the geography's name where the code is known)"),
    "area_type": ("Area type", "England, Region, UTLA or Other"),
    "region_code": ("Region code", "The authority's region, from the file's Parent Code, else the geography"),
    "region_name": ("Region", "Name of the authority's region"),
    "period": ("Period", "Time period, as in the data"),
    "sex": ("Sex", "As in the data"),
    "age": ("Age", "As in the data"),
    "count": ("Count", "As in the data (or computed from age bands)"),
    "denominator": ("Denominator", "As in the data (or computed from age bands)"),
    "value": ("Value", "The indicator value, rounded to the indicator's decimal places"),
    "lower_ci_95": ("Lower 95% limit", "Lower 95% confidence limit"),
    "upper_ci_95": ("Upper 95% limit", "Upper 95% confidence limit"),
    "lower_ci_99_8": ("Lower 99.8% limit", "Lower 99.8% confidence limit"),
    "upper_ci_99_8": ("Upper 99.8% limit", "Upper 99.8% confidence limit"),
    "ci_method": ("Confidence interval method", "How the confidence limits were obtained"),
    "ci_source": ("Limits from", "data (supplied with the data), computed, or none"),
    "england_value": ("England value", "England's value for the same indicator and period"),
    "compared_to_england": ("Compared with England", "The comparison with England's value"),
    "region_value": ("Region value", "The region's value (authorities only)"),
    "compared_to_region": ("Compared with region", "The comparison with the region's value (authorities only)"),
    "recent_trend": ("Recent trend", "Fingertips' recent trend over the five points ending at this period"),
    "rank_in_england": (
        "Rank in England",
        "Rank among authorities with a value, 1 = best (highest where no judgement)",
    ),
    "n_in_england": ("Authorities ranked in England", "Number of authorities with a value"),
    "rank_in_region": ("Rank in region", "Rank among the region's authorities with a value, 1 = best"),
    "n_in_region": ("Authorities ranked in region", "Number of the region's authorities with a value"),
    "value_note": ("Value note", "The data's value note"),
    "spine_min": ("England lowest", "Lowest value among authorities (spine chart)"),
    "spine_p25": ("England 25th percentile", "25th percentile among authorities (spine chart)"),
    "spine_median": ("England median", "Median among authorities (spine chart)"),
    "spine_p75": ("England 75th percentile", "75th percentile among authorities (spine chart)"),
    "spine_max": ("England highest", "Highest value among authorities (spine chart)"),
    "spine_n": ("Authorities in spine", "Number of authorities in the spine statistics"),
    "spine_shown": ("Spine shown", "Whether the spine chart is shown (enough authorities have values)"),
    "spine_note": ("Spine note", "Why the spine chart is not shown, if it is not"),
    "coverage": ("Coverage", "England when the file has every authority for the indicator and period, else which part"),
    "rank_scope": ("Ranked among", "in England, or in this file when the data cover only part of England"),
    "comparator_name": ("Comparator group", "Name of the comparator group (only with --comparator)"),
    "comparator_value": ("Comparator value", "The group's value (only with --comparator)"),
    "compared_to_comparator": ("Compared with comparator", "The comparison with the group's value"),
}
#: Columns on the indicator's scale: rounded to the spec's decimal places in the spreadsheet.
ROUNDED_COLUMNS = (
    "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "england_value", "region_value",
    "comparator_value", "spine_min", "spine_p25", "spine_median", "spine_p75", "spine_max",
)  # fmt: skip
SHEET_NAME = "Benchmark"


def column_header(column: str) -> str:
    """The readable spreadsheet header of a benchmark column."""
    return COLUMN_GUIDE.get(column, (column.replace("_", " ").capitalize(), ""))[0]


def _cell_value(value: object, places: int | None) -> object:
    """A spreadsheet cell value: blanks for missing, plain numbers, neutralised text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and places is not None:
        return round(value, places)
    if isinstance(value, str):
        value = _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return neutralise_text(value)


# Control characters XML 1.0 (so XLSX) cannot hold: shown escaped (\x1b) instead of failing the write.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def workbook_bytes(table, decimals: dict[str, int]) -> bytes:
    """The benchmark table as a readable XLSX workbook, plus a "Columns" sheet describing each column."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_NAME
    columns = list(table.columns)
    sheet.append([column_header(c) for c in columns])
    places_of = [decimals if c in ROUNDED_COLUMNS else None for c in columns]
    ids = table["indicator_id"].tolist() if "indicator_id" in table else [None] * len(table)
    for spec_id, row in zip(ids, table.itertuples(index=False, name=None), strict=True):
        cells = [_cell_value(v, p.get(spec_id) if p is not None else None) for v, p in zip(row, places_of, strict=True)]
        sheet.append(cells)
    _format_sheet(sheet, columns, ids, decimals)
    _columns_sheet(book, columns)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _format_sheet(sheet, columns: list[str], ids: list, decimals: dict[str, int]) -> None:
    """Text cells as strings, numbers shown to the spec's decimals, frozen bold header, filter, widths."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(columns, start=1):
        width = len(column_header(column))
        for row_number, cell in enumerate(sheet.iter_rows(min_row=2, min_col=index, max_col=index), start=0):
            cell = cell[0]
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif column in ROUNDED_COLUMNS and ids[row_number] in decimals:
                places = decimals[ids[row_number]]
                cell.number_format = "0" if places == 0 else "0." + "0" * places
            width = max(width, len(str(cell.value)) if cell.value is not None else 0)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 50)


def _columns_sheet(book, columns: list[str]) -> None:
    from openpyxl.styles import Alignment, Font

    guide = book.create_sheet("Columns")
    guide.append(["Column", "Name in CSV and JSON", "Meaning"])
    for column in columns:
        header, meaning = COLUMN_GUIDE.get(column, (column_header(column), ""))
        guide.append([header, column, meaning])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    guide.freeze_panes = "A2"
    for letter, width in (("A", 32), ("B", 26), ("C", 90)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
