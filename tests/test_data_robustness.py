"""Hostile and broken data files: one clear line per problem, exit 1, never a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.cli import cli
from reportgen.core.errors import DataError, Problem, ReportgenError, printable
from reportgen.core.periods import parse_period, period_problem
from reportgen.core.specs import load_specs
from reportgen.sources.data import (
    COUNT,
    FINGERTIPS_HEADER,
    LINE,
    MAX_LINE_LENGTH,
    check_against_specs,
    load_indicator_data,
    parse_number,
)

HEADER = ",".join(display for _, display in FINGERTIPS_HEADER[:26])
PROJECT = Path(__file__).resolve().parents[1]


def row(area="E06000001", value="50", count="50", denominator="100", period="2022", indicator="1", **cells) -> str:
    """One 26-column data row; ``cells`` are further values by canonical column name (``area_name=...``)."""
    values = {
        "indicator_id": indicator,
        "indicator_name": "Ind",
        "parent_code": "E12000001",
        "area_code": area,
        "area_name": "Name",
        "area_type": "County & UA",
        "sex": "Persons",
        "age": "All ages",
        "period": period,
        "value": value,
        "count": count,
        "denominator": denominator,
        "period_sortable": "20220000",
    } | cells
    return ",".join(values.get(canonical, "") for canonical, _ in FINGERTIPS_HEADER[:26]) + "\n"


def write(tmp_path: Path, body: str, header: str = HEADER, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((header + "\n" + body).encode("utf-8"))
    return path


def error_of(path) -> DataError:
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    return info.value


def lines_of(error: ReportgenError) -> list[str]:
    return str(error).splitlines()


def run_check(runner, *args):
    result = runner.invoke(cli, ["check", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


# 1. Terminal escape injection


def test_printable_escapes_controls_bidi_and_line_breaks():
    text = "Hart\x1b[2Jle\x07pool\x00\x9b\u202eloot\nnext\tcol \u00e9 caf\u00e9 \u4e2d"
    assert printable(text) == "Hart\\x1b[2Jle\\x07pool\\x00\\x9b\\u202eloot\\x0anext\\x09col \u00e9 caf\u00e9 \u4e2d"
    assert printable("plain text, 95% CI") == "plain text, 95% CI"


def test_problem_and_error_text_are_escaped():
    problem = Problem("f.csv:3", "Sex", "found \x1b]0;owned\x07 and \u202e")
    assert str(problem) == "f.csv:3: Sex: found \\x1b]0;owned\\x07 and \\u202e"
    error = DataError("bad \x1b file", [problem])
    assert "\x1b" not in str(error) and "\x07" not in str(error) and "bad \\x1b file" in str(error)


def test_check_prints_data_controls_escaped(runner, tmp_path, write_spec):
    """The missing-series hint quotes the sexes found in the file: they must not reach the terminal raw."""
    folder = write_spec(fingertips_id=1, age="All ages")
    path = write(tmp_path, row(sex="Pers\x1bons\x07\u202e"))
    result = run_check(runner, "--specs", str(folder), "--data", str(path))
    assert result.exit_code == 1
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.output
    assert "(found: Pers\\x1bons\\x07\\u202e, All ages)" in result.stdout


def test_error_messages_from_data_are_escaped(runner, tmp_path):
    """A conflicting duplicate quotes the area code and period from the file."""
    bad = "E06\x1b]0;x\x07"
    path = write(tmp_path, row(area=bad, value="1") + row(area=bad, value="2"))
    result = run_check(runner, "--data", str(path))
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert f"{path}:3: conflicting duplicate rows (lines 2, 3) for indicator 1, area E06\\x1b]0;x\\x07" in result.stderr


# 2. Two columns of the same name


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            HEADER + ",Value",
            "Value: two columns give it: 'Value' (column M) and 'Value' (column AA); delete one of them",
        ),
        (
            HEADER.replace("Area Name", "Area Name,AreaName"),
            "Area Name: two columns give it: 'Area Name' (column F) and 'AreaName' (column G); delete one of them",
        ),
    ],
)
def test_two_columns_for_one_name_are_an_error(tmp_path, header, message):
    path = write(tmp_path, row().rstrip("\n") + ",1\n", header=header)
    error = error_of(path)
    assert [str(p) for p in error.problems] == [f"{path}:1: {message}"]


# 3. Non-finite and absurd numbers


@pytest.mark.parametrize("cell", ["inf", "-inf", "nan", "NaN", "1e999", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_errors(tmp_path, cell):
    path = write(tmp_path, row() + row(area="E06000002", count=cell))
    error = error_of(path)
    assert [str(p) for p in error.problems] == [
        f"{path}:3: Count: {cell!r} is not a finite number; use digits, or leave it blank if missing"
    ]


def test_magnitude_over_any_indicator_is_an_error(tmp_path):
    path = write(tmp_path, row(denominator="2e15") + row(area="E06000002", value="-1e16"))
    error = error_of(path)
    assert [str(p) for p in error.problems] == [
        f"{path}:3: Value: -1e16 is too large for any indicator (over 1e+15); check the number",
        f"{path}:2: Denominator: 2e15 is too large for any indicator (over 1e+15); check the number",
    ]


def test_proportion_outside_zero_to_multiplier_needs_the_spec(tmp_path, write_spec):
    folder = write_spec(fingertips_id=1, age="All ages", multiplier=100)
    path = write(
        tmp_path,
        row(value="50", lower_ci_95="40", upper_ci_95="60")
        + row(area="E06000002", value="140", count="", denominator="")
        + row(area="E06000003", value="5", lower_ci_95="-2", upper_ci_95="9", count="", denominator=""),
        header=HEADER,
    )
    data = load_indicator_data(path)
    found = [str(p) for p in check_against_specs(data, load_specs(folder))]
    assert found == [
        f"{path}:3: Value: 140 is outside 0..100; sample_indicator is a proportion with multiplier 100, "
        "so check the number or the spec's multiplier",
        f"{path}:4: Lower CI 95.0 limit: -2 is outside 0..100; sample_indicator is a proportion with multiplier "
        "100, so check the number or the spec's multiplier",
    ]


# 4. Unbalanced quotes


def test_unclosed_quote_swallowing_the_following_rows_is_reported_where_it_opens(tmp_path):
    opened = row(area="E06000002", area_name='"Darlington')
    path = write(tmp_path, row() + opened + row(area="E06000003") + row(area="E06000004"))
    error = error_of(path)
    assert str(error) == (
        f"{path}:3: column F: a quoted field opened on this line is not closed, so it swallows lines 4 to 5; "
        "close or remove the quote."
    )


def test_unclosed_quote_in_the_last_row_is_reported(tmp_path):
    path = write(tmp_path, row() + row(area="E06000002", area_name='"Darlington'))
    error = error_of(path)
    assert str(error).startswith(f"{path}:3: column F: a quoted field opened on this line is not closed")


def test_names_with_a_quoted_newline_still_load(tmp_path):
    path = write(tmp_path, row(indicator_name='"Rate per 100,000\n"') + row(area="E06000002"))
    assert list(load_indicator_data(path).frame[LINE]) == [2, 4]


# 5. Header-only, impossible periods, FIFOs, devices, folders, not UTF-8, binary


def test_header_only_file(runner, tmp_path):
    path = write(tmp_path, "")
    result = run_check(runner, "--data", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}: has a header but no data rows; export the indicator data again (Fingertips 'Download data').\n"
    )


@pytest.mark.parametrize("period", ["0000", "9999/00", "1850", "2019 - 2201"])
def test_impossible_periods(runner, tmp_path, period):
    path = write(tmp_path, row() + row(area="E06000002", period=period))
    result = run_check(runner, "--data", str(path))
    assert result.exit_code == 1
    assert (
        f"{path}:3: Time period: {period!r} has a year outside 1900..2100; use a Fingertips period such as "
        "2022, 2022/23 or 2020 - 22"
    ) in result.stderr.splitlines()


def test_period_parser_rejects_impossible_years_without_raising():
    assert parse_period("0000") is None and parse_period("9999/00") is None and parse_period("2100/01") is None
    assert parse_period("2022/23").start_year == 2022 and period_problem("2022/23") == ""
    assert period_problem("0000").startswith("has a year outside 1900..2100")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "reportgen", "check", "--data", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {fifo} is not a regular file (a pipe, device or socket); pass --data with a CSV file "
        "(a Fingertips export).\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_is_refused(runner):
    result = run_check(runner, "--data", "/dev/zero")
    assert result.exit_code == 1
    assert "/dev/zero is not a regular file" in result.stderr and len(result.stderr.splitlines()) == 1


def test_empty_folder_is_refused(runner, tmp_path):
    result = run_check(runner, "--data", str(tmp_path))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {tmp_path}: the folder has no *.csv files; pass --data with a Fingertips CSV export.\n"
    )


def test_not_utf8_names_line_and_byte(runner, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + row() + row(area="E06000002", area_name="Caf\u00e9")).encode("latin-1"))
    result = run_check(runner, "--data", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}:3: not UTF-8 text (byte 31 of the line: invalid continuation byte). "
        "Save the file as 'CSV UTF-8' and try again.\n"
    )


def test_binary_file(runner, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4)
    result = run_check(runner, "--data", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}:1: contains NUL bytes, so it is a binary file (for example a spreadsheet), not CSV text. "
        "Export the data as CSV (UTF-8) and try again.\n"
    )


# 6. Bounded reading


def test_a_line_over_the_limit_is_refused_after_reading_only_the_limit(tmp_path):
    path = tmp_path / "one-line.csv"
    with path.open("wb") as handle:
        handle.write(HEADER.encode() + b"\n")
        handle.write(b"x," * (MAX_LINE_LENGTH // 2 + 10))
    error = error_of(path)
    assert str(error) == (
        f"{path}:2: line longer than 1 MB; a Fingertips export has one short line per row. "
        "Check the file is a CSV export with line breaks."
    )


def test_an_unclosed_quote_over_many_lines_stops_at_the_field_limit(tmp_path):
    path = tmp_path / "open-quote.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n" + row() + row(area="E06000002", area_name='"Darlington'))
        for _ in range(30_000):
            handle.write(row(area="E06000003", area_name="Stockton"))
    error = error_of(path)
    assert str(error).startswith(f"{path}:3: a field starting on this line runs over 1 MB (to line ")
    assert str(error).endswith("); check for a quote that is not closed.")


def test_too_many_fields_are_refused(tmp_path):
    path = write(tmp_path, row().rstrip("\n") + "," * 300 + "\n")
    assert str(error_of(path)) == f"{path}:2: has 326 fields; a Fingertips export has 26 or 27."


def test_thousands_separators_only_for_counts_and_denominators():
    assert parse_number(COUNT, "214,022") == (214022.0, "")
    assert parse_number(COUNT, "1,2")[1].startswith("'1,2' is not a number")
    assert parse_number(COUNT, "1,23,4")[1].startswith("'1,23,4' is not a number")
    assert parse_number("value", "1,480")[1].startswith("'1,480' is not a number")


def test_many_bad_rows_give_a_bounded_report(tmp_path):
    path = write(tmp_path, "".join(row(area=f"E06{i:06d}", count="abc") for i in range(3000)))
    error = error_of(path)
    assert error.message == f"more than 1000 problems in data file {path}; fix these first:"
    assert len(error.problems) == 1000
    assert str(error.problems[0]) == (
        f"{path}:2: Count: 'abc' is not a number; use digits with a '.' decimal point, or leave it blank if missing"
    )


def test_area_text_echoed_by_build_is_escaped(runner):
    result = runner.invoke(cli, ["build", "--area", "Hart\x1b]0;x\x07pool\u202e"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
    assert "Hart\\x1b]0;x\\x07pool\\u202e" in result.stderr


def test_large_generated_file_loads_across_chunks(tmp_path):
    from benchmarks.bench_data import write_large_file

    path = write_large_file(tmp_path / "large.csv", 60_000)
    data = load_indicator_data(path)
    assert len(data.frame) == 60_000 and data.frame[LINE].is_monotonic_increasing
    assert data.frame[LINE].iloc[-1] == 60_001 and data.frame["indicator_id"].nunique() > 27


def test_unusual_spaces_are_shown_escaped():
    """A no-break space before a column name is why it was not found: the message shows it."""
    from reportgen.core.errors import printable

    assert printable("0\xa0Indicator ID") == "0\\xa0Indicator ID"
    assert printable("a\u2007b c") == "a\\u2007b c"
    assert printable("plain text, 95% CI") == "plain text, 95% CI"
