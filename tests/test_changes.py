"""What has changed between editions: comparisons, trends, indicators, definitions, periods; changes.csv."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pypdfium2 as pdfium
import pytest
from national_helpers import HARTLEPOOL, small_inputs

from reportgen.cli import cli
from reportgen.core.errors import ReportgenError
from reportgen.publish.changes import (
    Change,
    changes_by_area,
    changes_csv,
    compare_editions,
    find_previous,
    read_benchmark_csv,
    specs_digest,
)
from reportgen.publish.prepare import compute_benchmark, read_data, read_specs
from reportgen.publish.tables import benchmark_bytes

COLUMNS = ["indicator_id", "area_code", "area_name", "area_type", "period", "compared_to_england", "recent_trend"]


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture
def two_specs(tmp_path) -> Path:
    from reportgen.core.assets import default_specs_dir

    folder = tmp_path / "specs"
    folder.mkdir()
    for name in ("employment_rate", "volunteering"):
        shutil.copy(default_specs_dir() / f"{name}.yaml", folder / f"{name}.yaml")
    return folder


def test_comparison_trend_and_period_changes_per_area(two_specs):
    specs = read_specs(two_specs)
    previous = frame([
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2021/22", "Similar", "No significant change"),
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2020/21", "Worse", ""),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Worse", "Increasing"),
        ("employment_rate", "E12000001", "North East", "Region", "2021/22", "Worse", ""),
        ("volunteering", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
    ])  # fmt: skip
    current = frame([
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2021/22", "Similar", "No significant change"),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Worse", "Increasing"),
        ("employment_rate", "E12000001", "North East", "Region", "2022/23", "Better", ""),
        ("volunteering", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
    ])  # fmt: skip
    changes = compare_editions(previous, current, specs_digest(specs), specs)
    assert changes == [
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "Comparison with England",
               "Similar", "Better"),
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "New data period",
               "2021/22", "2022/23"),
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "Recent trend",
               "No significant change", "Increasing"),
    ]  # fmt: skip
    assert specs[0].short_name == "Employment rate (16-64)"  # the name the profile shows


def test_indicators_added_retired_and_definitions_revised(two_specs, tmp_path):
    old_specs = specs_digest(read_specs(two_specs))
    old_specs["retired_indicator"] = {"name": "Old indicator", "keys": {}, "sha256": "0" * 64}
    revised = two_specs / "employment_rate.yaml"
    revised.write_text(
        revised.read_text().replace("unit: '%'", "unit: per cent").replace('unit: "%"', "unit: per cent")
    )
    (two_specs / "volunteering.yaml").unlink()
    del old_specs["volunteering"]
    specs = read_specs(two_specs)
    assert specs[0].unit == "per cent"
    rows = [("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "")]
    changes = compare_editions(frame(rows), frame(rows), old_specs, specs)
    found = {(c.area_code, c.indicator_id, c.what, c.before, c.after) for c in changes}
    assert found == {
        ("E06000001", "employment_rate", "Definition revised", "", "Revised: unit"),
        ("E06000001", "retired_indicator", "Indicator retired", "In the previous edition", "No longer included"),
    }


def test_an_added_indicator_is_listed_for_every_area(two_specs):
    specs = read_specs(two_specs)
    old_specs = {k: v for k, v in specs_digest(specs).items() if k != "volunteering"}
    rows = [
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", ""),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Better", ""),
    ]
    changes = compare_editions(frame(rows), frame(rows), old_specs, specs)
    assert [(c.area_code, c.indicator_id, c.what) for c in changes] == [
        ("E06000001", "volunteering", "Indicator added"),
        ("E06000002", "volunteering", "Indicator added"),
    ]


def test_changes_csv_neutralises_formulas():
    changes = [
        Change("E06000001", "=cmd|' /C calc'!A0", "x", "+SUM(1)", "-2", "@A1", "\tTab"),
        Change("E06000002", "Middlesbrough", "y", "Plain", "Recent trend", "Increasing", "\rCR"),
    ]
    rows = list(csv.reader(io.StringIO(changes_csv(changes).decode("utf-8"), newline="")))
    assert rows[0] == ["area_code", "area_name", "indicator_id", "indicator", "what", "before", "after"]
    assert rows[1] == ["E06000001", "'=cmd|' /C calc'!A0", "x", "'+SUM(1)", "'-2", "'@A1", "'\tTab"]
    assert rows[2] == ["E06000002", "Middlesbrough", "y", "Plain", "Recent trend", "Increasing", "'\rCR"]


def test_every_area_gets_its_rows_or_an_empty_list_after_a_first_edition():
    change = Change("E06000001", "Hartlepool", "x", "X", "Recent trend", "a", "b")
    by_area = changes_by_area([change], "2023", ["E06000001", "E06000002"])
    assert by_area["E06000001"] == {
        "previous_edition": "2023",
        "rows": [{"indicator": "X", "what": "Recent trend", "before": "a", "after": "b"}],
    }
    assert by_area["E06000002"] == {"previous_edition": "2023", "rows": []}
    assert changes_by_area([], None, ["E06000001"]) == {"E06000001": None}


def test_previous_edition_is_the_latest_earlier_folder_with_a_benchmark_table(tmp_path):
    for name in ("2022", "2023", "2023-draft-no-table", "2025", "9"):
        (tmp_path / name).mkdir()
        if "no-table" not in name:
            (tmp_path / name / "benchmark.csv").write_text("x\n")
    assert find_previous(tmp_path, "2024", None) == tmp_path / "2023"
    assert find_previous(tmp_path, "2022", None) == tmp_path / "9"  # natural order: 9 < 2022
    assert find_previous(tmp_path / "missing", "2024", None) is None
    assert find_previous(tmp_path, "2024", tmp_path / "2025") == tmp_path / "2025"
    with pytest.raises(ReportgenError, match="no benchmark.csv there"):
        find_previous(tmp_path, "2024", tmp_path / "2023-draft-no-table")


def test_a_benchmark_table_without_the_needed_columns_is_a_clear_error():
    with pytest.raises(ReportgenError, match="missing column\\(s\\) .*compared_to_england"):
        read_benchmark_csv(b"indicator_id,area_code,area_name,area_type,period,recent_trend\n", "old/benchmark.csv")


@pytest.mark.slow
def test_a_run_after_an_earlier_edition_writes_changes_csv_and_the_profile_lists_them(runner, tmp_path):
    specs_dir, data = small_inputs(tmp_path / "inputs")
    specs = read_specs(specs_dir)
    table = compute_benchmark(read_data(data, specs), specs)
    # The earlier edition: the same table with Hartlepool's latest employment comparison "Worse".
    previous = read_benchmark_csv(benchmark_bytes(table, "csv"), "table")
    hit = (previous["area_code"] == HARTLEPOOL) & (previous["indicator_id"] == "employment_rate")
    latest = previous.loc[hit, "period"].max()
    row = hit & (previous["period"] == latest)
    now = previous.loc[row, "compared_to_england"].item()
    assert now != "Worse"
    previous.loc[row, "compared_to_england"] = "Worse"
    old = tmp_path / "out" / "2023"
    old.mkdir(parents=True)
    previous.to_csv(old / "benchmark.csv", index=False)
    (old / "specs.json").write_text(json.dumps(specs_digest(specs), default=str))

    args = ["build", "--area", HARTLEPOOL, "--jobs", "1", "--specs", str(specs_dir), "--data", str(data)]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "2024"
    rows = list(csv.DictReader(io.StringIO((folder / "changes.csv").read_text(encoding="utf-8"))))
    assert rows == [
        {"area_code": HARTLEPOOL, "area_name": "Hartlepool", "indicator_id": "employment_rate",
         "indicator": "Employment rate (16-64)", "what": "Comparison with England", "before": "Worse", "after": now},
    ]  # fmt: skip
    assert json.loads((folder / "run.json").read_text())["previous_edition"] == "2023"
    pdf = pdfium.PdfDocument(folder / "E06000001-hartlepool.pdf")
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "What has changed since 2023" in text
    assert "Comparison with England" in text and "Worse" in text
