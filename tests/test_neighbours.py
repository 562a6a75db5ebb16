"""Similar authorities: the packaged neighbour set, its derivation, and checking a council's own file.

The packaged file is written by docs/maintainers/make_neighbours.py from DfE's statistical
neighbours workbook; a copy of the workbook is kept in tests/data/neighbours/ so that the
derivation is checked from a clean clone.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reportgen.cli import cli
from reportgen.core.assets import reference_table
from reportgen.core.errors import InputFileError
from reportgen.core.geography import load_geography
from reportgen.core.neighbours import MAX_BYTES, MAX_NEIGHBOURS, MIN_NEIGHBOURS, load_neighbours

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "neighbours" / "sn_may_2025.xlsx"
MIRROR = Path("/work/.mirror/dfe-analytical-services+local-authority-interactive-tool/repo")
MIRROR_PATH = "01_data/02_prod/sn_may_2025.xlsx"
HEADER = "area_code,neighbour_code"


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_neighbours", ROOT / "docs" / "maintainers" / "make_neighbours.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The packaged set


def test_every_authority_has_ten_to_fifteen_current_neighbours_and_never_itself():
    geography = load_geography()
    neighbours = load_neighbours(None, geography)
    current = {a.code for a in geography.authorities}
    assert neighbours.packaged and neighbours.warnings == ()
    assert set(neighbours.sets) == current and len(neighbours) == 153
    for code in current:
        group = neighbours.of(code)
        assert 10 <= len(group) <= 15, code
        assert len(set(group)) == len(group), code
        assert code not in group, code
        assert set(group) <= current, code


def test_the_packaged_file_is_in_code_order_one_row_per_pair():
    raw = reference_table("neighbours.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()
    assert lines[0] == HEADER
    areas = [line.split(",")[0] for line in lines[1:]]
    assert areas == sorted(areas)  # grouped and in code order; the order within a group is the rank
    neighbours = load_neighbours(None, load_geography())
    assert [tuple(line.split(",")) for line in lines[1:]] == [
        (area, n) for area, group in neighbours.sets.items() for n in group
    ]


def test_hartlepools_most_similar_authority_is_dfes_first_neighbour():
    # DfE's workbook: Hartlepool (805): SN1 807 Redcar and Cleveland, SN10 340 Knowsley.
    geography = load_geography()
    group = load_neighbours(None, geography).of("E06000001")
    names = [area.name for code in group if (area := geography.lookup(code)) is not None]
    assert names[0] == "Redcar and Cleveland" and names[-1] == "Knowsley"


# The derivation


def test_the_test_copy_of_the_source_is_the_one_the_readme_names():
    readme = (SOURCE.parent / "README.md").read_text(encoding="utf-8")
    (recorded,) = re.findall(r"SHA-256: `([0-9a-f]{64})`", readme)
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == recorded
    assert recorded in reference_table("README.md").read_text(encoding="utf-8")


def test_the_script_reproduces_the_packaged_file_from_the_source_copy():
    script = _script()
    assert script.render(script.derive(SOURCE)) == reference_table("neighbours.csv").read_bytes()


def test_the_script_writes_the_file_it_is_asked_to(tmp_path):
    out = tmp_path / "neighbours.csv"
    assert _script().main([str(SOURCE), "--out", str(out)]) == 0
    assert out.read_bytes() == reference_table("neighbours.csv").read_bytes()


@pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no local mirror of DfE's LAIT repository at {MIRROR}")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_script_reproduces_the_packaged_file_from_the_mirrored_repository(tmp_path):
    workbook = tmp_path / "sn.xlsx"
    shown = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", f"HEAD:{MIRROR_PATH}"], capture_output=True, check=False, timeout=60
    )
    if shown.returncode != 0:
        pytest.skip(f"the mirror has no {MIRROR_PATH}: {shown.stderr.decode(errors='replace').strip()}")
    workbook.write_bytes(shown.stdout)
    script = _script()
    assert script.render(script.derive(workbook)) == reference_table("neighbours.csv").read_bytes()


def _edited_source(tmp_path: Path, edit) -> Path:
    from openpyxl import load_workbook

    book = load_workbook(SOURCE)
    edit(book["LA SN Groups"])
    path = tmp_path / "edited.xlsx"
    book.save(path)
    return path


def _row_of(sheet, name: str) -> int:
    return next(cell.row for cell in sheet["B"] if cell.value == name)


def test_the_script_stops_on_a_name_that_is_not_a_current_authority(tmp_path):
    def rename(sheet):
        sheet.cell(_row_of(sheet, "Hartlepool"), 2).value = "Atlantis"

    with pytest.raises(SystemExit, match="'Atlantis' is not a current upper-tier authority"):
        _script().derive(_edited_source(tmp_path, rename))


def test_the_script_stops_on_a_neighbour_that_is_not_an_authority(tmp_path):
    def unknown(sheet):
        sheet.cell(_row_of(sheet, "Hartlepool"), 6).value = 999  # SN1

    with pytest.raises(SystemExit, match="Hartlepool.*bad neighbours"):
        _script().derive(_edited_source(tmp_path, unknown))


def test_the_script_ignores_the_old_authorities_after_the_empty_row():
    groups = _script().read_groups(SOURCE)
    assert len(groups) == 153
    assert not any("Pre LG" in name or name in ("Cumbria", "Northamptonshire") for _, name, _ in groups)


# A council's own file


def _write(tmp_path: Path, text: str | bytes, name: str = "neighbours.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _rows(area: str, neighbours: list[str]) -> str:
    return "".join(f"{area},{n}\n" for n in neighbours)


NORTH_EAST = ["E06000002", "E06000003", "E06000004", "E06000005"]


def test_a_council_file_keeps_its_order_and_warns_about_areas_it_leaves_out(tmp_path):
    path = _write(tmp_path, HEADER + "\n" + _rows("E06000001", ["E06000005", "E06000003", "E06000004"]))
    neighbours = load_neighbours(path, load_geography())
    assert neighbours.of("E06000001") == ("E06000005", "E06000003", "E06000004")
    assert neighbours.of("E06000002") == () and not neighbours.packaged
    (warning,) = neighbours.warnings
    assert warning.severity == "warning" and "152 of the 153 authorities" in str(warning)


def test_an_abolished_authority_with_one_successor_is_read_as_it_with_a_warning(tmp_path):
    text = HEADER + "\n" + _rows("E06000001", ["E06000028", "E06000003", "E06000004"])  # Bournemouth
    neighbours = load_neighbours(_write(tmp_path, text), load_geography())
    assert neighbours.of("E06000001")[0] == "E06000058"
    assert any("E06000028 (Bournemouth) was abolished" in str(w) for w in neighbours.warnings)


def test_bournemouth_and_poole_both_listed_become_one_pair_twice(tmp_path):
    text = HEADER + "\n" + _rows("E06000001", ["E06000028", "E06000029", "E06000003"])
    with pytest.raises(InputFileError, match=r":3: neighbour_code: E06000058 .* listed twice.*first on line 2"):
        load_neighbours(_write(tmp_path, text), load_geography())


def test_several_problems_are_listed_in_line_order(tmp_path):
    too_few = _rows("E06000002", NORTH_EAST[1:3])  # lines 2-3; its count is checked after every row
    text = HEADER + "\n" + too_few + "E06000001,E06000001\nE06000001,E99999999\n"
    with pytest.raises(InputFileError) as caught:
        load_neighbours(_write(tmp_path, text), load_geography())
    lines = [int(p.where.rpartition(":")[2]) for p in caught.value.problems]
    assert caught.value.message.endswith("3 problems in the neighbours file; fix them and run again.")
    assert lines == [2, 4, 5]


def test_a_file_of_many_bad_rows_lists_the_first_fifty(tmp_path):
    text = HEADER + "\n" + "".join(f"E06000001,X{i}\n" for i in range(500))
    with pytest.raises(InputFileError) as caught:
        load_neighbours(_write(tmp_path, text), load_geography())
    assert "more than 50 problems (the first 50 are listed)" in caught.value.message
    assert len(caught.value.problems) == 50 and caught.value.problems[0].where.endswith(":2")


BAD_FILES = {
    "bad header": ("area,neighbour\n" + _rows("E06000001", NORTH_EAST), 1, "the header is 'area,neighbour'"),
    "unknown code": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:2], "E06000099"]), 4, "E06000099"),
    "region code": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:2], "E12000001"]), 4, "is a region"),
    "split authority": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:2], "E10000006"]), 4, "split into"),
    "self pair": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:3], "E06000001"]), 5, "paired with itself"),
    "duplicate": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:3], "E06000002"]), 5, "listed twice"),
    "too few": (HEADER + "\n" + _rows("E06000001", NORTH_EAST[: MIN_NEIGHBOURS - 1]), 2, "give at least"),
    "too many": (
        HEADER + "\n" + _rows("E06000001", [a.code for a in load_geography().authorities[1 : MAX_NEIGHBOURS + 2]]),
        MAX_NEIGHBOURS + 2,
        f"give at most {MAX_NEIGHBOURS}",
    ),
    "three columns": (HEADER + "\nE06000001,E06000002,1\n", 2, "has 3 column(s)"),
    "empty cell": (HEADER + "\n" + _rows("E06000001", [*NORTH_EAST[:2], " "]), 4, "is empty"),
    "header only": (HEADER + "\n", 1, "no rows"),
    "empty file": ("", 1, "the file is empty"),
    "binary file": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 1, "not UTF-8 text"),
    "NUL bytes": (HEADER + "\nE06000001,\x00\x00\n", 2, "binary file"),
    "unclosed quote": (HEADER + '\nE06000001,"E06000002\n' + "x" * 200_000 + "\n", 2, "quote"),
    "bidi control": (HEADER + "\n\u202eE06000001,E06000002\n", 2, "'\\u202eE06000001' is not a current"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_by_build_in_one_line_naming_file_and_line(runner, tmp_path, monkeypatch, case):
    text, line, fragment = BAD_FILES[case]
    path = _write(tmp_path, text)

    def never(*args, **kwargs):
        raise AssertionError("the build started before the neighbours file was checked")

    monkeypatch.setattr("reportgen.publish.build.build_profile", never)
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--neighbours", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr and isinstance(result.exception, SystemExit)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: {path}:"), first
    if line is not None:
        assert first.startswith(f"Error: {path}:{line}: ") and fragment in first, first
        assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.parametrize("case", ["bad header", "self pair", "duplicate", "too few", "binary file"])
def test_check_lists_a_bad_neighbours_file_as_an_error(runner, tmp_path, case):
    text, line, fragment = BAD_FILES[case]
    path = _write(tmp_path, text)
    result = runner.invoke(cli, ["check", "--neighbours", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}:{line}: " in result.stdout and fragment in result.stdout
    assert "1 error(s)" in result.stdout


def test_a_huge_file_is_refused_before_it_is_read(runner, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: nothing is written, nothing should be read
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--neighbours", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: is {MAX_BYTES + 1:,} bytes, more than the limit of {MAX_BYTES:,}.\n"


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_missing_file_or_a_folder_is_refused(runner, tmp_path, kind):
    path = tmp_path / "neighbours.csv"
    if kind == "folder":
        path.mkdir()
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--neighbours", str(path), "--out", str(tmp_path)])
    assert result.exit_code == (2 if kind == "folder" else 1) and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and str(path) in errors[0]


def test_a_good_file_reaches_the_build_options_and_its_warnings_are_shown(runner, tmp_path, monkeypatch):
    path = _write(tmp_path, HEADER + "\n" + _rows("E06000001", NORTH_EAST))
    seen = {}

    class Result:
        warnings = ()
        path = tmp_path / "profile.pdf"
        brief_path = None

    def fake_build(area, data, options):
        seen["options"] = options
        return Result()

    monkeypatch.setattr("reportgen.publish.build.build_profile", fake_build)
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--neighbours", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["options"].neighbours_path == path
    assert "warning: 152 of the 153 authorities have no similar authorities" in result.stderr


def test_check_accepts_the_packaged_file_in_the_council_format(runner, tmp_path):
    copy = _write(tmp_path, reference_table("neighbours.csv").read_bytes())
    result = runner.invoke(cli, ["check", "--neighbours", str(copy)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("0 error(s), 0 warning(s).")


def test_the_packaged_file_passes_the_same_checks_as_a_council_file():
    with reference_table("neighbours.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == HEADER.split(",")
    assert len(rows) - 1 == sum(len(g) for g in load_neighbours(None, load_geography()).sets.values())
