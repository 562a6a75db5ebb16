"""The published-folder invariant as one function (issue 16, "Tests and the invariant").

verify_edition: every file the manifest lists exists, is a regular file in the edition folder, has
the listed SHA-256 and, for a PDF, the embedded provenance of its area; profiles.zip holds exactly
the listed PDFs; index.html links exactly the listed files. ``reportgen verify`` reports it (exit 0
or 1 with one line per problem) and ``build`` runs it at the end of every national run.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from national_helpers import HARTLEPOOL, HULL, build_small_edition, manifest_of, write_manifest

from reportgen.cli import cli
from reportgen.publish.verify import page_links, verify_edition

HARTLEPOOL_PDF = "E06000001-hartlepool.pdf"
HARTLEPOOL_BRIEF = "E06000001-hartlepool-brief.pdf"
HULL_PDF = "E06000010-kingston-upon-hull-city-of.pdf"
HULL_BRIEF = "E06000010-kingston-upon-hull-city-of-brief.pdf"

pytestmark = pytest.mark.slow  # the module's edition is built once, by a real national run


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """An edition folder of Hartlepool and Hull written by a real national run (read-only: copy it to change it)."""
    return build_small_edition(tmp_path_factory.mktemp("verify"))


@pytest.fixture
def edition(built, tmp_path) -> Path:
    folder = tmp_path / "out" / "2024"
    shutil.copytree(built, folder, symlinks=True)
    return folder


def problems(folder: Path) -> list[str]:
    return [str(p) for p in verify_edition(folder)]


def test_a_folder_written_by_a_national_run_verifies(runner, built):
    assert verify_edition(built) == []
    result = runner.invoke(cli, ["verify", str(built)])
    assert result.exit_code == 0 and "verified" in result.output


def test_a_changed_file_is_named(edition):
    with open(edition / f"{HULL}-kingston-upon-hull-city-of-data.csv", "ab") as handle:
        handle.write(b"E06000010,=1+1\r\n")
    assert problems(edition) == [
        f"{edition}/E06000010-kingston-upon-hull-city-of-data.csv: does not have the SHA-256 the manifest lists "
        "(listed in manifest.json for E06000010)"
    ]


def test_another_areas_pdf_with_its_hash_updated_is_named(edition):
    shutil.copy(edition / HULL_PDF, edition / HARTLEPOOL_PDF)
    manifest = manifest_of(edition)
    manifest["areas"][HARTLEPOOL]["files"][HARTLEPOOL_PDF] = manifest["areas"][HULL]["files"][HULL_PDF]
    write_manifest(edition, manifest)
    found = problems(edition)
    assert len(found) == 2, found
    assert found[0] == (
        f"{edition}/{HARTLEPOOL_PDF}: embeds the provenance of another area ('E06000010', not E06000001) "
        "(listed in manifest.json for E06000001)"
    )
    assert found[1] == f"{edition}/profiles.zip: its 2024/{HARTLEPOOL_PDF} differs from the listed file"


def test_a_link_a_missing_file_and_a_folder_are_named(edition, tmp_path):
    (tmp_path / "secret").write_bytes((edition / HULL_BRIEF).read_bytes())  # the same bytes, through a link
    (edition / HULL_BRIEF).unlink()
    (edition / HULL_BRIEF).symlink_to(tmp_path / "secret")
    (edition / HARTLEPOOL_BRIEF).unlink()
    (edition / HULL_PDF).unlink()
    (edition / HULL_PDF).mkdir()
    assert problems(edition) == [
        f"{edition}/{HARTLEPOOL_BRIEF}: is missing (listed in manifest.json for E06000001)",
        f"{edition}/{HULL_BRIEF}: is a link; links are not followed here (listed in manifest.json for E06000010)",
        f"{edition}/{HULL_PDF}: is not a regular file (a folder) (listed in manifest.json for E06000010)",
    ]


def test_a_zip_with_another_file_or_without_a_listed_pdf_is_named(edition):
    with zipfile.ZipFile(edition / "profiles.zip", "a") as archive:
        archive.writestr("../../../../secret.pdf", b"root:x")
    assert problems(edition) == [
        f"{edition}/profiles.zip: holds '../../../../secret.pdf', which the manifest does not list"
    ]
    with zipfile.ZipFile(edition / "profiles.zip", "w") as archive:
        archive.writestr(HULL_PDF, (edition / HULL_PDF).read_bytes())
    assert problems(edition) == [f"{edition}/profiles.zip: lacks its README.txt"]
    with zipfile.ZipFile(edition / "profiles.zip", "w") as archive:
        archive.writestr("2024/README.txt", b"read me")
        archive.writestr(f"2024/{HULL_PDF}", (edition / HULL_PDF).read_bytes())
    assert problems(edition) == [
        f"{edition}/profiles.zip: lacks '2024/{HARTLEPOOL_BRIEF}', '2024/E06000001-hartlepool-data.csv', "
        "'2024/E06000001-hartlepool.html' and 4 more"
    ]
    (edition / "profiles.zip").write_bytes(b"not a zip")
    assert problems(edition) == [f"{edition}/profiles.zip: is not a readable zip file (File is not a zip file)"]


def test_a_page_linking_a_script_or_another_file_is_named(edition):
    page = (edition / "index.html").read_text(encoding="utf-8")
    hostile = page.replace(f'href="{HARTLEPOOL_PDF}"', 'href="javascript:alert(document.domain)//x.pdf"')
    (edition / "index.html").write_text(hostile, encoding="utf-8")
    assert problems(edition) == [
        f"{edition}/index.html: links 'javascript:alert(document.domain)//x.pdf', which the manifest does not list",
        f"{edition}/index.html: does not link '{HARTLEPOOL_PDF}', which the manifest lists",
    ]
    extra = page.replace("</body>", '<a href="../2023/E06000001-hartlepool.pdf">old</a>'
                         '<a href="https://www.example.gov.uk/">council</a></body>')  # fmt: skip
    (edition / "index.html").write_text(extra, encoding="utf-8")
    assert problems(edition) == [
        f"{edition}/index.html: links '../2023/E06000001-hartlepool.pdf', which the manifest does not list"
    ]


def test_page_links_are_read_with_entities_decoded():
    page = b'<a href="#main">x</a><a href="java&#115;cript:x">y</a><img src="a.png"/><link href="b.css">'
    assert page_links(page) == ["#main", "javascript:x", "a.png", "b.css"]


@pytest.mark.parametrize("content", [b"[" * 100_000, b'{"areas": {"E06000001": {"files": 5}}}', None])
def test_a_missing_or_corrupt_manifest_is_one_problem(edition, content):
    if content is None:
        (edition / "manifest.json").unlink()
    else:
        (edition / "manifest.json").write_bytes(content)
    (found,) = problems(edition)
    assert found.startswith(f"{edition}/manifest.json: ") and "\n" not in found


def test_reportgen_verify_prints_one_line_per_problem_and_exits_1(runner, edition):
    (edition / HARTLEPOOL_BRIEF).unlink()
    (edition / "index.html").unlink()
    result = runner.invoke(cli, ["verify", str(edition)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{edition}/{HARTLEPOOL_BRIEF}: is missing (listed in manifest.json for E06000001)",
        f"{edition}/index.html: is missing",
    ]
    assert "rebuild the edition" in result.stderr
    missing = runner.invoke(cli, ["verify", str(edition / "nothing")])
    assert missing.exit_code == 1 and "is not a folder" in missing.output


def test_build_verifies_the_folder_at_the_end_of_every_national_run(runner, edition, built):
    """A published file of an area outside this run's selection was changed: the run says so, exit 1."""
    specs, data = built.parents[1] / "inputs" / "specs", built.parents[1] / "inputs" / "demo.csv"
    with open(edition / HULL_PDF, "ab") as handle:
        handle.write(b"%tampered\n")
    args = ["build", "--area", HARTLEPOOL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert f"VERIFY FAILED {edition}/{HULL_PDF}: does not have the SHA-256 the manifest lists" in result.output
    report = json.loads((edition / "run.json").read_text(encoding="utf-8"))
    assert report["status"] == "failed" and report["verify_problems"]
    skipped = runner.invoke(cli, [*args, "--no-verify", "--out", str(edition.parent)], catch_exceptions=False)
    assert skipped.exit_code == 0 and "VERIFY FAILED" not in skipped.output
