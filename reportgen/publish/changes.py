"""What has changed since the previous edition: comparisons, trends, indicators, definitions, periods.

Each edition folder keeps its benchmark table (``benchmark.csv``) and a digest of its specs
(``specs.json``). Comparing two editions' files gives, per authority and indicator, the rows of
``changes.csv`` and of each profile's "What has changed" section.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd

from reportgen.core.changekinds import CHANGE_WHAT
from reportgen.core.errors import InputFileError, ReportgenError, printable
from reportgen.core.files import edition_problem, neutralise_text
from reportgen.core.periods import period_sort_key
from reportgen.core.readers import open_regular
from reportgen.core.specs import IndicatorSpec
from reportgen.publish.manifest import SPECS_FILE as SPECS_FILE
from reportgen.publish.manifest import read_run_record, read_specs_digest

BENCHMARK_FILE = "benchmark.csv"
#: Size limit of an earlier edition's benchmark.csv (a national edition of 27 indicators is about 9 MB).
MAX_BENCHMARK_BYTES = 256 * 1024 * 1024
#: Spec keys whose change revises an indicator's definition.
DEFINITION_KEYS = (
    "fingertips_id", "name", "definition", "unit", "value_type", "multiplier", "polarity", "comparison", "sex", "age",
)  # fmt: skip
#: Keys that define an indicator only when set (the series a figure is derived from, an ELS source):
#: left out of the digest when empty, so the digests of earlier editions' other specs stay the same.
OPTIONAL_DEFINITION_KEYS = ("derive", "els")
NEEDED_COLUMNS = (
    "indicator_id",
    "area_code",
    "area_name",
    "area_type",
    "period",
    "compared_to_england",
    "recent_trend",
)
#: Read when present: the values of the latest periods (every benchmark.csv reportgen writes has them).
OPTIONAL_COLUMNS = ("value",)
LOCAL_TYPES = ("UTLA", "Other")
CHANGES_COLUMNS = (
    "area_code", "area_name", "indicator_id", "indicator", "what", "before", "after",
    "before_value", "before_period", "after_value", "after_period",
)  # fmt: skip
#: The columns a changes.csv must have to be read back (the value columns came later; empty when absent).
REQUIRED_CHANGES_COLUMNS = CHANGES_COLUMNS[:7]


@dataclass(frozen=True)
class Change:
    """One line of changes.csv: what changed, and the latest value and period of each edition
    (values rounded to the indicator's decimals, without unit; empty for a change of definition)."""

    area_code: str
    area_name: str
    indicator_id: str
    indicator: str
    what: str
    before: str
    after: str
    before_value: str = ""
    before_period: str = ""
    after_value: str = ""
    after_period: str = ""


def csv_bytes(header: tuple[str, ...] | list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """CSV (RFC 4180: CRLF line ends, so cells holding CR or LF are quoted) with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    # Every cell is written as text (None as empty), so a number such as -2.0 is guarded too.
    writer.writerows([neutralise_text("" if cell is None else str(cell)) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


class SpecDigest(TypedDict):
    """What specs.json keeps of one indicator: its name, the keys that define it and their SHA-256."""

    name: str
    keys: dict[str, Any]
    sha256: str


def specs_digest(specs: list[IndicatorSpec]) -> dict[str, SpecDigest]:
    """Per indicator: its name and the SHA-256 of the keys that define it (kept as specs.json)."""
    digest: dict[str, SpecDigest] = {}
    for spec in sorted(specs, key=lambda s: s.id):
        keys = {k: getattr(spec, k) for k in DEFINITION_KEYS}
        keys.update({k: str(getattr(spec, k)) for k in OPTIONAL_DEFINITION_KEYS if getattr(spec, k) is not None})
        payload = json.dumps(keys, sort_keys=True, default=str).encode("utf-8")
        digest[spec.id] = {"name": spec.short_name, "keys": keys, "sha256": hashlib.sha256(payload).hexdigest()}
    return digest


def specs_json_bytes(specs: list[IndicatorSpec]) -> bytes:
    return (json.dumps(specs_digest(specs), indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def edition_sort_key(name: str) -> tuple:
    """Natural order of edition labels: 2023 < 2024 < 2024-revised < 2025."""
    return tuple(
        (0, int(part), "") if part.isascii() and part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def find_previous(out_dir: Path, edition: str, explicit: Path | None) -> Path | None:
    """The previous edition's folder: ``explicit``, else the latest earlier folder with a benchmark table.

    Only folders (not links) named as edition labels count, and their ``benchmark.csv`` must be a
    regular file (not a link, FIFO or folder).
    """
    if explicit is not None:
        if not _is_regular(explicit / BENCHMARK_FILE):
            raise ReportgenError(
                f"--previous {explicit}: no {BENCHMARK_FILE} there (or it is not a regular file). Give an edition "
                "folder written by 'reportgen build --all' (for example output/2023)."
            )
        return explicit
    if not out_dir.is_dir():
        return None
    earlier = [
        d for d in out_dir.iterdir()
        if d.name != edition and edition_problem(d.name) is None and _is_folder(d)
        and _is_regular(d / BENCHMARK_FILE) and edition_sort_key(d.name) < edition_sort_key(edition)
    ]  # fmt: skip
    return max(earlier, key=lambda d: edition_sort_key(d.name)) if earlier else None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def read_benchmark_csv(source: Path | bytes, label: str) -> pd.DataFrame:
    """An edition's benchmark table as text (the columns the comparison needs), checked for those columns.

    A path is read only if it is a regular file (not a link or FIFO) of at most ``MAX_BENCHMARK_BYTES``.
    """
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else open_regular(source, MAX_BENCHMARK_BYTES)
    except InputFileError as exc:
        raise ReportgenError(f"{exc.message.rstrip('.')}; {_PREVIOUS_ADVICE}") from None
    if handle is None:
        raise ReportgenError(f"{label}: missing; {_PREVIOUS_ADVICE}")
    try:
        with handle:
            frame = pd.read_csv(
                handle,
                dtype=str,
                keep_default_na=False,
                encoding="utf-8",
                usecols=lambda c: c in NEEDED_COLUMNS or c in OPTIONAL_COLUMNS,
            )
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReportgenError(f"{label}: not a readable benchmark table ({_one_line(exc)}).") from None
    missing = [c for c in NEEDED_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportgenError(
            f"{label}: missing column(s) {', '.join(missing)}; it must be a benchmark.csv written by reportgen build."
        )
    return frame


_PREVIOUS_ADVICE = "repair the earlier edition, or choose another with --previous."


def _one_line(exc: Exception) -> str:
    text = printable(str(exc))
    return text if len(text) <= 200 else text[:197] + "..."


def read_previous_specs(folder: Path) -> dict[str, dict[str, Any]]:
    """The previous edition's specs digest (empty when it has no specs.json); unusable is a one-line error."""
    try:
        return read_specs_digest(folder)
    except InputFileError as exc:
        raise ReportgenError(f"{exc.message.rstrip('.')}; {_PREVIOUS_ADVICE}") from None


def previous_label(folder: Path) -> str:
    """The previous edition's label: the ``edition`` of its run.json, else its folder name; a valid edition slug.

    A label that is not an edition label (say ``<script>`` and 20,000 more characters) never reaches a
    profile: it is a one-line error.
    """
    try:
        record = read_run_record(folder)
    except InputFileError as exc:
        raise ReportgenError(f"{exc.message.rstrip('.')}; {_PREVIOUS_ADVICE}") from None
    if record is not None:
        return record.edition
    if edition_problem(folder.name) is not None:
        raise ReportgenError(
            f"--previous {folder}: it has no run.json and its folder name is not an edition label, so the profiles "
            "cannot name it; give the folder an edition name (such as 2023) or add the run.json written with it."
        )
    return folder.name


def latest_rows(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, str]]:
    """Each authority's row of each indicator's latest period, keyed by (area code, indicator id)."""
    local = frame[frame["area_type"].isin(LOCAL_TYPES)]
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for row in local.to_dict(orient="records"):
        key = (row["area_code"], row["indicator_id"])
        old = latest.get(key)
        if old is None or period_sort_key(row["period"]) > period_sort_key(old["period"]):
            latest[key] = row
    return latest


def compare_editions(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    previous_specs: Mapping[str, Mapping[str, Any]],
    specs: list[IndicatorSpec],
) -> list[Change]:
    """Every change between two editions, per authority and indicator, sorted."""
    before, after = latest_rows(previous), latest_rows(current)
    now_specs = specs_digest(specs)
    decimals = {s.id: s.decimals for s in specs}
    areas = {code: row["area_name"] for (code, _), row in after.items()}
    changes = []
    for (code, indicator), row in sorted(after.items()):
        old = before.get((code, indicator))
        if old is not None:
            name = now_specs[indicator]["name"] if indicator in now_specs else indicator
            changes += _row_changes(code, row, old, name, decimals.get(indicator))
    changes += _spec_changes(areas, previous_specs, now_specs)
    return sorted(changes, key=lambda c: (c.area_code, c.indicator_id, c.what))


def _row_changes(code: str, row: dict, old: dict, name: str, decimals: int | None) -> list[Change]:
    """A new period, comparison or trend of one authority's indicator, or, for the same period with the
    same comparison, a revised value; each with both editions' latest values and periods."""
    found = []
    pairs = (
        (CHANGE_WHAT["period"], "period"),
        (CHANGE_WHAT["comparison"], "compared_to_england"),
        (CHANGE_WHAT["trend"], "recent_trend"),
    )
    before_value, after_value = _rounded(old.get("value", ""), decimals), _rounded(row.get("value", ""), decimals)
    values = (before_value, old["period"], after_value, row["period"])
    for what, column in pairs:
        if old[column] != row[column] and (old[column] or row[column]):
            found.append(
                Change(code, row["area_name"], row["indicator_id"], name, what, old[column], row[column], *values)
            )
    unchanged = old["period"] == row["period"] and old["compared_to_england"] == row["compared_to_england"]
    if unchanged and before_value != after_value:
        revised = (CHANGE_WHAT["revised"], before_value, after_value, *values)
        found.append(Change(code, row["area_name"], row["indicator_id"], name, *revised))
    return found


def _rounded(text: str, decimals: int | None) -> str:
    """A benchmark.csv value rounded to the indicator's decimals ('' when missing; as it is if not a number)."""
    if not text:
        return ""
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number:
        return ""
    return f"{number:.{decimals}f}" if decimals is not None else f"{number:g}"


def _spec_changes(
    areas: dict[str, str], previous_specs: Mapping[str, Mapping[str, Any]], now_specs: Mapping[str, SpecDigest]
) -> list[Change]:
    if not previous_specs:
        return []
    per_indicator = []
    for ind in sorted(set(now_specs) - set(previous_specs)):
        per_indicator.append((ind, now_specs[ind]["name"], CHANGE_WHAT["added"], "", "New in this edition"))
    for ind in sorted(set(previous_specs) - set(now_specs)):
        name = str(previous_specs[ind].get("name", ind))
        per_indicator.append((ind, name, CHANGE_WHAT["retired"], "In the previous edition", "No longer included"))
    for ind in sorted(set(now_specs) & set(previous_specs)):
        if previous_specs[ind].get("sha256") != now_specs[ind]["sha256"]:
            old_keys = previous_specs[ind].get("keys", {})
            now_keys = now_specs[ind]["keys"]
            revised = [
                k
                for k in (*DEFINITION_KEYS, *OPTIONAL_DEFINITION_KEYS)
                if (k in old_keys or k in now_keys) and str(old_keys.get(k)) != str(now_keys.get(k))
            ]
            after = "Revised: " + ", ".join(k.replace("_", " ") for k in revised) if revised else "Revised"
            per_indicator.append((ind, now_specs[ind]["name"], CHANGE_WHAT["definition"], "", after))
    return [Change(code, name, *item) for code, name in sorted(areas.items()) for item in per_indicator]


def changes_csv(changes: list[Change]) -> bytes:
    """changes.csv: one row per change, every text cell neutralised against formula injection."""
    return csv_bytes(CHANGES_COLUMNS, ([getattr(c, k) for k in CHANGES_COLUMNS] for c in changes))


#: The keys of each change passed to an area's build (its "What has changed" section).
AREA_CHANGE_KEYS = (
    "indicator_id", "indicator", "what", "before", "after",
    "before_value", "before_period", "after_value", "after_period",
)  # fmt: skip


def changes_by_area(
    changes: list[Change], previous_edition: str | None, area_codes: Iterable[str]
) -> dict[str, dict[str, Any] | None]:
    """The value passed to each area's build: ``{"previous_edition", "rows"}``, or None for a first edition."""
    if previous_edition is None:
        return {code: None for code in area_codes}
    grouped: dict[str, list[dict[str, str]]] = {code: [] for code in area_codes}
    for c in changes:
        if c.area_code in grouped:
            grouped[c.area_code].append({k: getattr(c, k) for k in AREA_CHANGE_KEYS})
    return {code: {"previous_edition": previous_edition, "rows": rows} for code, rows in grouped.items()}


def earlier_editions(out_dir: Path, edition: str) -> list[str]:
    """The names of the edition folders in ``out_dir`` earlier than ``edition``, oldest first (with or
    without a benchmark table)."""
    if not _is_folder(out_dir):
        return []
    names = [
        d.name for d in out_dir.iterdir()
        if d.name != edition and edition_problem(d.name) is None and _is_folder(d)
        and edition_sort_key(d.name) < edition_sort_key(edition)
    ]  # fmt: skip
    return sorted(names, key=edition_sort_key)


def no_earlier_edition(out_dir: Path, edition: str) -> dict[str, Any]:
    """What a profile says when no earlier edition with a benchmark table is in its output folder: the
    edition it was looked for beside and the latest earlier edition folder without a benchmark table,
    if any. The folder's name or path is not printed, so a profile's bytes do not depend on where it
    is written (and no local path is published)."""
    earlier = earlier_editions(out_dir, edition)
    latest = earlier[-1] if earlier else ""
    return {"previous_edition": None, "edition": edition, "earlier_without_table": latest, "rows": []}
