"""The national run: many authorities in one safe, incremental, parallel command.

The data, specs and benchmark table (with its spines and ranks) are prepared once per run and
handed to each worker process once, through the pool's initializer. Each area is a pure task,
"build one area -> its files as bytes" (:func:`build_area`); the parent writes every file
atomically and records it in the edition's manifest, so a run killed at any moment leaves only
whole files, and a rerun rebuilds only the areas whose inputs changed.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import multiprocessing
import os
import resource
import signal
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import InputFileError, ReportgenError, printable
from reportgen.core.files import LEGACY_LOCK, EditionLock, sweep_edition
from reportgen.core.geography import Area, load_geography
from reportgen.core.memory import release_memory
from reportgen.core.options import BuildOptions
from reportgen.core.periods import period_sort_key
from reportgen.core.readers import read_capped
from reportgen.document.inputs import Prepared
from reportgen.document.provenance import area_provenances
from reportgen.document.render import layout_search_path
from reportgen.publish import changes as ch
from reportgen.publish import manifest as mf
from reportgen.publish import site
from reportgen.publish.area import render_area
from reportgen.publish.prepare import DataPaths, check_area, prepare, resolve_area
from reportgen.publish.tables import benchmark_bytes
from reportgen.publish.verify import verify_edition
from reportgen.publish.write import write_area, write_file, write_json, write_zip
from reportgen.sources.data import INDICATOR_ID, PERIOD, IndicatorData
from reportgen.stats.fingerprint import dependency_rows

MANIFEST_FILE = mf.MANIFEST_FILE
RUN_FILE = mf.RUN_FILE  # the latest run's report
RUNS_FILE = "runs.jsonl"  # every run's report, one JSON object a line, oldest first
#: The run history kept: past this size, the oldest lines are dropped when a run is added.
MAX_RUNS_BYTES = 8 * 1024 * 1024
#: The largest index.html read back to compare with the page a run would write.
MAX_INDEX_BYTES = 32 * 1024 * 1024
LOCK_FILE = LEGACY_LOCK  # earlier versions' lock in the edition folder; the lock is now in the work folder
#: A worker process is replaced after this many areas, which caps its memory.
MAX_TASKS_PER_CHILD = 10
#: Seconds one area may take in a worker before it fails (``build --area-time-limit``).
DEFAULT_AREA_TIME_LIMIT = 300.0
#: Seconds to connect to a Dask scheduler and receive its handshake, and again for the client to connect.
SCHEDULER_TIMEOUT = 10.0
#: A Dask scheduler's handshake is a few hundred bytes; a longer announced length is not Dask.
MAX_HANDSHAKE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Selection:
    """Which authorities to build: ``all``, a ``region`` or a list of ``areas`` (codes or names)."""

    all: bool = False
    region: str | None = None
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunSettings:
    """Options of a national run besides the per-profile BuildOptions."""

    jobs: int | None = 1  # None: one per CPU; always capped (see cap_jobs)
    force: bool = False
    previous: Path | None = None
    scheduler: str | None = None
    jobs_max: int | None = None  # allow --jobs above the number of CPUs, up to this
    area_time_limit: float | None = DEFAULT_AREA_TIME_LIMIT  # seconds per area (None: no limit)
    verify: bool = True  # check the published-folder invariant at the end (reportgen.publish.verify)


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
    """What a national run did; also written as run.json (the latest run) and added to runs.jsonl (every run)."""

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
    problems: list[str] = field(default_factory=list)  # where the folder breaks the published-folder invariant

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
            "verify_problems": self.problems,
            "status": "failed" if self.failed or self.problems else "ok",
        }

    def summary(self) -> str:
        lines = [
            f"Edition {self.edition} in {self.folder}: {len(self.built)} built, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed, {len(self.warnings)} warning(s), in {duration(self.seconds)}."
        ]
        if self.unchanged and not self.built and not self.failed:
            lines.append("Nothing to rebuild: every profile is up to date (use --force to rebuild all).")
        lines += [f"FAILED {code} {self.names.get(code, '')}: {reason}" for code, reason in self.failed.items()]
        lines += [f"VERIFY FAILED {problem}" for problem in self.problems]
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


class AreaTimeLimit(ReportgenError):
    """An area took longer than the per-area time limit."""


def _over_time(limit: float) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise AreaTimeLimit(
            f"it took longer than the time limit of {limit:g} s per area and was stopped "
            "(raise it with --area-time-limit SECONDS)"
        )

    return handler


class _time_limit:  # noqa: N801 - used as a context manager, like contextlib's
    """Raise :class:`AreaTimeLimit` in this (main) thread when the block runs longer than ``seconds``.

    Uses SIGALRM (a real-time timer), so it applies only in a process's main thread, as in a pool's
    worker; elsewhere, or with ``seconds`` None, it does nothing. The previous handler is restored.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.previous: Any = None
        self.active = bool(seconds) and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.active:
            assert self.seconds is not None
            self.previous = signal.signal(signal.SIGALRM, _over_time(self.seconds))
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if self.previous is None else self.previous)


def _build_limited(job: Job, area: Area, time_limit: float | None) -> AreaResult:
    """:func:`build_area` within the per-area time limit; over it, the area fails with a clear message."""
    start = time.perf_counter()
    try:
        with _time_limit(time_limit):
            return build_area(job, area)
    except AreaTimeLimit as exc:  # the alarm rang just after build_area returned, or in its except
        return AreaResult(area.code, error=exc.message, seconds=time.perf_counter() - start)


def _build_in_worker(area: Area, time_limit: float | None = None) -> AreaResult:
    assert _WORKER_JOB is not None, "worker started without its job"
    try:
        result = _build_limited(_WORKER_JOB, area, time_limit)
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


def run_local(job: Job, areas: list[Area], jobs: int, on_result: OnResult, time_limit: float | None = None) -> None:
    """Build areas in ``jobs`` worker processes (in this process when one job or one area).

    Workers are recycled to cap their memory: each pool builds at most ``MAX_TASKS_PER_CHILD``
    areas per worker and is then replaced by a fresh one. (The executor's own
    ``max_tasks_per_child`` left a national run waiting forever on Python 3.11 once its workers retired.)
    An area that takes longer than ``time_limit`` seconds fails and the others go on.
    """
    if jobs <= 1 or len(areas) <= 1:
        for area in areas:
            result = _build_limited(job, area, time_limit)
            release_memory()  # documents are built with rare collections: free each area's cycles
            on_result(result)
        return
    jobs = min(jobs, len(areas))
    batch_size = jobs * MAX_TASKS_PER_CHILD
    for start in range(0, len(areas), batch_size):
        _run_pool(job, areas[start : start + batch_size], jobs, on_result, time_limit)


def _run_pool(job: Job, areas: list[Area], jobs: int, on_result: OnResult, time_limit: float | None = None) -> None:
    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(areas))
    initargs = (job_for(job, areas),)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
        futures = {pool.submit(_build_in_worker, area, time_limit): area for area in areas}
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
    """Send the same per-area tasks to a Dask distributed cluster; this process writes the files.

    Connecting is bounded: :func:`_check_reachable` must receive a Dask handshake within
    :data:`SCHEDULER_TIMEOUT` seconds, and the client must then connect within 1.5 times that.
    Whatever answers otherwise (nothing, an HTTP server, garbage) is a one-line error.
    """
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ReportgenError("--scheduler needs Dask: pip install 'dask[distributed]'.") from None
    _check_reachable(scheduler)
    client = _connect(Client, scheduler)
    with client:
        shared = client.scatter(job_for(job, areas), broadcast=True)
        futures = client.map(build_area_remote, areas, job=shared, pure=False)
        by_key = {f.key: a for f, a in zip(futures, areas, strict=True)}
        for future in dask_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails only its areas
                result = AreaResult(by_key[future.key].code, error=f"{type(exc).__name__}: {exc}")
            on_result(result)


def _connect(client_class: Any, scheduler: str) -> Any:
    """``Client(scheduler)`` within a deadline, in a helper thread; any failure is a one-line error."""
    outcome: dict[str, Any] = {}

    def connect() -> None:
        try:
            outcome["client"] = client_class(scheduler, timeout=SCHEDULER_TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - reported below, in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=connect, name="reportgen-dask-connect", daemon=True)
    thread.start()
    limit = SCHEDULER_TIMEOUT * 1.5  # Dask's own timeout, and time to give up on it
    thread.join(limit)
    if thread.is_alive():
        raise _scheduler_error(scheduler, f"the client did not connect within {limit:g} s")
    error = outcome.get("error")
    if error is not None:  # OSError, TimeoutError, ValueError, MemoryError, ...: one line, never a traceback
        raise _scheduler_error(scheduler, f"cannot connect ({type(error).__name__}: {printable(str(error)[:200])})")
    return outcome["client"]


def _scheduler_error(scheduler: str, reason: str) -> ReportgenError:
    return ReportgenError(
        f"--scheduler {scheduler}: {reason}. Start it with 'dask scheduler' and check the address and port."
    )


def _check_reachable(scheduler: str, timeout: float | None = None) -> None:
    """Fail within ``timeout`` seconds (:data:`SCHEDULER_TIMEOUT`) unless a Dask scheduler answers at
    tcp://HOST:PORT.

    A Dask scheduler sends its handshake as soon as it accepts a connection: an 8-byte length, then
    that many bytes holding a frame count and the frames' lengths. This reads at most
    :data:`MAX_HANDSHAKE_BYTES` of it and checks that shape, so nothing listening, a listener that
    says nothing, an HTTP server (which waits for a request) or a port sending garbage is a one-line
    error, never a hang or a huge allocation (Dask itself would trust the announced length).
    """
    timeout = SCHEDULER_TIMEOUT if timeout is None else timeout
    host, _, port = scheduler.removeprefix("tcp://").rpartition(":")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            head = _receive(conn, 8, deadline)
            (size,) = struct.unpack("Q", head)
            if not 16 <= size <= MAX_HANDSHAKE_BYTES:
                raise _not_dask(scheduler)
            body = _receive(conn, size, deadline)
    except TimeoutError:
        raise _scheduler_error(
            scheduler, f"no Dask handshake within {timeout:g} s (is a Dask scheduler listening there?)"
        ) from None
    except (OSError, ValueError, OverflowError) as exc:
        raise _scheduler_error(scheduler, f"cannot connect ({exc})") from None
    (frames,) = struct.unpack_from("Q", body)
    header = 8 + 8 * frames
    if not 1 <= frames <= 64 or header > size or header + sum(struct.unpack_from(f"{frames}Q", body, 8)) < size:
        raise _not_dask(scheduler)


def _receive(conn: socket.socket, count: int, deadline: float) -> bytes:
    """Exactly ``count`` bytes from ``conn`` before ``deadline`` (TimeoutError after it)."""
    chunks, got = [], 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        conn.settimeout(left)
        chunk = conn.recv(min(count - got, 65536))
        if not chunk:
            raise ConnectionError("the connection was closed before Dask's handshake was complete")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _not_dask(scheduler: str) -> ReportgenError:
    return _scheduler_error(scheduler, "what answers there is not a Dask scheduler (its reply is not Dask's handshake)")


# --------------------------------------------------------------------------- manifest and files


def read_manifest(folder: Path) -> dict[str, Any]:
    """The edition's manifest, validated (:func:`reportgen.publish.manifest.read_manifest`); empty when
    absent or corrupt (everything then rebuilds, and nothing it lists is read, zipped or linked)."""
    return mf.read_manifest(folder).manifest.as_dict()


def _current_manifest(folder: Path, report: RunReport) -> dict[str, Any]:
    """The manifest the run starts from; a corrupt one is a warning and is replaced by an empty one at once."""
    loaded = mf.read_manifest(folder)
    manifest = loaded.manifest.as_dict()
    if loaded.problem is not None:
        report.warnings.append(printable(loaded.problem))
        write_json(folder / MANIFEST_FILE, manifest)
    return manifest


def sweep_stale_temporaries(folder: Path) -> int:
    """Remove reportgen's own temporary files whose process no longer runs (exact name
    ``.reportgen-<name>.<pid>.<random>.tmp``, regular files only) from the edition's work folder and
    the edition folder, and an earlier version's unused ``.run.lock``; return how many. Nothing
    else is removed: not a user's ``.keep-me.tmp/``, not a live write's temporary file."""
    return sweep_edition(folder)


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
    on_note: Callable[[str], None] | None = None,
) -> RunReport:
    """Build the selected authorities into ``<out>/<edition>/`` and write the edition's files.

    The inputs are prepared as for a single build (the same checks and warnings); each area is
    built by :func:`reportgen.publish.area.render_area` with its brief and data CSV. The run holds
    the edition's lock; its temporary files are in the work folder beside the edition folder.
    ``on_note`` is told of adjustments made to the settings (``--jobs`` capped).
    """
    start = time.perf_counter()
    mf.forget_checks()  # files are remembered from this run's plan to its verification only
    prepared = prepare(data_paths, dataclasses.replace(options, brief=True, data_csv=True))
    areas = select_areas(selection, prepared.data)
    folder = options.out_dir / prepared.edition
    with EditionLock(folder):
        sweep_stale_temporaries(folder)
        report = _run_in_folder(folder, areas, prepared, settings, on_progress, on_note)
        report.seconds = time.perf_counter() - start
        _write_edition_files(folder, report, prepared)
        if settings.verify:
            _verify(folder, report)
        _append_run(folder, report)
    return report


def _verify(folder: Path, report: RunReport) -> None:
    """Check the published-folder invariant (:func:`reportgen.publish.verify.verify_edition`); a violation
    fails the run, and run.json records it."""
    found = [str(problem) for problem in verify_edition(folder)]
    report.problems += found
    if found:
        write_json(folder / RUN_FILE, report.as_json())


def _run_in_folder(
    folder: Path,
    areas: list[Area],
    prepared: Prepared,
    settings: RunSettings,
    on_progress: OnProgress | None,
    on_note: Callable[[str], None] | None = None,
) -> RunReport:
    edition = folder.name
    current_csv = benchmark_bytes(prepared.table, "csv")
    previous_label, area_changes, found = _changes(folder, areas, prepared, settings, current_csv)
    job = Job(prepared, area_changes)
    report = RunReport(
        edition, prepared.data_date.isoformat(), folder, previous_label, names={a.code: a.name for a in areas}
    )
    report.warnings += [str(w) for w in prepared.warnings]
    manifest = _current_manifest(folder, report)
    areas = _checked(areas, prepared, report)
    todo = _plan(folder, areas, job, manifest, settings.force, report)
    _execute(folder, todo, job, manifest, settings, report, on_progress, on_note)
    _forget_damaged(folder, manifest, report)
    _write_edition_tables(folder, prepared, manifest, report, found)
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
) -> tuple[str | None, dict[str, dict[str, Any] | None], list[ch.Change] | None]:
    """The earlier edition's label, per area what has changed since it, and every change (None for a
    first edition: changes.csv is written at the end, from what is published)."""
    previous_dir = ch.find_previous(prepared.options.out_dir, folder.name, settings.previous)
    if previous_dir is None:  # each profile says that no earlier edition was found, and where it looked
        return None, {a.code: ch.no_earlier_edition(prepared.options.out_dir, folder.name) for a in areas}, None
    label = ch.previous_label(previous_dir)
    previous = ch.read_benchmark_csv(previous_dir / ch.BENCHMARK_FILE, str(previous_dir / ch.BENCHMARK_FILE))
    current = ch.read_benchmark_csv(current_csv, "current benchmark table")
    found = ch.compare_editions(previous, current, ch.read_previous_specs(previous_dir), prepared.specs)
    return label, ch.changes_by_area(found, label, [a.code for a in areas]), found


def _plan(
    folder: Path, areas: list[Area], job: Job, manifest: dict[str, Any], force: bool, report: RunReport
) -> list[tuple[Area, str]]:
    """Each area's dependency hash; the areas to build (all with --force), the rest recorded unchanged."""
    records = area_provenances(job.prepared, areas, job.changes)
    todo = []
    for area in areas:
        digest = records[area.code]["inputs_sha256"]
        if not force and mf.is_up_to_date(folder, area.code, manifest["areas"].get(area.code), digest):
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
    on_note: Callable[[str], None] | None = None,
) -> None:
    """Build the areas of ``todo`` and write each as its result comes. An area that fails to build
    or to be written (a folder in the way of one of its files) fails alone; the others go on."""
    digests = {area.code: (area, digest) for area, digest in todo}

    def on_result(result: AreaResult) -> None:
        area, digest = digests[result.code]
        report.worker_peak_rss_mib = max(report.worker_peak_rss_mib, result.peak_rss_mib)
        if not result.error:
            try:
                _record(folder, job.prepared.options.out_dir, manifest, area, digest, result.files)
            except (ReportgenError, OSError) as exc:
                message = exc.message if isinstance(exc, ReportgenError) else f"{type(exc).__name__}: {exc}"
                result = dataclasses.replace(result, error=message.replace("\n", "; "))
        if result.error:
            report.failed[area.code] = result.error
        else:
            report.built.append(area.code)
            report.warnings += [f"{area.code} {area.name}: {w}" for w in result.warnings]
        if on_progress is not None:
            on_progress(result, area.name, len(report.built) + len(report.failed), len(todo))

    areas = [area for area, _ in todo]
    if areas and settings.scheduler:
        run_dask(job, areas, settings.scheduler, on_result)
    elif areas:
        jobs, note = cap_jobs(settings.jobs, settings.jobs_max, len(areas))
        if note and on_note is not None:
            on_note(note)
        run_local(job, areas, jobs, on_result, settings.area_time_limit)
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


def _forget_damaged(folder: Path, manifest: dict[str, Any], report: RunReport) -> None:
    """A failed area keeps its published files when they are intact; when they are not (a file
    replaced by a folder, or only some of its files written before a disk filled), its entry
    leaves the manifest, so the page, the zip and the manifest list only what is published."""
    dropped = []
    for code in sorted(report.failed):
        entry = manifest["areas"].get(code)
        if entry is None:
            continue
        files, digest = entry.get("files") or {}, str(entry.get("inputs_sha256", ""))
        if any(mf.listed_file_problem(folder, code, name, sha, digest) for name, sha in files.items()):
            del manifest["areas"][code]
            dropped.append(code)
            report.warnings.append(
                f"{code} {report.names.get(code, '')}: its published files are damaged and it could not be rebuilt, "
                "so it is left out of the manifest, index.html and profiles.zip until a run builds it"
            )
    if dropped:
        write_json(folder / MANIFEST_FILE, manifest)


def _write_edition_tables(
    folder: Path, prepared: Prepared, manifest: dict[str, Any], report: RunReport, found: list[ch.Change] | None
) -> None:
    """benchmark.csv, specs.json and changes.csv, describing exactly what is published.

    The areas built or found up to date in this run are published from this run's inputs: their
    rows (and England's and the regions') come from this run's table. Areas published by an earlier
    run (failed now, or not selected) keep their rows from the edition's earlier files. When no area
    of this run is published (every one failed), the files are left as they were.
    """
    current = set(report.built) | set(report.unchanged)
    if not current:
        return
    earlier = set(manifest["areas"]) - current
    write_if_changed(
        folder / ch.BENCHMARK_FILE, _benchmark_table(folder, prepared.table, current, earlier, report), MAX_TABLE_BYTES
    )
    write_if_changed(folder / ch.SPECS_FILE, ch.specs_json_bytes(prepared.specs), MAX_TABLE_BYTES)
    changes = [] if found is None else [c for c in found if c.area_code in current]
    kept = _earlier_changes(folder / CHANGES_FILE, earlier, report) if earlier else []
    if found is None and not kept:
        _remove_stale(folder / CHANGES_FILE)  # a first edition: nothing published has changes
        return
    rows = sorted(changes + kept, key=lambda c: (c.area_code, c.indicator_id, c.what))
    write_if_changed(folder / CHANGES_FILE, ch.changes_csv(rows), MAX_TABLE_BYTES)


CHANGES_FILE = "changes.csv"
#: The largest benchmark.csv or changes.csv of the edition read back to keep earlier areas' rows.
MAX_TABLE_BYTES = ch.MAX_BENCHMARK_BYTES


def _benchmark_table(
    folder: Path, table: pd.DataFrame, current: set[str], earlier: set[str], report: RunReport
) -> bytes:
    local = table["area_type"].isin(ch.LOCAL_TYPES)
    payload = benchmark_bytes(table[~local | table["area_code"].isin(current)], "csv")
    if not earlier:
        return payload
    path = folder / ch.BENCHMARK_FILE
    old = _read_earlier(path, report, len(earlier))
    if old is None:
        return payload
    if not {"area_code", "area_type"} <= set(old.columns):
        report.warnings.append(f"{path}: not a benchmark table; the rows of {len(earlier)} earlier area(s) left out")
        return payload
    rows = old[old["area_type"].isin(ch.LOCAL_TYPES) & old["area_code"].isin(earlier)]
    if rows.empty:
        return payload
    now = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False)
    merged = pd.concat([now, rows.reindex(columns=now.columns, fill_value="")], ignore_index=True)
    return merged.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _earlier_changes(path: Path, earlier: set[str], report: RunReport) -> list[ch.Change]:
    old = _read_earlier(path, report, len(earlier))
    if old is None or old.empty:
        return []
    if not set(ch.REQUIRED_CHANGES_COLUMNS) <= set(old.columns):
        report.warnings.append(f"{path}: not a changes table; the rows of {len(earlier)} earlier area(s) are left out")
        return []
    # A changes.csv written before the value columns existed is still read: its values are empty.
    kept = old[old["area_code"].isin(earlier)].reindex(columns=list(ch.CHANGES_COLUMNS), fill_value="")
    return [ch.Change(*row) for row in kept.itertuples(index=False, name=None)]


def _read_earlier(path: Path, report: RunReport, count: int) -> pd.DataFrame | None:
    """One of the edition's own CSV files as text, read back safely; ``None`` (with a warning when it
    exists but cannot be used) otherwise."""
    try:
        data = read_capped(path, MAX_TABLE_BYTES)
        if data is None:
            return None
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except (InputFileError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = exc.message if isinstance(exc, ReportgenError) else f"{path}: not readable ({str(exc)[:100]})"
        report.warnings.append(printable(f"{reason.rstrip('.')}; the rows of {count} earlier area(s) left out of it"))
        return None


def _remove_stale(path: Path) -> None:
    """Remove one of the edition's own files (never a link or anything but a regular file)."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            path.unlink()
    except OSError:
        pass


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
    """The zip of every area file, the download page and the run report.

    The zip and the page are left untouched (same bytes, same file) when a run would write them as
    they are: a rerun that changes nothing does not make a sync tool upload them again.
    """
    manifest = read_manifest(folder)
    search_path = layout_search_path(prepared.options.layouts_dir, default_layouts_dir())
    names = site.zip_members(manifest)
    prefix = site.zip_prefix(report.edition)
    columns = site.data_columns(prepared.table.columns)
    readme = site.edition_readme(report.edition, prepared.data_date, columns, search_path)
    comment = site.zip_comment(prefix, names, site.listed_sha256(manifest), readme)
    if not site.zip_is_current(folder / site.ZIP_FILE, folder, prefix, names, comment):
        try:
            extra = {site.README_FILE: readme}
            write_zip(folder / site.ZIP_FILE, folder, names, prefix=prefix, extra=extra, comment=comment)
        except ReportgenError as exc:  # e.g. the disk is full: the page and the run report are still written
            report.problems.append(f"{site.ZIP_FILE}: {exc}")
    page = site.index_html(
        manifest,
        folder,
        report.edition,
        prepared.data_date,
        prepared.data.synthetic,
        search_path=search_path,
        previous_edition=report.previous_edition,
    )
    write_if_changed(folder / site.INDEX_FILE, page, MAX_INDEX_BYTES)
    write_json(folder / RUN_FILE, report.as_json())


def write_if_changed(path: Path, payload: bytes, limit: int) -> bool:
    """Write ``payload`` to ``path`` (atomically) unless the file already holds exactly these bytes;
    whether it was written. Anything but a regular file of at most ``limit`` bytes is replaced."""
    try:
        if read_capped(path, limit) == payload:
            return False
    except InputFileError:
        pass  # a link, a folder's name, too large ...: written anew
    write_file(path, payload)
    return True


def _append_run(folder: Path, report: RunReport) -> None:
    """Add the run's report to the edition's run history (runs.jsonl, one line a run, oldest first).

    The history is rewritten atomically with the new line at its end; past :data:`MAX_RUNS_BYTES` its
    oldest lines are dropped. A history that is not a readable text file is started anew, with a warning
    in the report."""
    path = folder / RUNS_FILE
    line = json.dumps(report.as_json(), sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"
    try:
        old = read_capped(path, MAX_RUNS_BYTES * 2) or b""
    except InputFileError as exc:
        report.warnings.append(printable(f"{exc.message.rstrip('.')}; the run history is started anew"))
        old = b""
    if old and not old.endswith(b"\n"):
        old += b"\n"  # a line cut short by hand is kept as it is, on its own line
    history = old + line
    while len(history) > MAX_RUNS_BYTES and b"\n" in history[:-1]:
        history = history[history.index(b"\n") + 1 :]
    try:
        write_file(path, history)
    except ReportgenError as exc:
        report.warnings.append(printable(f"{RUNS_FILE}: {exc}"))


def default_jobs() -> int:
    """The number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cap_jobs(requested: int | None, jobs_max: int | None, areas: int) -> tuple[int, str | None]:
    """The worker processes to start for ``areas`` areas, and a note when ``requested`` was lowered.

    At most the number of CPUs (or ``jobs_max`` when given: ``--jobs-max`` allows more) and never
    more than the areas to build; ``requested`` None means one per CPU.
    """
    cpus = default_jobs()
    limit = jobs_max if jobs_max is not None else cpus
    jobs = min(requested or cpus, limit)
    note = None
    if requested is not None and requested > limit:
        why = f"--jobs-max {jobs_max}" if jobs_max is not None else f"the {cpus} CPU(s) of this machine"
        more = "" if jobs_max is not None else " (--jobs-max N allows more)"
        note = f"--jobs {requested} is more than {why}: using {limit}{more}."
    if areas and jobs > areas:
        jobs = areas
        if requested is not None and requested > areas:
            note = f"--jobs {requested}: using {areas}, one per area to build."
    return max(jobs, 1), note
