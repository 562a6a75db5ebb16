"""``reportgen fetch``: the specs' series from the Fingertips API into one snapshot CSV and a manifest.

One HTTP session with connect and read timeouts, bounded retries (exponential backoff with jitter on
connection errors, 429 honouring ``Retry-After``, and 5xx), TLS always verified, a User-Agent naming
reportgen, and an HTTP cache (requests-cache, SQLite in the cache folder) that revalidates with
ETag/Last-Modified so an unchanged rerun downloads nothing. Every response is checked before anything
is written; the snapshot, its metadata and manifest are written atomically only when all succeeded.
Each checked batch is also kept as a part file in the cache folder until the fetch completes, so a
rerun after a failure resumes where it stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import random
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode

import requests
import requests_cache

from .. import __version__
from ..errors import ReportgenError
from ..output import check_folder, write_atomic
from ..periods import period_sort_key
from ..specs import IndicatorSpec

DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api"
DEFAULT_AREA_TYPE = 502
REGION_AREA_TYPE = 6
BATCH_SIZE = 100
USER_AGENT = f"reportgen/{__version__} (+README)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300.0
_CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel")
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class FetchError(ReportgenError):
    """Downloading from the Fingertips API failed; nothing was written."""


@dataclass(frozen=True)
class FetchOptions:
    """Where to fetch from and how patiently."""

    base_url: str = DEFAULT_BASE_URL
    area_type: int = DEFAULT_AREA_TYPE
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    attempts: int = 5
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[str], None] = lambda message: None
    advance: Callable[[int, int], None] = lambda done, total: None


@dataclass(frozen=True)
class Download:
    """One checked response."""

    url: str
    text: str
    from_cache: bool
    header: list[str]
    rows: list[list[str]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` wrote."""

    csv_path: Path
    metadata_path: Path
    manifest_path: Path
    rows: int
    downloaded: int
    from_cache: int
    warnings: tuple[str, ...]


def default_cache_dir() -> Path:
    """The user's cache folder for reportgen (``$XDG_CACHE_HOME/reportgen`` or ``~/.cache/reportgen``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reportgen"


def needed_ids(specs: Sequence[IndicatorSpec]) -> list[int]:
    """Every Fingertips id the specs need: published series and the sources of derived ones."""
    ids = {s.fingertips_id for s in specs if s.fingertips_id is not None}
    ids |= {s.derive.source_id for s in specs if s.derive is not None}
    return sorted(ids)


def ids_by_area_type(specs: Sequence[IndicatorSpec], default: int) -> dict[int, list[int]]:
    """The ids to fetch for each area type: a spec's ``fingertips_area_type``, else ``default``."""
    groups: dict[int, set[int]] = {}
    for spec in specs:
        ids = needed_ids([spec])
        if ids:
            groups.setdefault(spec.fingertips_area_type or default, set()).update(ids)
    return {area_type: sorted(ids) for area_type, ids in sorted(groups.items(), reverse=True)}


def batches(ids: Sequence[int], size: int = BATCH_SIZE) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def data_url(base_url: str, ids: Sequence[int], area_type: int) -> str:
    query = urlencode(
        {
            "indicator_ids": ",".join(str(i) for i in ids),
            "child_area_type_id": area_type,
            "parent_area_type_id": REGION_AREA_TYPE,
            "include_sortable_time_periods": "yes",
        },
        safe=",",
    )
    return f"{base_url.rstrip('/')}/all_data/csv/by_indicator_id?{query}"


def metadata_url(base_url: str, ids: Sequence[int]) -> str:
    query = urlencode({"indicator_ids": ",".join(str(i) for i in ids)}, safe=",")
    return f"{base_url.rstrip('/')}/indicator_metadata/csv/by_indicator_id?{query}"


def make_session(cache_dir: Path) -> requests.Session:
    """A cached session: stored responses are revalidated (ETag/Last-Modified) before each use."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "it is not a folder" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        raise FetchError(f"--cache-dir {cache_dir} cannot be used as a folder ({reason}); give a folder.") from None
    session = requests_cache.CachedSession(
        str(cache_dir / "http_cache"),
        backend="sqlite",
        expire_after=requests_cache.EXPIRE_IMMEDIATELY,
        allowable_codes=(200,),
        stale_if_error=False,
    )
    session.headers["User-Agent"] = USER_AGENT
    session.verify = True
    session.hooks["response"].append(_capped_body)
    return session


MAX_RESPONSE_BYTES = 500_000_000  # decompressed; a 100-indicator batch of real data is far smaller


def _capped_body(response: requests.Response, *args, **kwargs) -> requests.Response:
    """Read the body (decompressed) before anything else does, refusing it past the cap (a "zip bomb")."""
    if response._content_consumed:  # noqa: SLF001 (a cached response, already read and bounded)
        return response
    chunks, size = [], 0
    for chunk in response.iter_content(1 << 20):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            response.close()
            raise FetchError(
                f"{response.url}: the response is over {MAX_RESPONSE_BYTES // 1_000_000:,} MB once decompressed; "
                "refused. Check --base-url points at the Fingertips API."
            )
        chunks.append(chunk)
    response._content = b"".join(chunks)  # noqa: SLF001 (requests' own cache of the body)
    return response


# --- one request, retried ------------------------------------------------------------------------


def _delay(attempt: int, options: FetchOptions, response: requests.Response | None) -> float:
    if response is not None and response.status_code == 429:
        after = _retry_after(response.headers.get("Retry-After"))
        if after is not None:
            return min(after, MAX_RETRY_AFTER)
    return options.backoff * 2**attempt + random.uniform(0, options.backoff)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def get_text(session: requests.Session, url: str, options: FetchOptions) -> tuple[str, bool]:
    """GET ``url`` with retries; returns the body text and whether it came from the cache."""
    last = ""
    for attempt in range(options.attempts):
        response = None
        try:
            response = session.get(url, timeout=(options.connect_timeout, options.read_timeout))
            if response.status_code not in RETRY_STATUSES:
                return _accept(url, response), bool(getattr(response, "from_cache", False))
            last = f"HTTP {response.status_code} {response.reason or ''}".strip()
        except requests.exceptions.SSLError as exc:
            raise FetchError(f"{url}: TLS certificate check failed ({exc}); check the address or your network") from exc
        except _TRANSIENT as exc:
            last = _describe(exc)
        if attempt + 1 < options.attempts:
            wait = _delay(attempt, options, response)
            options.progress(f"{last}; retrying in {wait:.1f} s ({attempt + 2} of {options.attempts})")
            options.sleep(wait)
    raise FetchError(
        f"{url}: failed after {options.attempts} attempts ({last}). "
        "The Fingertips API may be busy or unreachable: try again later, or check --base-url and your network."
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "connection broken mid-download (truncated body)"
    return "connection failed"


def _accept(url: str, response: requests.Response) -> str:
    """Check status and content type; return the body as text."""
    if response.status_code != 200:
        raise FetchError(
            f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip()
            + ". Check the indicator ids and --base-url (the Fingertips API address ends in /api)."
        )
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    body = response.content
    if kind == "text/html" or body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise FetchError(
            f"{url}: returned an HTML page, not CSV (an error or maintenance page). "
            "Try again later, or check --base-url points at the Fingertips API."
        )
    if kind and kind not in _CSV_TYPES and "csv" not in kind:
        raise FetchError(f"{url}: returned {kind}, not CSV; check --base-url points at the Fingertips API.")
    if not body.strip():
        raise FetchError(f"{url}: returned an empty body; try again later.")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FetchError(f"{url}: the response is not UTF-8 text ({exc.reason}); try again later.") from exc


# --- checking a CSV body -------------------------------------------------------------------------


def parse_checked(url: str, text: str, first_column: str = "Indicator ID") -> tuple[list[str], list[list[str]]]:
    """Header and rows of a Fingertips CSV body, refusing a wrong header or incomplete rows.

    Fingertips drops the last, empty field of many rows, so a row may have one field fewer than the
    header; a last row shorter than the others means the download was cut off.
    """
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise FetchError(f"{url}: the CSV is malformed ({exc}); the download may be truncated, try again.") from exc
    records = [r for r in records if any(cell.strip() for cell in r)]
    header = records[0] if records else []
    if not header or header[0].strip() != first_column:
        shown = ",".join(header[:4])[:80]
        raise FetchError(
            f"{url}: the first line is not a Fingertips CSV header (expected '{first_column}', found '{shown}'). "
            "Check --base-url points at the Fingertips API."
        )
    rows = records[1:]
    if rows and len(rows[-1]) < min(len(header) - 1, max(len(r) for r in rows)):
        raise FetchError(f"{url}: the download is truncated (the last row is incomplete); try again.")
    for number, row in enumerate(rows, start=2):
        if not len(header) - 1 <= len(row) <= len(header):
            raise FetchError(
                f"{url}: row {number} has {len(row)} fields but the header has {len(header)}; "
                "the download is incomplete or damaged, try again."
            )
    if len(rows) > 1 and len(rows[-1]) < max(len(r) for r in rows[:-1]):
        raise FetchError(f"{url}: the download is truncated (the last row is incomplete); try again.")
    return header, rows


def _missing(url: str, ids: Sequence[int], rows: list[list[str]], where: str) -> None:
    present = {row[0].strip() for row in rows}
    absent = [str(i) for i in ids if str(i) not in present]
    if absent:
        raise FetchError(
            f"{url}: no rows for indicator(s) {', '.join(absent)}{where}; check the spec's fingertips_id "
            "(or derive.from) and --area-type (older indicators are published for area type 102 only)."
        )


# --- the whole fetch -----------------------------------------------------------------------------


def _part_path(cache_dir: Path, url: str) -> Path:
    return cache_dir / "parts" / (hashlib.sha256(url.encode("utf-8")).hexdigest()[:32] + ".csv")


def _download(
    session: requests.Session, url: str, ids: Sequence[int], options: FetchOptions, area_type: int | None
) -> Download:
    where = f" for area type {area_type}" if area_type else " in the metadata"
    part = _part_path(options.cache_dir, url)
    if part.is_file():
        try:
            text = part.read_text(encoding="utf-8")
            header, rows = parse_checked(url, text)
            _missing(url, ids, rows, where)
            return Download(url, text, True, header, rows)
        except (FetchError, UnicodeDecodeError):
            part.unlink(missing_ok=True)  # a damaged part file: download again
    text, from_cache = get_text(session, url, options)
    header, rows = parse_checked(url, text)
    _missing(url, ids, rows, where)
    write_atomic(part, text.encode("utf-8"))
    return Download(url, text, from_cache, header, rows)


def fetch(specs: Sequence[IndicatorSpec], out: Path, options: FetchOptions) -> FetchResult:
    """Fetch every Fingertips series the specs need into ``out`` (+ metadata CSV and manifest JSON)."""
    ids = needed_ids(specs)
    if not ids:
        raise FetchError("None of the specs has a fingertips_id or derive.from, so there is nothing to fetch.")
    check_folder(out.parent)  # a bad --out fails before the slow downloads
    session = make_session(options.cache_dir)
    requests_ = [
        (data_url(options.base_url, group, area_type), group, area_type)
        for area_type, area_ids in ids_by_area_type(specs, options.area_type).items()
        for group in batches(area_ids)
    ]
    requests_ += [(metadata_url(options.base_url, group), group, None) for group in batches(ids)]
    items = []
    for number, (url, group, area_type) in enumerate(requests_):
        options.advance(number, len(requests_))
        items.append(_download(session, url, group, options, area_type))
    options.advance(len(requests_), len(requests_))
    downloads = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is not None]
    metadata = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is None]
    _same_headers(downloads)
    _same_headers(metadata)
    csv_text = _merge(downloads)
    metadata_text = _merge(metadata)
    result = _write_outputs(out, csv_text, metadata_text, downloads, metadata, options)
    for item in (*downloads, *metadata):
        _part_path(options.cache_dir, item.url).unlink(missing_ok=True)
    warnings = metadata_warnings(specs, read_metadata_text(metadata_text))
    return dataclasses.replace(result, warnings=tuple(warnings))


def _same_headers(downloads: Sequence[Download]) -> None:
    first = downloads[0].header
    for item in downloads[1:]:
        if item.header != first:
            raise FetchError(f"{item.url}: its columns differ from the first batch's; try again later.")


def _merge(downloads: Sequence[Download]) -> str:
    """One CSV: the first body whole, then the rows of the others (their header lines dropped)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(downloads[0].header)
    for item in downloads:
        writer.writerows(item.rows)
    return buffer.getvalue()


def _write_outputs(
    out: Path, csv_text: str, metadata_text: str, downloads, metadata, options: FetchOptions
) -> FetchResult:
    metadata_path = out.with_name(out.name + ".metadata.csv")
    manifest_path = out.with_name(out.name + ".manifest.json")
    payload = csv_text.encode("utf-8")
    manifest = {
        "tool": USER_AGENT,
        "base_url": options.base_url,
        "area_type": options.area_type,
        "retrieved_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "requests": [
            {"url": d.url, "sha256": d.sha256, "rows": len(d.rows), "from_cache": d.from_cache}
            for d in (*downloads, *metadata)
        ],
        "file": out.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "rows_per_indicator": _rows_per_indicator(downloads),
        "latest_period_per_indicator": _latest_periods(downloads),
        "metadata_file": metadata_path.name,
        "metadata_sha256": hashlib.sha256(metadata_text.encode("utf-8")).hexdigest(),
    }
    write_atomic(metadata_path, metadata_text.encode("utf-8"))
    write_atomic(out, payload)
    write_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    rows = sum(len(d.rows) for d in downloads)
    cached = sum(d.from_cache for d in (*downloads, *metadata))
    return FetchResult(out, metadata_path, manifest_path, rows, len(downloads) + len(metadata) - cached, cached, ())


def _rows_per_indicator(downloads: Sequence[Download]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in downloads:
        for row in d.rows:
            counts[row[0]] = counts.get(row[0], 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0))


def _latest_periods(downloads: Sequence[Download]) -> dict[str, str]:
    latest: dict[str, tuple] = {}
    for d in downloads:
        column = _column(d.header, ("Time period", "Timeperiod"))
        if column is None:
            continue
        for row in d.rows:
            key = period_sort_key(row[column])
            if row[0] not in latest or key > latest[row[0]][0]:
                latest[row[0]] = (key, row[column])
    return {k: v[1] for k, v in sorted(latest.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)}


def _column(header: Sequence[str], names: Sequence[str]) -> int | None:
    wanted = {n.lower() for n in names}
    for i, name in enumerate(header):
        if name.strip().lower() in wanted:
            return i
    return None


# --- comparing specs with Fingertips' metadata ----------------------------------------------------

#: Fingertips polarity names -> ours.
POLARITY_NAMES = {
    "rag - high is good": "high_is_good",
    "rag - low is good": "low_is_good",
    "bob - blue orange blue": "no_judgement",
    "not applicable": "not_applicable",
    "no judgement": "no_judgement",
}
#: Fingertips value type names -> ours.
VALUE_TYPE_NAMES = {
    "proportion": "proportion",
    "crude rate": "crude_rate",
    "directly standardised rate": "dsr",
    "indirectly standardised ratio": "isr",
    "indirectly standardised rate": "isr",
    "life expectancy": "life_expectancy",
    "count": "count",
    "mean": "mean",
    "score": "score",
    "ratio": "ratio",
}
_REVERSED = {"high_is_good": "low_is_good", "low_is_good": "high_is_good"}
_JUDGED = ("high_is_good", "low_is_good")


MAX_METADATA_BYTES = 50_000_000


def read_metadata_text(text: str, label: str = "metadata") -> dict[str, dict[str, str]]:
    """Fingertips' indicator metadata CSV, keyed by indicator id (columns lower-cased).

    A field over the csv module's limit or a quote never closed is a :class:`FetchError` naming
    ``label`` and the line where the record starts.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    out = {}
    start = 1
    try:
        if reader.fieldnames is None:
            return out
        start = reader.reader.line_num + 1
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            if cells.get("indicator id"):
                out[cells["indicator id"]] = cells
            start = reader.reader.line_num + 1
    except csv.Error as exc:
        raise FetchError(
            f"{label}:{start}: not a readable CSV record ({exc}; perhaps a quote that is never closed); "
            "use the file written by 'reportgen fetch'."
        ) from None
    return out


def _check_metadata_file(path: Path) -> None:
    try:
        info = path.stat()
    except OSError:
        raise FetchError(
            f"Metadata file {path} does not exist. 'reportgen fetch' writes it beside the snapshot."
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise FetchError(f"Metadata file {path} is not a regular file (a folder, pipe or device); give the CSV file.")
    if info.st_size > MAX_METADATA_BYTES:
        raise FetchError(
            f"Metadata file {path} is over {MAX_METADATA_BYTES // 1_000_000} MB, too big for indicator metadata; "
            "use the file written by 'reportgen fetch'."
        )


def read_metadata_file(path: Path) -> dict[str, dict[str, str]]:
    _check_metadata_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FetchError(f"{path}: not UTF-8 text ({exc.reason}); use the file written by 'reportgen fetch'.") from exc
    if not text.lstrip().startswith("Indicator ID"):
        raise FetchError(f"{path}:1: not a Fingertips indicator metadata CSV (the first column is not 'Indicator ID').")
    return read_metadata_text(text, str(path))


def metadata_warnings(specs: Sequence[IndicatorSpec], metadata: dict[str, dict[str, str]]) -> list[str]:
    """One line per difference between a spec and Fingertips' metadata for its series."""
    lines: list[str] = []
    for spec in specs:
        if spec.fingertips_id is None and spec.derive is None:
            continue
        key = spec.source_key
        meta = metadata.get(key)
        if meta is None:
            lines.append(f"{spec.path}: Fingertips has no metadata for indicator {key}; check the id")
            continue
        lines += [f"{spec.path}: {text}" for text in _differences(spec, meta)]
    return lines


def _differences(spec: IndicatorSpec, meta: dict[str, str]) -> list[str]:
    found: list[str] = []
    derived = spec.derive is not None
    name = meta.get("indicator", "")
    if not derived and name and _similarity(name, spec.name) < 0.45:
        found.append(f"name differs from Fingertips' '{name}' for {spec.source_key}; is the fingertips_id right?")
    value_type = VALUE_TYPE_NAMES.get(meta.get("value type", "").lower())
    if value_type and value_type != spec.value_type:
        found.append(f"value_type is {spec.value_type} but Fingertips says '{meta['value type']}'")
    theirs = POLARITY_NAMES.get(meta.get("polarity", "").lower())
    expected = _REVERSED.get(theirs, theirs) if derived else theirs
    if theirs and (expected in _JUDGED or spec.polarity in _JUDGED) and expected != spec.polarity:
        what = "reversed for a complement, " if derived else ""
        found.append(
            f"polarity is {spec.polarity} but Fingertips says '{meta['polarity']}' ({what}expected {expected})"
        )
    unit = meta.get("unit", "")
    if unit and _norm_unit(unit) != _norm_unit(spec.unit):
        found.append(f"unit is '{spec.unit}' but Fingertips says '{unit}'")
    return found


def _norm_unit(unit: str) -> str:
    return unit.lower().replace(" ", "").replace(",", "")


def _similarity(a: str, b: str) -> float:
    words_a = {w for w in _words(a) if len(w) > 2}
    words_b = {w for w in _words(b) if len(w) > 2}
    if not words_a or not words_b:
        return 1.0
    return len(words_a & words_b) / min(len(words_a), len(words_b))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())
