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
from national_helpers import HARTLEPOOL, HULL, small_inputs

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
    for name in ("employment_rate", "walking_for_travel"):
        shutil.copy(default_specs_dir() / f"{name}.yaml", folder / f"{name}.yaml")
    return folder


def test_comparison_trend_and_period_changes_per_area(two_specs):
    specs = read_specs(two_specs)
    previous = frame([
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2021/22", "Similar", "No significant change"),
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2020/21", "Worse", ""),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Worse", "Increasing"),
        ("employment_rate", "E12000001", "North East", "Region", "2021/22", "Worse", ""),
        ("walking_for_travel", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
    ])  # fmt: skip
    current = frame([
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2021/22", "Similar", "No significant change"),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Worse", "Increasing"),
        ("employment_rate", "E12000001", "North East", "Region", "2022/23", "Better", ""),
        ("walking_for_travel", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "Increasing"),
    ])  # fmt: skip
    changes = compare_editions(previous, current, specs_digest(specs), specs)
    periods = ("", "2021/22", "", "2022/23")  # these tables have no values
    assert changes == [
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "Comparison with England",
               "Similar", "Better", *periods),
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "New data period",
               "2021/22", "2022/23", *periods),
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "Recent trend",
               "No significant change", "Increasing", *periods),
    ]  # fmt: skip
    assert specs[0].short_name == "Employment rate (16-64)"  # the name the profile shows


def test_indicators_added_retired_and_definitions_revised(two_specs, tmp_path):
    old_specs = specs_digest(read_specs(two_specs))
    old_specs["retired_indicator"] = {"name": "Old indicator", "keys": {}, "sha256": "0" * 64}
    revised = two_specs / "employment_rate.yaml"
    revised.write_text(
        revised.read_text().replace("unit: '%'", "unit: per cent").replace('unit: "%"', "unit: per cent")
    )
    (two_specs / "walking_for_travel.yaml").unlink()
    del old_specs["walking_for_travel"]
    specs = read_specs(two_specs)
    assert specs[0].unit == "per cent"
    rows = [("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "")]
    changes = compare_editions(frame(rows), frame(rows), old_specs, specs)
    found = {(c.area_code, c.indicator_id, c.what, c.before, c.after) for c in changes}
    assert found == {
        ("E06000001", "employment_rate", "Definition revised", "", "Revised: unit"),
        ("E06000001", "retired_indicator", "Indicator retired", "In the previous edition", "No longer included"),
    }


def test_a_derived_figures_new_source_series_is_a_revised_definition(two_specs, tmp_path):
    """``derive`` (and an ELS source) define an indicator: changing the series it comes from is listed."""
    from reportgen.core.assets import default_specs_dir
    from reportgen.publish.changes import DEFINITION_KEYS

    shutil.copy(default_specs_dir() / "children_not_in_low_income.yaml", two_specs)
    old = two_specs / "children_not_in_low_income.yaml"
    old.write_text(old.read_text().replace("from: 93700", "from: 93701"))
    old_specs = specs_digest(read_specs(two_specs))
    old.write_text(old.read_text().replace("from: 93701", "from: 93700"))
    specs = read_specs(two_specs)
    rows = frame([("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "")])
    changes = compare_editions(rows, rows, old_specs, specs)
    assert {(c.indicator_id, c.after) for c in changes} == {("children_not_in_low_income", "Revised: derive")}
    # a spec without the optional keys keeps the digest earlier editions wrote: no key was added to it
    assert set(specs_digest(specs)["employment_rate"]["keys"]) == set(DEFINITION_KEYS)


def test_an_added_indicator_is_listed_for_every_area(two_specs):
    specs = read_specs(two_specs)
    old_specs = {k: v for k, v in specs_digest(specs).items() if k != "walking_for_travel"}
    rows = [
        ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", ""),
        ("employment_rate", "E06000002", "Middlesbrough", "UTLA", "2022/23", "Better", ""),
    ]
    changes = compare_editions(frame(rows), frame(rows), old_specs, specs)
    assert [(c.area_code, c.indicator_id, c.what) for c in changes] == [
        ("E06000001", "walking_for_travel", "Indicator added"),
        ("E06000002", "walking_for_travel", "Indicator added"),
    ]


def test_changes_csv_neutralises_formulas():
    changes = [
        Change("E06000001", "=cmd|' /C calc'!A0", "x", "+SUM(1)", "-2", "@A1", "\tTab"),
        Change("E06000002", "Middlesbrough", "y", "Plain", "Recent trend", "Increasing", "\rCR"),
    ]
    rows = list(csv.reader(io.StringIO(changes_csv(changes).decode("utf-8"), newline="")))
    assert rows[0] == [
        "area_code", "area_name", "indicator_id", "indicator", "what", "before", "after",
        "before_value", "before_period", "after_value", "after_period",
    ]  # fmt: skip
    assert rows[1] == ["E06000001", "'=cmd|' /C calc'!A0", "x", "'+SUM(1)", "'-2", "'@A1", "'\tTab", "", "", "", ""]
    assert rows[2] == [
        "E06000002",
        "Middlesbrough",
        "y",
        "Plain",
        "Recent trend",
        "Increasing",
        "'\rCR",
        "",
        "",
        "",
        "",
    ]


def test_every_area_gets_its_rows_or_an_empty_list_after_a_first_edition():
    change = Change("E06000001", "Hartlepool", "x", "X", "Recent trend", "a", "b")
    by_area = changes_by_area([change], "2023", ["E06000001", "E06000002"])
    assert by_area["E06000001"] == {
        "previous_edition": "2023",
        "rows": [
            {"indicator_id": "x", "indicator": "X", "what": "Recent trend", "before": "a", "after": "b",
             "before_value": "", "before_period": "", "after_value": "", "after_period": ""},
        ],
    }  # fmt: skip
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
    value = f"{float(previous.loc[row, 'value'].item()):.1f}"
    assert rows == [
        {"area_code": HARTLEPOOL, "area_name": "Hartlepool", "indicator_id": "employment_rate",
         "indicator": "Employment rate (16-64)", "what": "Comparison with England", "before": "Worse", "after": now,
         "before_value": value, "before_period": latest, "after_value": value, "after_period": latest},
    ]  # fmt: skip
    assert json.loads((folder / "run.json").read_text())["previous_edition"] == "2023"
    pdf = pdfium.PdfDocument(folder / "E06000001-hartlepool.pdf")
    text = " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    assert "What has changed since the 2023 edition" in text
    assert "Changes since the 2023 edition." not in text  # said once, in the heading
    assert "Comparison with England" in text and "Worse" in text
    assert f"{value}% in {latest}" in text  # the values and periods, not only the labels
    assert "Since the 2023 edition: 1 comparison with England changed." in text  # page 1


def test_a_revised_value_with_the_same_period_and_comparison_is_listed_with_both_values(two_specs):
    specs = read_specs(two_specs)
    columns = [*COLUMNS, "value"]
    previous = pd.DataFrame(
        [
            ("employment_rate", "E06000001", "Hartlepool", "UTLA", "2022/23", "Similar", "", "72.04"),
            ("walking_for_travel", "E06000001", "Hartlepool", "UTLA", "2022/23", "Better", "", "21.01"),
        ],
        columns=columns,
    )
    current = previous.copy()
    current.loc[0, "value"] = "72.44"  # revised: 72.0 -> 72.4 at the spec's one decimal
    current.loc[1, "value"] = "21.04"  # the same at one decimal: not a change
    changes = compare_editions(previous, current, specs_digest(specs), specs)
    assert changes == [
        Change("E06000001", "Hartlepool", "employment_rate", "Employment rate (16-64)", "Value revised",
               "72.0", "72.4", "72.0", "2022/23", "72.4", "2022/23"),
    ]  # fmt: skip
    current.loc[0, "compared_to_england"] = "Better"  # a changed comparison carries the values instead
    changed = compare_editions(previous, current, specs_digest(specs), specs)
    assert [(c.what, c.before_value, c.after_value) for c in changed] == [("Comparison with England", "72.0", "72.4")]


def _page_text(path: Path) -> str:
    pdf = pdfium.PdfDocument(path)
    return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))


@pytest.mark.slow
def test_a_one_area_build_finds_the_earlier_edition_or_says_none_was_found(runner, tmp_path):
    """Issue 17: a one-area build of 2025 beside a 2024 edition lists its changes; it never claims a first edition."""
    specs_dir, data = small_inputs(tmp_path / "inputs")
    inputs = ["--specs", str(specs_dir), "--data", str(data)]
    out = tmp_path / "out"
    # The 2024 edition by a national run (it keeps benchmark.csv), with Hartlepool's employment rate revised.
    national = ["build", "--area", HARTLEPOOL, "--area", HULL, "--jobs", "1", "--edition", "2024", *inputs]
    assert runner.invoke(cli, [*national, "--out", str(out)], catch_exceptions=False).exit_code == 0
    table = pd.read_csv(out / "2024" / "benchmark.csv", dtype=str, keep_default_na=False)
    hit = (table["area_code"] == HARTLEPOOL) & (table["indicator_id"] == "employment_rate")
    row = hit & (table["period"] == table.loc[hit, "period"].max())
    table.loc[row, "value"] = str(float(table.loc[row, "value"].item()) - 0.5)
    table.to_csv(out / "2024" / "benchmark.csv", index=False)

    single = ["build", "--area", HARTLEPOOL, "--edition", "2025", *inputs]
    result = runner.invoke(cli, [*single, "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = _page_text(out / "2025" / "E06000001-hartlepool.pdf")
    assert "first edition" not in text
    assert "What has changed since the 2024 edition" in text
    assert "Values revised, comparison unchanged" in text
    assert "Since the 2024 edition: 1 value revised (same comparison)." in text

    alone = tmp_path / "alone"
    result = runner.invoke(cli, [*single, "--out", str(alone)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = _page_text(alone / "2025" / "E06000001-hartlepool.pdf")
    assert "first edition" not in text
    assert "No earlier edition of this profile was found in the output folder of this 2025 edition" in text
    assert "alone" not in text  # no folder name or path: the bytes do not depend on where it is written

    # An earlier edition folder written by one-area builds has no benchmark table: the profile says so.
    result = runner.invoke(cli, [*single[:4], "2026", *inputs, "--out", str(alone)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = _page_text(alone / "2026" / "E06000001-hartlepool.pdf")
    assert "An earlier edition (2025) is in the same output folder, but without its benchmark table" in text


def test_a_changes_csv_from_before_the_value_columns_is_still_read_back(tmp_path):
    """An edition's changes.csv written before the before/after value columns existed keeps its rows
    when a later run of the same edition rebuilds other areas: the values are simply empty."""
    from reportgen.publish import changes, national

    old_columns = changes.CHANGES_COLUMNS[:7]
    path = tmp_path / "changes.csv"
    rows = [[HARTLEPOOL, "Hartlepool", "90000", "Employment", "Comparison with England", "Worse", "Similar"]]
    path.write_bytes("\n".join(",".join(r) for r in [list(old_columns), *rows]).encode("utf-8") + b"\n")
    report = national.RunReport("2024", "2024-03-31", tmp_path)
    kept = national._earlier_changes(path, {HARTLEPOOL}, report)
    assert report.warnings == []
    assert len(kept) == 1 and kept[0].before == "Worse" and kept[0].after == "Similar"
    assert kept[0].before_value == "" and kept[0].after_period == ""
    path.write_bytes(b"area_code,what\nE06000001,x\n")  # not a changes table: said, not guessed
    assert national._earlier_changes(path, {HARTLEPOOL}, report) == []
    assert "not a changes table" in report.warnings[0]
