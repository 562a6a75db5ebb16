"""The HTTP client both publishers' downloads share (Fingertips and ONS Explore Local Statistics).

One HTTP session with connect and read timeouts, a deadline for each request and one for the whole
fetch, bounded retries (urllib3's ``Retry`` on the session's adapter: exponential backoff with
jitter on connection errors, timeouts and bodies cut off, and 429 and 5xx honouring a capped
``Retry-After`` that is never shorter than the backoff), TLS always verified, a User-Agent naming
reportgen, and redirects followed only to other http(s) addresses, at most :data:`MAX_REDIRECTS`.

Every body is streamed to a file in the cache folder (never held in memory), capped in size, its
length checked against ``Content-Length`` or the chunked framing, then checked by the publisher's
own check (a Fingertips CSV, an ELS CSV or JSON); only then does it enter the cache
(``CACHE/responses``), with a validator (its SHA-256 and length) that is checked again whenever the
cached body is used. The cache answers conditional requests (ETag and Last-Modified), so an
unchanged rerun downloads nothing, and a body checked in a fetch that did not finish is reused
without a request by a rerun within :data:`RESUME_SECONDS`.

:class:`Client` is one fetch's session, cache and deadline; each publisher describes itself with a
:class:`Site` (its name, the option that sets its address, its size cap), which the messages use.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Generic, Protocol, Self, TypeVar, cast
from urllib.parse import urljoin, urlsplit, urlunsplit

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
from reportgen.core.files import write_atomic

DEFAULT_BASE_URL = "https://fingertips.phe.org.uk/api"
#: Where ONS publishes the Explore Local Statistics files one folder per dataset
#: (``<slug>/<slug>.csv`` and ``<slug>/<slug>.json``): the main branch of the public data
#: repository the ELS service itself is built from (its app's ``scripts/download-data.ts`` clones
#: it). The service's own download address (www.ons.gov.uk/explore-local-statistics/files/) serves
#: only the combined ``all-datasets.csv`` and JSON-stat files, not one file per dataset.
DEFAULT_ELS_BASE_URL = "https://raw.githubusercontent.com/ONSdigital/explore-local-statistics-data/main"
USER_AGENT = f"reportgen/{__version__} (+README)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 300  # seconds: the longest wait a Retry-After (or the backoff) can ask for
DEFAULT_REQUEST_TIMEOUT = 900.0  # seconds: one request, every attempt and wait included, to its last byte
DEFAULT_DEADLINE = 3600.0  # seconds: the whole fetch
MAX_DEADLINE = 7 * 24 * 3600.0  # seconds: the longest --timeout or --deadline accepted
MAX_REDIRECTS = 5
RESUME_SECONDS = 24 * 3600  # a batch checked by a fetch that did not finish is reused for this long
MAX_RESPONSE_BYTES = 500_000_000  # decompressed; a 100-indicator batch of real data is far smaller
_CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel")
_CHUNK_BYTES = 1 << 18  # 256 KiB: what is read, decoded or written at a time
_SIDECAR_BYTES = 64_000
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.RetryError,
    ChunkedEncodingError,
    ContentDecodingError,
)


class FetchError(ReportgenError):
    """Downloading from a publisher (Fingertips or ONS Explore Local Statistics) failed; nothing was written."""


@dataclass(frozen=True)
class FetchOptions:
    """Where to fetch from and how patiently.

    ``request_timeout`` bounds one request (every attempt, every wait between attempts and the
    whole body); ``deadline`` bounds the whole fetch. Both are in seconds; the connect and read
    timeouts bound a single connection attempt and the pause between two received bytes.
    """

    base_url: str = DEFAULT_BASE_URL
    area_type: int = 502
    els_base_url: str = DEFAULT_ELS_BASE_URL
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
class Site:
    """A publisher as its messages name it: what it is, the option setting its address, its limits."""

    name: str  # "the Fingertips API"
    option: str  # "--base-url"
    not_found: str  # advice after an HTTP error such as 404
    kind: str = "CSV"  # what a body must be
    content_types: tuple[str, ...] = _CSV_TYPES
    max_bytes: int | None = None  # None: MAX_RESPONSE_BYTES (read when used)


FINGERTIPS_SITE = Site(
    "the Fingertips API",
    "--base-url",
    "Check the indicator ids and --base-url (the Fingertips API address ends in /api).",
)


def default_cache_dir() -> Path:
    """The user's cache folder for reportgen (``$XDG_CACHE_HOME/reportgen`` or ``~/.cache/reportgen``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reportgen"


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


def base_url_problem(url: str, example: str = DEFAULT_BASE_URL) -> str | None:
    """Why ``url`` cannot be a publisher's address (said without repeating any password), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid web address"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"'{printable(redact(url))[:200]}' is not a web address; use e.g. {example}"
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
        self.site = FINGERTIPS_SITE  # set by _get for each request
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
                    self.body = _spool(response.raw, str(request.url), self.spool_dir, self.site)
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


def _spool(raw: BaseHTTPResponse, url: str, folder: Path, site: Site) -> _Spooled:
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
    cap = site.max_bytes or MAX_RESPONSE_BYTES
    fd, name = tempfile.mkstemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}.", suffix=".tmp", dir=folder)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                for chunk in raw.stream(_CHUNK_BYTES, decode_content=True):
                    size += len(chunk)
                    if size > cap:
                        raw.close()
                        raise FetchError(
                            f"{url}: the response is over {cap // 1_000_000:,} MB once decompressed; "
                            f"refused. Check {site.option} points at {site.name}."
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


def _get(
    session: requests.Session, url: str, options: FetchOptions, cached: _Entry | None, end: float, site: Site
) -> _Got:
    """GET ``url`` (retried by the session's policy, redirects checked), within the deadline ``end``.

    With a cached entry the request is conditional; a 304 answer returns that entry.
    """
    adapter = cast(_SpoolingAdapter, session.get_adapter(url))
    adapter.site = site
    headers: dict[str, str] = {}
    if cached is not None and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached is not None and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    with adapter.watch.armed(*_deadline(url, options, end)):
        try:
            response = _send(session, url, headers, options, site)
            adapter.watch.check()  # a body without framing ends where the deadline cut it
        except BaseException:
            adapter.discard_body()
            raise
    body = adapter.take_body()
    try:
        return _outcome(url, options, response, body, cached if headers else None, site)
    except BaseException:
        if body is not None:
            body.path.unlink(missing_ok=True)
        raise


def _send(
    session: requests.Session, url: str, headers: dict[str, str], options: FetchOptions, site: Site
) -> requests.Response:
    """:func:`_follow`, with each failure turned into a one-line :class:`FetchError`."""
    watch = cast(_SpoolingAdapter, session.get_adapter(url)).watch
    try:
        return _follow(session, url, headers, options, site)
    except FetchError:
        raise
    except requests.exceptions.SSLError as exc:
        watch.check()
        raise FetchError(
            f"{url}: TLS certificate check failed ({printable(str(exc))[:300]}); check the address or your network"
        ) from exc
    except _TRANSIENT as exc:
        watch.check()
        raise _gave_up(url, options, _describe(exc), site) from exc
    except requests.RequestException as exc:
        watch.check()
        raise FetchError(f"{url}: the request failed ({printable(str(exc))[:300]}); check {site.option}.") from exc
    except OSError as exc:  # writing the body into the cache folder
        raise FetchError(
            f"Cannot write to --cache-dir {options.cache_dir} ({exc.strerror or exc}); "
            "free some space or give another folder with --cache-dir."
        ) from None


def _outcome(
    url: str,
    options: FetchOptions,
    response: requests.Response,
    body: _Spooled | None,
    cached: _Entry | None,
    site: Site,
) -> _Got:
    """A request's answer: a new body, the cached entry (304 to a conditional request), or an error."""
    response.close()
    if response.status_code == 304 and cached is not None:
        return _Got(None, cached, "", cached.etag, cached.last_modified)
    if response.status_code in RETRY_STATUSES:
        raise _gave_up(url, options, printable(f"HTTP {response.status_code} {response.reason or ''}".strip()), site)
    if response.status_code != 200 or body is None:
        raise FetchError(
            printable(f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip()) + f". {site.not_found}"
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


def _follow(
    session: requests.Session, url: str, headers: dict[str, str], options: FetchOptions, site: Site
) -> requests.Response:
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
            raise FetchError(f"{url}: the server redirected to {shown}, {problem}; refused. Check {site.option}.")
        if location in seen:
            raise FetchError(
                f"{url}: the server's redirects go round in a loop (back to {shown}); check {site.option}."
            )
        seen.add(location)
        target = location
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects; check {site.option} points at {site.name}.")


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


def _gave_up(url: str, options: FetchOptions, last: str, site: Site) -> FetchError:
    return FetchError(
        f"{url}: failed after {options.attempts} attempts ({last}). "
        f"{site.name[0].upper()}{site.name[1:]} may be busy or unreachable: try again later, "
        f"or check {site.option} and your network."
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

    def mark(self, url: str, sha256: str, length: int) -> None:
        """Record that ``url``'s body passed every check, for a rerun should this fetch not finish."""
        record = {"url": url, "sha256": sha256, "length": length, "checked_at": time.time()}
        write_atomic(self.part_path(url), (json.dumps(record) + "\n").encode("utf-8"))

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


def open_body(path: Path) -> BinaryIO:
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


class Hashing(io.RawIOBase):
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
def csv_records(path: Path) -> Iterator[tuple[Iterator[list[str]], Hashing]]:
    """The CSV records of a body file (as the csv module reads them, strictly) and its hashing stream."""
    with open_body(path) as raw:
        hashing = Hashing(raw)
        text = io.TextIOWrapper(io.BufferedReader(hashing, _CHUNK_BYTES), encoding="utf-8-sig", newline="")
        yield csv.reader(text, strict=True), hashing


class Sink:
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


# --- one fetch's client: a body checked, cached and reused -----------------------------------------


class Checked(Protocol):
    """What a publisher's check of a body returns: at least the SHA-256 and length it read."""

    @property
    def sha256(self) -> str: ...

    @property
    def length(self) -> int: ...


C = TypeVar("C", bound=Checked)


@dataclass(frozen=True)
class Fetched(Generic[C]):
    """One checked response, kept on disk in the cache folder, with what its check found."""

    url: str
    path: Path
    sha256: str
    length: int
    from_cache: bool
    checked: C


def refuse_unexpected(url: str, path: Path, content_type: str, site: Site) -> None:
    """The checks of a new body that come before reading it: its content type, and not an HTML page."""
    with open_body(path) as handle:
        head = handle.read(1024).lstrip()
    if content_type == "text/html" or head[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise FetchError(
            f"{url}: returned an HTML page, not {site.kind} (an error or maintenance page). "
            f"Try again later, or check {site.option} points at {site.name}."
        )
    wanted = site.kind.lower()
    if content_type and content_type not in site.content_types and wanted not in content_type:
        raise FetchError(
            printable(
                f"{url}: returned {content_type[:100]}, not {site.kind}; check {site.option} points at {site.name}."
            )
        )


class Client:
    """One fetch's session, cache and deadline, shared by every publisher's requests.

    :meth:`download` returns a body that passed the publisher's ``check`` (and ``accept``):
    resumed from a fetch that did not finish, revalidated with a conditional request, or
    downloaded. Nothing enters the cache before it passed both.
    """

    def __init__(self, options: FetchOptions) -> None:
        self.options = options
        self.end = time.monotonic() + options.deadline
        self.cache = _Cache(options.cache_dir, options.progress)
        self.session = make_session(options.cache_dir, options)

    def close(self) -> None:
        self.session.close()

    def download(
        self,
        url: str,
        site: Site,
        check: Callable[[str, Path], C],
        accept: Callable[[C], None] = lambda checked: None,
    ) -> Fetched[C]:
        entry = self.cache.entry(url)
        done: Fetched[C] | None = None
        if entry is not None and self.cache.resumable(url, entry):
            done = self._reuse(url, entry, check)
            entry = None if done is None else entry
        if done is None:
            done = self._request(url, site, entry, check, accept)
        accept(done.checked)
        self.cache.mark(done.url, done.sha256, done.length)
        return done

    def _request(
        self, url: str, site: Site, entry: _Entry | None, check: Callable[[str, Path], C], accept: Callable[[C], None]
    ) -> Fetched[C]:
        got = _get(self.session, url, self.options, entry, self.end, site)
        if got.cached is not None:
            done = self._reuse(url, got.cached, check)
            if done is not None:
                return done
            got = _get(self.session, url, self.options, None, self.end, site)  # the cached body is gone: ask again
        assert got.spooled is not None
        try:
            refuse_unexpected(url, got.spooled.path, got.content_type, site)
            checked = check(url, got.spooled.path)
            accept(checked)  # an incomplete answer never enters the cache
        except BaseException:
            got.spooled.path.unlink(missing_ok=True)
            raise
        stored = self.cache.store(url, got)
        return Fetched(url, stored.path, stored.sha256, stored.length, False, checked)

    def _reuse(self, url: str, entry: _Entry, check: Callable[[str, Path], C]) -> Fetched[C] | None:
        """The cached body, checked again against its validator and by ``check``; None (reported) if damaged."""
        try:
            checked = check(url, entry.path)
        except FetchError as exc:
            self.cache.damaged(url, exc.message.removeprefix(f"{url}: ")[:200])
            return None
        except OSError as exc:
            self.cache.damaged(url, exc.strerror or str(exc))
            return None
        if (checked.sha256, checked.length) != (entry.sha256, entry.length):
            self.cache.damaged(url, "its SHA-256 or length differs from its validator")
            return None
        return Fetched(url, entry.path, entry.sha256, entry.length, True, checked)


def part_path(cache_dir: Path, url: str) -> Path:
    """The marker saying ``url``'s cached body was checked by a fetch that has not finished."""
    return cache_dir / "parts" / f"{_Cache.key(url)}.json"


def cache_key(url: str) -> str:
    """The name (without suffix) of ``url``'s files in the cache folder."""
    return _Cache.key(url)
