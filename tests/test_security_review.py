"""Red-team review of issue 7 on the merged code: variants the first round of tests missed.

Each test drives the real CLI as a user would and checks the exact outcome: a one-line message
naming the file or option, the exit status, no traceback, nothing read from outside.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from reportgen.cli import cli

UNREACHABLE = "http://127.0.0.1:9/api"  # nothing listens on port 9: a request would fail, slowly


def assert_clean_error(result, code: int = 1) -> str:
    """The command failed with ``code``, printed no traceback, and returns its output."""
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == code, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    return output


def demo_rows(demo_csv: Path, limit: int = 400) -> tuple[list[str], list[list[str]]]:
    with demo_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:limit]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


# --- fetch: --cache-dir and --out are checked before any download ---------------------------------


@pytest.mark.parametrize("kind", ["dangling_link", "under_a_file", "device"])
def test_fetch_cache_dir_that_cannot_be_a_folder_is_one_line_error(runner, tmp_path, kind):
    target = {
        "dangling_link": tmp_path / "cache",
        "under_a_file": tmp_path / "file.txt" / "cache",
        "device": Path("/dev/null"),
    }[kind]
    if kind == "dangling_link":
        target.symlink_to(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    result = runner.invoke(
        cli, ["fetch", "--out", str(tmp_path / "x.csv"), "--base-url", UNREACHABLE, "--cache-dir", str(target)]
    )
    output = assert_clean_error(result)
    assert "--cache-dir" in output and str(target) in output
    assert "connection" not in output.lower()
    assert not (tmp_path / "x.csv").exists()


def test_fetch_out_in_an_impossible_folder_fails_before_downloading(runner, tmp_path):
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    out = tmp_path / "file.txt" / "snapshot.csv"
    result = runner.invoke(
        cli, ["fetch", "--out", str(out), "--base-url", UNREACHABLE, "--cache-dir", str(tmp_path / "cache")]
    )
    output = assert_clean_error(result)
    assert "file.txt" in output and "folder" in output
    assert "connection" not in output.lower() and "Fetching" not in output
    assert not (tmp_path / "cache" / "parts").exists()


# --- a --data folder: links out of it, dangling links and FIFOs are refused by name -----------------


def data_folder(tmp_path: Path, demo_csv: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    header, rows = demo_rows(demo_csv)
    write_rows(folder / "a.csv", header, rows)
    return folder


def test_data_folder_link_to_a_file_outside_is_refused_without_reading_it(runner, tmp_path, demo_csv):
    folder = data_folder(tmp_path, demo_csv)
    (folder / "leak.csv").symlink_to("/etc/passwd")
    result = runner.invoke(cli, ["check", "--data", str(folder)])
    output = assert_clean_error(result)
    assert "leak.csv" in output and "outside" in output
    assert "root:" not in output


@pytest.mark.parametrize("kind", ["dangling", "loop", "fifo"])
def test_data_folder_entry_that_is_not_a_file_is_named_not_skipped(runner, tmp_path, demo_csv, kind):
    folder = data_folder(tmp_path, demo_csv)
    entry = folder / "b.csv"
    if kind == "dangling":
        entry.symlink_to(folder / "missing.csv")
    elif kind == "loop":
        entry.symlink_to(entry)
    else:
        os.mkfifo(entry)
    result = runner.invoke(cli, ["check", "--data", str(folder)])
    output = assert_clean_error(result)
    assert "b.csv" in output and "--data" in output


def test_data_folder_link_to_a_file_inside_it_is_read(runner, tmp_path, demo_csv):
    folder = data_folder(tmp_path, demo_csv)
    (folder / "a.csv").rename(folder / "real.data")
    (folder / "a.csv").symlink_to("real.data")
    result = runner.invoke(cli, ["check", "--data", str(folder), "--warnings-ok"])
    assert "outside" not in result.output and "Traceback" not in result.output
    assert "data row(s)" in result.output or "indicator missing" in result.output


# --- messages stay short when the data hold huge values ---------------------------------------------


@pytest.mark.parametrize("column", ["Value", "Sex", "Age"])
def test_huge_data_values_are_shortened_in_messages(runner, tmp_path, demo_csv, column):
    header, rows = demo_rows(demo_csv, limit=60)
    index = header.index(column)
    for row in rows:
        row[index] = "9" * 10_000 + "x" if column == "Value" else "S" * 10_000
    path = write_rows(tmp_path / "long.csv", header, rows)
    result = runner.invoke(cli, ["check", "--data", str(path)])
    output = assert_clean_error(result)
    lines = output.splitlines()
    assert any("long.csv" in line for line in lines)
    assert max(len(line) for line in lines) <= 1_100
    assert "characters" in output  # the shortening says so


def test_long_messages_keep_their_start_and_advice():
    from reportgen.core.errors import printable

    text = "data.csv:7: Value: '" + "9" * 50_000 + "' is not a number; fix the cell."
    shown = printable(text)
    assert len(shown) <= 1_100
    assert shown.startswith("data.csv:7: Value: '999")
    assert shown.endswith("is not a number; fix the cell.")


# --- a data file with very many distinct indicator ids ---------------------------------------------


def test_series_index_groups_only_the_indicators_asked_for(demo_csv):
    """100,000 unknown indicator ids must not become 100,000 grouped tables (2 GB, 2 minutes)."""
    import pandas as pd

    from reportgen.sources.data import INDICATOR_ID, load_indicator_data, series_index

    frame = load_indicator_data(demo_csv).frame
    extra = frame.iloc[[0] * 5_000].copy()
    extra[INDICATOR_ID] = [f"9{i:07d}" for i in range(5_000)]
    frame = pd.concat([frame, extra], ignore_index=True)
    index = series_index(frame, {"92313"})
    assert {key[0] for key in index} == {"92313"}
    assert len(index[("92313", "Persons")]) > 0


def test_check_with_many_unknown_indicator_ids_reports_missing_series(runner, tmp_path, demo_csv):
    header, rows = demo_rows(demo_csv, limit=3)
    column = header.index("Indicator ID")
    many = [[*row[:column], str(5_000_000 + i), *row[column + 1 :]] for i in range(20_000) for row in rows[:1]]
    path = write_rows(tmp_path / "ids.csv", header, many)
    result = runner.invoke(cli, ["check", "--data", str(path)])
    output = assert_clean_error(result)
    assert "indicator missing from the data" in output


# --- --author goes into the PDF's metadata (and its XMP, which is XML): printable text only ---------


@pytest.mark.parametrize("author", ["Public health\x1b[31m", "A\x00B", "line\nbreak", "x" * 201])
def test_author_with_control_characters_or_too_long_is_a_usage_error(runner, tmp_path, author):
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--author", author, "--out", str(tmp_path / "o")])
    output = assert_clean_error(result, code=2)
    assert "--author" in output
    assert "\x1b" not in output and "\x00" not in output
    assert not (tmp_path / "o").exists()


def test_author_with_html_is_accepted_as_plain_text(runner, tmp_path):
    missing = tmp_path / "missing.csv"
    result = runner.invoke(
        cli, ["build", "--area", "E06000001", "--author", "<b>Public & health</b>", "--data", str(missing)]
    )
    output = assert_clean_error(result, code=1)  # gets past option checking to the missing data file
    assert "missing.csv" in output


# --- check --metadata with hostile files ------------------------------------------------------------

META_HEADER = "Indicator ID,Indicator,Value type,Polarity,Unit\n"


def run_metadata(runner, path: Path) -> str:
    return assert_clean_error(runner.invoke(cli, ["check", "--metadata", str(path)]))


def test_metadata_with_a_huge_field_is_one_line_error(runner, tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text(META_HEADER + "92313," + "x" * 2_000_000 + ",Proportion,High is good,%\n", encoding="utf-8")
    output = run_metadata(runner, path)
    assert "meta.csv:2" in output


def test_metadata_with_an_unclosed_quote_names_its_line(runner, tmp_path):
    path = tmp_path / "meta.csv"
    rows = ['1,"Unclosed,Proportion,High is good,%', "92313,Employment,Proportion,High is good,%"]
    path.write_text(META_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    output = run_metadata(runner, path)
    assert "meta.csv:2" in output and "quote" in output


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_metadata_that_is_not_a_regular_file_says_so(runner, tmp_path, kind):
    path = tmp_path / "meta.csv"
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    output = run_metadata(runner, path)
    assert "meta.csv" in output and "does not exist" not in output


def test_metadata_over_the_size_cap_is_refused_before_reading(runner, tmp_path):
    from reportgen.sources import fingertips_api

    path = tmp_path / "meta.csv"
    with path.open("wb") as handle:
        handle.write(META_HEADER.encode())
        handle.truncate(fingertips_api.MAX_METADATA_BYTES + 1)  # sparse: no disk used
    output = run_metadata(runner, path)
    assert "meta.csv" in output and "MB" in output


def test_metadata_text_with_escapes_and_formulas_is_shown_escaped(runner, tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text(META_HEADER + "92313,=cmd\x1b[31m\x07\u202e,Proportion,High is good,%\n", encoding="utf-8")
    output = run_metadata(runner, path)
    assert "\\x1b[31m\\x07\\u202e" in output and "\x1b" not in output


# --- YAML with raw control characters (spec, theme, comparator) -------------------------------------


def test_comparator_with_a_raw_control_character_is_one_line_error(runner, tmp_path, demo_csv):
    comparator = tmp_path / "group.yaml"
    comparator.write_text('name: "x\x1b[31m<script>"\nareas: [E06000002, E06000003]\n', encoding="utf-8")
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--comparator", str(comparator)])
    output = assert_clean_error(result)
    assert "group.yaml:1:9" in output and "control character" in output and "\x1b" not in output


def test_spec_with_a_raw_control_character_is_reported_with_its_place(runner, write_spec):
    folder = write_spec(text="id: sample_indicator\nname: Bell\x07 here\n")
    result = runner.invoke(cli, ["check", "--specs", str(folder)])
    output = assert_clean_error(result)
    assert "sample_indicator.yaml:2:11" in output and "\\x07" in output


# --- control characters in text reaching the spreadsheet --------------------------------------------


def test_xlsx_with_control_characters_in_notes_and_comparator_name(runner, tmp_path, demo_csv):
    import openpyxl

    header, rows = demo_rows(demo_csv, limit=2_000)
    note = header.index("Value note")
    for row in rows:
        row[note] = "note\x01\x1b[31m"
    path = write_rows(tmp_path / "ctl.csv", header, rows)
    comparator = tmp_path / "group.yaml"
    comparator.write_text('name: "Neighbours\\e[31m\\x01"\nareas: [E06000002, E06000003]\n', encoding="utf-8")
    out = tmp_path / "table.xlsx"
    args = ["benchmark", "--data", str(path), "--comparator", str(comparator), "--format", "xlsx", "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    values = {cell for row in openpyxl.load_workbook(out).active.iter_rows(values_only=True) for cell in row}
    assert "note\\x01\\x1b[31m" in values
    assert "Neighbours\\x1b[31m\\x01" in values


# --- fetch: a compressed response that expands without bound ("zip bomb") --------------------------


@pytest.fixture
def gzip_bomb_server():
    """A local server answering every GET with 20 MB of CSV-looking text gzipped to a few kB."""
    import gzip
    import http.server
    import threading

    body = gzip.compress(b"Indicator ID,Indicator Name\n" + b"0" * 20_000_000)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_fetch_refuses_a_response_that_expands_past_the_cap(runner, tmp_path, gzip_bomb_server, monkeypatch):
    from reportgen.sources import http

    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 5_000_000)
    out = tmp_path / "snapshot.csv"
    args = ["fetch", "--out", str(out), "--base-url", gzip_bomb_server, "--cache-dir", str(tmp_path / "cache")]
    output = assert_clean_error(runner.invoke(cli, args))
    assert "5 MB" in output and "--base-url" in output
    assert not out.exists()
