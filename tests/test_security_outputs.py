"""Outputs are written only where they should be, only from validated names, and never half-written."""

from __future__ import annotations

import csv
import errno
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import openpyxl
import pandas as pd
import pikepdf
import pytest
import yaml
from benchmark_helpers import HEADER, proportion_record
from conftest import VALID_SPEC

from reportgen.cli import cli
from reportgen.core import errors
from reportgen.core import files as output
from reportgen.core.geography import Area, load_geography
from reportgen.publish import area as area_stage
from reportgen.publish import prepare as pipeline
from reportgen.publish import tables

NE = [a.code for a in load_geography().in_region("E12000001")]
HOSTILE_NAMES = ['=HYPERLINK("http://x","Click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturn"]
HOSTILE_CODES = [f"E0600099{i}" for i in range(len(HOSTILE_NAMES))]
PERIODS = ["2022", "2023"]


def write_specs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {**VALID_SPEC, "age": "All ages"}
    (folder / "sample_indicator.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder


def official_name(code: str) -> str:
    area = load_geography().lookup(code) if code.startswith("E") else None
    return area.name if area is not None else code


def data_rows(authorities=NE, extra=(), names=None) -> list[dict]:
    """One proportion indicator (Indicator ID 99999) for England, the North East and its authorities."""
    rows = []
    for t, period in enumerate(PERIODS):
        common = {"period": period, "indicator": "99999"}
        for i, code in enumerate([*authorities, *extra]):
            row = proportion_record(code, 400 + 15 * i + 5 * t, 1000, **common)
            row["Area Name"] = (names or {}).get(code) or official_name(code)
            rows.append(row)
        rows.append(proportion_record("E12000001", 5000 + 20 * t, 12000, **{**common, "area_type": "Region"}))
        rows.append(proportion_record("E92000001", 480_000, 1_000_000, **{**common, "area_type": "England"}))
        rows[-2]["Area Name"], rows[-1]["Area Name"] = "North East region", "England"
    return rows


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


# --- 1. The data never decides where files are written ------------------------------------------


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """A build whose data hold a path-traversal area code, formula-like names and a non-official name."""
    folder = tmp_path_factory.mktemp("hostile")
    escape = f"pwn-{uuid.uuid4().hex}"
    traversal = f"../../../../../../../../../../tmp/{escape}/pwn"
    absolute = f"/tmp/{escape}-abs/pwn"
    # The data loader strips surrounding whitespace, so only the four visible formula starts reach the table.
    names = dict(zip(HOSTILE_CODES[:4], HOSTILE_NAMES[:4], strict=True)) | {"E06000001": "Hartlepool Borough UA"}
    rows = data_rows(extra=[*HOSTILE_CODES[:4], traversal, absolute], names=names)
    data = write_csv(folder / "data.csv", rows)
    specs = write_specs(folder / "specs")
    out = folder / "out"
    from click.testing import CliRunner

    args = ["build", "--data", str(data), "--specs", str(specs), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--area", HOSTILE_CODES[0]])
    attempts = {text: CliRunner().invoke(cli, [*args, "--area", text]) for text in (traversal, absolute, "pwn")}
    return {
        "folder": folder,
        "data": data,
        "out": out,
        "result": result,
        "attempts": attempts,
        "escapes": [Path(f"/tmp/{escape}"), Path(f"/tmp/{escape}-abs")],
        "rows": rows,
        "traversal": traversal,
    }


@pytest.mark.slow
def test_area_codes_from_the_data_never_reach_a_path(hostile_build):
    result = hostile_build["result"]
    assert result.exit_code == 0, result.output
    for attempt in hostile_build["attempts"].values():
        assert attempt.exit_code == 1
        assert "Unknown area" in attempt.stderr
        no_traceback(attempt)
    assert not any(p.exists() for p in hostile_build["escapes"])
    written = files_under(hostile_build["out"])
    assert [p.relative_to(hostile_build["out"]).parts[0] for p in written] == ["2023", "2023"]
    assert [p.suffix for p in written] == [".html", ".pdf"]  # the profile and its HTML twin
    assert all(p.name.startswith(HOSTILE_CODES[0] + "-hyperlink") for p in written)
    first_bad = 2 + [r["Area Code"] for r in hostile_build["rows"]].index(hostile_build["traversal"])
    data = hostile_build["data"]
    assert (
        f"{data}:{first_bad}: Area Code: warning: 4 row(s) skipped (lines {first_bad}, {first_bad + 1}, "
        f"{first_bad + len(NE) + 8}, {first_bad + len(NE) + 9}): '{hostile_build['traversal']}' is not an ONS area "
        "code (a letter E, W, S or N followed by 8 digits, e.g. E06000001)\n" in result.stderr
    )


@pytest.mark.slow
def test_pdf_attachment_csv_has_no_live_formulas(hostile_build):
    pdf_path = next(p for p in files_under(hostile_build["out"]) if p.suffix == ".pdf")
    with pikepdf.open(pdf_path) as pdf:
        attached = pdf.attachments[f"{HOSTILE_CODES[0]}-benchmark.csv"].get_file().read_bytes().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(attached)))
    assert rows and {r["area_name"] for r in rows} == {"'" + HOSTILE_NAMES[0]}
    assert all(not r["area_name"].startswith("=") for r in rows)


@pytest.mark.slow
def test_official_name_is_used_and_a_different_name_warned_once(hostile_build):
    result, data = hostile_build["result"], hostile_build["data"]
    line = 2 + [r["Area Code"] for r in hostile_build["rows"]].index("E06000001")
    expected = (
        f"{data}:{line}: Area Name: warning: 'Hartlepool Borough UA' is not the official name of E06000001; "
        "the official name 'Hartlepool' is used"
    )
    assert result.stderr.count(expected) == 1
    assert result.stderr.count("is not the official name") == 1


@pytest.mark.parametrize("edition", ["../../x", "/abs", "..", ".", "a/b", "x" * 33, "-x", ""])
def test_bad_edition_is_a_usage_error(runner, tmp_path, edition):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", "--area", "Hartlepool", "--out", str(out), "--edition", edition])
    assert result.exit_code == 2
    assert "Invalid value for '--edition'" in result.stderr and "is not a valid edition label" in result.stderr
    no_traceback(result)
    assert not out.exists() and files_under(tmp_path) == []


def test_library_refuses_bad_edition_and_codes_in_paths(tmp_path):
    area = load_geography().lookup("E06000001")
    with pytest.raises(errors.OutputError, match=r"--edition: '\.\./x' is not a valid edition label"):
        area_stage.output_names("../x", area)
    bad = Area("../../pwn", "Pwn")
    with pytest.raises(errors.OutputError, match=r"Area code '\.\./\.\./pwn' is not an ONS area code"):
        area_stage.output_names("2024", bad)
    names = area_stage.output_names("2024", area)
    assert (names.profile, names.brief, names.data) == (
        "E06000001-hartlepool.pdf",
        "E06000001-hartlepool-brief.pdf",
        "E06000001-hartlepool-data.csv",
    )


def test_nothing_is_written_outside_the_root(tmp_path):
    root = tmp_path / "out"
    with pytest.raises(errors.OutputError, match="outside the output folder"):
        output.write_atomic(root / ".." / "escaped.pdf", b"x", root=root)
    link = tmp_path / "elsewhere"
    link.mkdir()
    root.mkdir()
    (root / "2024").symlink_to(link)
    with pytest.raises(errors.OutputError, match="outside the output folder"):
        output.write_atomic(root / "2024" / "a.pdf", b"x", root=root)
    assert files_under(tmp_path) == []


# --- 2. Formula injection -------------------------------------------------------------------------


def hostile_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator_id": ["sample_indicator"] * len(HOSTILE_NAMES),
            "area_code": HOSTILE_CODES,
            "area_name": HOSTILE_NAMES,
            "value": [-3.5, 74.09418096803611, 1.0, 2.0, 3.0, 4.0],
            "value_note": ["-", "", "ok", "=1+1", "@x", "+y"],
        }
    )


def test_csv_text_cells_are_neutralised_and_numbers_kept():
    text = tables.benchmark_bytes(hostile_table(), "csv").decode("utf-8")
    assert "\r" not in text  # a carriage return in text is written as a quoted newline
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["area_name"] for r in rows] == ["'" + n.replace("\r", "\n") for n in HOSTILE_NAMES]
    assert [r["value_note"] for r in rows] == ["'-", "", "ok", "'=1+1", "'@x", "'+y"]
    assert rows[0]["value"] == "-3.5" and rows[1]["value"] == "74.09418096803611"


def test_xlsx_text_cells_are_strings_not_formulas(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(tables.benchmark_bytes(hostile_table(), "xlsx", {"sample_indicator": 1}))
    sheet = openpyxl.load_workbook(path)["Benchmark"]
    names = [sheet.cell(row=r, column=3) for r in range(2, 2 + len(HOSTILE_NAMES))]
    assert [c.value for c in names] == ["'" + n for n in HOSTILE_NAMES]
    assert {c.data_type for c in names} == {"s"}
    values = [sheet.cell(row=r, column=4) for r in range(2, 2 + len(HOSTILE_NAMES))]
    assert [c.value for c in values][:2] == [-3.5, 74.1] and values[0].data_type == "n"


def test_benchmark_cli_neutralises_names_from_the_data(runner, tmp_path):
    # The data loader strips surrounding whitespace, so only the four visible formula starts reach the table.
    names = dict(zip(HOSTILE_CODES[:4], HOSTILE_NAMES[:4], strict=True)) | {"E06000001": "Hartlepool UA"}
    data = write_csv(tmp_path / "d.csv", data_rows(extra=HOSTILE_CODES[:4], names=names))
    specs = write_specs(tmp_path / "specs")
    result = runner.invoke(cli, ["benchmark", "--data", str(data), "--specs", str(specs)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    shown = {r["area_code"]: r["area_name"] for r in rows}
    assert [shown[c] for c in HOSTILE_CODES[:4]] == ["'" + n for n in HOSTILE_NAMES[:4]]
    assert shown["E06000001"] == "Hartlepool"  # the official name, not the data's "Hartlepool UA"


# --- 4. An area with no rows -----------------------------------------------------------------------


def test_area_missing_from_a_file_of_other_authorities_is_an_error(runner, tmp_path):
    data = write_csv(tmp_path / "d.csv", data_rows(authorities=[c for c in NE if c != "E06000001"]))
    specs = write_specs(tmp_path / "specs")
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["build", "--area", "Hartlepool", "--data", str(data), "--specs", str(specs), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {data} has no rows for Hartlepool (E06000001) in the specs' indicators: "
        f"it covers {len(NE) - 1} authorities in North East; none is Hartlepool. "
        "Check --area and --data, or pass --allow-empty"
    )
    no_traceback(result)
    assert not out.exists()


def test_area_missing_from_a_file_of_england_and_regions_is_an_error(runner, tmp_path):
    data = write_csv(tmp_path / "d.csv", data_rows(authorities=[]))
    specs = write_specs(tmp_path / "specs")
    base = ["--area", "Hartlepool", "--data", str(data), "--specs", str(specs)]
    result = runner.invoke(cli, ["build", *base, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "it holds only England and region rows, no authorities" in result.stderr
    bench = runner.invoke(cli, ["benchmark", *base])
    assert bench.exit_code == 1 and "has no rows for Hartlepool (E06000001)" in bench.stderr
    allowed = runner.invoke(cli, ["benchmark", *base, "--allow-empty"])
    assert allowed.exit_code == 0 and allowed.stdout.count("\n") == 1  # the header only


@pytest.mark.slow
def test_allow_empty_builds_the_deliberate_empty_profile(runner, tmp_path):
    data = write_csv(tmp_path / "d.csv", data_rows(authorities=[]))
    specs = write_specs(tmp_path / "specs")
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        ["build", "--area", "Hartlepool", "--data", str(data), "--specs", str(specs), "--out", str(out)]
        + ["--allow-empty"],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in files_under(out)] == ["E06000001-hartlepool.html", "E06000001-hartlepool.pdf"]


# --- 5. One-line messages before slow work -------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", str(2**32), "99999999999999999999"])
def test_demo_data_seed_out_of_range(runner, tmp_path, seed):
    result = runner.invoke(cli, ["demo-data", "--out", str(tmp_path / "d.csv"), "--seed", seed])
    assert result.exit_code == 2
    assert "Invalid value for '--seed'" in result.stderr and "0<=x<=4294967295" in result.stderr
    no_traceback(result)
    assert files_under(tmp_path) == []


def test_comparator_that_is_a_folder_or_missing(runner, tmp_path):
    folder = tmp_path / "group.yaml"
    folder.mkdir()
    result = runner.invoke(cli, ["benchmark", "--comparator", str(folder)])
    assert result.exit_code == 2 and "Invalid value for '--comparator'" in result.stderr
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(cli, ["benchmark", "--comparator", str(missing)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing}: comparator file does not exist; check the path\n"


def run_reportgen(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reportgen", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_comparator_fifo_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "group.yaml"
    os.mkfifo(fifo)
    result = run_reportgen("benchmark", "--comparator", str(fifo), timeout=60)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {fifo}: comparator file is not a regular file (a device, pipe or socket); give a YAML file\n"
    )


def test_comparator_alias_bomb_is_refused(runner, tmp_path):
    bomb = tmp_path / "group.yaml"
    lines = ["a0: &a0 [E06000001, E06000002]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    bomb.write_text("\n".join(lines) + "\nname: x\nareas: *a29\n", encoding="utf-8")
    result = runner.invoke(cli, ["benchmark", "--comparator", str(bomb)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bomb}:2:10: YAML aliases are not allowed")


def test_comparator_codes_must_be_ons_codes(runner, tmp_path):
    group = tmp_path / "group.yaml"
    group.write_text("name: x\nareas: [E06000001, ../../etc]\n", encoding="utf-8")
    result = runner.invoke(cli, ["benchmark", "--comparator", str(group)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {group}: areas: '../../ETC' is not an ONS area code such as E06000001.\n"


def test_out_that_is_a_file_is_a_usage_error(runner, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("keep me", encoding="utf-8")
    result = runner.invoke(cli, ["build", "--area", "Hartlepool", "--out", str(taken)])
    assert result.exit_code == 2 and "Invalid value for '--out'" in result.stderr and "is a file" in result.stderr
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    for command in (["demo-data"], ["benchmark"]):
        result = runner.invoke(cli, [*command, "--out", str(folder)])
        assert result.exit_code == 2 and "is a directory" in result.stderr
    assert taken.read_text(encoding="utf-8") == "keep me"


def test_out_below_a_file_fails_before_any_work(runner, tmp_path, monkeypatch):
    taken = tmp_path / "taken"
    taken.write_text("keep me", encoding="utf-8")
    monkeypatch.setattr(pipeline, "read_specs", lambda *_: pytest.fail("specs read before the output check"))
    result = runner.invoke(cli, ["build", "--area", "Hartlepool", "--out", str(taken / "sub")])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: Output folder {taken / 'sub'} cannot be created: {taken} is a file; give a folder with --out.\n"
    )


def test_read_only_out_fails_before_any_work(runner, tmp_path, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        output.os, "access", lambda p, mode: False if Path(p) == out and mode & os.W_OK else real_access(p, mode)
    )
    monkeypatch.setattr(pipeline, "read_specs", lambda *_: pytest.fail("specs read before the output check"))
    result = runner.invoke(cli, ["build", "--area", "Hartlepool", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Cannot write to the output folder {out}: permission denied. Choose another --out.\n"
    )


def test_permission_error_from_mkdir_is_one_line(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    target = tmp_path / "new" / "file.csv"
    with pytest.raises(errors.OutputError) as caught:
        output.write_atomic(target, b"x")
    assert (
        caught.value.message
        == f"Cannot create the folder {tmp_path / 'new'}: permission denied. Choose another output location."
    )


def test_disk_full_leaves_nothing_and_says_so(runner, tmp_path, monkeypatch):
    def full(fd, write):
        os.write(fd, b"Indicator ")  # the disk fills after the first bytes
        os.close(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "_write_all", full)
    target = tmp_path / "demo.csv"
    result = runner.invoke(cli, ["demo-data", "--out", str(target)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: The disk is full: could not write {target}. Free some space and try again.\n"
    assert files_under(tmp_path) == []


# --- 6. Temporary files ---------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    target = tmp_path / "E06000001-hartlepool.pdf"
    stale = tmp_path / f".reportgen-{target.name}.{dead_pid()}.abc_123.tmp"
    stale.write_bytes(b"")
    live = tmp_path / f".reportgen-{target.name}.{os.getppid()}.def456.tmp"  # a running process: kept
    live.write_bytes(b"")
    other = tmp_path / f".reportgen-other.pdf.{dead_pid()}.abc.tmp"  # another output's: kept
    other.write_bytes(b"")
    output.write_atomic(target, b"%PDF")
    assert not stale.exists() and live.exists() and other.exists()
    assert target.read_bytes() == b"%PDF"


def test_temporary_file_removed_when_rendering_fails(tmp_path):
    target = tmp_path / "out" / "a.pdf"
    with pytest.raises(RuntimeError), output.reserve(target, tmp_path / "out") as reservation:
        assert reservation.temp.exists()
        raise RuntimeError("render failed")
    assert files_under(tmp_path) == []


def small_build_args(folder: Path) -> list[str]:
    data = write_csv(folder / "d.csv", data_rows())
    specs = write_specs(folder / "specs")
    return ["build", "--area", "Hartlepool", "--data", str(data), "--specs", str(specs), "--out", str(folder / "out")]


def start_build_and_wait_for_temp(args: list[str], out: Path) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen(
        [sys.executable, "-m", "reportgen", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        temps = list(out.glob("*/.reportgen-*.tmp")) if out.exists() else []
        if temps:
            return process, temps[0]
        if process.poll() is not None:
            pytest.fail(f"build ended before its temporary file was seen: {process.communicate()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail("no temporary file appeared")


@pytest.mark.slow
def test_build_killed_mid_render_leaves_a_temp_that_the_next_build_removes(runner, tmp_path):
    args = small_build_args(tmp_path)
    process, temp = start_build_and_wait_for_temp(args, tmp_path / "out")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert temp.exists()  # SIGKILL cannot be caught: the leftover is expected here
    result = runner.invoke(cli, args[0:1] + args[1:])
    assert result.exit_code == 0, result.output
    assert not temp.exists()
    assert [p.name for p in files_under(tmp_path / "out")] == ["E06000001-hartlepool.html", "E06000001-hartlepool.pdf"]


@pytest.mark.slow
def test_sigterm_removes_the_temporary_file(tmp_path):
    args = small_build_args(tmp_path)
    process, temp = start_build_and_wait_for_temp(args, tmp_path / "out")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert stderr == "Terminated; no output file was written.\n" and stdout == ""
    assert files_under(tmp_path / "out") == []


def test_ctrl_c_during_rendering_removes_the_temporary_file(runner, tmp_path, monkeypatch):
    seen = []

    def interrupted(*args, **kwargs):
        seen.extend((tmp_path / "out").glob("*/.reportgen-*.tmp"))
        raise KeyboardInterrupt

    monkeypatch.setattr(area_stage, "render_document", interrupted)
    result = runner.invoke(cli, small_build_args(tmp_path))
    assert result.exit_code == 130
    assert result.stderr == "Interrupted; no output file was written.\n"
    assert len(seen) == 2 and not any(p.exists() for p in seen)  # the profile's and the HTML twin's
    assert files_under(tmp_path / "out") == []
