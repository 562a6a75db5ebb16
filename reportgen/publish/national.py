"""The national run: many authorities in one safe, incremental, parallel command.

The data, specs and benchmark table (with its spines and ranks) are prepared once per run and
handed to each worker process once, through the pool's initializer. Each area is a pure task,
"build one area -> its files as bytes" (:func:`build_area`); the parent writes every file
atomically and records it in the edition's manifest, so a run killed at any moment leaves only
whole files, and a rerun rebuilds only the areas whose inputs changed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import gc
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import ReportgenError
from reportgen.core.geography import Area, load_geography
from reportgen.core.memory import release_memory
from reportgen.core.options import BuildOptions
from reportgen.core.periods import period_sort_key
from reportgen.document.inputs import Prepared
from reportgen.document.provenance import area_provenances
from reportgen.document.render import layout_search_path
from reportgen.publish import changes as ch
from reportgen.publish import site
from reportgen.publish.area import render_area
from reportgen.publish.prepare import DataPaths, check_area, prepare, resolve_area
from reportgen.publish.tables import benchmark_bytes
from reportgen.publish.write import write_area, write_file, write_json, write_zip
from reportgen.sources.data import INDICATOR_ID, PERIOD, IndicatorData
from reportgen.stats.fingerprint import dependency_rows

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
    """What every area's task shares: prepared once per run, sent to each worker once."""

    prepared: Prepared
    changes: Mapping[str, Mapping[str, Any] | None]


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
            f"{len(self.failed)} failed, {len(self.warnings)} warning(s), in {duration(self.seconds)}."
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
    dependency hash covers, :func:`reportgen.stats.fingerprint.dependency_rows`), each indicator's
    periods and how many authorities the table holds; of the data, only each indicator's periods
    (for the edition and date), the file name, flags and warnings. The table kept is those rows,
    plus one row of every other (indicator, period) and every other authority, in their order and
    with their index, so the outputs are byte-identical to a build from the whole job, while a
    worker holds a few MB instead of the whole table and data file.
    """
    areas = list(areas)
    prepared = job.prepared
    table = prepared.table
    wanted = pd.Series(False, index=table.index)
    for area in areas:
        wanted[dependency_rows(table, area).index] = True
    wanted[table.drop_duplicates(["indicator_id", "period"]).index] = True
    wanted[table[table["area_type"] == "UTLA"].drop_duplicates("area_code").index] = True
    frame = prepared.data.frame[[INDICATOR_ID, PERIOD]].drop_duplicates().reset_index(drop=True)
    data = dataclasses.replace(prepared.data, frame=frame)
    lean = dataclasses.replace(prepared, data=data, table=table[wanted])
    return Job(lean, {a.code: job.changes.get(a.code) for a in areas})


def build_area(job: Job, area: Area) -> AreaResult:
    """Build one area's files as bytes (:func:`reportgen.publish.area.render_area`); never raises for a failed area."""
    start = time.perf_counter()
    try:
        built = render_area(job.prepared, area, job.changes.get(area.code))
    except ReportgenError as exc:
        return AreaResult(area.code, error=str(exc).replace("\n", "; "), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - one area's failure must not stop the others
        return AreaResult(area.code, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    warnings = tuple(str(w) for w in built.warnings)
    return AreaResult(area.code, built.files, warnings, seconds=time.perf_counter() - start)


def _build_in_worker(area: Area) -> AreaResult:
    assert _WORKER_JOB is not None, "worker started without its job"
    try:
        result = build_area(_WORKER_JOB, area)
    finally:
        release_memory()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dataclasses.replace(result, peak_rss_mib=peak)


def build_area_remote(area: Area, job: Job) -> AreaResult:
    """The Dask task: the same pure function."""
    try:
        return build_area(job, area)
    finally:
        release_memory()


# --------------------------------------------------------------------------- executors

OnResult = Callable[[AreaResult], None]


def run_local(job: Job, areas: list[Area], jobs: int, on_result: OnResult) -> None:
    """Build areas in ``jobs`` worker processes (in this process when one job or one area).

    Workers are recycled to cap their memory: each pool builds at most ``MAX_TASKS_PER_CHILD``
    areas per worker and is then replaced by a fresh one. (The executor's own
    ``max_tasks_per_child`` left a national run waiting forever on Python 3.11 once its workers retired.)
    """
    if jobs <= 1 or len(areas) <= 1:
        for area in areas:
            result = build_area(job, area)
            release_memory()  # documents are built with rare collections: free each area's cycles
            on_result(result)
        return
    batch_size = jobs * MAX_TASKS_PER_CHILD
    for start in range(0, len(areas), batch_size):
        _run_pool(job, areas[start : start + batch_size], jobs, on_result)


def _run_pool(job: Job, areas: list[Area], jobs: int, on_result: OnResult) -> None:
    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(areas))
    initargs = (job_for(job, areas),)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        futures = {pool.submit(_build_in_worker, area): area for area in areas}
        for future in as_completed(futures):
            on_result(_result_of(future, futures[future]))


def _result_of(future: Future[AreaResult], area: Area) -> AreaResult:
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


def is_up_to_date(folder: Path, entry: Mapping[str, Any] | None, digest: str) -> bool:
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


def duration(seconds: float) -> str:
    """``75`` -> ``1 min 15 s``; ``9`` -> ``9 s``."""
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


# --------------------------------------------------------------------------- the run

#: Called after each area with its result and name, the number done and the number to build.
OnProgress = Callable[[AreaResult, str, int, int], None]


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
    data_paths: DataPaths,
    options: BuildOptions,
    settings: RunSettings,
    on_progress: OnProgress | None = None,
) -> RunReport:
    """Build the selected authorities into ``<out>/<edition>/`` and write the edition's files.

    The inputs are prepared as for a single build (the same checks and warnings); each area is
    built by :func:`reportgen.publish.area.render_area` with its brief and data CSV.
    """
    start = time.perf_counter()
    prepared = prepare(data_paths, dataclasses.replace(options, brief=True, data_csv=True))
    areas = select_areas(selection, prepared.data)
    folder = options.out_dir / prepared.edition
    with EditionLock(folder):
        sweep_stale_temporaries(folder)
        report = _run_in_folder(folder, areas, prepared, settings, on_progress)
        report.seconds = time.perf_counter() - start
        _write_edition_files(folder, report, prepared)
    return report


def _run_in_folder(
    folder: Path, areas: list[Area], prepared: Prepared, settings: RunSettings, on_progress: OnProgress | None
) -> RunReport:
    edition = folder.name
    current_csv = benchmark_bytes(prepared.table, "csv")
    previous_label, area_changes = _changes(folder, areas, prepared, settings, current_csv)
    job = Job(prepared, area_changes)
    report = RunReport(
        edition, prepared.data_date.isoformat(), folder, previous_label, names={a.code: a.name for a in areas}
    )
    report.warnings += [str(w) for w in prepared.warnings]
    manifest = read_manifest(folder)
    areas = _checked(areas, prepared, report)
    todo = _plan(folder, areas, job, manifest, settings.force, report)
    write_file(folder / ch.BENCHMARK_FILE, current_csv)
    write_file(folder / ch.SPECS_FILE, ch.specs_json_bytes(prepared.specs))
    _execute(folder, todo, job, manifest, settings, report, on_progress)
    report.warnings += _missing_value_warnings(prepared.table, areas)
    return report


def _checked(areas: list[Area], prepared: Prepared, report: RunReport) -> list[Area]:
    """The areas that can be built; the others (no rows in the data, without --allow-empty) fail
    here with the message a single build gives, and keep their published files."""
    buildable = []
    for area in areas:
        try:
            check_area(prepared, area)
        except ReportgenError as exc:
            report.failed[area.code] = str(exc).replace("\n", "; ")
        else:
            buildable.append(area)
    return buildable


def _changes(
    folder: Path, areas: list[Area], prepared: Prepared, settings: RunSettings, current_csv: bytes
) -> tuple[str | None, dict[str, dict[str, Any] | None]]:
    """The earlier edition's label and, per area, what has changed since it (changes.csv is written)."""
    previous_dir = ch.find_previous(prepared.options.out_dir, folder.name, settings.previous)
    if previous_dir is None:
        return None, ch.changes_by_area([], None, [a.code for a in areas])
    label = _edition_label(previous_dir)
    previous = ch.read_benchmark_csv(previous_dir / ch.BENCHMARK_FILE, str(previous_dir / ch.BENCHMARK_FILE))
    current = ch.read_benchmark_csv(current_csv, "current benchmark table")
    found = ch.compare_editions(previous, current, ch.read_previous_specs(previous_dir), prepared.specs)
    write_file(folder / "changes.csv", ch.changes_csv(found))
    return label, ch.changes_by_area(found, label, [a.code for a in areas])


def _edition_label(folder: Path) -> str:
    try:
        label = json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("edition")
    except (OSError, ValueError, AttributeError):
        label = None
    return label if isinstance(label, str) and label else folder.name


def _plan(
    folder: Path, areas: list[Area], job: Job, manifest: dict[str, Any], force: bool, report: RunReport
) -> list[tuple[Area, str]]:
    """Each area's dependency hash; the areas to build (all with --force), the rest recorded unchanged."""
    records = area_provenances(job.prepared, areas, job.changes)
    todo = []
    for area in areas:
        digest = records[area.code]["inputs_sha256"]
        if not force and is_up_to_date(folder, manifest["areas"].get(area.code), digest):
            report.unchanged.append(area.code)
        else:
            todo.append((area, digest))
    return todo


def _execute(
    folder: Path,
    todo: list[tuple[Area, str]],
    job: Job,
    manifest: dict[str, Any],
    settings: RunSettings,
    report: RunReport,
    on_progress: OnProgress | None,
) -> None:
    digests = {area.code: (area, digest) for area, digest in todo}

    def on_result(result: AreaResult) -> None:
        area, digest = digests[result.code]
        report.worker_peak_rss_mib = max(report.worker_peak_rss_mib, result.peak_rss_mib)
        if result.error:
            report.failed[area.code] = result.error
        else:
            _record(folder, job.prepared.options.out_dir, manifest, area, digest, result.files)
            report.built.append(area.code)
            report.warnings += [f"{area.code} {area.name}: {w}" for w in result.warnings]
        if on_progress is not None:
            on_progress(result, area.name, len(report.built) + len(report.failed), len(todo))

    areas = [area for area, _ in todo]
    if areas and settings.scheduler:
        run_dask(job, areas, settings.scheduler, on_result)
    elif areas:
        run_local(job, areas, settings.jobs, on_result)
    report.built.sort()
    report.unchanged.sort()


def _record(
    folder: Path, root: Path, manifest: dict[str, Any], area: Area, digest: str, files: Mapping[str, bytes]
) -> None:
    """Write the area's files atomically, then record them (so a kill in between only means a rebuild)."""
    manifest["areas"][area.code] = {
        "area_name": area.name,
        "region_code": area.region_code,
        "region_name": area.region_name,
        "inputs_sha256": digest,
        "files": write_area(folder, files, root),
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


def _write_edition_files(folder: Path, report: RunReport, prepared: Prepared) -> None:
    """The download page, the zip of every PDF and the run report."""
    manifest = read_manifest(folder)
    write_zip(folder / site.ZIP_FILE, folder, site.zip_members(manifest))
    search_path = layout_search_path(prepared.options.layouts_dir, default_layouts_dir())
    page = site.index_html(
        manifest, folder, report.edition, prepared.data_date, prepared.data.synthetic, search_path=search_path
    )
    write_file(folder / site.INDEX_FILE, page)
    write_json(folder / RUN_FILE, report.as_json())


def default_jobs() -> int:
    return os.cpu_count() or 1
