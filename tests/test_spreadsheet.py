"""The benchmark spreadsheet is readable: rounded values, plain headers, frozen header, filter, a Columns sheet."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest

from reportgen.cli import cli
from reportgen.publish.prepare import read_specs
from reportgen.stats.benchmark import BENCHMARK_COLUMNS, COMPARATOR_COLUMNS

README = Path(__file__).resolve().parents[1] / "docs" / "benchmark-table.md"
ROUNDED = {
    "value": "Value",
    "lower_ci_95": "Lower 95% limit",
    "upper_ci_95": "Upper 95% limit",
    "lower_ci_99_8": "Lower 99.8% limit",
    "upper_ci_99_8": "Upper 99.8% limit",
    "england_value": "England value",
    "region_value": "Region value",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, demo_csv):
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("xlsx")
    runner = CliRunner()
    xlsx = folder / "hartlepool.xlsx"
    args = ["benchmark", "--data", str(demo_csv), "--area", "Hartlepool"]
    result = runner.invoke(cli, [*args, "--format", "xlsx", "--out", str(xlsx)])
    assert result.exit_code == 0, result.output
    plain = runner.invoke(cli, [*args, "--format", "csv"])
    assert plain.exit_code == 0, plain.output
    rows = list(csv.DictReader(io.StringIO(plain.stdout, newline="")))
    return openpyxl.load_workbook(xlsx), rows


def sheet_records(book) -> tuple[list[str], list[tuple]]:
    sheet = book["Benchmark"]
    rows = list(sheet.iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def test_headers_are_readable(outputs):
    book, csv_rows = outputs
    headers, _ = sheet_records(book)
    assert headers[:4] == ["Indicator", "Fingertips ID", "Area code", "Area name"]
    assert "Lower 95% limit" in headers and "Upper 99.8% limit" in headers and "Compared with England" in headers
    assert len(headers) == len(csv_rows[0])
    assert not any(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", h) for h in headers)  # no snake_case left


def test_values_and_limits_are_rounded_to_each_specs_decimals(outputs):
    book, csv_rows = outputs
    headers, rows = sheet_records(book)
    decimals = {s.id: s.decimals for s in read_specs(None)}
    sheet = book["Benchmark"]
    checked = 0
    for number, (row, full) in enumerate(zip(rows, csv_rows, strict=True), start=2):
        places = decimals[full["indicator_id"]]
        for column, header in ROUNDED.items():
            shown = row[headers.index(header)]
            if full[column] == "":
                assert shown is None
                continue
            assert shown == round(float(full[column]), places), (full["indicator_id"], column)
            cell = sheet.cell(row=number, column=headers.index(header) + 1)
            assert cell.number_format == ("0" if places == 0 else "0." + "0" * places)
            checked += 1
    assert checked > 500
    # Full precision stays in the CSV: some values there have more decimals than the spreadsheet shows.
    assert any(len(r["value"].partition(".")[2]) > 4 for r in csv_rows)


def test_header_frozen_filtered_and_columns_wide_enough(outputs):
    book, _ = outputs
    sheet = book["Benchmark"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}"
    assert all(cell.font.bold for cell in sheet[1])
    headers = [c.value for c in sheet[1]]
    for index, header in enumerate(headers, start=1):
        width = sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width
        assert min(len(header) + 2, 50) <= width <= 50, header
    name_width = sheet.column_dimensions[openpyxl.utils.get_column_letter(headers.index("Indicator") + 1)].width
    assert name_width >= len("children_not_in_low_income")


def test_columns_sheet_describes_every_column(outputs):
    book, csv_rows = outputs
    assert book.sheetnames == ["Benchmark", "Columns"]
    guide = list(book["Columns"].iter_rows(values_only=True))
    assert guide[0] == ("Column", "Name in CSV and JSON", "Meaning")
    headers, _ = sheet_records(book)
    assert [r[0] for r in guide[1:]] == headers
    assert [r[1] for r in guide[1:]] == list(csv_rows[0])
    assert all(r[2] for r in guide[1:])
    assert dict((r[1], r[2]) for r in guide[1:])["ci_source"] == "data (supplied with the data), computed, or none"


def test_every_benchmark_column_has_a_guide_entry_documented_in_the_docs():
    from reportgen.publish.tables import COLUMN_GUIDE

    readme = README.read_text(encoding="utf-8")
    for column in (*BENCHMARK_COLUMNS, *COMPARATOR_COLUMNS):
        assert column in COLUMN_GUIDE, column
        assert f"`{column}`" in readme, column


def test_text_cells_are_strings(outputs):
    book, _ = outputs
    sheet = book["Benchmark"]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                assert cell.data_type == "s" and not cell.value.startswith("=")
