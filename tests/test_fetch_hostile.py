"""``reportgen fetch`` against a hostile local server (127.0.0.1): issue 16, items 3, 6, 7, 12-14 and 17.

The server answers like the Fingertips API (the rows of tests/test_fetch.py's FakeFingertips) unless
a test queues a behaviour for the next request: a body cut on a row boundary with a larger
``Content-Length``, a chunked body that lies, a drip of one byte a second, redirects to ``file://``,
in a loop or to an address with a password, ``Retry-After`` values that are not numbers, escape
sequences in indicator names, or a body of many megabytes. Every behaviour stops by itself.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import tracemalloc
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from test_fetch import CAMPYLOBACTER_SPEC, EXPORT, METADATA_HEADER, NORTH_EAST, FakeFingertips

from reportgen.cli import cli
from reportgen.core.specs import load_specs
from reportgen.sources import http
from reportgen.sources.fingertips_api import FetchError, FetchOptions, data_url, fetch, metadata_url

PASSWORD = "s3cret-Pa55word"
ESCAPES = "\x1b]0;owned\x07\x1b[2J"
Behaviour = Callable[[BaseHTTPRequestHandler, "Hostile", bytes], None]


class Hostile(FakeFingertips):
    """FakeFingertips with a queue of behaviours, one per request, and overridable metadata names."""

    def __init__(self, *exports: Path) -> None:
        super().__init__(*exports)
        self.plan: list[Behaviour] = []
        self.metadata_name = "Campylobacter incidence rate/100,000"
        self.metadata_unit = "per 100,000"
        self.drip_started: list[float] = []

    def body(self, path: str, ids: list[str]) -> bytes:
        if path.endswith("/all_data/csv/by_indicator_id"):
            return super().body(path, ids)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(METADATA_HEADER.split(","))
        for i in ids:
            if i == "93356":
                row = [i, self.metadata_name] + [""] * 22 + [self.metadata_unit, "Crude rate", "Calendar"]
                writer.writerow([*row, "RAG - Low is good", ""])
        return out.getvalue().encode("utf-8")


def _headers(handler: BaseHTTPRequestHandler, status: int = 200, **extra: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "text/csv")
    for key, value in extra.items():
        handler.send_header(key.replace("_", "-"), value)
    handler.end_headers()


def _row_cut(body: bytes) -> bytes:
    """The body cut on a row boundary at about 98%: every row it keeps is complete."""
    return body[: body.index(b"\r\n", int(len(body) * 0.98)) + 2]


def cut_with_larger_length(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    _headers(handler, Content_Length=str(len(body)))
    handler.wfile.write(_row_cut(body))
    handler.close_connection = True


def chunked_with_larger_length(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    """A complete chunked body of 98% of the rows, with a Content-Length promising them all."""
    cut = _row_cut(body)
    _headers(handler, Content_Length=str(len(body)), Transfer_Encoding="chunked")
    handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(cut), cut))
    handler.close_connection = True


def chunked_without_last_chunk(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    cut = _row_cut(body)
    _headers(handler, Transfer_Encoding="chunked")
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(cut), cut))
    handler.close_connection = True


def _drip(handler: BaseHTTPRequestHandler, data: bytes, api: Hostile, seconds: float = 1.0) -> None:
    """Send ``data`` one byte a second; stop when the client goes away, or after 20 s at most."""
    api.drip_started.append(time.monotonic())
    stop = time.monotonic() + 20
    for byte in data:
        if time.monotonic() > stop:
            break
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            break
        time.sleep(seconds)
    handler.close_connection = True


def drip_body(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    _headers(handler, Content_Length=str(len(body)))
    _drip(handler, body, api)


def drip_headers(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    _drip(handler, b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n", api)


def redirect_to(location: str) -> Behaviour:
    def behaviour(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behaviour


def status(code: int, reason: str, **headers: str) -> Behaviour:
    def behaviour(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
        handler.send_response(code, reason)
        for key, value in headers.items():
            handler.send_header(key.replace("_", "-"), value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return behaviour


def whole(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    _headers(handler, Content_Length=str(len(body)))
    handler.wfile.write(body)


def html_with_etag(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
    page = b"<!DOCTYPE html><html><body>MAINTENANCE-PAGE-MARKER</body></html>"
    _headers(handler, Content_Length=str(len(page)), ETag='"maintenance"')
    handler.wfile.write(page)


def big(megabytes: int) -> Behaviour:
    """A valid body of about ``megabytes`` MB: the indicator's rows repeated, streamed in blocks."""

    def behaviour(handler: BaseHTTPRequestHandler, api: Hostile, body: bytes) -> None:
        head, _, block = body.partition(b"\r\n")
        head += b"\r\n"
        copies = -(-megabytes * 1_000_000 // len(block))
        _headers(handler, Content_Length=str(len(head) + copies * len(block)))
        handler.wfile.write(head)
        for _ in range(copies):
            handler.wfile.write(block)

    return behaviour


def _handler(api: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            ids = parse_qs(parts.query).get("indicator_ids", [""])[0].split(",")
            api.log.append({"path": parts.path, "query": parts.query, "headers": dict(self.headers)})
            if parts.path == "/loop":
                return redirect_to("/loop")(self, api, b"")
            if parts.path.startswith("/chain/"):
                return redirect_to(f"/chain/{int(parts.path.rsplit('/', 1)[1]) + 1}")(self, api, b"")
            body = api.body(parts.path, ids)
            if api.plan:
                return api.plan.pop(0)(self, api, body)
            etag = f'"{len(body)}-{hash(body) & 0xFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                return status(304, "Not Modified", ETag=etag)(self, api, body)
            _headers(self, Content_Length=str(len(body)), ETag=etag)
            self.wfile.write(body)

    return Handler


@pytest.fixture
def hostile(validation_dir):
    fake = Hostile(validation_dir / EXPORT, validation_dir / NORTH_EAST)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.origin = f"http://127.0.0.1:{server.server_address[1]}"
    fake.base_url = fake.origin + "/api"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def specs(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    return load_specs(folder)


def options(api: Hostile, tmp_path: Path, **kwargs: object) -> tuple[FetchOptions, list[float], list[str]]:
    slept: list[float] = []
    said: list[str] = []
    base: dict = dict(
        base_url=api.base_url,
        cache_dir=tmp_path / "cache",
        sleep=slept.append,
        progress=said.append,
        attempts=3,
        backoff=0.5,
        connect_timeout=2.0,
        read_timeout=5.0,
    )
    base.update(kwargs)
    return FetchOptions(**base), slept, said


def outputs(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(out.name)]


def cached_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def data_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


# --- item 3: a cut-short download is never cached nor reused ------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (cut_with_larger_length, "truncated"),
        (chunked_with_larger_length, "both Content-Length and Transfer-Encoding"),
        (chunked_without_last_chunk, "truncated"),
    ],
)
def test_a_body_cut_on_a_row_boundary_is_refused_and_never_cached(hostile, specs, tmp_path, behaviour, reason):
    hostile.plan = [behaviour] * 3
    out = tmp_path / "fingertips.csv"
    opts, slept, _ = options(hostile, tmp_path)
    with pytest.raises(FetchError, match=rf"failed after 3 attempts \(.*{reason}") as caught:
        fetch(specs, out, opts)
    assert "\n" not in str(caught.value) and len(slept) == 2
    assert outputs(out) == [] and cached_files(opts.cache_dir) == []
    result = fetch(specs, out, opts)  # the healthy server: everything downloaded, nothing from the cache
    assert (result.rows, result.downloaded, result.from_cache) == (852, 2, 0)
    assert data_rows(out) == 852


def test_a_cut_body_then_a_whole_one_is_a_retry_that_succeeds(hostile, specs, tmp_path):
    hostile.plan = [chunked_with_larger_length]
    opts, slept, said = options(hostile, tmp_path)
    assert fetch(specs, tmp_path / "fingertips.csv", opts).rows == 852
    assert len(slept) == 1 and "both Content-Length and Transfer-Encoding" in said[0]


def test_nothing_enters_the_cache_before_it_is_checked(hostile, specs, tmp_path):
    hostile.plan = [html_with_etag]
    opts, _, _ = options(hostile, tmp_path)
    with pytest.raises(FetchError, match="HTML page"):
        fetch(specs, tmp_path / "fingertips.csv", opts)
    for path in cached_files(opts.cache_dir):
        assert b"MAINTENANCE-PAGE-MARKER" not in path.read_bytes(), path


def _cached_body(cache: Path, url: str) -> Path:
    return cache / "responses" / (http.cache_key(url) + ".csv")


@pytest.mark.parametrize("damage", ["cut on a row boundary", "same length, one digit changed"])
def test_a_cached_body_is_checked_against_its_validator_when_reused(hostile, specs, tmp_path, damage):
    out = tmp_path / "fingertips.csv"
    opts, _, said = options(hostile, tmp_path)
    fetch(specs, out, opts)
    body = _cached_body(opts.cache_dir, data_url(hostile.base_url, [93356], 502))
    data = body.read_bytes()
    if damage.startswith("cut"):
        body.write_bytes(_row_cut(data))
    else:
        at = data.rindex(b",1") + 1
        body.write_bytes(data[:at] + b"7" + data[at + 1 :])
    hostile.log.clear()
    result = fetch(specs, out, opts)
    assert any("cached response" in line and "damaged" in line for line in said)
    assert result.rows == 852 and data_rows(out) == 852 and result.downloaded == 1
    assert body.read_bytes() == data  # downloaded again, whole


def test_a_resumed_part_is_checked_against_its_validator(hostile, specs, tmp_path):
    out = tmp_path / "fingertips.csv"
    opts, _, said = options(hostile, tmp_path)
    hostile.plan = [whole, html_with_etag]  # the data batch succeeds, the metadata fails: the data is kept
    with pytest.raises(FetchError):
        fetch(specs, out, opts)
    body = _cached_body(opts.cache_dir, data_url(hostile.base_url, [93356], 502))
    body.write_bytes(_row_cut(body.read_bytes()))
    hostile.log.clear()
    assert fetch(specs, out, opts).rows == 852
    assert [e["path"] for e in hostile.log] == [
        "/api/all_data/csv/by_indicator_id",
        "/api/indicator_metadata/csv/by_indicator_id",
    ]
    assert any("damaged" in line for line in said)


# --- item 6: deadlines per request and per run --------------------------------------------------


@pytest.mark.parametrize("behaviour", [drip_body, drip_headers])
def test_a_server_dripping_a_byte_a_second_is_stopped_at_the_request_deadline(hostile, specs, tmp_path, behaviour):
    hostile.plan = [behaviour] * 3
    out = tmp_path / "fingertips.csv"
    opts, _, _ = options(hostile, tmp_path, request_timeout=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete response within 1.5 s \(--timeout") as caught:
        fetch(specs, out, opts)
    assert time.monotonic() - started < 4
    assert str(caught.value).startswith(data_url(hostile.base_url, [93356], 502)) and "\n" not in str(caught.value)
    assert outputs(out) == [] and cached_files(opts.cache_dir) == []


def test_the_run_deadline_covers_every_request(hostile, specs, tmp_path):
    hostile.plan = [drip_body] * 3
    opts, _, _ = options(hostile, tmp_path, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not finish within 1 s \(--deadline\)"):
        fetch(specs, tmp_path / "fingertips.csv", opts)
    assert time.monotonic() - started < 4


def test_a_retry_wait_past_the_deadline_is_not_started(hostile, specs, tmp_path):
    hostile.plan = [status(429, "Too Many Requests", Retry_After="120")]
    opts, slept, _ = options(hostile, tmp_path, request_timeout=30)
    with pytest.raises(FetchError, match="--timeout.*the next attempt would start after it"):
        fetch(specs, tmp_path / "fingertips.csv", opts)
    assert slept == []


def test_cli_stops_a_dripping_server_with_one_line(hostile, tmp_path, runner):
    hostile.plan = [drip_body] * 3
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    out = tmp_path / "fingertips.csv"
    args = ["fetch", "--specs", str(folder), "--out", str(out), "--base-url", hostile.base_url]
    started = time.monotonic()
    result = runner.invoke(cli, [*args, "--cache-dir", str(tmp_path / "c"), "--timeout", "1.5"])
    assert time.monotonic() - started < 6
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert "no complete response within 1.5 s" in line and outputs(out) == []


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_cli_refuses_a_deadline_that_is_not_a_positive_number(runner, tmp_path, value):
    result = runner.invoke(cli, ["fetch", "--out", str(tmp_path / "x.csv"), "--deadline", value])
    assert result.exit_code == 2 and "--deadline" in result.output


# --- item 7: bodies are streamed to disk --------------------------------------------------------


def test_memory_stays_well_below_the_size_of_the_response(hostile, specs, tmp_path):
    megabytes = 8
    hostile.plan = [big(megabytes)]
    out = tmp_path / "fingertips.csv"
    opts, _, _ = options(hostile, tmp_path)
    tracemalloc.start()
    try:
        result = fetch(specs, out, opts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.stat().st_size > megabytes * 1_000_000 * 0.9 and result.rows % 852 == 0 and result.rows >= 852 * 40
    assert peak < megabytes * 1_000_000 / 2, f"peak {peak / 1e6:.1f} MB of Python memory"  # was about 10 times


# --- item 12: one-line errors, never tracebacks -------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (redirect_to("file:///etc/passwd"), "redirected to file:///etc/passwd, which is not an http(s) address"),
        (redirect_to("/loop"), "redirects go round in a loop"),
        (redirect_to("/chain/1"), "more than 5 redirects"),
        (redirect_to("javascript:alert(1)"), "not an http(s) address"),
    ],
)
def test_bad_redirects_are_one_line_errors(hostile, specs, tmp_path, runner, behaviour, message):
    hostile.plan = [behaviour]
    out = tmp_path / "fingertips.csv"
    opts, _, _ = options(hostile, tmp_path)
    with pytest.raises(FetchError) as caught:
        fetch(specs, out, opts)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert outputs(out) == [] and len(hostile.log) <= 8


def test_cli_redirect_to_a_file_is_one_line(hostile, tmp_path, runner):
    hostile.plan = [redirect_to("file:///etc/passwd")]
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    args = ["fetch", "--specs", str(folder), "--out", str(tmp_path / "f.csv"), "--base-url", hostile.base_url]
    result = runner.invoke(cli, [*args, "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 1 and "Traceback" not in result.output and "InvalidSchema" not in result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("Error")]


def test_retry_after_as_an_http_date_with_minus_zero_zone(hostile, specs, tmp_path):
    from reportgen.sources.fingertips_api import _retry_after

    assert _retry_after("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0  # was a TypeError
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30)).replace("+0000", "-0000")
    assert 25 <= _retry_after(later) <= 30
    hostile.plan = [status(503, "Service Unavailable", Retry_After="Wed, 21 Oct 2015 07:28:00 -0000")]
    opts, slept, _ = options(hostile, tmp_path)
    assert fetch(specs, tmp_path / "fingertips.csv", opts).rows == 852
    assert 0.5 <= slept[0] <= 1.0  # a date in the past: the backoff


def test_a_corrupt_http_cache_of_an_older_version_is_ignored(hostile, specs, tmp_path, runner):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "http_cache.sqlite").write_bytes(b"this is not a database" * 100)
    opts, _, _ = options(hostile, tmp_path)
    assert fetch(specs, tmp_path / "fingertips.csv", opts).rows == 852


def test_a_damaged_cache_record_is_warned_about_and_rebuilt(hostile, specs, tmp_path):
    out = tmp_path / "fingertips.csv"
    opts, _, said = options(hostile, tmp_path)
    fetch(specs, out, opts)
    for record in (opts.cache_dir / "responses").glob("*.json"):
        record.write_bytes(b"\x00garbage{")
    result = fetch(specs, out, opts)
    assert result.downloaded == 2 and sum("damaged" in line for line in said) == 2
    assert fetch(specs, out, opts).from_cache == 2  # rebuilt


def test_a_read_only_cache_folder_is_one_line(hostile, specs, tmp_path, monkeypatch):
    def refuse(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(http, "tempfile", types.SimpleNamespace(mkstemp=refuse))
    opts, _, _ = options(hostile, tmp_path)
    with pytest.raises(FetchError, match=r"--cache-dir .* cannot be written \(Permission denied\)"):
        fetch(specs, tmp_path / "fingertips.csv", opts)
    assert hostile.log == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_a_read_only_cache_folder_on_disk_is_one_line(hostile, specs, tmp_path):
    opts, _, _ = options(hostile, tmp_path)
    fetch(specs, tmp_path / "fingertips.csv", opts)
    for folder in (opts.cache_dir, opts.cache_dir / "responses", opts.cache_dir / "parts"):
        folder.chmod(0o555)
    try:
        with pytest.raises(FetchError, match="cannot be written"):
            fetch(specs, tmp_path / "fingertips.csv", opts)
    finally:
        for folder in (opts.cache_dir, opts.cache_dir / "responses", opts.cache_dir / "parts"):
            folder.chmod(0o755)


# --- item 13: credentials in addresses are refused and never shown ------------------------------


def _everything_written(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file() and "specs" not in p.parts)


def test_cli_refuses_a_base_url_with_a_password_without_showing_it(hostile, tmp_path, runner):
    url = hostile.base_url.replace("http://", f"http://reportgen:{PASSWORD}@")
    out = tmp_path / "fingertips.csv"
    result = runner.invoke(cli, ["fetch", "--base-url", url, "--out", str(out), "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 2 and "user name or password" in result.output
    assert PASSWORD not in result.output and "***@127.0.0.1" in result.output
    assert hostile.log == [] and PASSWORD.encode() not in _everything_written(tmp_path)


@pytest.mark.parametrize("userinfo", [f"reportgen:{PASSWORD}@", f"{PASSWORD}@"])
def test_fetch_refuses_credentials_in_the_base_url(hostile, specs, tmp_path, userinfo):
    opts, _, said = options(hostile, tmp_path, base_url=hostile.base_url.replace("http://", f"http://{userinfo}"))
    with pytest.raises(FetchError, match="user name or password") as caught:
        fetch(specs, tmp_path / "fingertips.csv", opts)
    assert PASSWORD not in str(caught.value) and not said and hostile.log == []
    assert PASSWORD.encode() not in _everything_written(tmp_path)


def test_a_redirect_to_an_address_with_a_password_is_refused_without_showing_it(hostile, specs, tmp_path):
    target = hostile.origin.replace("http://", f"http://reportgen:{PASSWORD}@") + "/api/x"
    hostile.plan = [redirect_to(target)]
    opts, _, said = options(hostile, tmp_path)
    with pytest.raises(FetchError, match="user name or password") as caught:
        fetch(specs, tmp_path / "fingertips.csv", opts)
    assert PASSWORD not in str(caught.value) + "".join(said)
    assert len(hostile.log) == 1 and PASSWORD.encode() not in _everything_written(tmp_path)


# --- item 14: text from the server is printed escaped -------------------------------------------


def test_escape_sequences_from_the_server_never_reach_the_terminal(hostile, tmp_path, runner):
    hostile.metadata_name = f"{ESCAPES}Totally unrelated measure"
    hostile.metadata_unit = f"per{ESCAPES} 100,000"
    hostile.plan = [status(503, f"Busy{ESCAPES}")]
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    out = tmp_path / "fingertips.csv"
    args = ["fetch", "--specs", str(folder), "--out", str(out), "--base-url", hostile.base_url]
    result = runner.invoke(cli, [*args, "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "name differs from Fingertips' '\\x1b]0;owned\\x07\\x1b[2JTotally unrelated measure'" in result.stderr
    assert "unit is 'per 100,000'" in result.stderr and "Busy\\x1b" in result.stderr


def test_metadata_warnings_are_escaped_where_they_are_made(specs):
    from reportgen.sources.fingertips_api import metadata_warnings, read_metadata_text

    text = METADATA_HEADER + "\n" + ",".join(["93356", f'"{ESCAPES}x"'] + [""] * 22 + ['"%"', "Proportion", "", ""])
    lines = metadata_warnings(specs, read_metadata_text(text + ",\n"))
    assert lines and all(line.isprintable() for line in lines)


# --- item 17: Retry-After that is negative or not a number --------------------------------------


@pytest.mark.parametrize("value", ["-5", "nan", "NaN", "inf", "-0.5"])
def test_a_retry_after_that_means_no_wait_falls_back_to_the_backoff(hostile, specs, tmp_path, value):
    hostile.plan = [status(429, "Too Many Requests", Retry_After=value)]
    opts, slept, _ = options(hostile, tmp_path)
    assert fetch(specs, tmp_path / "fingertips.csv", opts).rows == 852
    assert len(slept) == 1 and 0.5 <= slept[0] <= 1.0  # 0.5 s backoff plus up to 0.5 s of jitter, not 0


def test_a_retry_after_is_never_shorter_than_the_backoff(hostile, specs, tmp_path):
    hostile.plan = [status(503, "Service Unavailable")] + [status(429, "Too Many Requests", Retry_After="0")]
    opts, slept, _ = options(hostile, tmp_path)
    fetch(specs, tmp_path / "fingertips.csv", opts)
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 1.5


def test_urls_in_the_manifest_and_messages_are_the_api_addresses(hostile, specs, tmp_path):
    out = tmp_path / "fingertips.csv"
    opts, _, _ = options(hostile, tmp_path)
    fetch(specs, out, opts)
    manifest = json.loads(out.with_name("fingertips.csv.manifest.json").read_text())
    assert manifest["base_url"] == hostile.base_url
    assert [r["url"] for r in manifest["requests"]] == [
        data_url(hostile.base_url, [93356], 502),
        metadata_url(hostile.base_url, [93356]),
    ]


def test_an_indicator_id_in_other_digits_orders_without_a_traceback():
    """'²'.isdigit() is True but int('²') raises: ids from the server are ordered by ASCII digits only."""
    from reportgen.sources.fingertips_api import _id_order

    assert _id_order(("²", {})) == 0
    assert _id_order(("١٢", {})) == 0
    assert _id_order(("93356", {})) == 93356
