"""The unattended national run can be trusted (issue 16): edition tables describe what is published,
the sweep removes only reportgen's own leftovers, the lock is never followed, one area's
unwritable output fails only that area, --jobs is capped, a wrong --scheduler is a one-line error
within seconds, an area has a time limit, and work files live outside the edition folder."""

from __future__ import annotations

import csv
import errno
import fcntl
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from national_helpers import HARTLEPOOL, HULL, MIDDLESBROUGH, change_value, small_inputs

from reportgen.cli import cli
from reportgen.core import files as core_files
from reportgen.core.errors import OutputError, ReportgenError
from reportgen.core.options import BuildOptions
from reportgen.publish import area as area_stage
from reportgen.publish import national
from reportgen.publish.build import build_profile
from reportgen.publish.national import EditionLock, RunSettings, Selection, run_national, sweep_stale_temporaries

NORTH_EAST_TWO = (HARTLEPOOL, MIDDLESBROUGH)
THREE = (HARTLEPOOL, MIDDLESBROUGH, HULL)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return small_inputs(tmp_path_factory.mktemp("safety"))


@pytest.fixture(scope="module")
def changed(inputs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same data with one Hartlepool value changed (same file name, so only the values differ)."""
    target = tmp_path_factory.mktemp("changed") / inputs[1].name
    change_value(inputs[1], target, HARTLEPOOL, "2021/22", 0.5)
    return target


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def fake_render(version: str, failing: tuple[str, ...] = ()) -> Callable[..., area_stage.AreaFiles]:
    """A quick stand-in for render_area: the area's three files with recognisable bytes."""

    def render(prepared, area, changes=None):
        if area.code in failing:
            raise ReportgenError(f"template failed for {area.code}")
        names = area_stage.output_names(prepared.edition, area)
        return area_stage.AreaFiles(
            area,
            {
                names.profile: f"%PDF-{version} {area.code} profile".encode(),
                names.brief: f"%PDF-{version} {area.code} brief".encode(),
                names.data: f"area_code\n{area.code},{version}\n".encode(),
            },
        )

    return render


def national_run(
    inputs: tuple[Path, Path], out: Path, codes: tuple[str, ...], data: Path | None = None, **settings: object
) -> national.RunReport:
    specs, demo = inputs
    options = BuildOptions(specs_dir=specs, out_dir=out)
    run = RunSettings(jobs=1, verify=False, **settings)
    return run_national(Selection(areas=codes), data or demo, options, run)


def sha_only(folder: Path, code: str, name: str, sha: str, inputs_sha256: str) -> str | None:
    """The manifest check without the embedded provenance that the stand-in PDFs lack."""
    import hashlib

    path = folder / name
    if not path.is_file() or path.is_symlink():
        return "is missing"
    return None if hashlib.sha256(path.read_bytes()).hexdigest() == sha else "differs"


def table_rows(payload: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(payload.decode("utf-8"))))


def rows_of(rows: list[dict[str, str]], code: str) -> list[dict[str, str]]:
    return [row for row in rows if row["area_code"] == code]


# --------------------------------------------------------------------------- 2. edition tables


def test_a_run_where_every_area_fails_keeps_the_edition_tables(inputs, changed, tmp_path, monkeypatch):
    monkeypatch.setattr(national.mf, "listed_file_problem", sha_only)
    out = tmp_path / "out"
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    first = national_run(inputs, out, NORTH_EAST_TWO)
    assert sorted(first.built) == sorted(NORTH_EAST_TWO)
    folder = out / "2024"
    before = {name: (folder / name).read_bytes() for name in ("benchmark.csv", "specs.json", "manifest.json")}

    monkeypatch.setattr(national, "render_area", fake_render("v2", failing=NORTH_EAST_TWO))
    second = national_run(inputs, out, NORTH_EAST_TWO, data=changed, force=True)
    assert sorted(second.failed) == sorted(NORTH_EAST_TWO) and not second.built
    # The failed run's table differs (Hartlepool's value changed) but is not published: no PDF shows it.
    assert table_rows(before["benchmark.csv"]) != []
    for name, payload in before.items():
        assert (folder / name).read_bytes() == payload, f"{name} was replaced by a run that published nothing"
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"
    assert (folder / "index.html").is_file() and (folder / "profiles.zip").is_file()


def test_a_first_run_that_fails_everywhere_writes_no_tables(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(national, "render_area", fake_render("v1", failing=NORTH_EAST_TWO))
    report = national_run(inputs, tmp_path / "out", NORTH_EAST_TWO)
    assert sorted(report.failed) == sorted(NORTH_EAST_TWO)
    folder = tmp_path / "out" / "2024"
    assert not (folder / "benchmark.csv").exists() and not (folder / "specs.json").exists()
    assert (folder / "run.json").is_file()


def test_benchmark_csv_holds_each_published_areas_rows_from_the_table_it_was_built_from(
    inputs, changed, tmp_path, monkeypatch
):
    monkeypatch.setattr(national.mf, "listed_file_problem", sha_only)
    out = tmp_path / "out"
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    national_run(inputs, out, THREE)
    folder = out / "2024"
    old = table_rows((folder / "benchmark.csv").read_bytes())
    assert {row["area_code"] for row in old if row["area_type"] == "UTLA"} == set(THREE)  # only published areas

    # Hartlepool's value changes; it fails to rebuild and keeps its published (old) files.
    monkeypatch.setattr(national, "render_area", fake_render("v2", failing=(HARTLEPOOL,)))
    report = national_run(inputs, out, THREE, data=changed, force=True)
    assert list(report.failed) == [HARTLEPOOL] and report.built == sorted([MIDDLESBROUGH, HULL])
    assert (folder / f"{HARTLEPOOL}-hartlepool.pdf").read_bytes().startswith(b"%PDF-v1")
    now = table_rows((folder / "benchmark.csv").read_bytes())
    assert rows_of(now, HARTLEPOOL) == rows_of(old, HARTLEPOOL)  # what its published PDF shows
    # Middlesbrough's rows are this run's: its region's spine and rank columns moved with the change.
    current = table_rows(national.benchmark_bytes(_table(inputs, changed), "csv"))
    assert rows_of(now, MIDDLESBROUGH) == rows_of(current, MIDDLESBROUGH)
    assert rows_of(now, HARTLEPOOL) != rows_of(current, HARTLEPOOL)


def _table(inputs: tuple[Path, Path], data: Path):
    from reportgen.publish.prepare import prepare

    return prepare(data, BuildOptions(specs_dir=inputs[0], out_dir=Path("unused"))).table


def test_changes_csv_keeps_the_rows_of_an_area_that_failed(inputs, tmp_path, monkeypatch):
    from reportgen.publish.changes import specs_digest
    from reportgen.publish.prepare import prepare

    monkeypatch.setattr(national.mf, "listed_file_problem", sha_only)
    specs, data = inputs
    prepared = prepare(data, BuildOptions(specs_dir=specs, out_dir=tmp_path / "unused"))
    previous = table_rows(national.benchmark_bytes(prepared.table, "csv"))

    def write_previous(comparison: str) -> None:
        old = tmp_path / "out" / "2023"
        old.mkdir(parents=True, exist_ok=True)
        rows = [dict(row) for row in previous]
        for row in rows:
            if row["area_code"] in NORTH_EAST_TWO and row["indicator_id"] == "employment_rate":
                row["compared_to_england"] = comparison
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        (old / "benchmark.csv").write_text(buffer.getvalue(), encoding="utf-8")
        (old / "specs.json").write_text(json.dumps(specs_digest(prepared.specs), default=str), encoding="utf-8")

    write_previous("Compared before")
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    national_run(inputs, tmp_path / "out", NORTH_EAST_TWO)
    changes = tmp_path / "out" / "2024" / "changes.csv"
    first = {(r["area_code"], r["before"]) for r in table_rows(changes.read_bytes())}
    assert {(HARTLEPOOL, "Compared before"), (MIDDLESBROUGH, "Compared before")} <= first

    write_previous("Compared differently")
    monkeypatch.setattr(national, "render_area", fake_render("v2", failing=(HARTLEPOOL,)))
    national_run(inputs, tmp_path / "out", NORTH_EAST_TWO, force=True)
    rows = table_rows(changes.read_bytes())
    assert {(r["area_code"], r["before"]) for r in rows if r["what"] == "Comparison with England"} == {
        (HARTLEPOOL, "Compared before"),  # as its published profile says
        (MIDDLESBROUGH, "Compared differently"),
    }


# --------------------------------------------------------------------------- 5. sweep and lock


def test_the_sweep_removes_only_reportgens_own_temporaries_of_processes_that_are_gone(tmp_path):
    folder = tmp_path / "out" / "2024"
    work = core_files.work_folder(folder)
    folder.mkdir(parents=True)
    work.mkdir()
    dead, live = dead_pid(), os.getppid()
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    for place in (folder, work):
        (place / f".reportgen-E06000001-hartlepool.pdf.{dead}.ab12cd34.tmp").write_bytes(b"stale")
        (place / f".reportgen-manifest.json.{live}.zz99yy88.tmp").write_bytes(b"a live write")
    (folder / ".keep-me.tmp").mkdir()  # a user's folder: never touched
    (folder / ".keep-me.tmp" / "notes.txt").write_text("mine")
    (folder / f".reportgen-dir.pdf.{dead}.abcdefgh.tmp").mkdir()  # our pattern, but a folder: kept
    (folder / f".reportgen-link.pdf.{dead}.abcdefgh.tmp").symlink_to(outside)  # a link: kept, not followed
    (folder / ".notes.tmp").write_text("not our name")
    (folder / f".reportgen-x.pdf.{dead}.tmp").write_text("not the exact pattern")
    (folder / f".reportgen-big.pdf.{10**30}.abcdefgh.tmp").write_text("no process has this id")

    assert sweep_stale_temporaries(folder) == 3
    assert sorted(p.name for p in work.iterdir()) == [f".reportgen-manifest.json.{live}.zz99yy88.tmp"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            ".keep-me.tmp",
            ".notes.tmp",
            f".reportgen-dir.pdf.{dead}.abcdefgh.tmp",
            f".reportgen-link.pdf.{dead}.abcdefgh.tmp",
            f".reportgen-manifest.json.{live}.zz99yy88.tmp",
            f".reportgen-x.pdf.{dead}.tmp",
        ]
    )
    assert (folder / ".keep-me.tmp" / "notes.txt").read_text() == "mine" and outside.read_text() == "keep"


def test_an_earlier_versions_lock_is_removed_only_when_unused_and_a_regular_file(tmp_path):
    folder = tmp_path / "2024"
    folder.mkdir()
    legacy = folder / ".run.lock"
    legacy.write_bytes(b"")
    with open(legacy, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # an old version's run is writing
        assert sweep_stale_temporaries(folder) == 0 and legacy.exists()
    assert sweep_stale_temporaries(folder) == 1 and not legacy.exists()
    target = tmp_path / "elsewhere"
    target.write_text("x")
    legacy.symlink_to(target)
    assert sweep_stale_temporaries(folder) == 0 and legacy.is_symlink() and target.read_text() == "x"


def test_the_lock_lives_in_the_work_folder_and_is_removed_with_it(tmp_path):
    folder = tmp_path / "out" / "2024"
    with EditionLock(folder) as lock:
        assert lock.path == tmp_path / "out" / ".reportgen-work-2024" / "run.lock" and lock.path.is_file()
        assert not folder.exists()  # the edition folder holds only published files
        with pytest.raises(ReportgenError, match="Another reportgen run is writing"):
            with EditionLock(folder):
                pass
    assert not lock.work.exists()
    with EditionLock(folder):  # released
        pass


def test_a_lock_that_is_a_link_is_never_followed(tmp_path):
    folder = tmp_path / "out" / "2024"
    work = core_files.work_folder(folder)
    work.mkdir(parents=True)
    target = tmp_path / "outside" / "created-through-the-link"
    target.parent.mkdir()
    (work / "run.lock").symlink_to(target)
    with pytest.raises(OutputError, match="is not a regular file") as caught:
        with EditionLock(folder):
            pass
    assert "\n" not in caught.value.message
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert (work / "run.lock").is_symlink()  # left for the operator, not removed either


def test_a_lock_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    folder = tmp_path / "out" / "2024"
    work = core_files.work_folder(folder)
    work.mkdir(parents=True)
    os.mkfifo(work / "run.lock")
    start = time.monotonic()
    with pytest.raises(OutputError, match="is not a regular file"):
        with EditionLock(folder):
            pass
    assert time.monotonic() - start < 5


def test_a_work_folder_that_is_a_link_is_refused(tmp_path):
    folder = tmp_path / "out" / "2024"
    folder.parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    core_files.work_folder(folder).symlink_to(elsewhere)
    with pytest.raises(OutputError, match="is a link"):
        with EditionLock(folder):
            pass
    assert list(elsewhere.iterdir()) == []


def test_a_national_run_on_a_read_only_out_is_a_one_line_error(runner, inputs, tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith("run.lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    specs, data = inputs
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Cannot create the lock file ") and "permission denied" in result.stderr
    assert "Traceback" not in result.output


def test_a_single_build_takes_the_same_lock(inputs, tmp_path):
    specs, data = inputs
    out = tmp_path / "out"
    with EditionLock(out / "2024"):
        with pytest.raises(ReportgenError, match="Another reportgen run is writing"):
            build_profile(HARTLEPOOL, data, BuildOptions(specs_dir=specs, out_dir=out))
    assert not (out / "2024").exists() or list((out / "2024").iterdir()) == []


def test_a_national_run_keeps_a_live_writes_temporary_file(inputs, tmp_path, monkeypatch):
    """A temporary file of a process that still runs (here: this test's parent) is never swept."""
    out = tmp_path / "out"
    folder = out / "2024"
    folder.mkdir(parents=True)
    live = folder / f".reportgen-E06000001-hartlepool.pdf.{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"being written")
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    national_run(inputs, out, (MIDDLESBROUGH,))
    assert live.read_bytes() == b"being written"


# --------------------------------------------------------------------------- 18. work files outside the edition


def test_temporary_files_of_an_edition_are_in_its_work_folder(tmp_path):
    folder = tmp_path / "out" / "2024"
    with EditionLock(folder) as lock:
        with core_files.reserve(folder / "E06000001-hartlepool.pdf", tmp_path / "out") as reservation:
            assert reservation.temp.parent == lock.work
            assert [p.name for p in folder.iterdir()] == []  # nothing but published files, ever
            reservation.commit(b"%PDF")
        core_files.write_atomic(folder / "run.json", b"{}")  # any writer: the lock's work folder is used
    assert sorted(p.name for p in folder.iterdir()) == ["E06000001-hartlepool.pdf", "run.json"]
    assert not lock.work.exists()


def test_a_national_run_leaves_only_published_files_and_no_work_folder(inputs, tmp_path, monkeypatch):
    seen: list[list[str]] = []
    real_replace = os.replace

    def watch(source, target, *args, **kwargs):
        seen.append(sorted(p.name for p in (tmp_path / "out" / "2024").iterdir()))
        assert Path(source).parent.name == ".reportgen-work-2024", source
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(core_files.os, "replace", watch)
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    national_run(inputs, tmp_path / "out", NORTH_EAST_TWO)
    assert seen and not any(name.startswith(".") for names in seen for name in names)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2024"]


# --------------------------------------------------------------------------- 6a. one area's unwritable output


def test_a_folder_in_the_way_of_one_areas_file_fails_only_that_area(inputs, tmp_path, monkeypatch):
    out = tmp_path / "out"
    folder = out / "2024"
    (folder / f"{HARTLEPOOL}-hartlepool.pdf").mkdir(parents=True)
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    report = national_run(inputs, out, THREE)
    assert list(report.failed) == [HARTLEPOOL]
    assert "a folder of that name exists" in report.failed[HARTLEPOOL]
    assert report.built == sorted([MIDDLESBROUGH, HULL])
    record = json.loads((folder / "run.json").read_text())
    assert [f["area_code"] for f in record["failed"]] == [HARTLEPOOL] and record["status"] == "failed"
    page = (folder / "index.html").read_text()
    assert f"{MIDDLESBROUGH}-middlesbrough.pdf" in page and f"{HARTLEPOOL}-hartlepool" not in page
    with zipfile.ZipFile(folder / "profiles.zip") as archive:
        assert not [n for n in archive.namelist() if n.rpartition("/")[2].startswith(HARTLEPOOL)]
    # None of Hartlepool's files was written: its brief and data would otherwise be unlisted strays.
    assert not list(folder.glob(f"{HARTLEPOOL}-hartlepool-*"))
    assert HARTLEPOOL not in json.loads((folder / "manifest.json").read_text())["areas"]


def test_a_folder_in_the_way_on_a_rerun_keeps_that_areas_other_files_and_unlists_it(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(national.mf, "listed_file_problem", sha_only)
    out = tmp_path / "out"
    folder = out / "2024"
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    national_run(inputs, out, THREE)
    brief = folder / f"{HARTLEPOOL}-hartlepool-brief.pdf"
    assert brief.read_bytes().startswith(b"%PDF-v1")
    (folder / f"{HARTLEPOOL}-hartlepool.pdf").unlink()
    (folder / f"{HARTLEPOOL}-hartlepool.pdf").mkdir()
    monkeypatch.setattr(national, "render_area", fake_render("v2"))
    report = national_run(inputs, out, THREE, force=True)
    assert list(report.failed) == [HARTLEPOOL] and report.built == sorted([MIDDLESBROUGH, HULL])
    assert brief.read_bytes().startswith(b"%PDF-v1")  # no file of the area was replaced
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["areas"]) == sorted([MIDDLESBROUGH, HULL])  # its listed PDF is not a file any more
    assert f"{HARTLEPOOL}-hartlepool" not in (folder / "index.html").read_text()


def test_the_cli_reports_a_folder_in_the_way_in_the_summary_and_exits_1(runner, inputs, tmp_path, monkeypatch):
    specs, data = inputs
    out = tmp_path / "out"
    (out / "2024" / f"{HARTLEPOOL}-hartlepool.pdf").mkdir(parents=True)
    monkeypatch.setattr(national, "render_area", fake_render("v1"))
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "1", "--no-verify"]
    result = runner.invoke(cli, [*args, "--specs", str(specs), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "1 built, 0 unchanged, 1 failed" in result.stdout
    assert (
        f"FAILED {HARTLEPOOL} Hartlepool: Cannot write " in result.stdout and "a folder of that name" in result.stdout
    )
    assert (out / "2024" / "run.json").is_file() and (out / "2024" / "index.html").is_file()


# --------------------------------------------------------------------------- 8. --jobs capped


@pytest.mark.parametrize(
    "requested, jobs_max, areas, expected, note",
    [
        (100000, None, 153, 2, "--jobs 100000 is more than the 2 CPU(s) of this machine: using 2 (--jobs-max N"),
        (100000, 8, 153, 8, "--jobs 100000 is more than --jobs-max 8: using 8."),
        (6, 8, 153, 6, None),
        (2, None, 153, 2, None),
        (None, None, 153, 2, None),  # the default: one per CPU, without a note
        (None, None, 1, 1, None),
        (8, 16, 3, 3, "--jobs 8: using 3, one per area to build."),
        (100000, None, 1, 1, "--jobs 100000: using 1, one per area to build."),
    ],
)
def test_jobs_are_capped_at_the_cpus_or_jobs_max_and_the_areas(monkeypatch, requested, jobs_max, areas, expected, note):
    monkeypatch.setattr(national, "default_jobs", lambda: 2)
    jobs, told = national.cap_jobs(requested, jobs_max, areas)
    assert jobs == expected
    assert (told is None) if note is None else (told is not None and told.startswith(note))


def test_a_huge_jobs_starts_no_more_workers_than_cpus_and_says_so(runner, inputs, tmp_path, monkeypatch):
    used: list[int] = []

    def record(job, areas, jobs, on_result, time_limit=None):
        used.append(jobs)
        for area in areas:
            on_result(national.AreaResult(area.code, error="not built in this test"))

    monkeypatch.setattr(national, "default_jobs", lambda: 2)
    monkeypatch.setattr(national, "run_local", record)
    specs, data = inputs
    args = ["build", "--region", "North East", "--jobs", "100000", "--no-verify", "--specs", str(specs)]
    result = runner.invoke(cli, [*args, "--data", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and used == [2]
    assert "note: --jobs 100000 is more than the 2 CPU(s) of this machine: using 2" in result.stderr

    used.clear()
    result = runner.invoke(cli, [*args, "--jobs-max", "64", "--data", str(data), "--out", str(tmp_path / "out")])
    assert used == [12] and "note: --jobs 100000: using 12, one per area to build." in result.stderr


def test_the_pool_never_starts_more_workers_than_areas(monkeypatch):
    pools: list[int] = []
    monkeypatch.setattr(national, "_run_pool", lambda job, areas, jobs, on_result, limit=None: pools.append(jobs))
    areas = [national.Area(f"E0600000{i}", f"A{i}") for i in range(1, 4)]
    national.run_local(None, areas, 100000, lambda result: None)
    assert pools == [3]


# --------------------------------------------------------------------------- 9. --scheduler bounded


class Listener:
    """A 127.0.0.1 listener that accepts connections and sends ``reply`` (or nothing); stops with the test."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.held.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Callable[[bytes | None], Listener]]:
    made: list[Listener] = []

    def make(reply: bytes | None) -> Listener:
        made.append(Listener(reply))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.timeout = 0.2
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def scheduler_run(runner, inputs: tuple[Path, Path], out: Path, address: str):
    specs, data = inputs
    args = ["build", "--area", HARTLEPOOL, "--scheduler", address, "--specs", str(specs), "--data", str(data)]
    start = time.monotonic()
    result = runner.invoke(cli, [*args, "--out", str(out)])
    return result, time.monotonic() - start


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: --scheduler tcp://127.0.0.1:")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.stderr


def test_a_silent_listener_is_a_one_line_error_within_the_timeout(runner, inputs, tmp_path, listener, monkeypatch):
    monkeypatch.setattr(national, "SCHEDULER_TIMEOUT", 1.5)
    silent = listener(None)
    result, seconds = scheduler_run(runner, inputs, tmp_path / "out", f"tcp://127.0.0.1:{silent.port}")
    one_line_error(result, "no Dask handshake within 1.5 s")
    assert seconds < 15


def test_the_default_scheduler_timeout_is_well_under_30_seconds():
    assert national.SCHEDULER_TIMEOUT * 2.5 < 30  # the handshake, then the client


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff" * 64,  # announces an endless message (Dask would try to allocate exabytes)
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x20\x00\x00\x00\x00\x00\x00\x00" + b"\x09" * 32,  # a plausible length, then nonsense frames
    ],
)
def test_a_port_sending_garbage_is_a_one_line_error(runner, inputs, tmp_path, listener, garbage):
    noisy = listener(garbage)
    result, seconds = scheduler_run(runner, inputs, tmp_path / "out", f"tcp://127.0.0.1:{noisy.port}")
    one_line_error(result, "is not a Dask scheduler")
    assert seconds < 15


def test_an_http_port_is_a_one_line_error(runner, inputs, tmp_path, http_port, monkeypatch):
    monkeypatch.setattr(national, "SCHEDULER_TIMEOUT", 1.5)
    result, seconds = scheduler_run(runner, inputs, tmp_path / "out", f"tcp://127.0.0.1:{http_port}")
    one_line_error(result, "no Dask handshake within 1.5 s")
    assert seconds < 15


def test_a_connection_closed_at_once_is_a_one_line_error(runner, inputs, tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept_and_close() -> None:
        server.settimeout(10)
        try:
            conn, _ = server.accept()
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept_and_close, daemon=True)
    thread.start()
    try:
        result, _ = scheduler_run(runner, inputs, tmp_path / "out", f"tcp://127.0.0.1:{port}")
    finally:
        thread.join(10)
        server.close()
    one_line_error(result, "cannot connect", "closed")


def test_a_real_dask_scheduler_passes_the_handshake_check():
    from distributed import LocalCluster

    with LocalCluster(
        host="127.0.0.1", protocol="tcp://", n_workers=0, processes=False, dashboard_address=None
    ) as cluster:
        national._check_reachable(cluster.scheduler_address, timeout=10)


def test_a_client_that_hangs_or_fails_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(national, "SCHEDULER_TIMEOUT", 0.5)

    class Hangs:
        def __init__(self, *args: object, **kwargs: object) -> None:
            time.sleep(30)

    class Fails:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise MemoryError("Unable to allocate 3.07 EiB for an array")

    start = time.monotonic()
    with pytest.raises(ReportgenError, match="did not connect within") as hung:
        national._connect(Hangs, "tcp://127.0.0.1:1")
    assert time.monotonic() - start < 10 and "\n" not in hung.value.message
    with pytest.raises(ReportgenError, match="cannot connect \\(MemoryError: Unable to allocate"):
        national._connect(Fails, "tcp://127.0.0.1:1")


# --------------------------------------------------------------------------- 11. per-area time limit


def test_an_area_over_the_time_limit_fails_with_a_clear_message_and_the_next_goes_on(monkeypatch):
    calls: list[str] = []

    def slow_then_quick(job, area):
        calls.append(area.code)
        if area.code == HARTLEPOOL:
            time.sleep(30)
        return national.AreaResult(area.code, {"x.pdf": b"%PDF"})

    monkeypatch.setattr(national, "build_area", slow_then_quick)
    results: list[national.AreaResult] = []
    areas = [national.Area(HARTLEPOOL, "Hartlepool"), national.Area(MIDDLESBROUGH, "Middlesbrough")]
    start = time.monotonic()
    national.run_local(None, areas, 1, results.append, time_limit=0.5)
    assert time.monotonic() - start < 10
    assert [r.code for r in results] == [HARTLEPOOL, MIDDLESBROUGH]
    assert "took longer than the time limit of 0.5 s per area" in results[0].error
    assert "--area-time-limit" in results[0].error and not results[1].error
    import signal

    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_worker_applies_the_time_limit(monkeypatch):
    monkeypatch.setattr(national, "_WORKER_JOB", object())
    monkeypatch.setattr(national, "build_area", lambda job, area: time.sleep(30))
    result = national._build_in_worker(national.Area(HARTLEPOOL, "Hartlepool"), 0.3)
    assert result.code == HARTLEPOOL and "took longer than the time limit of 0.3 s" in result.error


def test_the_default_time_limit_is_generous_and_the_option_sets_it(runner, inputs, tmp_path, monkeypatch):
    assert national.DEFAULT_AREA_TIME_LIMIT == 300
    seen: list[float | None] = []

    def record(job, areas, jobs, on_result, time_limit=None):
        seen.append(time_limit)
        for area in areas:
            on_result(national.AreaResult(area.code, error="not built in this test"))

    monkeypatch.setattr(national, "run_local", record)
    specs, data = inputs
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--no-verify", "--specs", str(specs)]
    runner.invoke(cli, [*args, "--data", str(data), "--out", str(tmp_path / "a")])
    runner.invoke(cli, [*args, "--area-time-limit", "42", "--data", str(data), "--out", str(tmp_path / "b")])
    assert seen == [300, 42]


@pytest.mark.slow
def test_an_endless_template_in_one_area_fails_it_in_a_worker_and_the_run_goes_on(runner, inputs, tmp_path):
    specs, data = inputs
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    template = (Path(__file__).resolve().parents[1] / "layouts" / "profile.html.j2").read_text(encoding="utf-8")
    endless = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    slow = template.replace(
        "{% block body %}", "{% block body %}{% if area.code == 'E06000002' %}" + endless + "{% endif %}"
    )
    assert slow != template
    (layouts / "profile.html.j2").write_text(slow, encoding="utf-8")
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "2", "--area-time-limit", "20"]
    args += ["--layouts", str(layouts), "--specs", str(specs), "--data", str(data), "--out", str(tmp_path / "out")]
    start = time.monotonic()
    result = runner.invoke(cli, args)
    assert time.monotonic() - start < 120
    assert result.exit_code == 1, result.output
    assert "1 built, 0 unchanged, 1 failed" in result.stdout
    assert f"FAILED {MIDDLESBROUGH} Middlesbrough: it took longer than the time limit of 20 s" in result.stdout


def test_a_link_at_an_output_name_is_replaced_not_written_through(tmp_path):
    """A link left at an area's output name (a tampered edition folder) does not stop the rebuild,
    and the file it points to, outside the output folder, is never written."""
    from reportgen.core.files import write_atomic

    out, outside = tmp_path / "out", tmp_path / "secret.txt"
    (out / "2024").mkdir(parents=True)
    outside.write_text("keep me", encoding="utf-8")
    target = out / "2024" / "E06000001-hartlepool-brief.pdf"
    target.symlink_to(outside)
    write_atomic(target, b"%PDF-1.7 new", out)
    assert not target.is_symlink() and target.read_bytes() == b"%PDF-1.7 new"
    assert outside.read_text(encoding="utf-8") == "keep me"
