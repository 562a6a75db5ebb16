"""The national run from a ``fetch`` snapshot of both publishers (issue 18, "Checks").

``python -m benchmarks.fetch_bench`` (or ``python -m benchmarks.bench --only fetch-national``, or
``make bench BENCH_ARGS="--only fetch-national"``) runs this section alone and writes it into
``BENCHMARKS.md`` in place of its previous version; ``make bench`` runs it with the others.

A local server on 127.0.0.1 serves

- ONS Explore Local Statistics at the data repository's layout (``/els/<slug>/<slug>.csv`` and
  ``.json``) from ``tests/data/els/``: real published files (some trimmed to fewer periods, and the
  population CSV constructed; see that folder's README);
- a fake Fingertips API (``/api/all_data/csv/by_indicator_id``, ``/api/indicator_metadata/csv/...``)
  answering the catalogue's Fingertips-fed indicators with the synthetic demonstration data.

``reportgen fetch --base-url ... --els-base-url ...`` writes a snapshot into an empty cache, then
``reportgen build --all --jobs 2 --data SNAPSHOT`` builds every authority from it. The section
records both times, the authorities built and the catalogue indicators with a value in the latest
period per profile (from the edition's ``benchmark.csv``, the rows the profiles were built from),
naming every indicator that some authority lacks and why (what the publisher's file says).
"""

from __future__ import annotations

import argparse
import csv
import http.server
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
ELS_FILES = ROOT / "tests" / "data" / "els"
TITLE = "National run from a fetch snapshot of both publishers"
TARGET = (
    "every authority built with every catalogue indicator present, except values the publisher does not "
    "publish (issue 18); the national run at most 5 min with --jobs 2 (issue 11)"
)
METADATA_HEADER = ["Indicator ID", "Indicator", "Unit", "Value type", "Polarity"]


class Publishers:
    """What the local server answers: ELS files by path, and Fingertips rows by indicator id."""

    def __init__(self, demo_csv: Path) -> None:
        self.files = {f"/els/{p.parent.name}/{p.name}": p.read_bytes() for p in ELS_FILES.glob("*/*.*")}
        with demo_csv.open(encoding="utf-8", newline="") as handle:
            records = list(csv.reader(handle))
        self.header = records[0]
        self.rows: dict[str, list[list[str]]] = defaultdict(list)
        self.names: dict[str, str] = {}
        for record in records[1:]:
            self.rows[record[0]].append(record)
            self.names.setdefault(record[0], record[1])
        self.requests: list[str] = []

    def answer(self, target: str) -> tuple[int, bytes, str]:
        parts = urlsplit(target)
        self.requests.append(parts.path)
        if parts.path in self.files:
            return 200, self.files[parts.path], "text/plain; charset=utf-8"  # as raw.githubusercontent.com
        ids = parse_qs(parts.query).get("indicator_ids", [""])[0].split(",")
        if parts.path == "/api/all_data/csv/by_indicator_id":
            return 200, _csv([self.header, *(row for i in ids for row in self.rows.get(i, []))]), "text/csv"
        if parts.path == "/api/indicator_metadata/csv/by_indicator_id":
            found = [[i, self.names[i], "", "", ""] for i in ids if i in self.names]
            return 200, _csv([METADATA_HEADER, *found]), "text/csv"
        return 404, b"Not Found", "text/plain"


def _csv(rows: Iterator[list[str]] | list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@contextmanager
def serving(publishers: Publishers) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 for the duration; yields its base address."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, body, kind = publishers.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- what the profiles hold ------------------------------------------------------------------------


def latest_values(benchmark_csv: Path) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, str]]]:
    """(latest period per indicator, from England's rows; each authority's row in that period)."""
    with benchmark_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    latest: dict[str, str] = {}
    for row in rows:  # rows are oldest first within each indicator
        if row["area_type"] == "England":
            latest[row["indicator_id"]] = row["period"]
    found = {
        (row["indicator_id"], row["area_code"]): row
        for row in rows
        if row["area_type"] == "UTLA" and row["period"] == latest.get(row["indicator_id"])
    }
    return latest, found


def els_reasons(spec: Any, geography: Any) -> dict[str, str]:
    """Why an authority has no value in an ELS indicator's latest period, as the published file says."""
    from reportgen.sources import els

    slug = spec.els.dataset
    csv_path, json_path = ELS_FILES / slug / f"{slug}.csv", ELS_FILES / slug / f"{slug}.json"
    if not csv_path.is_file():
        return {}
    table = els.read_els_csv(csv_path.read_bytes(), csv_path.name)
    names = els.titles(els.read_els_json(json_path.read_bytes(), json_path.name)) if json_path.is_file() else {}
    indicator = els.match_indicator(table, spec.els.indicator, names)
    selection = els.select_upper_tier(table, indicator, geography)
    latest = max(
        (row.period for row, _, kind in selection.rows if kind == els.UTLA_AREA_TYPE),
        key=lambda p: selection.labels[p].sortable,
    )
    at_latest = {code: row for row, code, _ in selection.rows if row.period == latest}
    levels: dict[str, set[str]] = defaultdict(set)
    for each in table.rows:
        if each.indicator == indicator:
            levels[each.code].add(each.geography)
    reasons = {}
    for area in geography.authorities:
        row = at_latest.get(area.code)
        if row is not None and not row.value:
            reasons[area.code] = f"published without a value ({els.value_note(row) or 'no status or note'})"
        elif row is None and levels.get(area.code):
            shown = ", ".join(sorted(levels[area.code]))
            reasons[area.code] = f"the published file has no row for it in {latest} (other periods as {shown})"
        elif row is None:
            reasons[area.code] = f"the published file has no row for it (latest period {latest})"
    return reasons


def coverage_lines(edition: Path, snapshot: Path) -> tuple[list[str], bool]:
    """Indicators per profile (min / median / max) and every gap with its reason; ok = no gap of ours."""
    from reportgen.core.geography import load_geography
    from reportgen.publish.prepare import read_specs

    specs = read_specs(None)
    geography = load_geography()
    run = json.loads((edition / "run.json").read_text(encoding="utf-8"))
    areas = sorted({*run.get("built", []), *run.get("unchanged", [])})
    latest, found = latest_values(edition / "benchmark.csv")
    notes = _snapshot_notes(snapshot)
    per_area = {a: sum(1 for s in specs if _value(found.get((s.id, a)))) for a in areas}
    counts = sorted(per_area.values())
    complete = sum(1 for n in counts if n == len(specs))
    lines = [
        f"- catalogue: {len(specs)} indicators ({sum(1 for s in specs if s.els)} from ONS Explore Local "
        f"Statistics, {sum(1 for s in specs if not s.els)} from Fingertips)",
        f"- indicators with a value in their latest period, per profile: min **{counts[0] if counts else 0}**, "
        f"median **{statistics.median(counts) if counts else 0:g}**, max **{counts[-1] if counts else 0}** "
        f"of {len(specs)}; {complete} of {len(areas)} profiles have every indicator",
    ]
    ours = 0
    names = {a.code: a.name for a in geography.authorities}
    for spec in specs:
        missing = [a for a in areas if not _value(found.get((spec.id, a)))]
        if not missing:
            continue
        source = f"ELS `{spec.els.dataset}`" if spec.els else f"Fingertips {spec.source_key} (demonstration data)"
        published = els_reasons(spec, geography) if spec.els else {}
        why: dict[str, list[str]] = defaultdict(list)
        for code in missing:
            row = found.get((spec.id, code))
            reason = published.get(code) or (row and row.get("value_note") and f"value note: {row['value_note']}")
            reason = reason or notes.get((spec.source_key, code, latest.get(spec.id, ""))) or ""
            if not reason:
                ours += 1
                reason = "NOT EXPLAINED by the publisher's data (a value was lost between snapshot and profile?)"
            why[reason].append(f"{names.get(code, code)} ({code})")
        parts = "; ".join(
            f"{len(where)}: {', '.join(where[:6])}{' ...' if len(where) > 6 else ''}: {reason}"
            for reason, where in sorted(why.items(), key=lambda item: -len(item[1]))
        )
        lines.append(f"- `{spec.id}` ({source}, latest {latest.get(spec.id, '?')}) missing for {len(missing)}: {parts}")
    return lines, ours == 0


def _failures(failed: list[Any]) -> list[str]:
    """One line per distinct reason areas failed (run.json's ``failed``), naming every such area."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for item in failed:
        record = item if isinstance(item, dict) else {"area_name": str(item)}
        name, code = str(record.get("area_name", "")), str(record.get("area_code", ""))
        reason = str(record.get("reason", "")).removeprefix(f"{name} ({code}): ")
        by_reason[reason].append(f"{name} ({code})" if code else name)
    return [f"  - failed: {', '.join(names)}: {reason}" for reason, names in by_reason.items()]


def _value(row: dict[str, str] | None) -> bool:
    return bool(row and row.get("value", "").strip())


def _snapshot_notes(snapshot: Path) -> dict[tuple[str, str, str], str]:
    """(Indicator ID, area, period) -> the snapshot's value note, for rows without a value."""
    out: dict[tuple[str, str, str], str] = {}
    with snapshot.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if not (row.get("Value") or "").strip():
                key = (row["Indicator ID"], row["Area Code"], row["Time period"])
                out[key] = f"value note: {row.get('Value note') or 'blank value'}"
    return out


# --- the section ------------------------------------------------------------------------------------


def section_fetch_national(
    report: Any, tmp: Path, run_timed: Callable[..., Any], command: Callable[..., list[str]], jobs: int = 2
) -> None:
    """Fetch from the local publishers, build every authority from the snapshot, record the figures."""
    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs
    from reportgen.publish.prepare import write_demo

    specs = load_specs(default_specs_dir())
    demo = write_demo(tmp / "fetch-national-demo.csv", None, None)
    publishers = Publishers(demo)
    snapshot = tmp / "fetch-national" / "snapshot.csv"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    datasets = sorted({s.els.dataset for s in specs if s.els})
    absent = [d for d in datasets if not (ELS_FILES / d / f"{d}.csv").is_file()]
    with serving(publishers) as base:
        fetched = run_timed(command(
            "fetch", "--out", str(snapshot), "--base-url", f"{base}/api", "--els-base-url", f"{base}/els",
            "--cache-dir", str(tmp / "fetch-national-cache"),
        ))  # fmt: skip
    out = tmp / "fetch-national-out"
    build_args = ("build", "--all", "--jobs", str(jobs), "--data", str(snapshot), "--out", str(out))
    load_before = os.getloadavg()[0]
    built = run_timed(command(*build_args), timeout=3600) if fetched.code == 0 else None
    load_after = os.getloadavg()[0]
    lines = [
        f"- served from 127.0.0.1: {len(datasets)} ELS datasets the catalogue names, as published files from "
        f"`tests/data/els/` (see its README: some trimmed to fewer periods; the population CSV is constructed)"
        + (f"; **not there: {', '.join(absent)}**" if absent else "; all present")
        + f", and {len({s.source_key for s in specs if not s.els})} Fingertips series from a fake API answering "
        "with the synthetic demonstration data",
        f"- `reportgen fetch`: **{fetched.seconds:.1f} s** (exit {fetched.code}; "
        f"{len(publishers.requests)} requests, empty cache)",
    ]
    ok = fetched.code == 0
    if not ok:
        lines.append(f"- fetch output: {fetched.output[-1500:]!r}")
    else:
        warnings = [line for line in fetched.output.splitlines() if line.startswith("warning:")]
        lines += [f"  - {line}" for line in warnings[:20]]
    if built is not None:
        editions = sorted(p.parent for p in out.glob("*/run.json"))
        run = json.loads((editions[-1] / "run.json").read_text(encoding="utf-8")) if editions else {}
        done, failed = len(run.get("built", [])), run.get("failed", [])
        lines += [
            f"- `reportgen {' '.join(build_args[:5])} SNAPSHOT`: **{built.seconds:.1f} s** (exit {built.code}), "
            f"authorities built **{done}**, failed {len(failed)}; peak worker memory "
            f"{run.get('worker_peak_rss_mib')} MiB; load average {load_before:.1f} before, {load_after:.1f} after "
            f"(2 cores: above 2, other work shared them); end-of-run verify problems: "
            f"{len(run.get('verify_problems', []))}",
            *_failures(failed),
            *(f"  - verify: {line}" for line in run.get("verify_problems", [])[:5]),
        ]
        ok = ok and built.code == 0 and done == 153 and built.seconds <= 300
        if editions:
            more, explained = coverage_lines(editions[-1], snapshot)
            lines += more
            ok = ok and explained
        else:
            lines.append(f"- build output: {built.output[-1500:]!r}")
    lines.append(
        "- the Fingertips figures are synthetic, so this measures the pipeline (both publishers into one snapshot, "
        "every authority built from it), not real Fingertips coverage; the ELS gaps are those of the published files"
    )
    report.add(TITLE, TARGET, "met" if ok else "missed", lines)


# --- running the section alone ----------------------------------------------------------------------


def splice(document: str, section: str) -> str:
    """``document`` with its section of the same title replaced by ``section`` (else inserted before the notes)."""
    heading = section.splitlines()[0]
    lines = document.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    if start is None:
        notes = next((i for i, line in enumerate(lines) if line.startswith("## PDF engine settings")), len(lines))
        return "".join(lines[:notes]) + section + "\n" + "".join(lines[notes:])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[:start]) + section + "\n" + "".join(lines[end:])


def run_alone(out: Path, jobs: int = 2) -> None:
    """Measure this section only and write it into ``out`` (created if missing)."""
    from benchmarks.bench import Report, reportgen_command, run_timed

    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reportgen-fetch-bench-") as name:
        section_fetch_national(report, Path(name), run_timed, reportgen_command, jobs)
    (section,) = report.sections
    minutes = (time.perf_counter() - started) / 60
    section += f"\nMeasured alone (`python -m benchmarks.fetch_bench`) in {minutes:.1f} min.\n"
    existing = out.read_text(encoding="utf-8") if out.is_file() else "# Benchmarks\n\n"
    out.write_text(splice(existing, section), encoding="utf-8")
    print(f"[bench] wrote the section '{TITLE}' into {out}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    run_alone(args.out, args.jobs)


if __name__ == "__main__":
    main(sys.argv[1:])
