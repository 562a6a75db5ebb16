"""Issue 16 items 11, 12 and 15: text from data is capped, documents keep their page limits, no
bidirectional control reaches a published file, and odd input gives one line, never a traceback."""

from __future__ import annotations

import builtins
import csv
import errno
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from click.testing import CliRunner, Result

from reportgen.cli import cli
from reportgen.core.errors import BIDI_CONTROLS, DataError, RenderError, escape_bidi
from reportgen.core.files import neutralise_text
from reportgen.core.options import BuildOptions
from reportgen.document import build as document_build
from reportgen.publish.build import build_profile
from reportgen.sources.data import ELLIPSIS, FINGERTIPS_HEADER, TEXT_LIMITS, load_indicator_data, parse_number
from tests.national_helpers import HARTLEPOOL, MIDDLESBROUGH, small_inputs

HEADER = ",".join(display for _, display in FINGERTIPS_HEADER[:26])
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "INJECTED" after it prints as "DETCEJNI"


def row(indicator: str = "1", note: str = "", area_name: str = "Hartlepool", **cells: str) -> dict[str, str]:
    values = {
        "indicator_id": indicator,
        "indicator_name": "Ind",
        "parent_code": "E12000001",
        "area_code": HARTLEPOOL,
        "area_name": area_name,
        "area_type": "County & UA",
        "sex": "Persons",
        "age": "All ages",
        "period": "2022",
        "value": "50",
        "count": "50",
        "denominator": "100",
        "value_note": note,
        "period_sortable": "20220000",
    }
    return values | cells


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(display for _, display in FINGERTIPS_HEADER[:26])
    writer.writerows([r.get(canonical, "") for canonical, _ in FINGERTIPS_HEADER[:26]] for r in rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def edit_rows(source: Path, target: Path, edit: Any) -> Path:
    """Copy a data file, calling ``edit(header, row)`` on each row (it changes the row in place)."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    for data_row in rows[1:]:
        edit(rows[0], data_row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def pdf_pages(path: Path) -> int:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def pdf_attachments(path: Path) -> dict[str, bytes]:
    pdf = pypdfium2.PdfDocument(path)
    try:
        found = {}
        for i in range(pdf.count_attachments()):
            attachment = pdf.get_attachment(i)
            found[attachment.get_name()] = bytes(attachment.get_data())
        return found
    finally:
        pdf.close()


def no_traceback(result: Result) -> None:
    """The command ended through its own error handling (sys.exit), not an uncaught exception."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- item 11: text caps


def test_long_text_is_cut_to_its_limit_with_a_warning_naming_the_lines(tmp_path):
    notes = [f"note {i} " + "x" * 190_000 for i in range(3)]
    path = write_rows(
        tmp_path / "data.csv",
        [row(note=notes[i], period=f"20{20 + i}") for i in range(3)]
        + [row(indicator="2", indicator_name="N" * 5_000, area_name="A" * 300)],
    )
    data = load_indicator_data(path)
    frame = data.frame
    limit = TEXT_LIMITS["value_note"]
    cut = frame["value_note"].iloc[:3]
    assert all(len(note) == limit and note.endswith(ELLIPSIS) for note in cut)
    assert [note[:7] for note in cut] == ["note 0 ", "note 1 ", "note 2 "]
    assert len(frame["indicator_name"].iloc[3]) == TEXT_LIMITS["indicator_name"]
    assert len(frame["area_name"].iloc[3]) == TEXT_LIMITS["area_name"]
    messages = [str(w) for w in data.warnings]
    assert f"{path}:2: Value note: warning: 3 different text(s) longer than {limit:,} characters" in messages[0]
    assert "(lines 2, 3, 4)" in messages[0]
    assert any(
        m.startswith(f"{path}:5: Indicator Name: warning: 1 different text(s) longer than 500") for m in messages
    )
    assert any(m.startswith(f"{path}:5: Area Name: warning:") for m in messages)


def test_short_text_is_kept_as_it_is(tmp_path):
    note = "é" * TEXT_LIMITS["value_note"]  # at the limit, not ASCII: checked and kept
    data = load_indicator_data(write_rows(tmp_path / "data.csv", [row(note=note)]))
    assert data.frame["value_note"].iloc[0] == note and not data.warnings


def test_an_identifier_is_never_cut_but_refused(tmp_path):
    path = write_rows(tmp_path / "data.csv", [row(), row(period="2023 " + "y" * 200)])
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    assert f"{path}:3: Time period: is 205 characters long; a code, id or period has at most 100" in str(info.value)


@pytest.fixture(scope="module")
def long_notes(demo_csv, tmp_path_factory) -> Path:
    """The demonstration data with 190 KB value notes on three of Hartlepool's latest headline rows."""
    rows = list(csv.reader(io.StringIO(demo_csv.read_text(encoding="utf-8"))))
    header = rows[0]
    code, category, note = (header.index(c) for c in ("Area Code", "Category Type", "Value note"))
    latest = {r[0]: r for r in rows[1:] if r[code] == HARTLEPOOL and not r[category]}  # rows are in period order
    for data_row in list(latest.values())[:3]:
        data_row[note] = f"Note on {data_row[0]}: " + "very long note " * 12_700
    target = tmp_path_factory.mktemp("long") / "long-notes.csv"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    target.write_text(out.getvalue(), encoding="utf-8")
    return target


@pytest.mark.slow
def test_190_kb_value_notes_are_cut_and_the_profile_keeps_its_24_pages(long_notes, tmp_path):
    """Issue 16 item 11: three 190 KB notes gave a 240-page profile in 48 s."""
    assert long_notes.stat().st_size > 3 * 190_000
    result = build_profile(HARTLEPOOL, long_notes, BuildOptions(out_dir=tmp_path, brief=True))
    cut = [str(w) for w in result.warnings if "Value note" in str(w)]
    assert len(cut) == 1 and "3 different text(s) longer than" in cut[0] and f"{long_notes}:" in cut[0]
    assert pdf_pages(result.path) <= document_build.MAX_PAGES[document_build.PROFILE_TEMPLATE] == 24
    assert pdf_pages(result.brief_path) <= document_build.MAX_PAGES[document_build.BRIEF_TEMPLATE] == 2
    text = pdf_text(result.path)
    assert "very long note" in text and text.count("very long note") < 3 * 2 * 40  # each note at most 500 characters


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    return small_inputs(tmp_path_factory.mktemp("small"))


def test_a_profile_over_its_page_limit_fails_its_area_with_a_clear_message(small, tmp_path, monkeypatch, runner):
    specs, data = small
    monkeypatch.setitem(document_build.MAX_PAGES, document_build.PROFILE_TEMPLATE, 2)
    with pytest.raises(RenderError) as info:
        build_profile(HARTLEPOOL, data, BuildOptions(specs_dir=specs, out_dir=tmp_path / "one"))
    message = str(info.value)
    assert message.startswith("Hartlepool (E06000001): the profile would have ")
    assert "pages, more than the 2 allowed, so it is not written" in message and "\n" not in message
    assert not list((tmp_path / "one").rglob("*.pdf")), "no PDF (and no temporary file) is left"
    result = runner.invoke(
        cli, ["build", "--area", HARTLEPOOL, "--specs", str(specs), "--data", str(data), "--out", str(tmp_path / "cli")]
    )
    no_traceback(result)
    assert result.exit_code == 1 and "more than the 2 allowed" in result.output


def test_a_national_run_reports_the_page_limit_as_the_area_failing(small, tmp_path, monkeypatch, runner):
    specs, data = small
    monkeypatch.setitem(document_build.MAX_PAGES, document_build.BRIEF_TEMPLATE, 1)
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "1", "--specs", str(specs)]
    result = runner.invoke(cli, [*args, "--data", str(data), "--out", str(tmp_path), "--edition", "2023"])
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert "Hartlepool (E06000001): the board brief would have" in result.output
    assert "Middlesbrough (E06000002): the board brief would have" in result.output
    assert not list((tmp_path / "2023").glob("*.pdf"))


# --------------------------------------------------------------------------- item 15: bidi controls


def test_every_bidi_control_is_escaped_where_data_are_read_with_a_warning(tmp_path):
    controls = "".join(BIDI_CONTROLS)
    path = write_rows(
        tmp_path / "data.csv",
        [
            row(note=f"a{controls}b", area_name=f"Hartle{RLO}pool", indicator_name=f"{RLO}Ind", category=f"x{RLO}"),
            row(area_code=f"E0600000{RLO}2", period="2023"),
        ],
    )
    data = load_indicator_data(path)
    text_columns = [c for c in data.frame.columns if data.frame[c].dtype == object]
    for column in text_columns:
        assert not any(set(str(v)) & set(BIDI_CONTROLS) for v in data.frame[column]), column
    escapes = "".join(f"\\u{ord(c):04x}" for c in BIDI_CONTROLS)
    assert data.frame["value_note"].iloc[0] == f"a{escapes}b" and data.frame["area_name"].iloc[0] == "Hartle\\u202epool"
    assert data.frame["area_code"].iloc[1] == "E0600000\\u202e2"  # still not an ONS code: never a file name
    warned = {w.key for w in data.warnings if "bidirectional control characters" in w.message}
    assert warned == {"Value note", "Area Name", "Indicator Name", "Category", "Area Code"}


def test_csv_cells_and_text_helpers_escape_bidi_controls():
    assert escape_bidi(f"INJ{RLO}ECTED\u2066\u200f") == "INJ\\u202eECTED\\u2066\\u200f"
    assert escape_bidi("plain ASCII") == "plain ASCII"
    assert neutralise_text(f"=1{RLO}") == "'=1\\u202e"  # escaped, and guarded as a formula
    assert neutralise_text("\u2067name") == "\\u2067name" and neutralise_text(3.5) == 3.5


@pytest.fixture(scope="module")
def bidi_edition(small, tmp_path_factory) -> tuple[Path, Result]:
    """A national run of two areas whose data carry U+202E in value notes, area and indicator names."""
    specs, data = small
    folder = tmp_path_factory.mktemp("bidi")

    def inject(header: list[str], data_row: list[str]) -> None:
        if data_row[header.index("Area Code")] == HARTLEPOOL:
            data_row[header.index("Value note")] = f"Note: {RLO}INJECTED"
            data_row[header.index("Area Name")] = f"Hartle{RLO}pool"
            data_row[header.index("Indicator Name")] = f"{RLO}{data_row[header.index('Indicator Name')]}"

    injected = edit_rows(data, folder / "bidi.csv", inject)
    layouts = folder / "layouts"
    layouts.mkdir()
    (layouts / "wording.yaml").write_text(f'document:\n  title: "Health {RLO}assets profile"\n', encoding="utf-8")
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "1", "--specs", str(specs)]
    args += ["--layouts", str(layouts), "--data", str(injected), "--out", str(folder / "out"), "--edition", "2023"]
    result = CliRunner().invoke(cli, args)
    return folder / "out" / "2023", result


def test_bidi_controls_never_reach_the_pdfs_csvs_or_download_page(bidi_edition):
    """Issue 16 item 15: "INJECTED" printed as "DETCEJNI"."""
    edition, result = bidi_edition
    no_traceback(result)
    assert result.exit_code == 0, result.output
    pdfs = sorted(edition.glob("*.pdf"))
    assert len(pdfs) == 4
    text = pdf_text(edition / f"{HARTLEPOOL}-hartlepool.pdf")
    assert "Note: \\u202eINJECTED" in text and "DETCEJNI" not in text and "Health \\u202eassets profile" in text
    for pdf in pdfs:
        assert not set(pdf_text(pdf)) & set(BIDI_CONTROLS), pdf.name
        for name, payload in pdf_attachments(pdf).items():
            assert not set(payload.decode("utf-8")) & set(BIDI_CONTROLS), f"{pdf.name}: {name}"
    published = [*edition.glob("*.csv"), edition / "index.html"]
    assert len(published) >= 4
    for path in published:
        assert not set(path.read_text(encoding="utf-8")) & set(BIDI_CONTROLS), path.name
    with zipfile.ZipFile(edition / "profiles.zip") as archive:
        assert sorted(n.removeprefix(f"{edition.name}/") for n in archive.namelist() if n.endswith(".pdf")) == [
            p.name for p in pdfs
        ]


# --------------------------------------------------------------------------- item 12: one line, no traceback


def test_a_superscript_indicator_id_is_a_one_line_problem(tmp_path, runner):
    """Issue 16 item 12: a data row with Indicator ID '²'."""
    path = write_rows(tmp_path / "data.csv", [row(), row(indicator="²")])
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    expected = f"{path}:3: Indicator ID: '²' is not an indicator id; use the Fingertips indicator number (digits 0-9)"
    assert expected in str(info.value)
    for command in (["check", "--data", str(path)], ["build", "--area", HARTLEPOOL, "--data", str(path)]):
        result = runner.invoke(cli, [*command, "--out", str(tmp_path / "out")] if command[0] == "build" else command)
        no_traceback(result)
        assert result.exit_code == 1 and expected in result.output, result.output
        line = next(line for line in result.output.splitlines() if "Indicator ID" in line)
        assert line.endswith("or, for local data, the spec's id (letters, digits and '_')")


@pytest.mark.parametrize("cell", ["١٢", "１２", "²", "1_000", "٣.٥"])
def test_numbers_in_other_digits_are_problems_not_values(cell):
    number, problem = parse_number("value", cell)
    assert number != number and f"{cell!r} is not a number" in problem


def test_unicode_digits_in_a_count_name_the_file_line_and_column(tmp_path):
    path = write_rows(tmp_path / "data.csv", [row(count="١٢")])
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    assert f"{path}:2: Count: '١٢' is not a number" in str(info.value)


class ReadOnly:
    """Creating or writing anything under ``root`` fails as on a read-only file system (EROFS),
    whoever runs the tests (root ignores folder permissions)."""

    WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inside = str(root.resolve())
        self.real_open, self.real_os_open, self.real_mkdir = builtins.open, os.open, os.mkdir
        monkeypatch.setattr(builtins, "open", self.open)
        monkeypatch.setattr(os, "open", self.os_open)
        monkeypatch.setattr(os, "mkdir", self.mkdir)

    def refused(self, path: Any) -> bool:
        try:
            return os.path.abspath(os.fspath(path)).startswith(self.inside)
        except TypeError:  # a file descriptor
            return False

    @staticmethod
    def error(path: Any) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if set(mode) & set("wax+") and self.refused(file):
            raise self.error(file)
        return self.real_open(file, mode, *args, **kwargs)

    def os_open(self, path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & self.WRITING and self.refused(path):
            raise self.error(path)
        return self.real_os_open(path, flags, *args, **kwargs)

    def mkdir(self, path: Any, *args: Any, **kwargs: Any) -> None:
        if self.refused(path) and os.path.lexists(path):  # as the kernel: an existing folder is EEXIST
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(path))
        if self.refused(path):
            raise self.error(path)
        self.real_mkdir(path, *args, **kwargs)


def test_a_read_only_out_folder_in_a_national_run_is_one_line(small, tmp_path, monkeypatch, runner):
    """Issue 16 item 12: read-only --out in a national run gave an OSError traceback on .run.lock."""
    specs, data = small
    out = tmp_path / "out"
    (out / "2023").mkdir(parents=True)
    ReadOnly(out, monkeypatch)
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "1", "--specs", str(specs)]
    result = runner.invoke(cli, [*args, "--data", str(data), "--out", str(out), "--edition", "2023"])
    no_traceback(result)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and str(out) in errors[0], result.output
    assert not [p for p in out.rglob("*") if p.is_file()]


def test_a_full_disk_while_writing_the_zip_is_one_line(small, tmp_path, monkeypatch, runner):
    """Issue 16 item 12: a full disk while writing profiles.zip gave an OSError traceback."""
    specs, data = small

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    args = ["build", "--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--jobs", "1", "--specs", str(specs)]
    result = runner.invoke(cli, [*args, "--data", str(data), "--out", str(tmp_path), "--edition", "2023"])
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert "The disk is full: could not write" in result.output and "profiles.zip" in result.output
    edition = tmp_path / "2023"
    assert not list(edition.glob("profiles.zip*")) and not list(edition.glob(".*.tmp"))
    # The page and the run report are still written, and the report says what failed.
    assert (edition / "index.html").is_file()
    record = json.loads((edition / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed" and any("profiles.zip" in p for p in record["verify_problems"])
