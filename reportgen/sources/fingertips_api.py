"""``reportgen fetch``: the specs' series from the Fingertips API into one snapshot CSV and a manifest.

One HTTP session with connect and read timeouts, a deadline for each request and one for the whole
fetch, bounded retries (urllib3's ``Retry`` on the session's adapter: exponential backoff with
jitter on connection errors, timeouts and bodies cut off, and 429 and 5xx honouring a capped
``Retry-After`` that is never shorter than the backoff), TLS always verified, a User-Agent naming
reportgen, and redirects followed only to other http(s) addresses, at most :data:`MAX_REDIRECTS`.

Every body is streamed to a file in the cache folder (never held in memory), its length checked
against ``Content-Length`` or the chunked framing, then checked as a Fingertips CSV; only then does
it enter the cache (``CACHE/responses``), with a validator (its SHA-256 and length) that is checked
again whenever the cached body is used. The cache answers conditional requests (ETag and
Last-Modified), so an unchanged rerun downloads nothing, and a batch checked in a fetch that did
not finish is reused without a request by a rerun within :data:`RESUME_SECONDS`. The snapshot, its
metadata and manifest are written atomically, streamed from the cached bodies, only when every
request succeeded.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import random
import re
import socket
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Self, cast
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from reportgen import __version__
from reportgen.core.errors import ReportgenError, printable
from reportgen.core.files import check_folder, reserve, write_atomic
from reportgen.core.periods import period_sort_key
from reportgen.core.specs import IndicatorSpec

DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api"
DEFAULT_AREA_TYPE = 502
REGION_AREA_TYPE = 6
BATCH_SIZE = 100
USER_AGENT = f"reportgen/{__version__} (+README)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300  # seconds: the longest wait a Retry-After (or the backoff) can ask for
DEFAULT_REQUEST_TIMEOUT = 900.0  # seconds: one request, every attempt and wait included, to its last byte
DEFAULT_DEADLINE = 3600.0  # seconds: the whole fetch
MAX_DEADLINE = 7 * 24 * 3600.0  # seconds: the longest --timeout or --deadline accepted
MAX_REDIRECTS = 5
RESUME_SECONDS = 24 * 3600  # a batch checked by a fetch that did not finish is reused for this long
MAX_RESPONSE_BYTES = 500_000_000  # decompressed; a 100-indicator batch of real data is far smaller
_CHUNK_BYTES = 1 << 18  # 256 KiB: what is read, decoded or written at a time
_SIDECAR_BYTES = 64_000
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
    """Where to fetch from and how patiently.

    ``request_timeout`` bounds one request (every attempt, every wait between attempts and the
    whole body); ``deadline`` bounds the whole fetch. Both are in seconds; the connect and read
    timeouts bound a single connection attempt and the pause between two received bytes.
    """

    base_url: str = DEFAULT_BASE_URL
    area_type: int = DEFAULT_AREA_TYPE
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    attempts: int = 5
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[str], None] = lambda message: None
    advance: Callable[[int, int], None] = lambda done, total: None


@dataclass(frozen=True)
class Download:
    """One checked response, kept on disk in the cache folder."""

    url: str
    path: Path
    sha256: str
    length: int
    from_cache: bool
    header: list[str]
    rows: int
    ids: tuple[int, ...]
    present: frozenset[str] = frozenset()


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


# --- addresses: credentials are refused, and never shown ------------------------------------------


def redact(url: str) -> str:
    """``url`` with any user name and password replaced by ``***``, safe to show or record."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an address that cannot be parsed)"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the API address (said without repeating any password), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid web address"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"'{printable(redact(url))[:200]}' is not a web address; use e.g. {DEFAULT_BASE_URL}"
    if "@" in parts.netloc:
        return (
            f"'{printable(redact(url))[:200]}' contains a user name or password, which would be written to the "
            "manifest and shown in messages; give the address without them (put credentials for a mirror "
            "in ~/.netrc instead)"
        )
    return None


# --- the session ---------------------------------------------------------------------------------


def make_session(cache_dir: Path, options: FetchOptions | None = None) -> requests.Session:
    """A session whose adapter retries by :func:`retry_policy` (``options``, else the defaults).

    The adapter streams each 200 body into a temporary file in ``cache_dir`` (capped, its length
    checked against the framing) before anything else sees it, and a watchdog enforces the
    deadline armed by :func:`_get` on the session's sockets.
    """
    _make_folder(cache_dir)
    watch = _Watch()
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = True
    policy = retry_policy(options or FetchOptions(cache_dir=cache_dir), watch)
    adapter = _SpoolingAdapter(cache_dir / "responses", watch, max_retries=policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "responses").mkdir(exist_ok=True)
        (folder / "parts").mkdir(exist_ok=True)
    except OSError as exc:
        reason = "it is not a folder" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        raise FetchError(f"--cache-dir {folder} cannot be used as a folder ({reason}); give a folder.") from None


# --- deadlines: a watchdog shuts the sockets down -------------------------------------------------

_ACTIVE = threading.local()


class _DeadlineError(FetchError):
    """A request or the whole fetch ran past its deadline."""


class _Watch:
    """The deadline of the request under way.

    When it passes, a timer thread shuts down every socket the request uses, so a read blocked on a
    server that sends one byte a second (which no read timeout catches) returns at once; the
    request then fails with the deadline's message instead of being retried.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[tuple[weakref.ref[socket.socket], int]] = []
        self._timer: threading.Timer | None = None
        self.deadline = math.inf
        self.message = ""
        self.expired = False

    @contextlib.contextmanager
    def armed(self, deadline: float, message: str) -> Iterator[None]:
        with self._lock:
            self.deadline, self.message, self.expired = deadline, message, False
        self._timer = threading.Timer(min(max(deadline - time.monotonic(), 0.0), MAX_DEADLINE), self._expire)
        self._timer.daemon = True
        _ACTIVE.watch = self
        self._timer.start()
        try:
            yield
        finally:
            self._timer.cancel()
            self._timer = None
            _ACTIVE.watch = None
            with self._lock:
                self.deadline = math.inf
                self._sockets = []

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for ref, fd in sockets:
            _shut(ref(), fd)

    def register(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        if fd < 0:
            return
        with self._lock:
            self._sockets.append((weakref.ref(sock), fd))
            expired = self.expired
        if expired:
            _shut(sock, fd)

    def check(self) -> None:
        """Raise the deadline's error if it has passed."""
        if self.expired or time.monotonic() >= self.deadline:
            raise _DeadlineError(self.message)

    def before_wait(self, seconds: float) -> None:
        """Raise the deadline's error, now, if waiting ``seconds`` before the next attempt would pass it."""
        self.check()
        if time.monotonic() + seconds >= self.deadline:
            raise _DeadlineError(f"{self.message} (the next attempt would start after it)")


def _shut(sock: socket.socket | None, fd: int) -> None:
    """Shut down the connection on ``fd`` that ``sock`` opened, if it is still open.

    A TLS connection's plain socket hands its descriptor to the TLS socket (and reports -1): the
    descriptor is then shut down directly, which also stops a TLS handshake that drips.
    """
    if sock is None:
        return
    with contextlib.suppress(OSError):
        owner = sock.fileno()
        if owner == fd:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # not SSLSocket.shutdown, which drops its TLS state
        elif owner == -1:
            handle = socket.socket(fileno=fd)
            try:
                handle.shutdown(socket.SHUT_RDWR)
            finally:
                handle.detach()


def _watch_socket(sock: socket.socket | None) -> None:
    watch = getattr(_ACTIVE, "watch", None)
    if sock is not None and watch is not None:
        watch.register(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)  # a kept-alive connection, used again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch_socket(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_socket(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# --- retries: urllib3's Retry on the session's adapter ---------------------------------------------


def _quiet(message: str) -> None:
    """Report nothing."""


class FetchRetry(Retry):
    """urllib3's :class:`Retry`, announcing each retry and pausing with the fetch's own clock.

    urllib3 decides what is retried (connection errors, timeouts, the statuses of
    :data:`RETRY_STATUSES`; GET only), counts the attempts and gives up. Only the pause differs:
    after the n-th failure it is ``backoff_factor * 2**(n - 1)`` plus up to ``backoff_jitter`` of
    jitter (urllib3 would not wait after the first), or a longer ``Retry-After`` (capped at
    ``retry_after_max``; a negative, unreadable or not-a-number one counts as none), slept by
    ``pause`` once ``report`` has said why. A wait that would pass the request's deadline is
    not started: the request fails at once.
    """

    def __init__(
        self,
        *args: Any,
        pause: Callable[[float], None] = time.sleep,
        report: Callable[[str], None] = _quiet,
        watch: _Watch | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pause = pause
        self.report = report
        self.watch = watch

    def new(self, **kw: Any) -> Self:
        return super().new(pause=self.pause, report=self.report, watch=self.watch, **kw)

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
        backoff = self.get_backoff_time()
        wait = backoff if after is None else max(after, backoff)
        if self.watch is not None:
            self.watch.before_wait(wait)
        attempt = len(self.history) + 1
        attempts = attempt + max(int(self.total or 0), 0)
        self.report(printable(f"{self._failure(response)}; retrying in {wait:.1f} s ({attempt} of {attempts})"))
        self.pause(wait)

    def _failure(self, response: BaseHTTPResponse | None) -> str:
        last = self.history[-1] if self.history else None
        if last is not None and last.status is not None:
            reason = response.reason if response is not None else None
            return f"HTTP {last.status} {reason or ''}".strip()
        return _describe(last.error if last is not None else None)


def retry_policy(options: FetchOptions, watch: _Watch | None = None) -> FetchRetry:
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
        raise_on_status=False,  # the last 429/5xx response comes back and _get reports it
        pause=options.sleep,
        report=options.progress,
        watch=watch,
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None if unusable.

    A negative, infinite or not-a-number value is unusable (the backoff applies); a date without a
    zone (``-0000``) is taken as UTC; a date in the past means no wait of its own.
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except OverflowError:
        return None


# --- bodies: streamed to a file, length checked ----------------------------------------------------


class _BrokenBody(ProtocolError):
    """The body did not arrive whole: the connection broke, it could not be decompressed, or its
    length does not match its framing."""

    def __init__(self, message: str, what: str = "connection broken mid-download (truncated body)") -> None:
        super().__init__(message)
        self.what = what


@dataclass(frozen=True)
class _Spooled:
    """A body streamed to a temporary file: its path, SHA-256 and length (decompressed)."""

    path: Path
    sha256: str
    length: int


_SPOOL_PREFIX = ".download."
_SPOOL_PATTERN = re.compile(re.escape(_SPOOL_PREFIX) + r"(\d+)\.[A-Za-z0-9_]+\.tmp")


class _SpoolingAdapter(HTTPAdapter):
    """An adapter that streams each 200 body to a file in ``spool_dir`` before returning.

    The body is read here (decompressed, in chunks, up to :data:`MAX_RESPONSE_BYTES`), so it is
    never held in memory and an oversized response (a "zip bomb") is refused as it arrives. A
    body cut off mid-download is one more failed attempt of the same retry policy: the next
    request continues its count (the adapter belongs to one session, used by one thread at a
    time). The file of the last 200 response is left in :attr:`body` for the caller, who owns it.
    """

    def __init__(self, spool_dir: Path, watch: _Watch, **kwargs: Any) -> None:
        self.spool_dir = spool_dir
        self.watch = watch
        self.body: _Spooled | None = None
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        policy = self.max_retries
        self.discard_body()
        try:
            while True:
                response = super().send(request, *args, **kwargs)
                if response.status_code != 200:
                    return response  # its body is never read beyond what urllib3 drains
                try:
                    self.body = _spool(response.raw, str(request.url), self.spool_dir)
                except (ProtocolError, ReadTimeoutError) as exc:
                    response.close()
                    self.watch.check()  # cut short by the deadline: final, not retried
                    self.max_retries = _after_failed_body(response.raw.retries or self.max_retries, request, exc)
                    continue
                if self.watch.expired:  # a body without framing ends where the deadline cut it
                    self.discard_body()
                    self.watch.check()
                return response
        finally:
            self.max_retries = policy

    def take_body(self) -> _Spooled | None:
        body, self.body = self.body, None
        return body

    def discard_body(self) -> None:
        body = self.take_body()
        if body is not None:
            body.path.unlink(missing_ok=True)


def _spool(raw: BaseHTTPResponse, url: str, folder: Path) -> _Spooled:
    """Stream the decompressed body into a temporary file in ``folder``, refused past the cap.

    A ``Content-Length`` must match the bytes received (urllib3 checks it too); a chunked body
    must end with its last chunk (urllib3 raises otherwise); a response with both is refused, as
    the HTTP standard advises, since the two disagree about where it ends.
    """
    framing = raw.headers.get("Transfer-Encoding")
    promised = raw.headers.get("Content-Length")
    if framing is not None and promised is not None:
        raw.close()
        raise _BrokenBody(f"{url}: both framings", "both Content-Length and Transfer-Encoding (a malformed response)")
    fd, name = tempfile.mkstemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}.", suffix=".tmp", dir=folder)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                for chunk in raw.stream(_CHUNK_BYTES, decode_content=True):
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raw.close()
                        raise FetchError(
                            f"{url}: the response is over {MAX_RESPONSE_BYTES // 1_000_000:,} MB once decompressed; "
                            "refused. Check --base-url points at the Fingertips API."
                        )
                    digest.update(chunk)
                    handle.write(chunk)
            except (ProtocolError, DecodeError) as exc:
                raise _BrokenBody(f"{url}: {exc}") from exc
            except urllib3.exceptions.SSLError as exc:
                raise requests.exceptions.SSLError(exc) from exc
        if framing is None and promised is not None and str(raw.tell()) != promised.strip():
            raise _BrokenBody(
                f"{url}: received {raw.tell()} of {promised} bytes",
                "body shorter than its Content-Length (truncated)",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _Spooled(path, digest.hexdigest(), size)


def _after_failed_body(retries: Retry, request: requests.PreparedRequest, error: Exception) -> Retry:
    """The policy after a failed body: one more attempt counted (and slept for), or give up."""
    try:
        retries = retries.increment(request.method, request.url, error=error)
    except MaxRetryError as exc:
        raise requests.ConnectionError(exc, request=request) from error
    retries.sleep()
    return retries


def _sweep_spool(folder: Path) -> None:
    """Remove temporary bodies left in ``folder`` by fetches that are no longer running."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _SPOOL_PATTERN.fullmatch(entry.name)
        if match and not _running(int(match.group(1))) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# --- one request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Got:
    """A request's outcome: a new body (a temporary file) or, after a 304, the cached entry."""

    spooled: _Spooled | None
    cached: _Entry | None
    content_type: str
    etag: str
    last_modified: str


def _get(session: requests.Session, url: str, options: FetchOptions, cached: _Entry | None, end: float) -> _Got:
    """GET ``url`` (retried by the session's policy, redirects checked), within the deadline ``end``.

    With a cached entry the request is conditional; a 304 answer returns that entry.
    """
    adapter = cast(_SpoolingAdapter, session.get_adapter(url))
    headers: dict[str, str] = {}
    if cached is not None and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached is not None and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    with adapter.watch.armed(*_deadline(url, options, end)):
        try:
            response = _send(session, url, headers, options)
            adapter.watch.check()  # a body without framing ends where the deadline cut it
        except BaseException:
            adapter.discard_body()
            raise
    body = adapter.take_body()
    try:
        return _outcome(url, options, response, body, cached if headers else None)
    except BaseException:
        if body is not None:
            body.path.unlink(missing_ok=True)
        raise


def _send(session: requests.Session, url: str, headers: dict[str, str], options: FetchOptions) -> requests.Response:
    """:func:`_follow`, with each failure turned into a one-line :class:`FetchError`."""
    watch = cast(_SpoolingAdapter, session.get_adapter(url)).watch
    try:
        return _follow(session, url, headers, options)
    except FetchError:
        raise
    except requests.exceptions.SSLError as exc:
        watch.check()
        raise FetchError(
            f"{url}: TLS certificate check failed ({printable(str(exc))[:300]}); check the address or your network"
        ) from exc
    except _TRANSIENT as exc:
        watch.check()
        raise _gave_up(url, options, _describe(exc)) from exc
    except requests.RequestException as exc:
        watch.check()
        raise FetchError(f"{url}: the request failed ({printable(str(exc))[:300]}); check --base-url.") from exc
    except OSError as exc:  # writing the body into the cache folder
        raise FetchError(
            f"Cannot write to --cache-dir {options.cache_dir} ({exc.strerror or exc}); "
            "free some space or give another folder with --cache-dir."
        ) from None


def _outcome(
    url: str, options: FetchOptions, response: requests.Response, body: _Spooled | None, cached: _Entry | None
) -> _Got:
    """A request's answer: a new body, the cached entry (304 to a conditional request), or an error."""
    response.close()
    if response.status_code == 304 and cached is not None:
        return _Got(None, cached, "", cached.etag, cached.last_modified)
    if response.status_code in RETRY_STATUSES:
        raise _gave_up(url, options, printable(f"HTTP {response.status_code} {response.reason or ''}".strip()))
    if response.status_code != 200 or body is None:
        raise FetchError(
            printable(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip())
            + ". Check the indicator ids and --base-url (the Fingertips API address ends in /api)."
        )
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    return _Got(body, None, kind, _header_value(etag), _header_value(modified))


def _deadline(url: str, options: FetchOptions, end: float) -> tuple[float, str]:
    """The deadline of one request: its own timeout, or the fetch's deadline if that comes first."""
    own = time.monotonic() + options.request_timeout
    if end < own:
        return end, (
            f"{url}: the fetch did not finish within {options.deadline:g} s (--deadline); "
            "try again later, or give a longer --deadline."
        )
    return own, (
        f"{url}: no complete response within {options.request_timeout:g} s (--timeout, one request with all "
        "its attempts); the server is too slow or has stalled. Try again later, or give a longer --timeout."
    )


def _follow(session: requests.Session, url: str, headers: dict[str, str], options: FetchOptions) -> requests.Response:
    """GET ``url``, following at most :data:`MAX_REDIRECTS` redirects, each to an http(s) address."""
    timeout = (options.connect_timeout, options.read_timeout)
    target = url
    seen = {url}
    for _ in range(MAX_REDIRECTS + 1):
        response = session.get(target, headers=headers, timeout=timeout, stream=True, allow_redirects=False)
        if not response.is_redirect:
            return response
        response.close()
        location = urljoin(target, response.headers.get("Location", ""))
        shown = printable(redact(location))[:200]
        problem = _redirect_problem(target, location)
        if problem:
            raise FetchError(f"{url}: the server redirected to {shown}, {problem}; refused. Check --base-url.")
        if location in seen:
            raise FetchError(f"{url}: the server's redirects go round in a loop (back to {shown}); check --base-url.")
        seen.add(location)
        target = location
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects; check --base-url points at the Fingertips API.")


def _redirect_problem(source: str, location: str) -> str | None:
    try:
        parts = urlsplit(location)
    except ValueError:
        return "an address that cannot be parsed"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "which is not an http(s) address"
    if "@" in parts.netloc:
        return "an address with a user name or password"
    if urlsplit(source).scheme == "https" and parts.scheme == "http":
        return "which would leave TLS (https to http)"
    return None


def _header_value(value: str | None) -> str:
    """A validator header worth sending back: printable ASCII of at most 1,000 characters, else ''."""
    if not value or len(value) > 1000 or not value.isascii() or not value.isprintable():
        return ""
    return value


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
    if isinstance(cause, _BrokenBody):
        return cause.what
    if isinstance(error, ChunkedEncodingError | ContentDecodingError):
        return "connection broken mid-download (truncated body)"
    if isinstance(cause, NewConnectionError):  # refused or not resolved (a ConnectTimeoutError to urllib3)
        return "connection failed"
    if isinstance(cause, urllib3.exceptions.TimeoutError | TimeoutError) or isinstance(error, requests.Timeout):
        return "timed out"
    return "connection failed"


# --- the cache: bodies with their validators ------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """A cached body: where it is, its validator (SHA-256 and length) and the server's validators."""

    url: str
    path: Path
    sha256: str
    length: int
    etag: str
    last_modified: str

    def record(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "sha256": self.sha256,
            "length": self.length,
            "etag": self.etag,
            "last_modified": self.last_modified,
        }


_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Cache:
    """Checked responses in ``CACHE/responses`` and, in ``CACHE/parts``, which of them a fetch that
    has not finished already checked (so that a rerun resumes without asking again).

    ``responses/<key>.csv`` is a body that passed every check; ``responses/<key>.json`` its
    validator. A body whose file does not match its validator (cut short, edited, half-written)
    is reported, removed and downloaded again.
    """

    def __init__(self, folder: Path, progress: Callable[[str], None]) -> None:
        self.folder = folder
        self.responses = folder / "responses"
        self.parts = folder / "parts"
        self.progress = progress
        _make_folder(folder)
        try:
            fd, probe = tempfile.mkstemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}.", suffix=".tmp", dir=self.responses)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise FetchError(
                f"--cache-dir {folder} cannot be written ({exc.strerror or exc}); "
                "give a writable folder with --cache-dir."
            ) from None
        _sweep_spool(self.responses)

    @staticmethod
    def key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]

    def body_path(self, url: str) -> Path:
        return self.responses / f"{self.key(url)}.csv"

    def entry(self, url: str) -> _Entry | None:
        """The cached entry for ``url`` if its validator is readable and its file has the right size."""
        sidecar = self.responses / f"{self.key(url)}.json"
        body = self.body_path(url)
        if not sidecar.exists() and not body.exists():
            return None
        record = _read_record(sidecar)
        entry = _entry_from(record, url, body)
        if entry is None or _size(body) != entry.length:
            self.damaged(url, "its validator is missing or does not match the file")
            return None
        return entry

    def resumable(self, url: str, entry: _Entry) -> bool:
        """Whether ``entry`` was checked by a recent fetch that did not finish (see :data:`RESUME_SECONDS`)."""
        marker = _read_record(self.part_path(url))
        if not isinstance(marker, dict):
            _remove(self.part_path(url))
            return False
        fresh = (
            isinstance(marker.get("checked_at"), int | float)
            and 0 <= time.time() - marker["checked_at"] < RESUME_SECONDS
        )
        same = (
            marker.get("url") == url and marker.get("sha256") == entry.sha256 and marker.get("length") == entry.length
        )
        if not (fresh and same):
            _remove(self.part_path(url))
        return bool(fresh and same)

    def part_path(self, url: str) -> Path:
        return self.parts / f"{self.key(url)}.json"

    def store(self, url: str, got: _Got) -> _Entry:
        """Move a checked body into the cache with its validator."""
        assert got.spooled is not None
        sidecar = self.responses / f"{self.key(url)}.json"
        body = self.body_path(url)
        entry = _Entry(url, body, got.spooled.sha256, got.spooled.length, got.etag, got.last_modified)
        try:
            sidecar.unlink(missing_ok=True)
            os.replace(got.spooled.path, body)
            write_atomic(sidecar, (json.dumps(entry.record()) + "\n").encode("utf-8"))
        except OSError as exc:
            got.spooled.path.unlink(missing_ok=True)
            raise FetchError(f"Cannot write to --cache-dir {self.folder} ({exc.strerror or exc}).") from None
        return entry

    def mark(self, done: Download) -> None:
        """Record that ``done`` passed every check, for a rerun should this fetch not finish."""
        record = {"url": done.url, "sha256": done.sha256, "length": done.length, "checked_at": time.time()}
        write_atomic(self.part_path(done.url), (json.dumps(record) + "\n").encode("utf-8"))

    def unmark(self, url: str) -> None:
        _remove(self.part_path(url))

    def damaged(self, url: str, why: str) -> None:
        """Report a damaged cached body and remove it, so that it is downloaded again."""
        self.progress(printable(f"warning: the cached response for {url} is damaged ({why}); downloading it again"))
        for path in (self.responses / f"{self.key(url)}.json", self.body_path(url), self.part_path(url)):
            _remove(path)


def _remove(path: Path) -> None:
    """Remove a file of the cache if it is there (a folder in its place is left, and fails later)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _read_record(path: Path) -> Any:
    """A small JSON file of the cache (a regular file, not a link; never blocking), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _SIDECAR_BYTES:
            return None
        data = os.read(fd, _SIDECAR_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _entry_from(record: Any, url: str, body: Path) -> _Entry | None:
    if not isinstance(record, dict) or record.get("url") != url:
        return None
    sha, length = record.get("sha256"), record.get("length")
    etag, modified = record.get("etag", ""), record.get("last_modified", "")
    if not (isinstance(sha, str) and _SHA256.fullmatch(sha) and isinstance(length, int) and length >= 0):
        return None
    if not (isinstance(etag, str) and isinstance(modified, str)):
        return None
    return _Entry(url, body, sha, length, _header_value(etag), _header_value(modified))


def _size(path: Path) -> int:
    try:
        info = os.lstat(path)
    except OSError:
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else -1


def _open_body(path: Path) -> BinaryIO:
    """A body file opened for reading: a regular file, not a link, without blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


# --- checking a CSV body, streamed from its file -------------------------------------------------


class _Hashing(io.RawIOBase):
    """A readable stream that hashes and counts what is read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@contextlib.contextmanager
def _records(path: Path) -> Iterator[tuple[Iterator[list[str]], _Hashing]]:
    """The CSV records of a body file (as the csv module reads them, strictly) and its hashing stream."""
    with _open_body(path) as raw:
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, _CHUNK_BYTES), encoding="utf-8-sig", newline="")
        yield csv.reader(text, strict=True), hashing


@dataclass(frozen=True)
class _Checked:
    header: list[str]
    rows: int
    present: frozenset[str]
    sha256: str
    length: int


class _Rows:
    """The row checks of a Fingertips CSV, one record at a time.

    Fingertips drops the last, empty field of many rows, so a row may have one field fewer than the
    header; a last row shorter than the others means the download was cut off.
    """

    def __init__(self, url: str, header: list[str], wanted: set[str]) -> None:
        self.url, self.header, self.wanted = url, header, wanted
        self.present: set[str] = set()
        self.count = 0
        self.last_width = 0
        self.widest_before_last = 0
        self.short: str | None = None  # a row with too few fields: an error unless it is the last

    def add(self, record: list[str]) -> None:
        if self.short is not None:
            raise FetchError(self.short)
        self.count += 1
        if self.count > 1:
            self.widest_before_last = max(self.widest_before_last, self.last_width)
        self.last_width = len(record)
        width = len(self.header)
        if not width - 1 <= len(record) <= width:
            problem = (
                f"{self.url}: row {self.count + 1} has {len(record)} fields but the header has {width}; "
                "the download is incomplete or damaged, try again."
            )
            if len(record) > width:
                raise FetchError(problem)
            self.short = problem
        key = record[0].strip()
        if key in self.wanted:
            self.present.add(key)

    def finish(self) -> None:
        if self.short is not None or (self.count > 1 and self.last_width < self.widest_before_last):
            raise FetchError(f"{self.url}: the download is truncated (the last row is incomplete); try again.")


def check_body(url: str, path: Path, ids: Sequence[int], first_column: str = "Indicator ID") -> _Checked:
    """Check a Fingertips CSV body file, reading it once: UTF-8, the header, complete rows (:class:`_Rows`).

    Returns the header, the number of rows, which of ``ids`` have rows, and the file's SHA-256 and length.
    """
    rows: _Rows | None = None
    try:
        with _records(path) as (records, hashing):
            for record in records:
                if not any(cell.strip() for cell in record):
                    continue
                if rows is not None:
                    rows.add(record)
                    continue
                if record[0].strip() != first_column:
                    shown = printable(",".join(record[:4])[:80])
                    raise FetchError(
                        f"{url}: the first line is not a Fingertips CSV header (expected '{first_column}', "
                        f"found '{shown}'). Check --base-url points at the Fingertips API."
                    )
                rows = _Rows(url, record, {str(i) for i in ids})
            sha256, length = hashing.digest.hexdigest(), hashing.size
    except csv.Error as exc:
        raise FetchError(f"{url}: the CSV is malformed ({exc}); the download may be truncated, try again.") from exc
    except UnicodeDecodeError as exc:
        raise FetchError(f"{url}: the response is not UTF-8 text ({exc.reason}); try again later.") from exc
    if rows is None:
        raise FetchError(f"{url}: returned an empty body; try again later.")
    rows.finish()
    return _Checked(rows.header, rows.count, frozenset(rows.present), sha256, length)


def _check_new(url: str, got: _Got) -> None:
    """The checks of a new body that come before reading it as CSV: content type, not an HTML page."""
    assert got.spooled is not None
    with _open_body(got.spooled.path) as handle:
        head = handle.read(1024).lstrip()
    kind = got.content_type
    if kind == "text/html" or head[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise FetchError(
            f"{url}: returned an HTML page, not CSV (an error or maintenance page). "
            "Try again later, or check --base-url points at the Fingertips API."
        )
    if kind and kind not in _CSV_TYPES and "csv" not in kind:
        raise FetchError(
            printable(f"{url}: returned {kind[:100]}, not CSV; check --base-url points at the Fingertips API.")
        )


def _missing(url: str, ids: Sequence[int], present: frozenset[str], where: str) -> None:
    absent = [str(i) for i in ids if str(i) not in present]
    if absent:
        raise FetchError(
            f"{url}: no rows for indicator(s) {', '.join(absent)}{where}; check the spec's fingertips_id "
            "(or derive.from) and --area-type (older indicators are published for area type 102 only)."
        )


# --- the whole fetch -----------------------------------------------------------------------------


def _part_path(cache_dir: Path, url: str) -> Path:
    """The marker saying ``url``'s cached body was checked by a fetch that has not finished."""
    return cache_dir / "parts" / f"{_Cache.key(url)}.json"


class _Client:
    """One fetch's session, cache and deadline."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self.end = time.monotonic() + options.deadline
        self.cache = _Cache(options.cache_dir, options.progress)
        self.session = make_session(options.cache_dir, options)

    def download(self, url: str, ids: Sequence[int], area_type: int | None) -> Download:
        """``url``'s checked body: resumed from an unfinished fetch, revalidated, or downloaded."""
        where = f" for area type {area_type}" if area_type else " in the metadata"
        entry = self.cache.entry(url)
        done = None
        if entry is not None and self.cache.resumable(url, entry):
            done = self._reuse(url, ids, entry)
            entry = None if done is None else entry
        if done is None:
            done = self._request(url, ids, entry, where)
        _missing(url, ids, done.present, where)
        self.cache.mark(done)
        return done

    def _request(self, url: str, ids: Sequence[int], entry: _Entry | None, where: str) -> Download:
        got = _get(self.session, url, self.options, entry, self.end)
        if got.cached is not None:
            done = self._reuse(url, ids, got.cached)
            if done is not None:
                return done
            got = _get(self.session, url, self.options, None, self.end)  # the cached body is gone: ask again
        assert got.spooled is not None
        try:
            _check_new(url, got)
            checked = check_body(url, got.spooled.path, ids)
            _missing(url, ids, checked.present, where)  # an incomplete batch never enters the cache
        except BaseException:
            got.spooled.path.unlink(missing_ok=True)
            raise
        stored = self.cache.store(url, got)
        return Download(
            url,
            stored.path,
            stored.sha256,
            stored.length,
            False,
            checked.header,
            checked.rows,
            tuple(ids),
            checked.present,
        )

    def _reuse(self, url: str, ids: Sequence[int], entry: _Entry) -> Download | None:
        """The cached body, checked again against its validator and as CSV; None (reported) if damaged."""
        try:
            checked = check_body(url, entry.path, ids)
        except FetchError as exc:
            self.cache.damaged(url, exc.message.removeprefix(f"{url}: ")[:200])
            return None
        except OSError as exc:
            self.cache.damaged(url, exc.strerror or str(exc))
            return None
        if (checked.sha256, checked.length) != (entry.sha256, entry.length):
            self.cache.damaged(url, "its SHA-256 or length differs from its validator")
            return None
        return Download(
            url, entry.path, entry.sha256, entry.length, True, checked.header, checked.rows, tuple(ids), checked.present
        )


def check_options(options: FetchOptions) -> None:
    """Refuse a base URL with credentials (or not http(s)) and deadlines that are not positive."""
    problem = base_url_problem(options.base_url)
    if problem:
        raise FetchError(f"--base-url {problem}.")
    for name, value in (("--timeout", options.request_timeout), ("--deadline", options.deadline)):
        if not (math.isfinite(value) and 0 < value <= MAX_DEADLINE):
            raise FetchError(f"{name} must be more than 0 and at most {MAX_DEADLINE:g} seconds.")


def fetch(specs: Sequence[IndicatorSpec], out: Path, options: FetchOptions) -> FetchResult:
    """Fetch every Fingertips series the specs need into ``out`` (+ metadata CSV and manifest JSON)."""
    check_options(options)
    ids = needed_ids(specs)
    if not ids:
        raise FetchError("None of the specs has a fingertips_id or derive.from, so there is nothing to fetch.")
    check_folder(out.parent)  # a bad --out fails before the slow downloads
    client = _Client(options)
    try:
        return _fetch(specs, ids, out, options, client)
    finally:
        client.session.close()


def _fetch(
    specs: Sequence[IndicatorSpec], ids: list[int], out: Path, options: FetchOptions, client: _Client
) -> FetchResult:
    requests_: list[tuple[str, list[int], int | None]] = [
        (data_url(options.base_url, group, area_type), group, area_type)
        for area_type, area_ids in ids_by_area_type(specs, options.area_type).items()
        for group in batches(area_ids)
    ]
    requests_ += [(metadata_url(options.base_url, group), group, None) for group in batches(ids)]
    items = []
    for number, (url, group, area_type) in enumerate(requests_):
        options.advance(number, len(requests_))
        items.append(client.download(url, group, area_type))
    options.advance(len(requests_), len(requests_))
    downloads = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is not None]
    metadata = [d for d, (_, _, area_type) in zip(items, requests_, strict=True) if area_type is None]
    _same_headers(downloads)
    _same_headers(metadata)
    result = _write_outputs(out, downloads, metadata, options)
    for item in items:
        client.cache.unmark(item.url)
    wanted = {spec.source_key for spec in specs}
    warnings = metadata_warnings(specs, _read_metadata_path(result.metadata_path, wanted))
    return FetchResult(
        result.csv_path,
        result.metadata_path,
        result.manifest_path,
        result.rows,
        result.downloaded,
        result.from_cache,
        tuple(warnings),
    )


def _same_headers(downloads: Sequence[Download]) -> None:
    first = downloads[0].header
    for item in downloads[1:]:
        if item.header != first:
            raise FetchError(f"{item.url}: its columns differ from the first batch's; try again later.")


class _Sink:
    """A text sink for :mod:`csv` that encodes, hashes and writes to a binary file in 256 KiB blocks."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= _CHUNK_BYTES:
            self.flush()
        return len(text)

    def flush(self) -> None:
        data = "".join(self.pending).encode("utf-8")
        self.pending, self.size = [], 0
        self.digest.update(data)
        self.handle.write(data)


@dataclass
class _Tally:
    """Rows and the latest period of each requested indicator, counted while merging."""

    rows: dict[str, int] = field(default_factory=dict)
    latest: dict[str, tuple[Any, str]] = field(default_factory=dict)

    def add(self, row: list[str], wanted: set[str], period_column: int | None) -> None:
        key = row[0]
        if key not in wanted:
            return
        self.rows[key] = self.rows.get(key, 0) + 1
        if period_column is not None and period_column < len(row):
            sort_key = period_sort_key(row[period_column])
            if key not in self.latest or sort_key > self.latest[key][0]:
                self.latest[key] = (sort_key, row[period_column])


def _merge_into(path: Path, items: Sequence[Download], tally: _Tally | None) -> tuple[str, int]:
    """Write one CSV to ``path`` (atomically): the first header, then every body's rows, streamed.

    Returns its SHA-256 and the number of rows.
    """
    count = 0
    digest = ""

    def write(handle: IO[bytes]) -> None:
        nonlocal count, digest
        sink = _Sink(handle)
        writer = csv.writer(sink, lineterminator="\n")
        writer.writerow(items[0].header)
        for item in items:
            wanted = {str(i) for i in item.ids}
            column = _column(item.header, ("Time period", "Timeperiod"))
            for row in _rows(item):
                writer.writerow(row)
                count += 1
                if tally is not None:
                    tally.add(row, wanted, column)
        sink.flush()
        digest = sink.digest.hexdigest()

    reserve(path).commit_from(write)
    return digest, count


def _rows(item: Download) -> Iterator[list[str]]:
    """The data rows of a checked body (blank lines and the header skipped)."""
    try:
        with _records(item.path) as (records, _):
            header_seen = False
            for record in records:
                if not any(cell.strip() for cell in record):
                    continue
                if header_seen:
                    yield record
                header_seen = True
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        raise FetchError(
            f"{item.url}: the cached response changed while it was read ({exc}); run fetch again."
        ) from exc


def _write_outputs(
    out: Path, downloads: Sequence[Download], metadata: Sequence[Download], options: FetchOptions
) -> FetchResult:
    metadata_path = out.with_name(out.name + ".metadata.csv")
    manifest_path = out.with_name(out.name + ".manifest.json")
    tally = _Tally()
    metadata_sha, _ = _merge_into(metadata_path, metadata, None)
    snapshot_sha, rows = _merge_into(out, downloads, tally)
    manifest = {
        "tool": USER_AGENT,
        "base_url": redact(options.base_url),
        "area_type": options.area_type,
        "retrieved_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "requests": [
            {"url": redact(d.url), "sha256": d.sha256, "rows": d.rows, "from_cache": d.from_cache}
            for d in (*downloads, *metadata)
        ],
        "file": out.name,
        "sha256": snapshot_sha,
        "rows_per_indicator": dict(sorted(tally.rows.items(), key=_id_order)),
        "latest_period_per_indicator": {k: v[1] for k, v in sorted(tally.latest.items(), key=_id_order)},
        "metadata_file": metadata_path.name,
        "metadata_sha256": metadata_sha,
    }
    write_atomic(manifest_path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    cached = sum(d.from_cache for d in (*downloads, *metadata))
    return FetchResult(out, metadata_path, manifest_path, rows, len(downloads) + len(metadata) - cached, cached, ())


def _id_order(item: tuple[str, Any]) -> int:
    return int(item[0]) if item[0].isascii() and item[0].isdigit() else 0


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
    return _read_metadata(io.StringIO(text.lstrip("\ufeff"), newline=""), label)


def _read_metadata(handle: IO[str], label: str, wanted: set[str] | None = None) -> dict[str, dict[str, str]]:
    """The metadata records read from ``handle``: only those of the ``wanted`` ids, if given."""
    reader = csv.DictReader(handle, strict=True)
    out: dict[str, dict[str, str]] = {}
    start = 1
    try:
        if reader.fieldnames is None:
            return out
        start = reader.reader.line_num + 1
        for row in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            key = cells.get("indicator id")
            if key and (wanted is None or key in wanted):
                out[key] = cells
            start = reader.reader.line_num + 1
    except csv.Error as exc:
        raise FetchError(
            f"{label}:{start}: not a readable CSV record ({exc}; perhaps a quote that is never closed); "
            "use the file written by 'reportgen fetch'."
        ) from None
    return out


def _read_metadata_path(path: Path, wanted: set[str]) -> dict[str, dict[str, str]]:
    """The metadata of the ``wanted`` ids from the metadata file ``fetch`` wrote, streamed."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return _read_metadata(handle, str(path), wanted)


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
    """One line per difference between a spec and Fingertips' metadata for its series.

    Text from the metadata (names, units) is shown escaped (:func:`printable`): it comes from the server.
    """
    lines: list[str] = []
    for spec in specs:
        if spec.fingertips_id is None and spec.derive is None:
            continue
        key = spec.source_key
        meta = metadata.get(key)
        if meta is None:
            lines.append(printable(f"{spec.path}: Fingertips has no metadata for indicator {key}; check the id"))
            continue
        lines += [printable(f"{spec.path}: {text}") for text in _differences(spec, meta)]
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
