"""A rerun that changes nothing leaves the published page and zip alone, and keeps the run history.

Sync tools (rsync, cloud storage clients) upload a file again when its modification time or inode
changes, so index.html and profiles.zip (about 100 MB for a national edition) are only replaced when
their bytes would differ. Every run's report is appended to runs.jsonl; run.json is the latest run.
profiles.zip unpacks into one folder named after the edition, with a README.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from national_helpers import HARTLEPOOL, HULL, build_small_edition, change_value

from reportgen.cli import cli
from reportgen.publish.verify import verify_edition

WATCHED = ("index.html", "profiles.zip", "benchmark.csv", "specs.json")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """The root of a small national run (inputs/ and out/2024/) of Hartlepool and Hull."""
    root = tmp_path_factory.mktemp("noop")
    build_small_edition(root)
    return root


@pytest.fixture
def root(published, tmp_path) -> Path:
    """A private copy of the published run, which a test may rerun and change."""
    copy = tmp_path / "run"
    shutil.copytree(published, copy, symlinks=True)
    return copy


def rerun(root: Path, data: Path | None = None) -> str:
    specs, data = root / "inputs" / "specs", data or root / "inputs" / "demo.csv"
    args = ["build", "--area", HARTLEPOOL, "--area", HULL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = CliRunner().invoke(cli, [*args, "--out", str(root / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def states(folder: Path) -> dict[str, tuple[int, int]]:
    return {name: ((folder / name).stat().st_ino, (folder / name).stat().st_mtime_ns) for name in WATCHED}


def history(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "runs.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_rerun_that_changes_nothing_leaves_the_page_and_the_zip_untouched(root):
    folder = root / "out" / "2024"
    before, runs = states(folder), history(folder)
    assert len(runs) == 1 and runs[0]["built"] == [HARTLEPOOL, HULL]
    output = rerun(root)
    assert "0 built, 2 unchanged" in output
    assert states(folder) == before  # same inode, same modification time: nothing to upload again
    after = history(folder)
    assert len(after) == 2 and after[0] == runs[0]  # the first run's record is kept, the rerun's added
    latest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert after[1] == latest and latest["unchanged"] == [HARTLEPOOL, HULL] and latest["built"] == []
    assert verify_edition(folder) == []


def test_a_rerun_with_new_data_replaces_the_zip_and_adds_to_the_history(root):
    folder = root / "out" / "2024"
    before = states(folder)
    old_pdf = (folder / "E06000001-hartlepool.pdf").read_bytes()
    changed = root / "inputs" / "changed.csv"
    change_value(root / "inputs" / "demo.csv", changed, HARTLEPOOL, "2021/22", 1.5)
    assert "2 built, 0 unchanged" in rerun(root, changed)  # England's value changes too: Hull's profile with it
    after = states(folder)
    assert after["profiles.zip"] != before["profiles.zip"] and after["benchmark.csv"] != before["benchmark.csv"]
    with zipfile.ZipFile(folder / "profiles.zip") as archive:
        zipped = archive.read("2024/E06000001-hartlepool.pdf")
    assert zipped == (folder / "E06000001-hartlepool.pdf").read_bytes() != old_pdf
    assert [run["built"] for run in history(folder)] == [[HARTLEPOOL, HULL], [HARTLEPOOL, HULL]]
    assert verify_edition(folder) == []


def test_a_damaged_zip_or_page_is_replaced_by_the_next_run(root):
    folder = root / "out" / "2024"
    good_zip, good_page = (folder / "profiles.zip").read_bytes(), (folder / "index.html").read_bytes()
    (folder / "profiles.zip").write_bytes(good_zip[: len(good_zip) // 2])
    (folder / "index.html").write_bytes(good_page.replace(b"Find your area", b"Lost your area"))
    assert verify_edition(folder) != []
    rerun(root)
    assert (folder / "profiles.zip").read_bytes() == good_zip and (folder / "index.html").read_bytes() == good_page
    assert verify_edition(folder) == []


def test_profiles_zip_unpacks_into_one_folder_named_after_the_edition_with_a_readme(root, tmp_path):
    folder = root / "out" / "2024"
    with zipfile.ZipFile(folder / "profiles.zip") as archive:
        names = archive.namelist()
        readme = archive.read("2024/README.txt").decode("utf-8")
        archive.extractall(tmp_path / "unpacked")
    assert names[0] == "2024/README.txt" and all(name.startswith("2024/") for name in names)
    assert [p.name for p in (tmp_path / "unpacked").iterdir()] == ["2024"]  # one folder
    listed = {n for e in json.loads((folder / "manifest.json").read_text())["areas"].values() for n in e["files"]}
    assert {name.removeprefix("2024/") for name in names[1:]} == listed
    assert {"E06000001-hartlepool-data.csv", "E06000010-kingston-upon-hull-city-of-data.csv"} <= listed
    assert "Health assets profiles, edition 2024" in readme and "Data as at 31 March 2024." in readme
    assert "Open Government Licence v3.0" in readme and "No publishing organisation is named" in readme
    assert "  indicator_name: The indicator's name" in readme and "  value: " in readme


def test_a_history_line_cut_short_is_kept_and_the_run_added_after_it(root):
    folder = root / "out" / "2024"
    (folder / "runs.jsonl").write_bytes((folder / "runs.jsonl").read_bytes() + b'{"cut short')
    rerun(root)
    lines = (folder / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1] == '{"cut short' and json.loads(lines[2])["unchanged"] == [HARTLEPOOL, HULL]


def test_the_zip_deflates_pages_and_tables_stores_pdfs_and_is_the_same_bytes_twice(tmp_path):
    import zipfile

    from reportgen.publish.write import write_zip

    folder = tmp_path / "2024"
    folder.mkdir()
    (folder / "E06000001-hartlepool.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (folder / "E06000001-hartlepool.html").write_text("<!DOCTYPE html><p>same words</p>" * 2000, encoding="utf-8")
    (folder / "E06000001-hartlepool-data.csv").write_text("a,b\n1,2\n" * 2000, encoding="utf-8")
    names = sorted(p.name for p in folder.iterdir())
    first = write_zip(tmp_path / "one.zip", folder, names, prefix="2024/", extra={"README.txt": b"read me\n" * 50})
    second = write_zip(tmp_path / "two.zip", folder, names, prefix="2024/", extra={"README.txt": b"read me\n" * 50})
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
        assert archive.testzip() is None
        html = archive.getinfo("2024/E06000001-hartlepool.html")
        assert html.compress_size < html.file_size / 10
    assert methods["2024/E06000001-hartlepool.pdf"] == zipfile.ZIP_STORED
    assert methods["2024/E06000001-hartlepool.html"] == zipfile.ZIP_DEFLATED
    assert methods["2024/E06000001-hartlepool-data.csv"] == zipfile.ZIP_DEFLATED
    assert methods["2024/README.txt"] == zipfile.ZIP_DEFLATED
