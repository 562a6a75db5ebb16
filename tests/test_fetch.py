"""``reportgen fetch`` against a local server (127.0.0.1) that speaks the Fingertips API.

The server answers at the real URL shapes with rows of a real Fingertips export
(tests/data/validation/fingertips) and can inject the faults seen in practice.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from reportgen.cli import cli
from reportgen.core.specs import load_specs
from reportgen.sources.fingertips_api import (
    USER_AGENT,
    FetchError,
    FetchOptions,
    data_url,
    fetch,
    metadata_url,
    metadata_warnings,
    read_metadata_text,
)

EXPORT = "fingertips/jargonautical_data-dev__indicators-CountyUA.data.csv"
NORTH_EAST = "fingertips/jezzaay_mental-health-analysis__suicides__north_east.csv"
METADATA_HEADER = (
    "Indicator ID,Indicator,Definition,Rationale,Data source,Indicator source,Methodology,"
    "Standard population/values,Confidence interval details,Source of numerator,Definition of numerator,"
    "Source of denominator,Definition of denominator,Disclosure control,Caveats,Copyright,Data re-use,"
    "Links,Indicator number,Notes,Frequency,Rounding,Indicator Content,Specific rationale,"
    "Unit,Value type,Year type,Polarity,Impact of COVID-19"
)
METADATA = {
    "93356": ("Campylobacter incidence rate/100,000", "per 100,000", "Crude rate", "RAG - Low is good"),
    "41001": ("Suicide rate", "per 100,000", "Directly standardised rate", "Not applicable"),
    "22304": ("Self-reported wellbeing - people with a high anxiety score", "%", "Proportion", "RAG - Low is good"),
}

CAMPYLOBACTER_SPEC = {
    "id": "campylobacter",
    "fingertips_id": 93356,
    "name": "Campylobacter incidence rate per 100,000",
    "short_name": "Campylobacter",
    "domain": "Health",
    "definition": "Laboratory reports of Campylobacter per 100,000 population.",
    "rationale": "Used here as a real Fingertips series to test fetching.",
    "source": "UKHSA (via OHID Fingertips)",
    "unit": "per 100,000",
    "decimals": 1,
    "value_type": "crude_rate",
    "multiplier": 100000,
    "polarity": "low_is_good",
    "comparison": "ci95",
    "sex": "Persons",
    "age": "All ages",
}


class FakeFingertips:
    """Rows by indicator id, ETag revalidation, a request log and a queue of faults."""

    def __init__(self, *exports: Path):
        self.rows = []
        for export in exports:  # older underscore-style exports have the same columns in the same order
            with export.open(encoding="utf-8-sig", newline="") as handle:
                records = list(csv.reader(handle))
            self.rows += records[1:]
            self.header = getattr(self, "header", records[0])
        self.faults: list[str] = []
        self.log: list[dict] = []
        self.slow_seconds = 2.0

    def body(self, path: str, ids: list[str]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if path.endswith("/all_data/csv/by_indicator_id"):
            writer.writerow(self.header)
            writer.writerows(r for r in self.rows if r[0] in ids)
        else:
            writer.writerow(METADATA_HEADER.split(","))
            for i in ids:
                if i in METADATA:
                    name, unit, value_type, polarity = METADATA[i]
                    writer.writerow([i, name] + [""] * 22 + [unit, value_type, "Calendar", polarity, ""])
        return out.getvalue().encode("utf-8")


def _reset(handler, body: bytes) -> None:
    """Send the headers and a third of the body, then reset the connection (RST)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/csv")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 3])
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Fingertips is being updated</h1></body></html>"
FAULTS = {
    "503": lambda h, api, body: h.send(503, b"Service Unavailable", "text/plain"),
    "429": lambda h, api, body: h.send(429, b"Too Many Requests", "text/plain", {"Retry-After": "7"}),
    "429-for-days": lambda h, api, body: h.send(429, b"Too Many Requests", "text/plain", {"Retry-After": "999999"}),
    "429-soon": lambda h, api, body: h.send(429, b"Too Many Requests", "text/plain", {"Retry-After": "soon"}),
    "html": lambda h, api, body: h.send(200, HTML_PAGE, "text/html; charset=utf-8"),
    "empty": lambda h, api, body: h.send(200, b"", "text/csv"),
    "truncated": lambda h, api, body: h.send(200, body[: len(body) // 2 + 7], "text/csv"),
    "gzip": lambda h, api, body: h.send(200, gzip.compress(body), "text/csv", {"Content-Encoding": "gzip"}),
    "slow": lambda h, api, body: (time.sleep(api.slow_seconds), h.send(200, body, "text/csv")),
    "reset": lambda h, api, body: _reset(h, body),
}


def _handler(api: FakeFingertips):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            ids = parse_qs(parts.query).get("indicator_ids", [""])[0].split(",")
            api.log.append({"path": parts.path, "query": parts.query, "headers": dict(self.headers)})
            if not parts.path.startswith("/api/"):
                return self.send(404, b"not found", "text/plain")
            body = api.body(parts.path, ids)
            if api.faults:
                return FAULTS[api.faults.pop(0)](self, api, body)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, b"", None, {"ETag": etag})
            return self.send(200, body, "text/csv; charset=utf-8", {"ETag": etag})

        def send(self, status: int, body: bytes, kind: str | None, headers: dict | None = None):
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def api(validation_dir):
    fake = FakeFingertips(validation_dir / EXPORT, validation_dir / NORTH_EAST)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/api"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def specs_dir(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    return folder


def options(api, tmp_path, **kwargs) -> tuple[FetchOptions, list[float]]:
    slept: list[float] = []
    base = dict(
        base_url=api.base_url,
        cache_dir=tmp_path / "cache",
        sleep=slept.append,
        attempts=3,
        backoff=0.5,
        connect_timeout=2.0,
        read_timeout=5.0,
    )
    base.update(kwargs)
    return FetchOptions(**base), slept


def outputs(out: Path) -> list[Path]:
    return [p for p in out.parent.iterdir() if p.name.startswith(out.name)]


def test_urls_have_the_real_shape():
    assert data_url("https://fingertips.phe.org.uk/api", [93356, 92313], 502) == (
        "https://fingertips.phe.org.uk/api/all_data/csv/by_indicator_id?indicator_ids=93356,92313"
        "&child_area_type_id=502&parent_area_type_id=6&include_sortable_time_periods=yes"
    )
    assert metadata_url("https://x/api/", [1]) == "https://x/api/indicator_metadata/csv/by_indicator_id?indicator_ids=1"


def test_fetch_writes_snapshot_metadata_and_manifest(api, specs_dir, tmp_path, validation_dir):
    out = tmp_path / "data" / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    result = fetch(load_specs(specs_dir), out, opts)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with (validation_dir / EXPORT).open(encoding="utf-8-sig", newline="") as handle:
        original = list(csv.reader(handle))
    assert rows == original  # the API's rows as they came
    manifest = json.loads(out.with_name("fingertips.csv.manifest.json").read_text())
    assert manifest["base_url"] == api.base_url
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["rows_per_indicator"] == {"93356": 852}
    assert manifest["latest_period_per_indicator"] == {"93356": "2017"}
    assert manifest["metadata_file"] == "fingertips.csv.metadata.csv"
    assert [r["url"] for r in manifest["requests"]] == [
        data_url(api.base_url, [93356], 502),
        metadata_url(api.base_url, [93356]),
    ]
    assert manifest["retrieved_at"].endswith("+00:00")
    assert result.rows == 852 and result.warnings == ()
    assert api.log[0]["headers"]["User-Agent"] == USER_AGENT
    assert api.log[0]["query"] == (
        "indicator_ids=93356&child_area_type_id=502&parent_area_type_id=6&include_sortable_time_periods=yes"
    )


def test_an_unchanged_rerun_is_served_from_the_cache(api, specs_dir, tmp_path):
    out = tmp_path / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    first = fetch(load_specs(specs_dir), out, opts)
    before = out.read_bytes()
    api.log.clear()
    second = fetch(load_specs(specs_dir), out, opts)
    assert first.downloaded == 2 and second.downloaded == 0 and second.from_cache == 2
    assert all("If-None-Match" in entry["headers"] for entry in api.log)  # conditional requests, 304 answers
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("fault", "waits"),
    [("503", [0.5]), ("429", [7.0]), ("reset", [0.5]), ("gzip", [])],
)
def test_transient_faults_are_retried(api, specs_dir, tmp_path, fault, waits):
    api.faults = [fault]
    out = tmp_path / "fingertips.csv"
    opts, slept = options(api, tmp_path)
    result = fetch(load_specs(specs_dir), out, opts)
    assert result.rows == 852 and out.is_file()
    assert len(slept) == len(waits)
    for got, base in zip(slept, waits, strict=True):
        # 429 waits exactly Retry-After; others back off 0.5 s plus up to 0.5 s of jitter.
        assert got == base if fault == "429" else base <= got <= base + 0.5


@pytest.mark.parametrize(("fault", "reason"), [("503", "HTTP 503"), ("reset", "connection broken mid-download")])
def test_backoff_grows_exponentially_and_gives_up(api, specs_dir, tmp_path, fault, reason):
    api.faults = [fault] * 3
    out = tmp_path / "fingertips.csv"
    opts, slept = options(api, tmp_path)
    with pytest.raises(FetchError, match=rf"failed after 3 attempts \({reason}"):
        fetch(load_specs(specs_dir), out, opts)
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 1.5
    assert outputs(out) == []


def test_a_huge_retry_after_is_capped_and_a_bad_one_backs_off(api, specs_dir, tmp_path):
    from reportgen.sources.fingertips_api import MAX_RETRY_AFTER

    api.faults = ["429-for-days", "429-soon"]
    opts, slept = options(api, tmp_path)
    fetch(load_specs(specs_dir), tmp_path / "fingertips.csv", opts)
    assert slept[0] == MAX_RETRY_AFTER == 300  # not 999999 s
    assert 1.0 <= slept[1] <= 1.5  # an unreadable Retry-After: the backoff of a second failure


def test_each_retry_is_announced_and_one_budget_covers_statuses_and_broken_bodies(api, specs_dir, tmp_path):
    said: list[str] = []
    api.faults = ["503", "reset", "503"]
    opts, slept = options(api, tmp_path, progress=said.append)
    with pytest.raises(FetchError, match=r"failed after 3 attempts \(HTTP 503 Service Unavailable\)"):
        fetch(load_specs(specs_dir), tmp_path / "fingertips.csv", opts)
    assert len(slept) == 2
    assert said[0] == f"HTTP 503 Service Unavailable; retrying in {slept[0]:.1f} s (2 of 3)"
    assert said[1] == f"connection broken mid-download (truncated body); retrying in {slept[1]:.1f} s (3 of 3)"


def test_the_body_is_read_without_private_attributes():
    source = Path(__file__).resolve().parents[1] / "reportgen" / "sources" / "fingertips_api.py"
    assert "._content" not in source.read_text(encoding="utf-8")


def test_a_response_slower_than_the_timeout_fails_cleanly(api, specs_dir, tmp_path):
    api.faults = ["slow", "slow"]
    api.slow_seconds = 1.5
    out = tmp_path / "fingertips.csv"
    opts, slept = options(api, tmp_path, attempts=2, read_timeout=0.3)
    with pytest.raises(FetchError, match="timed out") as caught:
        fetch(load_specs(specs_dir), out, opts)
    assert str(caught.value).startswith(data_url(api.base_url, [93356], 502))
    assert len(slept) == 1 and outputs(out) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("html", "returned an HTML page, not CSV"),
        ("empty", "returned an empty body"),
        ("truncated", "truncated"),
    ],
)
def test_bad_bodies_fail_cleanly_with_nothing_written(api, specs_dir, tmp_path, fault, message):
    api.faults = [fault]
    out = tmp_path / "fingertips.csv"
    opts, slept = options(api, tmp_path)
    with pytest.raises(FetchError, match=message):
        fetch(load_specs(specs_dir), out, opts)
    assert outputs(out) == [] and slept == []


def test_a_missing_indicator_is_named(api, specs_dir, tmp_path):
    other = {**CAMPYLOBACTER_SPEC, "id": "missing_one", "fingertips_id": 99999}
    (specs_dir / "missing_one.yaml").write_text(yaml.safe_dump(other, sort_keys=False))
    out = tmp_path / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    with pytest.raises(FetchError, match=r"no rows for indicator\(s\) 99999 for area type 502"):
        fetch(load_specs(specs_dir), out, opts)
    assert outputs(out) == []


def test_a_rerun_after_a_failure_resumes(api, specs_dir, tmp_path):
    out = tmp_path / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    api.faults = ["gzip", "html"]  # the data batch succeeds, then the metadata request fails
    with pytest.raises(FetchError):
        fetch(load_specs(specs_dir), out, opts)
    api.log.clear()
    fetch(load_specs(specs_dir), out, opts)
    assert [entry["path"] for entry in api.log] == ["/api/indicator_metadata/csv/by_indicator_id"]
    assert not any((tmp_path / "cache" / "parts").iterdir())


def test_cli_error_is_one_line_exit_1_and_no_file(api, specs_dir, tmp_path, runner):
    api.faults = ["html"]
    out = tmp_path / "fingertips.csv"
    args = ["fetch", "--specs", str(specs_dir), "--out", str(out), "--base-url", api.base_url]
    result = runner.invoke(cli, [*args, "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "HTML page" in errors[0] and api.base_url in errors[0]
    assert "Traceback" not in result.output and outputs(out) == []


def test_cli_rejects_a_base_url_that_is_not_a_web_address(runner, tmp_path):
    result = runner.invoke(cli, ["fetch", "--base-url", "fingertips.phe.org.uk", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "not a web address" in result.output


# --- metadata comparison --------------------------------------------------------------------------


def metadata_csv(rows: dict) -> str:
    lines = [METADATA_HEADER]
    for i, (name, unit, value_type, polarity) in rows.items():
        lines.append(",".join([i, f'"{name}"'] + [""] * 22 + [f'"{unit}"', value_type, "Calendar", polarity, ""]))
    return "\n".join(lines) + "\n"


def test_metadata_differences_are_warned(specs_dir):
    spec = load_specs(specs_dir)
    same = metadata_warnings(spec, read_metadata_text(metadata_csv({"93356": METADATA["93356"]})))
    assert same == []
    wrong = {"93356": ("Percentage of physically active adults", "%", "Proportion", "RAG - High is good")}
    lines = metadata_warnings(spec, read_metadata_text(metadata_csv(wrong)))
    text = "\n".join(lines)
    assert "name differs" in text and "value_type is crude_rate" in text
    assert "'RAG - High is good'" in text and "unit is 'per 100,000'" in text


def test_complement_specs_expect_the_reversed_polarity(spec_dir):
    specs = [s for s in load_specs(spec_dir) if s.id == "low_anxiety"]
    meta = read_metadata_text(metadata_csv({"22304": METADATA["22304"]}))
    assert metadata_warnings(specs, meta) == []  # low is good for anxiety = high is good for its complement
    flipped = {"22304": METADATA["22304"][:3] + ("RAG - High is good",)}
    (line,) = metadata_warnings(specs, read_metadata_text(metadata_csv(flipped)))
    assert "reversed for a complement, expected low_is_good" in line


def test_check_metadata_option(spec_dir, tmp_path, runner):
    path = tmp_path / "meta.csv"
    path.write_text(metadata_csv({"22304": METADATA["22304"]}))
    result = runner.invoke(cli, ["check", "--specs", str(spec_dir), "--metadata", str(path)])
    assert result.exit_code == 1
    assert "Fingertips has no metadata for indicator 92313" in result.output
    assert "low_anxiety" not in result.output


@pytest.mark.slow
def test_fetched_snapshot_builds_a_profile(api, specs_dir, tmp_path, runner):
    out = tmp_path / "data" / "fingertips.csv"
    args = ["fetch", "--specs", str(specs_dir), "--out", str(out), "--base-url", api.base_url]
    fetched = runner.invoke(cli, [*args, "--cache-dir", str(tmp_path / "cache")])
    assert fetched.exit_code == 0, fetched.output
    assert "Fetching 1 of 2 ..." in fetched.stderr and "Wrote " in fetched.stdout
    folder = tmp_path / "profiles"
    built = runner.invoke(
        cli, ["build", "--area", "E06000001", "--specs", str(specs_dir), "--data", str(out), "--out", str(folder)]
    )
    assert built.exit_code == 0, built.output
    (pdf,) = folder.rglob("*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_needed_ids_include_derive_sources_and_batches_hold_at_most_100():
    from reportgen.core.assets import default_specs_dir
    from reportgen.sources.fingertips_api import batches, needed_ids

    ids = needed_ids(load_specs(default_specs_dir()))
    assert {22304, 93758, 93203, 93700, 93759, 92313, 90366} <= set(ids) and len(ids) == 19
    assert [len(b) for b in batches(list(range(250)))] == [100, 100, 50]


def test_session_verifies_tls_and_names_reportgen(tmp_path):
    from reportgen import __version__
    from reportgen.sources.fingertips_api import make_session

    session = make_session(tmp_path)
    assert session.verify is True
    assert session.headers["User-Agent"] == f"reportgen/{__version__} (+README)"


def test_retry_after_as_seconds_or_http_date():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from reportgen.sources.fingertips_api import _retry_after

    assert _retry_after("12") == 12.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _retry_after(later) <= 30
    assert _retry_after("soon") is None


def test_a_spec_can_ask_for_an_older_area_type(api, specs_dir, tmp_path):
    older = {**CAMPYLOBACTER_SPEC, "id": "suicide", "fingertips_id": 41001, "fingertips_area_type": 102}
    older.update(sex="Male", age="10+ yrs")
    (specs_dir / "suicide.yaml").write_text(yaml.safe_dump(older, sort_keys=False))
    out = tmp_path / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    result = fetch(load_specs(specs_dir), out, opts)
    data = [e["query"] for e in api.log if e["path"].endswith("all_data/csv/by_indicator_id")]
    assert [q.split("&")[:2] for q in data] == [
        ["indicator_ids=93356", "child_area_type_id=502"],
        ["indicator_ids=41001", "child_area_type_id=102"],
    ]
    meta = [e["query"] for e in api.log if "metadata" in e["path"]]
    assert meta == ["indicator_ids=41001,93356"]
    manifest = json.loads(out.with_name("fingertips.csv.manifest.json").read_text())
    assert manifest["rows_per_indicator"] == {"41001": 14, "93356": 852}
    assert manifest["latest_period_per_indicator"]["41001"] == "2015 - 17"
    assert result.rows == 866


def test_a_damaged_part_file_is_downloaded_again(api, specs_dir, tmp_path):
    from reportgen.sources.fingertips_api import _part_path

    out = tmp_path / "fingertips.csv"
    opts, _ = options(api, tmp_path)
    url = data_url(api.base_url, [93356], 502)
    part = _part_path(opts.cache_dir, url)
    part.parent.mkdir(parents=True)
    part.write_text("Indicator ID,Value\n93356,1\n93356")
    assert fetch(load_specs(specs_dir), out, opts).rows == 852
    assert api.log[0]["path"].endswith("/all_data/csv/by_indicator_id") and not part.exists()


def test_check_metadata_refuses_a_file_that_is_not_metadata(tmp_path, runner):
    path = tmp_path / "meta.csv"
    path.write_text("<html>nope</html>\n")
    result = runner.invoke(cli, ["check", "--metadata", str(path)])
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"Error: {path}:1: not a Fingertips indicator metadata CSV (the first column is not 'Indicator ID')."
    )
