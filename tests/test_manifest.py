"""The edition folder's records are read as untrusted input (issue 16, items 4, 10 and 16).

manifest.json, run.json, specs.json and benchmark.csv are opened without blocking, must be regular
files (not links, FIFOs, devices) of bounded size, JSON is depth-capped and validated by pydantic
models; a manifest may list only reportgen's own output names. Any bytes give a valid model or
"corrupt", never an exception (property-based tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from datetime import date
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from national_helpers import HARTLEPOOL, HULL, build_small_edition, manifest_of, small_inputs, write_manifest

from reportgen.cli import cli
from reportgen.core.errors import InputFileError, ReportgenError
from reportgen.core.geography import Area
from reportgen.core.readers import json_depth, parse_json, read_capped, read_json_capped
from reportgen.document.pdfcheck import MAX_PROVENANCE_BYTES, embedded_provenance
from reportgen.publish import changes as ch
from reportgen.publish import manifest as mf
from reportgen.publish import site
from reportgen.publish.area import output_names

HULL_PDF = "E06000010-kingston-upon-hull-city-of.pdf"
HARTLEPOOL_PDF = "E06000001-hartlepool.pdf"
DEEP = b"[" * 100_000 + b"]" * 100_000
SHA = "a" * 64


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """An edition folder of Hartlepool and Hull written by a real national run (read-only: copy it to change it)."""
    return build_small_edition(tmp_path_factory.mktemp("manifest"))


@pytest.fixture
def edition(built, tmp_path) -> Path:
    folder = tmp_path / "out" / "2024"
    shutil.copytree(built, folder, symlinks=True)
    return folder


def entry(files: dict[str, str] | None = None) -> dict:
    return {"area_name": "Hartlepool", "inputs_sha256": SHA, "files": files or {HARTLEPOOL_PDF: SHA}}


# --------------------------------------------------------------------------- the safe reader


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(read_capped(fifo, 1000))
        except InputFileError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], InputFileError) and "not a regular file (a FIFO)" in str(outcome[0])


def test_links_folders_devices_and_large_files_are_refused_without_reading(tmp_path):
    (tmp_path / "secret").write_text("root:x:0:0", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "secret")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "folder.json").mkdir()
    with open(tmp_path / "big.json", "wb") as handle:  # sparse: 300 MB that take no disk
        handle.truncate(300_000_000)
    for name, reason in [("link.json", "is a link"), ("zero.json", "is a link"), ("folder.json", "a folder"),
                         ("big.json", "300,000,000 bytes, more than the limit of 1,000")]:  # fmt: skip
        with pytest.raises(InputFileError, match=reason):
            read_capped(tmp_path / name, 1000)
    with pytest.raises(InputFileError, match="a device"):
        read_capped(tmp_path / "zero.json", 1000, follow_links=True)
    assert read_capped(tmp_path / "absent.json", 1000) is None


@pytest.mark.parametrize(
    "data, reason",
    [
        (DEEP, "nested more than 20 levels"),
        (b'{"a":' * 30 + b"1" + b"}" * 30, "nested more than 20 levels"),
        (b"\xff\xfe{}", "not valid UTF-8 JSON"),
        (b"{'areas': 1}", "not valid UTF-8 JSON"),
        (b"1" * 5000, "not valid UTF-8 JSON"),  # Python refuses integers of more than 4,300 digits
    ],
)
def test_json_is_depth_capped_and_must_be_utf8(data, reason):
    with pytest.raises(InputFileError, match=reason) as caught:
        parse_json(data, "x.json")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


def test_json_depth_counts_lists_and_objects():
    assert json_depth(1, 5) == 0
    assert json_depth({"a": [1, {"b": []}]}, 5) == 4
    assert json_depth([[[[[[[]]]]]]], 3) == 4  # stops counting past the limit


# --------------------------------------------------------------------------- manifest.json


def test_reportgens_own_names_and_only_those_are_output_names():
    assert mf.is_output_name(HARTLEPOOL_PDF, HARTLEPOOL)
    assert mf.is_output_name("E06000001-hartlepool-brief.pdf", HARTLEPOOL)
    assert mf.is_output_name("E06000001-hartlepool-data.csv", HARTLEPOOL)
    assert mf.is_output_name("E06000001-hartlepool.html", HARTLEPOOL)  # the HTML twin
    assert not mf.is_output_name(HARTLEPOOL_PDF, HULL)  # another area's file
    for name in ("../../../../secret.pdf", "javascript:alert(document.domain)//x.pdf", "/etc/shadow",
                 "E06000001-hartlepool.pdf/", "E06000001-Hartlepool.pdf", "E06000001-hartlepool.PDF",
                 "E06000001--x.pdf", "E06000001-x.pdf\n", "manifest.json", "E06000001-x.htm", 5, None,
                 "E06000001-" + "a" * 61 + ".pdf"):  # fmt: skip
        assert not mf.is_output_name(name), name


@given(st.text(min_size=1, max_size=300))
def test_every_name_reportgen_writes_is_an_output_name(name):
    names = output_names("2024", Area(HARTLEPOOL, name))
    assert all(mf.is_output_name(n, HARTLEPOOL) for n in (names.profile, names.brief, names.data, names.html))


@pytest.mark.parametrize(
    "manifest, reason",
    [
        ({"areas": {HARTLEPOOL: entry({"../../../../secret.pdf": SHA})}}, "lists a file that reportgen does not write"),
        ({"areas": {HARTLEPOOL: entry({"javascript:alert(document.domain)//x.pdf": SHA})}}, "does not write"),
        ({"areas": {HARTLEPOOL: entry({"E06000010-hull.pdf": SHA})}}, "does not write"),  # another area's name
        ({"areas": {"../x": entry()}}, "not an ONS area code"),
        ({"areas": {HARTLEPOOL: {**entry(), "files": 5}}}, "areas.E06000001.files"),
        ({"areas": {HARTLEPOOL: {**entry(), "inputs_sha256": "x"}}}, "inputs_sha256"),
        ({"areas": {HARTLEPOOL: {**entry(), "area_name": ["x"]}}}, "area_name"),
        ({"areas": []}, "areas"),
        ([], "top level"),
    ],
)
def test_a_manifest_that_reportgen_did_not_write_is_corrupt(tmp_path, manifest, reason):
    write_manifest(tmp_path, manifest)
    read = mf.read_manifest(tmp_path)
    assert read.manifest == mf.Manifest() and read.problem is not None
    assert reason in read.problem and "Treated as corrupt" in read.problem and "\n" not in read.problem


@pytest.mark.parametrize("kind", ["link to a secret", "link to /dev/zero", "folder", "fifo"])
def test_a_manifest_listing_anything_but_a_regular_file_is_corrupt(tmp_path, kind):
    (tmp_path / "secret").write_text("root:x:0:0", encoding="utf-8")
    target = tmp_path / HARTLEPOOL_PDF
    if kind == "link to a secret":
        target.symlink_to(tmp_path / "secret")
    elif kind == "link to /dev/zero":
        target.symlink_to("/dev/zero")
    elif kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    write_manifest(tmp_path, {"areas": {HARTLEPOOL: entry()}})
    read = mf.read_manifest(tmp_path)
    assert read.manifest.areas == {} and "which is not a regular file" in (read.problem or "")


@pytest.mark.parametrize("content", [DEEP, b"\x00" * 100, b'{"areas": {"E06000001": {"files": 5}}}'])
def test_the_manifest_as_a_fifo_link_or_garbage_is_corrupt_not_a_hang(tmp_path, content):
    write = tmp_path / "manifest.json"
    write.write_bytes(content)
    assert mf.read_manifest(tmp_path).problem
    write.unlink()
    os.mkfifo(write)
    assert "a FIFO" in (mf.read_manifest(tmp_path).problem or "")
    write.unlink()
    write.symlink_to("/dev/zero")
    assert "is a link" in (mf.read_manifest(tmp_path).problem or "")
    write.unlink()
    assert mf.read_manifest(tmp_path) == mf.ManifestRead()  # absent: empty, no warning


def test_a_valid_manifest_reads_back_as_written(built):
    read = mf.read_manifest(built)
    assert read.problem is None and read.manifest.as_dict() == manifest_of(built)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_manifest_run_record_or_specs_digest_or_corrupt(data):
    for parse in (mf.parse_manifest, mf.parse_run_record, mf.parse_specs_digest):
        try:
            parse(data, "x.json")
        except InputFileError as exc:
            assert "\n" not in str(exc)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from([SHA, "2024"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
KEYS = st.sampled_from(["areas", HARTLEPOOL, "files", HARTLEPOOL_PDF, "inputs_sha256", "edition", "name", "sha256",
                        "keys", "area_name", "built", "region_code"])  # fmt: skip
SHAPED = st.recursive(JSON, lambda children: st.dictionaries(KEYS, children, max_size=5), max_leaves=30)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPED)
def test_any_json_is_a_valid_model_or_corrupt(value):
    data = json.dumps(value).encode("utf-8")
    for parse in (mf.parse_manifest, mf.parse_run_record, mf.parse_specs_digest):
        try:
            model = parse(data, "x.json")
        except InputFileError as exc:
            assert "\n" not in str(exc)
            continue
        if isinstance(model, mf.Manifest):  # whatever is accepted names only the area's own outputs
            assert all(mf.is_output_name(n, code) for code, e in model.areas.items() for n in e.files)


# --------------------------------------------------------------------------- up to date: SHA-256 and provenance


@pytest.mark.slow
def test_a_pdf_swapped_for_another_areas_with_its_hash_updated_is_not_up_to_date(edition):
    manifest = manifest_of(edition)
    hartlepool = manifest["areas"][HARTLEPOOL]
    digest = hartlepool["inputs_sha256"]
    assert mf.is_up_to_date(edition, HARTLEPOOL, hartlepool, digest)
    shutil.copy(edition / HULL_PDF, edition / HARTLEPOOL_PDF)
    hartlepool["files"][HARTLEPOOL_PDF] = manifest["areas"][HULL]["files"][HULL_PDF]
    assert not mf.is_up_to_date(edition, HARTLEPOOL, hartlepool, digest)
    problem = mf.listed_file_problem(edition, HARTLEPOOL, HARTLEPOOL_PDF, hartlepool["files"][HARTLEPOOL_PDF], digest)
    assert problem == "embeds the provenance of another area ('E06000010', not E06000001)"


@pytest.mark.slow
def test_a_rerun_rebuilds_a_swapped_pdf_and_the_folder_verifies(runner, edition, built):
    """The tampered folder of item 4: another area's PDF under Hartlepool's name, the manifest's hash updated."""
    manifest = manifest_of(edition)
    shutil.copy(edition / HULL_PDF, edition / HARTLEPOOL_PDF)
    manifest["areas"][HARTLEPOOL]["files"][HARTLEPOOL_PDF] = manifest["areas"][HULL]["files"][HULL_PDF]
    write_manifest(edition, manifest)
    specs, data = built.parents[1] / "inputs" / "specs", built.parents[1] / "inputs" / "demo.csv"
    args = ["build", "--area", HARTLEPOOL, "--area", HULL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 built, 1 unchanged" in result.output
    assert (edition / HARTLEPOOL_PDF).read_bytes() == (built / HARTLEPOOL_PDF).read_bytes()


@pytest.mark.slow
def test_a_tampered_manifest_is_never_read_zipped_or_linked_and_is_rebuilt(runner, edition, built, tmp_path):
    """Item 4: links to a secret and to /dev/zero, a path outside --out and a javascript: name."""
    import zipfile

    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret", encoding="utf-8")
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF-outside")
    (edition / "E06000001-old-name-brief.pdf").symlink_to(secret)  # the brief's name in an older edition
    (edition / "javascript:alert(document.domain)").mkdir()
    (edition / "javascript:alert(document.domain)" / "x.pdf").write_bytes(b"%PDF-x")
    manifest = manifest_of(edition)
    files = manifest["areas"][HARTLEPOOL]["files"]
    files["E06000001-old-name-brief.pdf"] = SHA
    files["../../../../" + str(outside).lstrip("/")] = SHA
    files["javascript:alert(document.domain)//x.pdf"] = SHA
    manifest["areas"]["E06000002"] = {**manifest["areas"][HULL], "files": {"E06000002-zero.pdf": SHA}}
    (edition / "E06000002-zero.pdf").symlink_to("/dev/zero")
    write_manifest(edition, manifest)

    specs, data = built.parents[1] / "inputs" / "specs", built.parents[1] / "inputs" / "demo.csv"
    args = ["build", "--area", HARTLEPOOL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "manifest.json: not what reportgen writes there" in result.output and "Treated as corrupt" in result.output
    assert "1 built, 0 unchanged" in result.output
    with zipfile.ZipFile(edition / "profiles.zip") as archive:
        pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
        assert pdfs == [f"{edition.name}/E06000001-hartlepool-brief.pdf", f"{edition.name}/{HARTLEPOOL_PDF}"]
        assert b"secret" not in archive.read(f"{edition.name}/E06000001-hartlepool-brief.pdf")
    page = (edition / "index.html").read_text(encoding="utf-8")
    assert "javascript:" not in page and "outside" not in page and "zero" not in page and HULL not in page
    assert "old-name" not in page
    assert sorted(manifest_of(edition)["areas"]) == [HARTLEPOOL]
    assert secret.read_text(encoding="utf-8") == "root:$6$secret"
    rerun = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert rerun.exit_code == 0 and "Treated as corrupt" not in rerun.output  # not a crash (or warning) every rerun


@pytest.mark.slow
def test_a_fifo_or_nested_manifest_is_a_warning_and_a_rebuild(runner, edition, built):
    specs, data = built.parents[1] / "inputs" / "specs", built.parents[1] / "inputs" / "demo.csv"
    args = ["build", "--area", HARTLEPOOL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    (edition / "manifest.json").unlink()
    os.mkfifo(edition / "manifest.json")
    result = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "manifest.json: is not a regular file (a FIFO). Treated as corrupt" in result.output
    (edition / "manifest.json").write_bytes(DEEP)
    result = runner.invoke(cli, [*args, "--out", str(edition.parent)], catch_exceptions=False)
    assert result.exit_code == 0 and "nested more than 20 levels deep" in result.output


# --------------------------------------------------------------------------- the page links only validated names


def test_the_page_links_only_the_areas_own_regular_files(tmp_path):
    (tmp_path / "javascript:alert(document.domain)").mkdir()
    (tmp_path / "javascript:alert(document.domain)" / "x.pdf").write_bytes(b"%PDF-x")
    (tmp_path / "secret").write_text("secret", encoding="utf-8")
    (tmp_path / HARTLEPOOL_PDF).symlink_to(tmp_path / "secret")
    (tmp_path / "E06000010-hull.pdf").write_bytes(b"%PDF-hull")
    (tmp_path / "E06000010-hull-data.csv").write_bytes(b"a,b\n")  # present, but not listed
    manifest = {
        "areas": {
            HARTLEPOOL: {"area_name": "Hartlepool", "files": {HARTLEPOOL_PDF: SHA}},
            "E06000002": {"area_name": "X", "files": {"javascript:alert(document.domain)//x.pdf": SHA}},
            HULL: {"area_name": "Hull", "files": {"E06000010-hull.pdf": SHA, "../secret.pdf": SHA}},
        }
    }
    page = site.index_html(manifest, tmp_path, "2024", date(2024, 3, 31), True).decode("utf-8")
    hrefs = sorted(set(__import__("re").findall(r'href="([^"]*)"', page)))
    assert hrefs == ["#about", "#accessibility", "#main", "E06000010-hull.pdf", site.DEFAULT_LICENCE_URL]
    assert site.zip_members(manifest) == [HARTLEPOOL_PDF, "E06000010-hull.pdf"]  # only valid names reach the zip


# --------------------------------------------------------------------------- embedded provenance


def test_the_provenance_embedded_in_a_pdf_is_read(built):
    record = embedded_provenance(built / HARTLEPOOL_PDF)
    assert record is not None and record["area_code"] == HARTLEPOOL
    assert record["inputs_sha256"] == manifest_of(built)["areas"][HARTLEPOOL]["inputs_sha256"]
    brief = embedded_provenance((built / "E06000001-hartlepool-brief.pdf").read_bytes())
    assert brief is not None and brief["inputs_sha256"] == record["inputs_sha256"]


def test_no_provenance_in_garbage_a_plain_pdf_or_an_attachment_bomb(built, tmp_path):
    data = (built / HARTLEPOOL_PDF).read_bytes()
    assert embedded_provenance(b"") is None and embedded_provenance(b"%PDF-1.7 garbage") is None
    assert embedded_provenance(data[: len(data) // 2]) is None
    assert embedded_provenance(tmp_path / "absent.pdf") is None
    os.mkfifo(tmp_path / "fifo.pdf")
    assert embedded_provenance(tmp_path / "fifo.pdf") is None
    plain = pikepdf.new()
    plain.add_blank_page()
    plain.save(tmp_path / "plain.pdf")
    assert embedded_provenance(tmp_path / "plain.pdf") is None
    for payload in (b"{" * 2 + b"}" * 2, b" " * (MAX_PROVENANCE_BYTES + 1), json.dumps({"a": ["b"]}).encode()):
        bomb = pikepdf.new()
        bomb.add_blank_page()
        bomb.attachments["provenance.json"] = pikepdf.AttachedFileSpec(bomb, payload)
        bomb.save(tmp_path / "bomb.pdf")
        assert embedded_provenance(tmp_path / "bomb.pdf") is None


# --------------------------------------------------------------------------- the --previous folder (items 10, 16)


def previous(tmp_path: Path) -> Path:
    folder = tmp_path / "2023"
    folder.mkdir(parents=True)
    (folder / "benchmark.csv").write_text(",".join(ch.NEEDED_COLUMNS) + "\n", encoding="utf-8")
    return folder


def test_a_previous_edition_label_must_be_an_edition_slug(tmp_path):
    folder = previous(tmp_path)
    assert ch.previous_label(folder) == "2023"  # no run.json: the folder's name
    (folder / "run.json").write_text(json.dumps({"edition": "2023-revised", "built": []}), encoding="utf-8")
    assert ch.previous_label(folder) == "2023-revised"
    (folder / "run.json").write_text(json.dumps({"edition": "<script>alert(1)</script>" + "x" * 20_000}))
    with pytest.raises(ReportgenError) as caught:
        ch.previous_label(folder)
    message = str(caught.value)
    assert "run.json: not what reportgen writes there (edition: " in message and "not an edition label" in message
    assert "<script>" not in message and len(message) < 400 and "\n" not in message
    (folder / "run.json").unlink()
    odd = folder.rename(tmp_path / "old edition")
    with pytest.raises(ReportgenError, match="folder name is not an edition label"):
        ch.previous_label(odd)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("run.json", DEEP, "nested more than 20 levels"),
        ("run.json", b'{"edition": 2023}', "edition: Input should be a valid string"),
        ("run.json", b"[]", "top level"),
        ("specs.json", b'{"employment_rate": {"name": 5, "sha256": "x"}}', "employment_rate.name"),
        ("specs.json", b'{"employment_rate": []}', "employment_rate"),
        ("specs.json", DEEP, "nested more than 20 levels"),
        ("specs.json", None, "a FIFO"),
        ("run.json", None, "a FIFO"),
    ],
)
def test_unusable_files_of_the_previous_edition_are_one_line_errors(tmp_path, name, content, reason):
    folder = previous(tmp_path)
    if content is None:
        os.mkfifo(folder / name)
    else:
        (folder / name).write_bytes(content)
    read = ch.previous_label if name == "run.json" else ch.read_previous_specs
    with pytest.raises(ReportgenError) as caught:
        read(folder)
    message = str(caught.value)
    assert reason in message and "choose another with --previous" in message and "\n" not in message


def test_a_huge_benchmark_table_or_a_fifo_in_the_previous_edition_is_refused_before_reading(tmp_path):
    folder = previous(tmp_path)
    with open(folder / "benchmark.csv", "r+b") as handle:
        handle.truncate(ch.MAX_BENCHMARK_BYTES + 1)  # sparse
    with pytest.raises(ReportgenError, match="more than the limit of 268,435,456"):
        ch.read_benchmark_csv(folder / "benchmark.csv", "2023/benchmark.csv")
    (folder / "benchmark.csv").unlink()
    os.mkfifo(folder / "benchmark.csv")
    with pytest.raises(ReportgenError, match="not a regular file"):
        ch.find_previous(tmp_path, "2024", folder)
    assert ch.find_previous(tmp_path, "2024", None) is None  # a FIFO is not a benchmark table


def test_the_previous_edition_is_found_only_among_real_edition_folders(tmp_path):
    previous(tmp_path)
    (tmp_path / "2023-z").symlink_to(tmp_path / "2023")  # a link to a folder
    (tmp_path / "2023 copy").mkdir()  # not an edition label
    (tmp_path / "2023 copy" / "benchmark.csv").write_text("x\n", encoding="utf-8")
    assert ch.find_previous(tmp_path, "2024", None) == tmp_path / "2023"


def test_the_previous_specs_digest_is_read_as_written(tmp_path):
    folder = previous(tmp_path)
    assert ch.read_previous_specs(folder) == {}
    digest = {"employment_rate": {"name": "Employment", "keys": {"unit": "%", "multiplier": 100}, "sha256": SHA}}
    (folder / "specs.json").write_text(json.dumps(digest), encoding="utf-8")
    assert ch.read_previous_specs(folder) == digest
    assert read_json_capped(folder / "specs.json", 10_000) == digest


def test_a_previous_run_json_with_a_hostile_label_stops_the_run_with_one_line(runner, tmp_path):
    specs, data = small_inputs(tmp_path / "inputs")
    folder = previous(tmp_path / "out")
    (folder / "run.json").write_text(json.dumps({"edition": "<script>" + "x" * 20_000}), encoding="utf-8")
    args = ["build", "--area", HARTLEPOOL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "not an edition label" in line and "<script>" not in line
    assert not list((tmp_path / "out").rglob("*.pdf"))


def test_a_file_changed_after_it_was_checked_is_checked_again(tmp_path):
    """Checks are remembered by the file's state (inode, size, times): a rewrite is seen."""
    from reportgen.publish import manifest as mf

    mf.forget_checks()
    name = "E06000001-hartlepool-data.csv"
    path = tmp_path / name
    path.write_bytes(b"a,b\n1,2\n")
    digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert mf.listed_file_problem(tmp_path, "E06000001", name, digest, "x") is None
    assert mf.listed_file_problem(tmp_path, "E06000001", name, digest, "x") is None  # remembered
    os.replace(_written(tmp_path / "new", b"a,b\n9,9\n"), path)  # replaced, as a tamperer or a rebuild would
    assert mf.listed_file_problem(tmp_path, "E06000001", name, digest, "x") == (
        "does not have the SHA-256 the manifest lists"
    )


def _written(path, payload: bytes):
    path.write_bytes(payload)
    return path
