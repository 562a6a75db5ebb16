"""Chaos test of the national run (issue 16): kill the process group at seeded random moments, tamper
with the folder, rerun; after every completed rerun the published-folder invariant holds."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from national_helpers import HARTLEPOOL, HULL, MIDDLESBROUGH, change_value, small_inputs

from reportgen.publish.verify import verify_edition

CODES = (HARTLEPOOL, MIDDLESBROUGH, HULL)
SEED = 16


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``: files with their bytes, folders and links as None."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return found


def work_files_in(folder: Path) -> list[str]:
    """What verify_edition does not look at: work files (temporary files, locks) in the edition folder."""
    problems = []
    for entry in folder.iterdir():
        name = entry.name
        if name == ".keep-me.tmp":
            continue  # the user's own folder, which must stay
        if name.endswith(".tmp") or name.startswith(".reportgen-") or name in ("run.lock", ".run.lock"):
            problems.append(f"{name}: a work file in the published folder")
    return problems


class Scene:
    """The inputs, the output folder and a folder outside it that nothing may touch."""

    def __init__(self, root: Path) -> None:
        self.rng = random.Random(SEED)
        self.specs, self.data = small_inputs(root / "inputs")
        self.changed = root / "changed" / self.data.name
        self.changed.parent.mkdir()
        change_value(self.data, self.changed, HARTLEPOOL, "2021/22", 0.5)
        self.out = root / "out"
        self.folder, self.work = self.out / "2024", self.out / ".reportgen-work-2024"
        self.outside = root / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("not reportgen's", encoding="utf-8")
        self.before_outside = tree(self.outside)
        self.link_target = self.outside / "created-through-the-lock"

    def command(self, source: Path, *extra: str) -> list[str]:
        areas = [arg for code in CODES for arg in ("--area", code)]
        inputs = ["--specs", str(self.specs), "--data", str(source), "--out", str(self.out)]
        return [sys.executable, "-m", "reportgen", "build", *areas, "--jobs", "2", *inputs, *extra]

    def killed_run(self, source: Path) -> None:
        """A forced run of the three areas, its whole process group killed at a random moment."""
        process = subprocess.Popen(
            self.command(source, "--force"),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(self.rng.uniform(0.3, 6.0))
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it had finished
        process.wait()

    def rerun(self, source: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(source), capture_output=True, text=True, timeout=120)

    def check(self, result: subprocess.CompletedProcess[str], failed: tuple[str, ...] = ()) -> None:
        """The published-folder invariant, no work files in or beside the edition, nothing outside touched."""
        problems = [str(p) for p in verify_edition(self.folder)] + work_files_in(self.folder)
        assert problems == [], problems
        assert not self.work.exists(), sorted(p.name for p in self.work.iterdir())
        assert tree(self.outside) == self.before_outside, "something outside --out was written or deleted"
        record = json.loads((self.folder / "run.json").read_text(encoding="utf-8"))
        assert sorted(record["built"] + record["unchanged"]) == sorted(set(CODES) - set(failed)), result.stdout
        assert [f["area_code"] for f in record["failed"]] == list(failed), result.stdout

    # the tamperings

    def leftovers(self) -> None:
        """A user's .keep-me.tmp folder, temporary files of a dead process, an earlier version's lock."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / ".keep-me.tmp").mkdir(exist_ok=True)
        (self.folder / ".keep-me.tmp" / "notes.txt").write_text("mine", encoding="utf-8")
        gone = dead_pid()
        (self.folder / f".reportgen-E06000001-hartlepool.pdf.{gone}.old12345.tmp").write_bytes(b"%PDF-partial")
        self.work.mkdir(exist_ok=True)
        (self.work / f".reportgen-manifest.json.{gone}.abcd1234.tmp").write_bytes(b"{")
        (self.folder / ".run.lock").write_bytes(b"")

    def folder_in_the_way(self) -> None:
        target = self.folder / f"{HARTLEPOOL}-hartlepool.pdf"
        if target.is_file():
            target.unlink()
        target.mkdir(parents=True, exist_ok=True)

    def lock_replaced(self, make: Callable[[Path], None]) -> Callable[[], None]:
        def tamper() -> None:
            self.work.mkdir(parents=True, exist_ok=True)
            (self.work / "run.lock").unlink(missing_ok=True)
            make(self.work / "run.lock")

        return tamper


@pytest.mark.slow
def test_killed_and_tampered_national_runs_always_end_in_a_verified_edition(tmp_path: Path) -> None:
    scene = Scene(tmp_path)
    start = time.monotonic()

    # 1. Leftovers: the sweep removes only reportgen's own temporary files of a dead process.
    scene.killed_run(scene.data)
    scene.leftovers()
    result = scene.rerun(scene.data)
    assert result.returncode == 0, result.stdout + result.stderr
    scene.check(result)
    assert (scene.folder / ".keep-me.tmp" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (scene.folder / ".run.lock").exists()

    # 2. A folder in the way of one area's profile fails that area only; the rest is published.
    scene.killed_run(scene.changed)
    scene.folder_in_the_way()
    result = scene.rerun(scene.changed)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED {HARTLEPOOL} Hartlepool: Cannot write" in result.stdout
    scene.check(result, failed=(HARTLEPOOL,))
    shutil.rmtree(scene.folder / f"{HARTLEPOOL}-hartlepool.pdf")

    # 3. A lock that is a link (to a file outside --out), then a FIFO: refused at once, never followed.
    scene.killed_run(scene.data)
    for make in (lambda p: p.symlink_to(scene.link_target), os.mkfifo):
        scene.lock_replaced(make)()
        refused = scene.rerun(scene.data)
        assert refused.returncode == 1 and "is not a regular file" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr and not scene.link_target.exists()
    (scene.work / "run.lock").unlink()
    result = scene.rerun(scene.data)
    assert result.returncode == 0, result.stdout + result.stderr
    scene.check(result)

    assert (scene.folder / ".keep-me.tmp" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert time.monotonic() - start < 75
