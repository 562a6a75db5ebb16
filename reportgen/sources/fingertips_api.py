"""``reportgen fetch``: the specs' series from the Fingertips API into one snapshot CSV and a manifest.

One HTTP session with connect and read timeouts, bounded retries (urllib3's ``Retry`` on the session's
adapter: exponential backoff with jitter on connection errors, timeouts and bodies cut off, and 429
and 5xx honouring a capped ``Retry-After``), bodies read in chunks up to a size cap, TLS always
verified, a User-Agent naming reportgen, and an HTTP cache (requests-cache, SQLite in the cache
folder) that revalidates with ETag/Last-Modified so an unchanged rerun downloads nothing. Every
response is checked before anything is written; the snapshot, its metadata and manifest are written
atomically only when all succeeded. Each checked batch is also kept as a part file in the cache
folder until the fetch completes, so a rerun after a failure resumes where it stopped.
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
from typing import Any, Self
from urllib.parse import urlencode

import requests
import requests_cache
import urllib3
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import DecodeError, MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from reportgen import __version__
from reportgen.core.errors import ReportgenError
from reportgen.core.files import check_folder, write_atomic
from reportgen.core.periods import period_sort_key
from reportgen.core.specs import IndicatorSpec

DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api"
DEFAULT_AREA_TYPE = 502
REGION_AREA_TYPE = 6
BATCH_SIZE = 100
USER_AGENT = f"reportgen/{__version__} (+README)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300  # seconds: the longest wait a Retry-After (or the backoff) can ask for
_CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel")
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.RetryError,
    ChunkedEncodingError,
    ContentDecodingError,
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


def make_session(cache_dir: Path, options: FetchOptions | None = None) -> requests.Session:
    """A cached session: stored responses are revalidated (ETag/Last-Modified) before each use.

    Its adapter retries by :func:`retry_policy` (``options``, else the defaults) and reads every
    body in full, capped, before the cache or anything else sees it.
    """
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
    adapter = _CappedAdapter(max_retries=retry_policy(options or FetchOptions(cache_dir=cache_dir)))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


MAX_RESPONSE_BYTES = 500_000_000  # decompressed; a 100-indicator batch of real data is far smaller
_CHUNK_BYTES = 1 << 20


# --- retries: urllib3's Retry on the session's adapter ---------------------------------------------


def _quiet(message: str) -> None:
    """Report nothing."""


class FetchRetry(Retry):
    """urllib3's :class:`Retry`, announcing each retry and pausing with the fetch's own clock.

    urllib3 decides what is retried (connection errors, timeouts, the statuses of
    :data:`RETRY_STATUSES`; GET only), counts the attempts, honours ``Retry-After`` (capped at
    ``retry_after_max``) and gives up. Only the pause differs: after the n-th failure it is
    ``backoff_factor * 2**(n - 1)`` plus up to ``backoff_jitter`` of jitter (urllib3 would not wait
    after the first), slept by ``pause`` once ``report`` has said why.
    """

    def __init__(
        self,
        *args: Any,
        pause: Callable[[float], None] = time.sleep,
        report: Callable[[str], None] = _quiet,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pause = pause
        self.report = report

    def new(self, **kw: Any) -> Self:
        return super().new(pause=self.pause, report=self.report, **kw)

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        if failures == 0:
            return 0.0
        wait = self.backoff_factor * 2 ** (failures - 1) + random.uniform(0, self.backoff_jitter)
        return min(self.backoff_max, wait)

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        after = _retry_after(response.headers.get("Retry-After"))
        return None if after is None else min(after, self.retry_after_max)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        after = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        wait = self.get_backoff_time() if after is None else after
        attempt = len(self.history) + 1
        attempts = attempt + max(int(self.total or 0), 0)
        self.report(f"{self._failure(response)}; retrying in {wait:.1f} s ({attempt} of {attempts})")
        self.pause(wait)

    def _failure(self, response: BaseHTTPResponse | None) -> str:
        last = self.history[-1] if self.history else None
        if last is not None and last.status is not None:
            reason = response.reason if response is not None else None
            return f"HTTP {last.status} {reason or ''}".strip()
        return _describe(last.error if last is not None else None)


def retry_policy(options: FetchOptions) -> FetchRetry:
    """At most ``options.attempts`` tries of each GET, with exponential backoff and jitter."""
    return FetchRetry(
        total=max(options.attempts - 1, 0),
        other=0,  # errors other than connecting, reading or a retried status (a TLS failure) are final
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=options.backoff,
        backoff_jitter=options.backoff,
        backoff_max=MAX_RETRY_AFTER,
        respect_retry_after_header=True,
        retry_after_max=MAX_RETRY_AFTER,
        raise_on_status=False,  # the last 429/5xx response comes back and get_text reports it
        pause=options.sleep,
        report=options.progress,
    )


class _BrokenBody(ProtocolError):
    """The connection broke, or the body could not be decompressed, while the body was read."""


class _CappedAdapter(HTTPAdapter):
    """An adapter that reads each body whole (decompressed, in chunks, up to :data:`MAX_RESPONSE_BYTES`).

    The body is read here, before requests-cache or anything else reads it, so an oversized
    response (a "zip bomb") is refused without being held. A body cut off mid-download is one
    more failed attempt of the same retry policy: the next request continues its count (the
    adapter belongs to one session, used by one thread at a time).
    """

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        policy = self.max_retries
        try:
            while True:
                response = super().send(request, *args, **kwargs)
                try:
                    body = _read_capped(response.raw, str(request.url))
                except (ProtocolError, ReadTimeoutError) as exc:
                    response.close()
                    self.max_retries = _after_failed_body(response.raw.retries or self.max_retries, request, exc)
                    continue
                return self.build_response(request, _replay(response.raw, body))
        finally:
            self.max_retries = policy


def _read_capped(raw: BaseHTTPResponse, url: str) -> bytes:
    """The decompressed body, refused past :data:`MAX_RESPONSE_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in raw.stream(_CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raw.close()
                raise FetchError(
                    f"{url}: the response is over {MAX_RESPONSE_BYTES // 1_000_000:,} MB once decompressed; "
                    "refused. Check --base-url points at the Fingertips API."
                )
            chunks.append(chunk)
    except (ProtocolError, DecodeError) as exc:
        raise _BrokenBody(f"{url}: {exc}") from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    return b"".join(chunks)


def _after_failed_body(retries: Retry, request: requests.PreparedRequest, error: Exception) -> Retry:
    """The policy after a failed body: one more attempt counted (and slept for), or give up."""
    try:
        retries = retries.increment(request.method, request.url, error=error)
    except MaxRetryError as exc:
        raise requests.ConnectionError(exc, request=request) from error
    retries.sleep()
    return retries


def _replay(raw: BaseHTTPResponse, body: bytes) -> HTTPResponse:
    """A urllib3 response holding ``body`` (already decompressed) in place of the network's."""
    headers = HTTPHeaderDict(raw.headers)
    for name in ("Content-Encoding", "Transfer-Encoding"):
        headers.discard(name)
    headers["Content-Length"] = str(len(body))
    return HTTPResponse(
        body=io.BytesIO(body),
        headers=headers,
        status=raw.status,
        version=raw.version,
        reason=raw.reason,
        preload_content=False,
        decode_content=False,
        retries=raw.retries,
        request_url=raw.url,
    )


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


# --- one request ---------------------------------------------------------------------------------


def get_text(session: requests.Session, url: str, options: FetchOptions) -> tuple[str, bool]:
    """GET ``url`` (retried by the session's policy); returns the body text and whether it came from the cache."""
    try:
        response = session.get(url, timeout=(options.connect_timeout, options.read_timeout), stream=True)
    except requests.exceptions.SSLError as exc:
        raise FetchError(f"{url}: TLS certificate check failed ({exc}); check the address or your network") from exc
    except _TRANSIENT as exc:
        raise _gave_up(url, options, _describe(exc)) from exc
    if response.status_code in RETRY_STATUSES:
        raise _gave_up(url, options, f"HTTP {response.status_code} {response.reason or ''}".strip())
    return _accept(url, response), bool(getattr(response, "from_cache", False))


def _gave_up(url: str, options: FetchOptions, last: str) -> FetchError:
    return FetchError(
        f"{url}: failed after {options.attempts} attempts ({last}). "
        "The Fingertips API may be busy or unreachable: try again later, or check --base-url and your network."
    )


def _cause(error: BaseException | None) -> BaseException | None:
    """The urllib3 exception behind a requests one, and the last failure behind urllib3's giving up."""
    if isinstance(error, requests.RequestException) and error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    if isinstance(error, MaxRetryError):
        error = error.reason
    return error


def _describe(error: BaseException | None) -> str:
    cause = _cause(error)
    if isinstance(cause, _BrokenBody) or isinstance(error, ChunkedEncodingError | ContentDecodingError):
        return "connection broken mid-download (truncated body)"
    if isinstance(cause, NewConnectionError):  # refused or not resolved (a ConnectTimeoutError to urllib3)
        return "connection failed"
    if isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError) or isinstance(error, requests.Timeout):
        return "timed out"
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
    session = make_session(options.cache_dir, options)
    requests_: list[tuple[str, list[int], int | None]] = [
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
    out: Path,
    csv_text: str,
    metadata_text: str,
    downloads: Sequence[Download],
    metadata: Sequence[Download],
    options: FetchOptions,
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
    out: dict[str, dict[str, str]] = {}
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
    expected = _REVERSED.get(theirs, theirs) if derived and theirs else theirs
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
