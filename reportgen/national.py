"""The national run: many authorities in one safe, incremental, parallel command.

The data, specs and benchmark table (with its spines and ranks) are prepared once per run and
handed to each worker process once, through the pool's initializer. Each area is a pure task,
"build one area -> its files as bytes" (:func:`build_area`); the parent writes every file
atomically and records it in the edition's manifest, so a run killed at any moment leaves only
whole files, and a rerun rebuilds only the areas whose inputs changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import fcntl
import functools
import gc
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import pandas as pd

from . import __version__, site
from . import changes as ch
from .data import INDICATOR_ID, PERIOD, IndicatorData
from .errors import ReportgenError
from .fingerprint import dependency_rows
from .geography import Area, load_geography
from .output import write_atomic
from .periods import period_sort_key
from .pipeline import (
    BuildOptions,
    area_provenances,
    benchmark_bytes,
    build_area_outputs,
    compute_benchmark,
    edition_and_date,
    load_comparator,
    read_data,
    read_specs,
    resolve_area,
)
from .specs import IndicatorSpec

MANIFEST_FILE = "manifest.json"
RUN_FILE = "run.json"
LOCK_FILE = ".run.lock"
#: A worker process is replaced after this many areas, which caps its memory.
MAX_TASKS_PER_CHILD = 10


@dataclass(frozen=True)
class Selection:
    """Which authorities to build: ``all``, a ``region`` or a list of ``areas`` (codes or names)."""

    all: bool = False
    region: str | None = None
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunSettings:
    """Options of a national run besides the per-profile BuildOptions."""

    jobs: int = 1
    force: bool = False
    previous: Path | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class Job:
    """What every area's task shares: computed once per run, sent to each worker once."""

    specs: list[IndicatorSpec]
    data: IndicatorData
    table: pd.DataFrame
    options: BuildOptions
    changes: dict[str, dict | None]


@dataclass(frozen=True)
class AreaResult:
    """One area's outcome: its files as bytes, or the reason it failed."""

    code: str
    files: dict[str, bytes] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str = ""
    seconds: float = 0.0
    peak_rss_mib: float = 0.0  # the worker process's peak resident memory so far (0: built in this process)


@dataclass
class RunReport:
    """What a national run did; also written as run.json."""

    edition: str
    data_date: str
    folder: Path
    previous_edition: str | None = None
    built: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    names: dict[str, str] = field(default_factory=dict)
    worker_peak_rss_mib: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "generator": f"reportgen {__version__}",
            "edition": self.edition,
            "data_date": self.data_date,
            "previous_edition": self.previous_edition,
            "built": self.built,
            "unchanged": self.unchanged,
            "failed": [
                {"area_code": c, "area_name": self.names.get(c, ""), "reason": r} for c, r in self.failed.items()
            ],
            "warnings": self.warnings,
            "seconds": round(self.seconds, 1),
            "worker_peak_rss_mib": round(self.worker_peak_rss_mib) or None,
            "status": "failed" if self.failed else "ok",
        }

    def summary(self) -> str:
        lines = [
            f"Edition {self.edition} in {self.folder}: {len(self.built)} built, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed, {len(self.warnings)} warning(s), in {_duration(self.seconds)}."
        ]
        if self.unchanged and not self.built and not self.failed:
            lines.append("Nothing to rebuild: every profile is up to date (use --force to rebuild all).")
        lines += [f"FAILED {code} {self.names.get(code, '')}: {reason}" for code, reason in self.failed.items()]
        lines += [f"warning: {w}" for w in self.warnings[:20]]
        if len(self.warnings) > 20:
            lines.append(f"... and {len(self.warnings) - 20} more warning(s) in {self.folder / RUN_FILE}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the per-area task

_WORKER_JOB: Job | None = None


def _init_worker(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    # Everything alive now (modules, the job) lives as long as the worker: the collections after
    # each area (release_memory) then scan only what the area left, not these.
    gc.collect()
    gc.freeze()


def job_for(job: Job, areas: Iterable[Area]) -> Job:
    """The part of a run's inputs that building ``areas`` reads: what a pool of workers is sent.

    Of the benchmark table a profile reads its own, England's and its region's rows (those its
    dependency hash covers, :func:`reportgen.fingerprint.dependency_rows`), each indicator's
    periods and how many authorities the table holds; of the data, only each indicator's periods
    (for the edition and date), the file name, flags and warnings. The table kept is those rows,
    plus one row of every other (indicator, period) and every other authority, in their order and
    with their index, so the outputs are byte-identical to a build from the whole job, while a
    worker holds a few MB instead of the whole table and data file.
    """
    areas = list(areas)
    table = job.table
    wanted = pd.Series(False, index=table.index)
    for area in areas:
        wanted[dependency_rows(table, area).index] = True
    wanted[table.drop_duplicates(["indicator_id", "period"]).index] = True
    wanted[table[table["area_type"] == "UTLA"].drop_duplicates("area_code").index] = True
    frame = job.data.frame[[INDICATOR_ID, PERIOD]].drop_duplicates().reset_index(drop=True)
    data = dataclasses.replace(job.data, frame=frame)
    changes = {a.code: job.changes.get(a.code) for a in areas}
    return dataclasses.replace(job, data=data, table=table[wanted], changes=changes)


def release_memory() -> None:
    """After an area in a worker: free its documents' reference cycles and return freed heap to the system.

    Without it a worker's resident memory ratchets up to that of the largest profile it built
    plus the garbage of the previous ones.
    """
    gc.collect()
    _malloc_trim()


def _malloc_trim() -> None:
    """glibc's ``malloc_trim(0)``: give free heap pages back to the system (nothing elsewhere)."""
    trim = _libc_malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _libc_malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def build_area(job: Job, area: Area, scratch: Path | None = None) -> AreaResult:
    """Build one area's outputs and return them as bytes; never raises for a failed area.

    The profile is rendered into a private temporary folder (inside ``scratch`` when given, so an
    interrupted run's leftovers are swept by the next run) and read back.
    """
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix=f".{area.code}.", suffix=".tmp", dir=scratch) as tmp:
            options = dataclasses.replace(job.options, out_dir=Path(tmp), brief=True)
            changes = job.changes.get(area.code)
            result = build_area_outputs(area, job.specs, job.data, job.table, options, changes=changes)
            files = {result.path.name: result.path.read_bytes()}
            if result.brief_path is not None:
                files[result.brief_path.name] = result.brief_path.read_bytes()
    except ReportgenError as exc:
        return AreaResult(area.code, error=str(exc).replace("\n", "; "), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - one area's failure must not stop the others
        return AreaResult(area.code, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    shared = {str(w) for w in job.data.warnings}
    warnings = tuple(str(w) for w in result.warnings if str(w) not in shared)
    return AreaResult(area.code, files, warnings, seconds=time.perf_counter() - start)


def _build_in_worker(area: Area, scratch: Path | None) -> AreaResult:
    assert _WORKER_JOB is not None, "worker started without its job"
    try:
        result = build_area(_WORKER_JOB, area, scratch)
    finally:
        release_memory()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dataclasses.replace(result, peak_rss_mib=peak)


def build_area_remote(area: Area, job: Job) -> AreaResult:
    """The Dask task: the same pure function, in the worker's own temporary folder."""
    try:
        return build_area(job, area, None)
    finally:
        release_memory()


# --------------------------------------------------------------------------- executors

OnResult = Callable[[AreaResult], None]


def run_local(job: Job, areas: list[Area], jobs: int, scratch: Path, on_result: OnResult) -> None:
    """Build areas in ``jobs`` worker processes (in this process when one job or one area).

    Workers are recycled to cap their memory: each pool builds at most ``MAX_TASKS_PER_CHILD``
    areas per worker and is then replaced by a fresh one. (The executor's own
    ``max_tasks_per_child`` left a national run waiting forever on Python 3.11 once its workers retired.)
    """
    if jobs <= 1 or len(areas) <= 1:
        for area in areas:
            result = build_area(job, area, scratch)
            release_memory()  # documents are built with rare collections: free each area's cycles
            on_result(result)
        return
    batch_size = jobs * MAX_TASKS_PER_CHILD
    for start in range(0, len(areas), batch_size):
        _run_pool(job, areas[start : start + batch_size], jobs, scratch, on_result)


def _run_pool(job: Job, areas: list[Area], jobs: int, scratch: Path, on_result: OnResult) -> None:
    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(areas))
    initargs = (job_for(job, areas),)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        futures = {pool.submit(_build_in_worker, area, scratch): area for area in areas}
        for future in as_completed(futures):
            on_result(_result_of(future, futures[future]))


def _result_of(future, area: Area) -> AreaResult:
    try:
        return future.result()
    except BrokenProcessPool:
        return AreaResult(area.code, error="its worker process died (out of memory?); run again to retry")
    except Exception as exc:  # noqa: BLE001 - e.g. a result that could not be sent back
        return AreaResult(area.code, error=f"{type(exc).__name__}: {exc}")


def run_dask(job: Job, areas: list[Area], scheduler: str, on_result: OnResult) -> None:
    """Send the same per-area tasks to a Dask distributed cluster; this process writes the files."""
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ReportgenError("--scheduler needs Dask: pip install 'dask[distributed]'.") from None
    try:
        _check_reachable(scheduler)
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ReportgenError(
            f"--scheduler {scheduler}: cannot connect ({exc}). Start it with 'dask scheduler' and check the address."
        ) from None
    with client:
        shared = client.scatter(job_for(job, areas), broadcast=True)
        futures = client.map(build_area_remote, areas, job=shared, pure=False)
        by_key = {f.key: a for f, a in zip(futures, areas, strict=True)}
        for future in dask_completed(futures):
            try:
                on_result(future.result())
            except Exception as exc:  # noqa: BLE001 - a lost worker fails only its areas
                on_result(AreaResult(by_key[future.key].code, error=f"{type(exc).__name__}: {exc}"))


def _check_reachable(scheduler: str) -> None:
    """Fail at once when nothing listens at tcp://HOST:PORT (Dask would retry until its timeout)."""
    host, _, port = scheduler.removeprefix("tcp://").rpartition(":")
    socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()


# --------------------------------------------------------------------------- manifest and files


def sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_manifest(folder: Path) -> dict[str, Any]:
    """The edition's manifest, or an empty one when absent or unreadable (everything then rebuilds)."""
    try:
        raw = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"areas": {}}
    return raw if isinstance(raw, dict) and isinstance(raw.get("areas"), dict) else {"areas": {}}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def is_up_to_date(folder: Path, entry: dict[str, Any] | None, digest: str) -> bool:
    """The recorded hash matches and every recorded file is there with its recorded SHA-256."""
    if not entry or entry.get("inputs_sha256") != digest or not entry.get("files"):
        return False
    return all(sha256_of(folder / name) == sha for name, sha in entry["files"].items())


def sweep_stale_temporaries(folder: Path) -> int:
    """Remove ``.*.tmp`` files and folders left by an interrupted run; return how many."""
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(stale)


class EditionLock:
    """Only one run writes to an edition folder at a time (the lock goes with the process)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self.handle: IO[bytes] | None = None

    def __enter__(self) -> EditionLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "ab")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise ReportgenError(
                f"Another reportgen run is writing to {self.path.parent}; wait for it to finish."
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.handle is not None
        self.handle.close()


# --------------------------------------------------------------------------- progress


class Progress:
    """A progress bar with counts and ETA on a terminal; one plain line per area otherwise."""

    def __init__(self, total: int, stream: IO[str] | None = None, tty: bool | None = None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.start = time.perf_counter()

    def update(self, result: AreaResult, name: str) -> None:
        self.done += 1
        self.failed += bool(result.error)
        if self.tty:
            self._bar()
        else:
            state = f"FAILED: {result.error}" if result.error else f"built in {result.seconds:.1f} s"
            print(f"[{self.done}/{self.total}] {result.code} {name}: {state}", file=self.stream, flush=True)

    def _bar(self) -> None:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = int(30 * self.done / self.total)
        bar = "#" * filled + "-" * (30 - filled)
        text = f"\r[{bar}] {self.done}/{self.total} done, {self.failed} failed, ETA {_duration(eta)}  "
        print(text, end="" if self.done < self.total else "\n", file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


# --------------------------------------------------------------------------- the run


def select_areas(selection: Selection, data: IndicatorData) -> list[Area]:
    """The authorities to build, in region and name order, without duplicates."""
    geography = load_geography()
    if selection.all:
        chosen = list(geography.authorities)
    elif selection.region:
        chosen = geography.in_region(selection.region)
    else:
        chosen = [resolve_area(text, data) for text in selection.areas]
    unique = {a.code: a for a in chosen}
    return sorted(unique.values(), key=lambda a: (a.region_code, a.name))


def run_national(
    selection: Selection,
    data_path: Path | None,
    options: BuildOptions,
    settings: RunSettings,
    progress_stream: IO[str] | None = None,
) -> RunReport:
    """Build the selected authorities into ``<out>/<edition>/`` and write the edition's files."""
    start = time.perf_counter()
    specs = read_specs(options.specs_dir)
    data = read_data(data_path, specs)
    comparator = load_comparator(options.comparator_path) if options.comparator_path else None
    table = compute_benchmark(data, specs, comparator)
    areas = select_areas(selection, data)
    edition, data_date = edition_and_date(data, specs, options)
    folder = options.out_dir / edition
    with EditionLock(folder):
        sweep_stale_temporaries(folder)
        report = _run_in_folder(folder, areas, (specs, data, table), options, settings, progress_stream)
        report.data_date = data_date.isoformat()
        report.seconds = time.perf_counter() - start
        _write_edition_files(folder, report, (specs, data, table), data_date)
    return report


def _run_in_folder(folder, areas, inputs, options, settings, progress_stream) -> RunReport:
    specs, data, table = inputs
    edition = folder.name
    current_csv = benchmark_bytes(table, "csv")
    previous_dir = ch.find_previous(options.out_dir, edition, settings.previous)
    previous_label, all_changes = None, []
    if previous_dir is not None:
        previous_label = _edition_label(previous_dir)
        previous = ch.read_benchmark_csv(previous_dir / ch.BENCHMARK_FILE, str(previous_dir / ch.BENCHMARK_FILE))
        current = ch.read_benchmark_csv(current_csv, "current benchmark table")
        all_changes = ch.compare_editions(previous, current, ch.read_previous_specs(previous_dir), specs)
        write_atomic(folder / "changes.csv", ch.changes_csv(all_changes))
    job = Job(specs, data, table, options, ch.changes_by_area(all_changes, previous_label, [a.code for a in areas]))
    report = RunReport(edition, "", folder, previous_label, names={a.code: a.name for a in areas})
    report.warnings += [str(w) for w in data.warnings]
    manifest = read_manifest(folder)
    todo = _plan(folder, areas, job, manifest, settings.force, report)
    write_atomic(folder / ch.BENCHMARK_FILE, current_csv)
    write_atomic(folder / ch.SPECS_FILE, ch.specs_json_bytes(specs))
    _execute(folder, todo, job, manifest, settings, report, progress_stream)
    report.warnings += _missing_value_warnings(table, areas)
    return report


def _edition_label(folder: Path) -> str:
    try:
        label = json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("edition")
    except (OSError, ValueError, AttributeError):
        label = None
    return label if isinstance(label, str) and label else folder.name


def _plan(folder, areas, job, manifest, force, report) -> list[tuple[Area, str]]:
    """Each area's dependency hash; the areas to build (all with --force), the rest recorded unchanged."""
    records = area_provenances(areas, job.specs, job.data, job.table, job.options, job.changes)
    todo = []
    for area in areas:
        digest = records[area.code]["inputs_sha256"]
        if not force and is_up_to_date(folder, manifest["areas"].get(area.code), digest):
            report.unchanged.append(area.code)
        else:
            todo.append((area, digest))
    return todo


def _execute(folder, todo, job, manifest, settings, report, progress_stream) -> None:
    digests = {area.code: (area, digest) for area, digest in todo}
    progress = Progress(len(todo), progress_stream)

    def on_result(result: AreaResult) -> None:
        area, digest = digests[result.code]
        report.worker_peak_rss_mib = max(report.worker_peak_rss_mib, result.peak_rss_mib)
        if result.error:
            report.failed[area.code] = result.error
        else:
            _record(folder, manifest, area, digest, _with_data_csv(result, area, job.table))
            report.built.append(area.code)
            report.warnings += [f"{area.code} {area.name}: {w}" for w in result.warnings]
        progress.update(result, area.name)

    areas = [area for area, _ in todo]
    if areas and settings.scheduler:
        run_dask(job, areas, settings.scheduler, on_result)
    elif areas:
        run_local(job, areas, settings.jobs, folder, on_result)
    report.built.sort()
    report.unchanged.sort()


def _with_data_csv(result: AreaResult, area: Area, table: pd.DataFrame) -> AreaResult:
    """Add the area's data CSV (its benchmark rows, which its dependency hash covers) to its files."""
    profile = next(n for n in sorted(result.files) if n.endswith(".pdf") and not n.endswith(site.BRIEF_SUFFIX))
    rows = table[table["area_code"] == area.code]
    files = {**result.files, site.data_csv_name(profile): site.data_csv(rows)}
    return dataclasses.replace(result, files=files)


def _record(folder: Path, manifest: dict[str, Any], area: Area, digest: str, result: AreaResult) -> None:
    """Write the area's files atomically, then record them (so a kill in between only means a rebuild)."""
    files = {}
    for name, payload in sorted(result.files.items()):
        write_atomic(folder / name, payload)
        files[name] = hashlib.sha256(payload).hexdigest()
    manifest["areas"][area.code] = {
        "area_name": area.name,
        "region_code": area.region_code,
        "region_name": area.region_name,
        "inputs_sha256": digest,
        "files": files,
    }
    write_json(folder / MANIFEST_FILE, manifest)


def _missing_value_warnings(table: pd.DataFrame, areas: Iterable[Area]) -> list[str]:
    """Per area: indicators with no value in their latest period (missing or suppressed)."""
    latest = {ind: max(p.unique(), key=period_sort_key) for ind, p in table.groupby("indicator_id")["period"]}
    last = table[table["period"] == table["indicator_id"].map(latest)]
    missing = last[last["value"].isna()]
    by_area = dict(tuple(missing.groupby("area_code", sort=False)["indicator_id"]))  # once, not per area
    warnings = []
    for area in areas:
        rows = by_area.get(area.code)
        if rows is not None and len(rows):
            names = ", ".join(sorted(rows))
            warnings.append(f"{area.code} {area.name}: no value in the latest period (missing or suppressed): {names}")
    return warnings


def _write_edition_files(folder: Path, report: RunReport, inputs, data_date: date) -> None:
    """The download page, the zip of every PDF and the run report."""
    _, data, _ = inputs
    manifest = read_manifest(folder)
    site.write_zip(folder, manifest)
    page = site.index_html(manifest, folder, report.edition, data_date, data.synthetic)
    write_atomic(folder / site.INDEX_FILE, page)
    write_json(folder / RUN_FILE, report.as_json())


def default_jobs() -> int:
    return os.cpu_count() or 1
