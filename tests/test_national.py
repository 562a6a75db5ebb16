"""The national run: selection, parallel build, incremental rebuilds, failures, kills, edition files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pikepdf
import pytest
from national_helpers import HARTLEPOOL, HULL, MIDDLESBROUGH, change_value, edition_files, small_inputs

from reportgen.cli import cli
from reportgen.core.errors import ReportgenError
from reportgen.publish import national
from reportgen.publish.national import (
    AreaResult,
    EditionLock,
    sweep_stale_temporaries,
)
from reportgen.publish.site import data_csv, zip_members
from reportgen.publish.write import write_zip

THREE = ["--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--area", HULL]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    return small_inputs(tmp_path_factory.mktemp("national"))


def build(runner, specs: Path, data: Path, out: Path, *extra: str):
    args = ["build", *extra, "--specs", str(specs), "--data", str(data), "--out", str(out)]
    return runner.invoke(cli, args, catch_exceptions=False)


def run_json(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "Say which areas to build"),
        (["--all", "--region", "North East"], "Use only one of --all and --region"),
        (["--all", "--jobs", "0"], "--jobs"),
        (["--all", "--scheduler", "localhost:8786"], "tcp://HOST:PORT"),
    ],
)
def test_bad_options_are_usage_errors(runner, args, message):
    result = runner.invoke(cli, ["build", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_region_is_a_clear_error(runner, inputs, tmp_path):
    specs, data = inputs
    result = build(runner, specs, data, tmp_path, "--region", "Atlantis")
    assert result.exit_code == 1
    assert "Unknown region 'Atlantis'" in result.output and "E12000001 North East" in result.output
    assert not list(tmp_path.rglob("*.pdf"))


def test_previous_folder_without_a_benchmark_table_is_a_clear_error(runner, inputs, tmp_path):
    specs, data = inputs
    (tmp_path / "old").mkdir()
    result = build(runner, specs, data, tmp_path / "out", "--area", HARTLEPOOL, "--previous", str(tmp_path / "old"))
    assert result.exit_code == 1
    assert "no benchmark.csv there" in result.output


# --------------------------------------------------------------------------- whole runs (slow)


@pytest.mark.slow
def test_incremental_rebuilds_only_what_changed_and_matches_a_full_rebuild(runner, inputs, tmp_path, monkeypatch):
    specs, data = inputs
    # Workers retire after one area here, so the first run goes through two pools of workers.
    monkeypatch.setattr(national, "MAX_TASKS_PER_CHILD", 1)
    out = tmp_path / "incremental"
    first = build(runner, specs, data, out, *THREE, "--jobs", "2")
    assert first.exit_code == 0, first.output
    folder = out / "2024"
    assert run_json(folder)["built"] == sorted([HARTLEPOOL, MIDDLESBROUGH, HULL])
    manifest = json.loads((folder / "manifest.json").read_text())
    for code, entry in manifest["areas"].items():
        for name, sha in entry["files"].items():
            assert name.startswith(code) and hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha

    again = build(runner, specs, data, out, *THREE, "--jobs", "2")
    assert again.exit_code == 0 and "0 built, 3 unchanged" in again.output
    assert "Nothing to rebuild" in again.output

    # One authority's value changes (same file name, so only the values differ): it and the other
    # North East authority, whose chart shows it, rebuild; Hull, in another region, does not.
    changed = tmp_path / "changed" / data.name
    changed.parent.mkdir()
    change_value(data, changed, HARTLEPOOL, "2021/22", 0.0004)
    before = edition_files(folder)
    third = build(runner, specs, changed, out, *THREE, "--jobs", "2")
    assert third.exit_code == 0, third.output
    report = run_json(folder)
    assert report["built"] == [HARTLEPOOL, MIDDLESBROUGH] and report["unchanged"] == [HULL]
    after = edition_files(folder)
    hull_pdf = next(n for n in after if n.startswith(HULL) and n.endswith(".pdf"))
    assert after[hull_pdf] == before[hull_pdf]
    hartlepool_pdf = next(n for n in after if n.startswith(HARTLEPOOL) and n.endswith(".pdf"))
    assert after[hartlepool_pdf] != before[hartlepool_pdf]

    # The invariant: every file, rebuilt or not, is byte-identical to a full rebuild's (in the same
    # folder: a profile without an earlier edition names the folder where it looked for one).
    forced = build(runner, specs, changed, out, *THREE, "--jobs", "1", "--force")
    assert forced.exit_code == 0, forced.output
    assert "3 built, 0 unchanged" in forced.output
    assert edition_files(folder) == after

    # A damaged output is noticed through its recorded SHA-256 and rebuilt.
    (folder / hull_pdf).write_bytes(after[hull_pdf][:1000])
    fourth = build(runner, specs, changed, out, *THREE, "--jobs", "2")
    assert fourth.exit_code == 0 and run_json(folder)["built"] == [HULL]
    assert (folder / hull_pdf).read_bytes() == after[hull_pdf]


@pytest.mark.slow
def test_one_failing_area_is_reported_and_the_others_are_built(runner, inputs, tmp_path):
    specs, data = inputs
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    # A layout whose template fails for one area only (an undefined attribute of an undefined value).
    template = (Path(__file__).resolve().parents[1] / "layouts" / "profile.html.j2").read_text(encoding="utf-8")
    broken = template.replace(
        "{% block body %}", "{% block body %}{% if area.code == 'E06000002' %}{{ area.no_such.thing }}{% endif %}"
    )
    assert broken != template
    (layouts / "profile.html.j2").write_text(broken, encoding="utf-8")
    out = tmp_path / "out"
    result = build(runner, specs, data, out, "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--layouts", str(layouts))
    assert result.exit_code == 1
    assert "1 built, 0 unchanged, 1 failed" in result.output
    assert f"FAILED {MIDDLESBROUGH} Middlesbrough:" in result.output
    folder = out / "2024"
    report = run_json(folder)
    assert report["status"] == "failed" and report["built"] == [HARTLEPOOL]
    assert report["failed"][0]["area_code"] == MIDDLESBROUGH and "no_such" in report["failed"][0]["reason"]
    assert (folder / f"{HARTLEPOOL}-hartlepool.pdf").is_file()
    assert not list(folder.glob(f"{MIDDLESBROUGH}*.pdf"))
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _complete_pdf(path: Path) -> bool:
    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages) > 0
    except pikepdf.PdfError:
        return False


def _recorded_areas(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("areas") or {}
    except (OSError, ValueError):
        return {}  # not written yet, or being replaced


@pytest.mark.slow
def test_a_killed_run_leaves_only_whole_files_and_a_rerun_completes(inputs, tmp_path):
    specs, data = inputs
    out = tmp_path / "out"
    folder = out / "2024"
    codes = [HARTLEPOOL, MIDDLESBROUGH, HULL, "E06000003"]
    command = [sys.executable, "-m", "reportgen", "build", "--specs", str(specs), "--data", str(data)]
    command += ["--out", str(out), "--jobs", "2"] + [arg for code in codes for arg in ("--area", code)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not _recorded_areas(folder):  # kill once one area is finished and recorded, mid-run
            assert process.poll() is None, "the run ended before any profile was written"
            assert time.monotonic() < deadline, "no profile written within 300 s"
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    written = list(folder.glob("*.pdf"))
    assert written and len(written) < 2 * len(codes) + 1
    assert all(_complete_pdf(p) for p in written), "a truncated PDF was left"
    if (folder / "manifest.json").exists():
        json.loads((folder / "manifest.json").read_text(encoding="utf-8"))  # whole, not truncated

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    report = run_json(folder)
    assert sorted(report["built"] + report["unchanged"]) == sorted(codes)
    assert report["unchanged"], "areas finished before the kill should not be rebuilt"
    assert len(list(folder.glob("*-brief.pdf"))) == len(codes)
    assert len(list(folder.glob("*.pdf"))) == 2 * len(codes) and all(_complete_pdf(p) for p in folder.glob("*.pdf"))
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- parts (fast)


def test_stale_temporaries_are_swept_and_other_files_kept(tmp_path):
    """Only reportgen's own temporary files (exact name) of processes that are gone are removed
    (the full set of cases is in tests/test_run_safety.py)."""
    folder = tmp_path / "2024"
    folder.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = f".reportgen-E06000001-hartlepool.pdf.{int(gone.stdout)}.k2j3abcd.tmp"
    (folder / stale).write_bytes(b"%PDF-partial")
    (folder / ".E06000002.x8a1.tmp").mkdir()  # not reportgen's name: kept, with its contents
    (folder / ".E06000002.x8a1.tmp" / "inner.pdf").write_bytes(b"x")
    (folder / "E06000001-hartlepool.pdf").write_bytes(b"%PDF-whole")
    (folder / "notes.tmp").write_bytes(b"not ours: no leading dot")
    assert sweep_stale_temporaries(folder) == 1
    assert sorted(p.name for p in folder.iterdir()) == [".E06000002.x8a1.tmp", "E06000001-hartlepool.pdf", "notes.tmp"]


def test_a_second_run_on_the_same_edition_folder_is_refused(tmp_path):
    with EditionLock(tmp_path):
        with pytest.raises(ReportgenError, match="Another reportgen run is writing"):
            with EditionLock(tmp_path):
                pass
    with EditionLock(tmp_path):  # released with the first run
        pass


def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one(capsys, monkeypatch):
    from reportgen.cli import AreaProgress

    with AreaProgress() as progress:  # stderr is not a terminal under pytest
        progress.update(AreaResult("E06000001", seconds=1.25), "Hartlepool", 1, 2)
        progress.update(AreaResult("E06000002", error="template \x1b[2Jfailed"), "Middlesbrough", 2, 2)
    assert capsys.readouterr().err.splitlines() == [
        "[1/2] E06000001 Hartlepool: built in 1.2 s",
        "[2/2] E06000002 Middlesbrough: FAILED: template \\x1b[2Jfailed",
    ]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with AreaProgress() as progress:
        progress.update(AreaResult("E06000001", seconds=1.0), "Hartlepool", 1, 2)
        progress.update(AreaResult("E06000002", error="template failed"), "Middlesbrough", 2, 2)
    shown = terminal.getvalue()
    assert "Building" in shown and "1/2" in shown and "2/2" in shown and "(1 failed)" in shown


def test_profiles_zip_is_sorted_with_fixed_timestamps_and_the_same_bytes_each_time(tmp_path):
    (tmp_path / "E06000002-b.pdf").write_bytes(b"%PDF-b")
    (tmp_path / "E06000001-a.pdf").write_bytes(b"%PDF-a")
    manifest = {
        "areas": {
            "E06000002": {"files": {"E06000002-b.pdf": ""}},
            "E06000001": {"files": {"E06000001-a.pdf": ""}},
        }
    }
    first = write_zip(tmp_path / "profiles.zip", tmp_path, zip_members(manifest)).read_bytes()
    os.utime(tmp_path / "E06000001-a.pdf", (0, 0))
    assert write_zip(tmp_path / "profiles.zip", tmp_path, zip_members(manifest)).read_bytes() == first
    with zipfile.ZipFile(tmp_path / "profiles.zip") as archive:
        assert archive.namelist() == ["E06000001-a.pdf", "E06000002-b.pdf"]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("E06000002-b.pdf") == b"%PDF-b"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_data_csv_cells_cannot_run_as_formulas():
    import pandas as pd

    rows = pd.DataFrame(
        {
            "area_name": ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "Hartlepool", "-2+3"],
            "value": [1.5, None, -2.0, 3.0, 0.25],
        }
    )
    text = data_csv(rows).decode("utf-8").splitlines()
    assert text[0] == "area_name,value"
    assert text[1] == '"\'=HYPERLINK(""http://x"")",1.5'
    assert text[2] == "'+1,"
    assert text[3] == "'@SUM(A1),-2"  # a number written by reportgen is a number: a spreadsheet never runs it
    assert text[4] == "Hartlepool,3"
    assert text[5] == "'-2+3,0.25"  # text that starts like a number is still text, and guarded


def test_data_csv_names_each_indicator_with_its_unit_and_rounds_to_its_decimals():
    import pandas as pd

    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs

    specs = [s for s in load_specs(default_specs_dir()) if s.id in ("employment_rate", "life_expectancy_female")]
    decimals = {s.id: s.decimals for s in specs}
    rows = pd.DataFrame(
        {
            "indicator_id": ["employment_rate", "life_expectancy_female", "employment_rate"],
            "area_code": ["E06000001"] * 3,
            "count": [586.0, None, 12.0],
            "value": [67.12345678901234, 82.96, 70.0],
            "lower_ci_95": [63.6111, None, 66.0],
            "compared_to_england": ["Worse 95%", "", "Better 99.8%"],
            "rank_in_england": [145.0, None, 3.0],
        }
    )
    table = list(csv.DictReader(io.StringIO(data_csv(rows, specs).decode("utf-8"))))
    assert list(table[0])[:4] == ["indicator_id", "indicator_name", "unit", "area_code"]
    by_id = {s.id: s for s in specs}
    assert (
        table[0]["indicator_name"] == by_id["employment_rate"].name
        and table[0]["unit"] == by_id["employment_rate"].unit
    )
    assert table[1]["indicator_name"] == by_id["life_expectancy_female"].name
    assert table[0]["value"] == f"{67.12345678901234:.{decimals['employment_rate']}f}"
    assert table[1]["value"] == f"{82.96:.{decimals['life_expectancy_female']}f}"
    assert table[2]["value"] == f"{70.0:.{decimals['employment_rate']}f}"
    assert table[0]["count"] == "586" and table[0]["rank_in_england"] == "145" and table[1]["count"] == ""
    text = data_csv(rows, specs).decode("utf-8")
    assert "586.0" not in text and not re.search(r"\d\.\d{5,}", text)
    assert table[0]["compared_to_england"] == "Worse 95%"  # Fingertips' exact label stays in its own column
    # The profiles' display label, beside it (reportgen.publish.tables.with_display_labels).
    assert list(table[0]).index("compared_to_england_display") == list(table[0]).index("compared_to_england") + 1
    assert table[0]["compared_to_england_display"] not in ("", "Worse 95%")
    assert table[1]["compared_to_england_display"] == ""


# --------------------------------------------------------------------------- one path for one area and many


def _without_area(source: Path, target: Path, code: str, rename: tuple[str, str] | None = None) -> Path:
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    column, name = rows[0].index("Area Code"), rows[0].index("Area Name")
    kept = [rows[0]]
    for row in rows[1:]:
        if row[column] == code:
            continue
        if rename and row[column] == rename[0]:
            row[name] = rename[1]
        kept.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


@pytest.mark.slow
def test_the_national_run_makes_the_single_builds_checks(runner, inputs, tmp_path):
    """An area without rows fails in a national run as it does alone, and keeps its published files;
    the official-name warning of a single build is in the national run's report too."""
    specs, data = inputs
    out = tmp_path / "out"
    first = build(runner, specs, data, out, "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--edition", "2023")
    assert first.exit_code == 0, first.output
    folder = out / "2023"
    before = edition_files(folder)
    partial = _without_area(data, tmp_path / "partial.csv", HARTLEPOOL, (MIDDLESBROUGH, "Middlesbrough Borough"))
    alone = build(runner, specs, partial, tmp_path / "alone", "--area", HARTLEPOOL, "--edition", "2023")
    assert alone.exit_code == 1 and "has no rows for Hartlepool (E06000001)" in alone.output

    again = build(runner, specs, partial, out, "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--edition", "2023")
    assert again.exit_code == 1
    assert f"FAILED {HARTLEPOOL} Hartlepool: " in again.output and "has no rows for Hartlepool" in again.output
    assert "'Middlesbrough Borough'" in again.output and "official name" in again.output
    after = edition_files(folder)
    hartlepool = [name for name in before if name.startswith(HARTLEPOOL)]
    assert len(hartlepool) == 3 and all(after[name] == before[name] for name in hartlepool)
    record = run_json(folder)
    assert [f["area_code"] for f in record["failed"]] == [HARTLEPOOL] and record["built"] == [MIDDLESBROUGH]
    assert any("official name" in w for w in record["warnings"])


def test_every_build_renders_areas_through_render_area(monkeypatch, tmp_path):
    """build --area, the national run's workers and its Dask tasks all call publish.area.render_area."""
    from reportgen.publish import area as area_stage
    from reportgen.publish import build as single

    assert single.render_area is area_stage.render_area
    assert national.render_area is area_stage.render_area
    calls = []

    def render(prepared, area, changes=None):
        calls.append((prepared, area.code, changes))
        return area_stage.AreaFiles(area, {"E06000001-hartlepool.pdf": b"%PDF-1.7"})

    monkeypatch.setattr(national, "render_area", render)
    job = national.Job(prepared="prepared", changes={HARTLEPOOL: {"rows": []}})
    result = national.build_area_remote(national.Area(HARTLEPOOL, "Hartlepool"), job)
    assert calls == [("prepared", HARTLEPOOL, {"rows": []})]
    assert result.files == {"E06000001-hartlepool.pdf": b"%PDF-1.7"} and not result.error


@pytest.mark.slow
def test_a_councils_layouts_reword_the_download_page_of_a_national_run(runner, inputs, tmp_path):
    specs, data = inputs
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "wording.yaml").write_text('site:\n  heading: "Find your council"\n', encoding="utf-8")
    result = build(
        runner, specs, data, tmp_path / "out", "--area", HARTLEPOOL, "--jobs", "1", "--layouts", str(layouts)
    )
    assert result.exit_code == 0, result.output
    page = next((tmp_path / "out").glob("*/index.html")).read_text(encoding="utf-8")
    assert "Find your council" in page and "Find your area</h1>" not in page
