"""``reportgen fetch`` of ONS Explore Local Statistics datasets (and Fingertips) from a local server.

The server (127.0.0.1) serves the real ELS files of tests/data/els at the data repository's
layout, ``/els/<slug>/<slug>.csv`` and ``.json``, and the Fingertips API of tests/test_fetch.py,
and can answer a path with a fault.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from test_fetch import CAMPYLOBACTER_SPEC, EXPORT, NORTH_EAST, FakeFingertips
from test_text_limits import pdf_text

from reportgen.cli import cli
from reportgen.core.specs import load_specs
from reportgen.sources import fingertips_api
from reportgen.sources.fingertips_api import FetchError, FetchOptions, fetch

ELS = Path(__file__).parent / "data" / "els"
CATALOGUE = Path(__file__).resolve().parents[1] / "indicator_specs"


class Server:
    """ELS files by path, the fake Fingertips API, a request log and faults by path."""

    def __init__(self, fingertips: FakeFingertips):
        self.fingertips = fingertips
        self.files: dict[str, bytes] = {}
        for path in ELS.glob("*/*.*"):
            self.files[f"/els/{path.parent.name}/{path.name}"] = path.read_bytes()
        self.faults: dict[str, str] = {}
        self.log: list[str] = []
        self.headers: list[dict[str, str]] = []

    def reply(self, path: str) -> tuple[int, bytes, str]:
        """The status, body and content type for an ELS path (content type "ok": answer with ETag)."""
        fault = self.faults.get(path, "")
        if fault == "slow":
            time.sleep(1.5)
        body = self.files.get(path)
        if body is None or fault == "404":
            return 404, b"Not Found", "text/plain"
        if fault in FAULTS:
            return (200, *FAULTS[fault](body))
        return 200, body, "ok"


#: Answers with status 200 that are not what was asked for: (body, content type).
FAULTS = {
    "html": lambda body: (b"<!DOCTYPE html><html><body>Rate limited</body></html>", "text/html"),
    "huge": lambda body: (body * 200, "text/plain; charset=utf-8"),
    "columns": lambda body: (body.replace(b"observation", b"value", 1), "text/plain"),
    "badcsv": lambda body: (body + b'E06000001,"Hartlepool,County or Unitary Authority\n', "text/plain"),
}


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str | None, headers: dict) -> None:
    handler.send_response(status)
    if kind:
        handler.send_header("Content-Type", kind)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):  # the client refused a huge body
        handler.close_connection = True


def _handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            server.log.append(parts.path)
            server.headers.append(dict(self.headers))
            if parts.path.startswith("/api/"):
                ids = parse_qs(parts.query).get("indicator_ids", [""])[0].split(",")
                return self.answer(server.fingertips.body(parts.path, ids), "text/csv")
            status, body, kind = server.reply(parts.path)
            if status != 200 or kind != "ok":
                return self.send(status, body, kind)
            return self.answer(body, "text/plain; charset=utf-8")  # what raw.githubusercontent.com sends

        def answer(self, body: bytes, kind: str):
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, b"", None, {"ETag": etag})
            return self.send(200, body, kind, {"ETag": etag})

        def send(self, status: int, body: bytes, kind: str | None, headers: dict | None = None):
            _send(self, status, body, kind, headers or {})

    return Handler


@pytest.fixture
def server(validation_dir):
    state = Server(FakeFingertips(validation_dir / EXPORT, validation_dir / NORTH_EAST))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def els_spec(spec_id: str, dataset: str, indicator: str, **changes) -> dict:
    spec = {
        "id": spec_id,
        "name": "Percentage of residents within a 30 minute walk of their nearest library",
        "short_name": "Library within a 30 minute walk",
        "domain": "Place",
        "definition": "Residents within a 30 minute walk of their nearest public library.",
        "rationale": "Libraries are free public spaces.",
        "source": {"publisher": "ons-els", "dataset": dataset, "indicator": indicator},
        "unit": "%",
        "decimals": 0,
        "value_type": "proportion",
        "multiplier": 100,
        "polarity": "high_is_good",
        "comparison": "quintiles",
        "sex": "Persons",
        "age": "All ages",
    }
    spec.update(changes)
    return spec


LIBRARY = ("library_walk", "library-walk", "Residents within a 30 minute walk of their nearest library")


@pytest.fixture
def specs_dir(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "campylobacter.yaml").write_text(yaml.safe_dump(CAMPYLOBACTER_SPEC, sort_keys=False))
    (folder / "library_walk.yaml").write_text(yaml.safe_dump(els_spec(*LIBRARY), sort_keys=False))
    return folder


def options(server: Server, tmp_path: Path, **kwargs) -> FetchOptions:
    base = dict(
        base_url=f"{server.base}/api",
        els_base_url=f"{server.base}/els",
        cache_dir=tmp_path / "cache",
        sleep=lambda seconds: None,
        attempts=2,
        backoff=0.1,
        connect_timeout=2.0,
        read_timeout=5.0,
    )
    base.update(kwargs)
    return FetchOptions(**base)


def written(out: Path) -> list[Path]:
    return sorted(p for p in out.parent.iterdir() if p.name.startswith(out.name))


# --- both publishers into one snapshot -------------------------------------------------------------


def test_fetch_writes_fingertips_and_els_series_into_one_snapshot(server, specs_dir, tmp_path):
    out = tmp_path / "out" / "snapshot.csv"
    out.parent.mkdir()
    result = fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert "/els/library-walk/library-walk.csv" in server.log and "/els/library-walk/library-walk.json" in server.log
    assert all("reportgen/" in h["User-Agent"] for h in server.headers)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = {r["Indicator ID"] for r in rows}
    assert ids == {"93356", "library_walk"}
    library = [r for r in rows if r["Indicator ID"] == "library_walk"]
    assert {r["Time period"] for r in library} == {"May 2024"}
    assert len({r["Area Code"] for r in library if r["Area Code"][:3] in ("E06", "E08", "E09", "E10")}) == 153
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    urls = {r["url"]: r for r in manifest["requests"]}
    csv_url = f"{server.base}/els/library-walk/library-walk.csv"
    assert urls[csv_url]["sha256"] == hashlib.sha256((ELS / "library-walk/library-walk.csv").read_bytes()).hexdigest()
    assert manifest["els_base_url"] == f"{server.base}/els"
    assert manifest["rows_per_indicator"]["library_walk"] == len(library)
    assert manifest["latest_period_per_indicator"]["library_walk"] == "May 2024"
    assert manifest["els_sources"]["library_walk"]["dataset"] == "library-walk"
    els_meta = json.loads((out.parent / "snapshot.csv.els-metadata.json").read_text(encoding="utf-8"))
    assert els_meta["library_walk"]["confidence_intervals"] is False and els_meta["library_walk"]["unit"] == "%"
    assert (
        hashlib.sha256((out.parent / "snapshot.csv.els-metadata.json").read_bytes()).hexdigest()
        == (manifest["els_metadata_sha256"])
    )
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_an_unchanged_rerun_downloads_nothing(server, specs_dir, tmp_path):
    out = tmp_path / "snapshot.csv"
    fetch(load_specs(specs_dir), out, options(server, tmp_path))
    first = out.read_bytes()
    server.log.clear()
    again = fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert again.downloaded == 0 and again.from_cache == 4
    assert out.read_bytes() == first
    conditional = [h for h in server.headers[-2:] if "If-None-Match" in h]
    assert len(conditional) == 2


def test_fetch_then_build_and_check_metadata(server, specs_dir, tmp_path, runner):
    out = tmp_path / "snapshot.csv"
    args = ["fetch", "--specs", str(specs_dir), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    args += ["--base-url", f"{server.base}/api", "--els-base-url", f"{server.base}/els"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    check = runner.invoke(
        cli, ["check", "--specs", str(specs_dir), "--data", str(out), "--metadata", f"{out}.metadata.csv"]
    )
    assert "library_walk.yaml" not in check.output  # the ELS spec matches its metadata
    # a spec that disagrees with ELS's metadata is warned about, key by key
    changed = els_spec(*LIBRARY, unit="per 1,000", decimals=2, comparison="ci95", name="Museums per 100,000 people")
    (specs_dir / "library_walk.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    check = runner.invoke(cli, ["check", "--specs", str(specs_dir), "--metadata", f"{out}.metadata.csv"])
    lines = [line for line in check.output.splitlines() if "library_walk.yaml" in line]
    assert any("name differs from ELS's title" in line for line in lines)
    assert any("unit is 'per 1,000' but ELS says '%'" in line for line in lines)
    assert any("decimals is 2 but ELS shows 0 decimal place(s)" in line for line in lines)
    assert any("ELS publishes no confidence intervals" in line for line in lines)


def test_the_catalogues_els_indicators_fetch_and_build_within_the_page_budget(server, tmp_path, runner):
    """Every ELS-fed spec of the catalogue is fetched from ELS; the rest are demonstration data.

    The profile with all of them (the Community assets domain included) keeps to the page budget.
    """
    catalogue = load_specs(CATALOGUE)
    els_specs = [s for s in catalogue if s.els is not None]
    assert len(els_specs) >= 9  # seven Community assets, level 3 qualifications, worthwhile, age 11
    assert sum(s.domain == "Community assets" for s in catalogue) >= 6
    els_only = tmp_path / "els_only"
    others = tmp_path / "others"
    for folder in (els_only, others):
        folder.mkdir()
    for spec in catalogue:
        target = els_only if spec.els is not None else others
        shutil.copy(CATALOGUE / f"{spec.id}.yaml", target / f"{spec.id}.yaml")
    snap = tmp_path / "els.csv"
    result = fetch(load_specs(els_only), snap, options(server, tmp_path))
    assert not any("/api/" in path for path in server.log)  # nothing asked of Fingertips
    assert set(json.loads(result.manifest_path.read_text())["rows_per_indicator"]) == {s.id for s in els_specs}
    demo = tmp_path / "demo.csv"
    assert runner.invoke(cli, ["demo-data", "--specs", str(others), "--out", str(demo)]).exit_code == 0
    args = ["build", "--data", str(demo), "--data", str(snap), "--area", "Hartlepool", "--no-html"]
    built = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert built.exit_code == 0, built.output
    (pdf,) = (tmp_path / "out").rglob("E06000001-*.pdf")
    text = " ".join(pdf_text(pdf).split())
    assert "Community assets" in text
    # the published values: ELS's Hartlepool row for libraries within a 30 minute walk
    library = next(
        r
        for r in csv.DictReader(snap.open(encoding="utf-8"))
        if r["Indicator ID"] == "library_walk" and r["Area Code"] == "E06000001"
    )
    assert f"{float(library['Value']):.0f}%" in text


# --- failures: nothing is written ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "path", "message"),
    [
        ("404", "library-walk.csv", r"HTTP 404 .*source.dataset .*--els-base-url"),
        ("404", "library-walk.json", r"library-walk.json: HTTP 404"),
        ("html", "library-walk.csv", r"returned an HTML page, not CSV"),
        ("columns", "library-walk.csv", r"column\(s\) observation missing"),
        ("badcsv", "library-walk.csv", r"not a readable CSV record"),
    ],
)
def test_a_bad_answer_stops_the_fetch_and_writes_nothing(server, specs_dir, tmp_path, fault, path, message):
    server.faults[f"/els/library-walk/{path}"] = fault
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match=message):
        fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert written(out) == []


def test_a_stalled_server_times_out(server, specs_dir, tmp_path):
    server.faults["/els/library-walk/library-walk.csv"] = "slow"
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match="timed out"):
        fetch(load_specs(specs_dir), out, options(server, tmp_path, read_timeout=0.3))
    assert written(out) == []


def test_a_huge_file_is_refused_as_it_arrives(server, specs_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(fingertips_api, "MAX_ELS_BYTES", 2_000_000)
    server.faults["/els/library-walk/library-walk.csv"] = "huge"  # 10 MB
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match=r"over 2 MB once decompressed; refused. Check --els-base-url"):
        fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert written(out) == []


def test_a_dataset_without_upper_tier_rows_stops_the_fetch(server, specs_dir, tmp_path):
    slug = "research-and-development-public-funded"
    spec = els_spec("research", slug, "Public-funded expenditure on research and development")
    (specs_dir / "research.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match=r"research.yaml: .*no rows for county or unitary authorities"):
        fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert written(out) == []


def test_an_indicator_the_dataset_does_not_have_stops_the_fetch(server, specs_dir, tmp_path):
    (specs_dir / "library_walk.yaml").write_text(yaml.safe_dump(els_spec("library_walk", "library-walk", "Books")))
    with pytest.raises(FetchError, match=r"library_walk.yaml: .*no indicator 'Books' in the dataset"):
        fetch(load_specs(specs_dir), tmp_path / "snapshot.csv", options(server, tmp_path))


def test_the_els_address_is_checked_like_the_fingertips_one(runner, specs_dir, tmp_path):
    args = ["fetch", "--specs", str(specs_dir), "--out", str(tmp_path / "s.csv"), "--els-base-url"]
    result = runner.invoke(cli, [*args, "https://user:secret@example.org/els"])
    assert result.exit_code == 2 and "secret" not in result.output and "user name or password" in result.output
    result = runner.invoke(cli, [*args, "ftp://example.org/els"])
    assert result.exit_code == 2 and "is not a web address" in result.output
