"""Real Fingertips downloads read as they are (website variants), and several --data files merged."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from pathlib import Path

import pytest

from reportgen.cli import cli
from reportgen.core.errors import DataError
from reportgen.core.specs import load_specs
from reportgen.document.context import _clean_note
from reportgen.publish.prepare import compute_benchmark
from reportgen.sources.data import (
    AREA_CODE,
    AREA_NAME,
    COMPARED_ENGLAND,
    COMPARED_PARENT,
    COUNT,
    DENOMINATOR,
    FINGERTIPS_HEADER,
    LOWER_95,
    UPPER_95,
    VALUE,
    VALUE_NOTE,
    load_data_files,
    load_indicator_data,
    note_text,
)

DISPLAY = [display for _, display in FINGERTIPS_HEADER[:26]]


def website_file(tmp_path: Path, rows: list[dict[str, str]], name="download.csv", column_23=None, area_name="AreaName"):
    """A "compare areas" download: BOM, every field quoted, ``AreaName``, a column-23 variant."""
    header = [area_name if h == "Area Name" else h for h in DISPLAY]
    if column_23:
        header[22] = column_23
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for cells in rows:
        writer.writerow([cells.get(canonical, "") for canonical, _ in FINGERTIPS_HEADER[:26]])
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    return path


def cells(area="E06000001", parent="E12000001", value="50", count="50", denominator="100", **more) -> dict:
    return {
        "indicator_id": "1",
        "indicator_name": "Ind",
        "parent_code": parent,
        "area_code": area,
        "area_name": f"Area {area}",
        "area_type": "Counties & UAs (from Apr 2023)",
        "sex": "Persons",
        "age": "All ages",
        "period": "2022/23",
        "value": value,
        "count": count,
        "denominator": denominator,
        "period_sortable": "20220000",
    } | more


@pytest.mark.parametrize(
    "column_23",
    [
        "Compared to Region value or percentiles",
        "Compared to Regions (statistical) value or percentiles",
        "Compared to parent value or percentiles",
        "Compared to percentiles",
    ],
)
def test_areaname_header_and_every_column_23_variant(tmp_path, column_23):
    path = website_file(
        tmp_path, [cells(compared_to_parent="Better", compared_to_england="Worse")], column_23=column_23
    )
    frame = load_indicator_data(path).frame
    assert frame.loc[0, AREA_NAME] == "Area E06000001"
    assert frame.loc[0, COMPARED_PARENT] == "Better" and frame.loc[0, COMPARED_ENGLAND] == "Worse"


def test_thousands_separators_in_counts_and_denominators(tmp_path):
    path = website_file(tmp_path, [cells(value="0.691", count="1,480", denominator="214,022")])
    frame = load_indicator_data(path).frame
    assert frame.loc[0, COUNT] == 1480 and frame.loc[0, DENOMINATOR] == 214022


@pytest.mark.parametrize("bad", ["1,2", "1,23,4", "12,3456"])
def test_commas_that_are_not_thousands_separators_are_errors(tmp_path, bad):
    path = website_file(tmp_path, [cells(count=bad)])
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: Count: {bad!r} is not a number; use digits with a '.' decimal point, or leave it blank if missing"
    ]


@pytest.mark.parametrize("marker", ['<div class="no-data">-</div>', "-", " - "])
def test_html_and_dash_no_data_markers_are_missing(tmp_path, marker):
    path = website_file(tmp_path, [cells(count=marker, denominator=marker, value="7.5")])
    frame = load_indicator_data(path).frame
    assert math.isnan(frame.loc[0, COUNT]) and math.isnan(frame.loc[0, DENOMINATOR]) and frame.loc[0, VALUE] == 7.5


def test_suppressed_rows_with_minus_one_limits_have_missing_limits(tmp_path):
    note = "Not presented due to small numbers"
    suppressed = cells(area="E06000002", value="", count="", denominator="", value_note=note)
    suppressed |= {"lower_ci_95": "-1", "upper_ci_95": "-1"}
    kept = cells(value="-1", count="", denominator="", lower_ci_95="-1", upper_ci_95="-1")
    frame = load_indicator_data(website_file(tmp_path, [suppressed, kept])).frame.set_index(AREA_CODE)
    assert math.isnan(frame.loc["E06000002", LOWER_95]) and math.isnan(frame.loc["E06000002", UPPER_95])
    # A real value of -1 (e.g. a change indicator) keeps its limits.
    assert frame.loc["E06000001", LOWER_95] == -1 and frame.loc["E06000001", UPPER_95] == -1


def test_england_twice_with_different_comparisons_is_merged(tmp_path):
    england = {"area": "E92000001", "value": "40", "count": "400", "denominator": "1000", "area_type": "Country"}
    rows = [
        cells(parent="", compared_to_england="Not compared", **england),
        cells(parent="E92000001", compared_to_england="", compared_to_parent="Similar", **england),
        cells(),
    ]
    frame = load_indicator_data(website_file(tmp_path, rows)).frame
    assert list(frame[AREA_CODE]) == ["E92000001", "E06000001"]


def test_england_twice_with_different_numbers_is_a_conflict(tmp_path):
    england = {"area": "E92000001", "count": "400", "denominator": "1000", "area_type": "England"}
    rows = [cells(parent="", value="40", **england), cells(parent="E92000001", value="41", **england)]
    path = website_file(tmp_path, rows)
    with pytest.raises(DataError) as info:
        load_indicator_data(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:3: conflicting duplicate rows (lines 2, 3) for indicator 1, area E92000001, period 2022/23: "
        "the numbers differ; keep one row"
    ]


@pytest.mark.parametrize(
    ("england", "region", "authority"),
    [
        ("England", "Region", "County & UA"),
        ("Country", "Regions (statistical)", "Upper tier local authorities (post 4/23)"),
        ("England", "Government Office Region (E12)", "County & UA (4/19-3/20)"),
        ("", "", ""),
    ],
)
def test_areas_are_identified_by_code_not_type_name(tmp_path, write_spec, england, region, authority):
    folder = write_spec(fingertips_id=1, age="All ages", multiplier=100)
    rows = [
        cells(area="E92000001", parent="", area_type=england, value="40", count="400", denominator="1000"),
        cells(area="E12000001", parent="E92000001", area_type=region, value="45", count="45", denominator="100"),
        cells(area="E06000001", area_type=authority),
    ]
    data = load_indicator_data(website_file(tmp_path, rows))
    table = compute_benchmark(data, load_specs(folder)).set_index("area_code")
    assert table.loc["E92000001", "area_type"] == "England"
    assert table.loc["E12000001", "area_type"] == "Region"
    assert table.loc["E06000001", "area_type"] == "UTLA" and table.loc["E06000001", "region_code"] == "E12000001"


def test_html_value_notes_show_as_text_and_stay_raw_in_the_table(tmp_path):
    raw = "<b>Note:</b> value for Cornwall &amp; Isles of Scilly<br/>combined"
    frame = load_indicator_data(website_file(tmp_path, [cells(value_note=raw)])).frame
    assert frame.loc[0, VALUE_NOTE] == raw
    assert note_text(raw) == "Note: value for Cornwall & Isles of Scilly combined"
    assert _clean_note(raw) == "Note: value for Cornwall & Isles of Scilly combined"
    assert note_text("plain note") == "plain note" and note_text(float("nan")) == ""


# Several --data files


def test_real_regional_exports_merge_their_repeated_england_and_region_rows(validation_dir):
    files = sorted((validation_dir / "fingertips").glob("jezzaay_*.csv"))
    separate = [load_indicator_data(f) for f in files]
    merged = load_data_files(files)
    keys = ["indicator_id", "area_code", "sex", "age", "period"]
    distinct = {tuple(r) for d in separate for r in d.frame[keys].itertuples(index=False)}
    assert len(merged.frame) == len(distinct) < sum(len(d.frame) for d in separate)
    assert (merged.frame["area_code"] == "E92000001").sum() == 5
    expected = hashlib.sha256("\n".join(sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)).encode())
    assert merged.sha256 == expected.hexdigest()


def test_a_folder_means_its_csv_files_sorted(validation_dir, tmp_path):
    folder = validation_dir / "fingertips"
    assert load_data_files(folder).sha256 == load_data_files(sorted(folder.glob("*.csv"))).sha256
    one = validation_dir / "fingertips" / "jezzaay_mental-health-analysis__suicides__north_east.csv"
    single = load_data_files([one])
    assert single.sha256 == hashlib.sha256(one.read_bytes()).hexdigest() and single.path == str(one)


def test_conflicts_across_files_name_both_files_and_lines(tmp_path):
    first = website_file(tmp_path, [cells(), cells(area="E06000002")], name="a.csv")
    second = website_file(tmp_path, [cells(area="E06000003"), cells(area="E06000002", value="51")], name="b.csv")
    with pytest.raises(DataError) as info:
        load_data_files([first, second])
    assert [str(p) for p in info.value.problems] == [
        f"{second}:3: conflicting duplicate rows ({first}:3, {second}:3) for indicator 1, area E06000002, "
        "period 2022/23: the numbers differ; keep one row"
    ]


def test_benchmark_of_split_files_equals_benchmark_of_the_whole(runner, demo_csv, tmp_path):
    lines = demo_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    (tmp_path / "part1.csv").write_text(header + "".join(body[: len(body) // 2 + 50]), encoding="utf-8")
    (tmp_path / "part2.csv").write_text(header + "".join(body[len(body) // 2 :]), encoding="utf-8")
    whole = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--area", "E06000001"])
    split = runner.invoke(
        cli,
        [
            "benchmark",
            "--data",
            str(tmp_path / "part2.csv"),
            "--data",
            str(tmp_path / "part1.csv"),
            "--area",
            "E06000001",
        ],
    )
    assert whole.exit_code == 0 and split.exit_code == 0, split.output
    key = lambda r: (r["indicator_id"], r["period"])  # noqa: E731
    assert sorted(csv.DictReader(io.StringIO(split.stdout)), key=key) == sorted(
        csv.DictReader(io.StringIO(whole.stdout)), key=key
    )


def test_check_with_several_files_lists_indicators_missing_from_all(runner, tmp_path, write_spec):
    folder = write_spec(fingertips_id=1, age="All ages")
    write_spec(name="other", id="other", fingertips_id=2, age="All ages")
    first = website_file(tmp_path, [cells()], name="a.csv")
    second = website_file(tmp_path, [cells(area="E06000002")], name="b.csv")
    result = runner.invoke(cli, ["check", "--specs", str(folder), "--data", str(first), "--data", str(second)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"a.csv, b.csv: other: indicator missing from the data: no rows have Indicator ID 2. "
        f"Add the data or check the spec's sex and age ({folder / 'other.yaml'}).",
        "Checked 2 spec(s) and 2 data row(s): 1 error(s), 0 warning(s).",
    ]


@pytest.mark.slow
def test_build_from_a_folder_of_files_records_the_combined_hash(runner, demo_csv, tmp_path):
    import json

    import pikepdf

    folder = tmp_path / "exports"
    folder.mkdir()
    lines = demo_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    parts = [folder / "a.csv", folder / "b.csv"]
    parts[0].write_text(header + "".join(body[::2]), encoding="utf-8")
    parts[1].write_text(header + "".join(body[1::2]), encoding="utf-8")
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--data", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with pikepdf.open(Path(result.stdout.strip())) as pdf:
        provenance = json.loads(pdf.attachments["provenance.json"].get_file().read_bytes())
    hashes = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in parts)
    from reportgen.sources.data import load_data_files

    assert load_data_files([folder]).sha256 == hashlib.sha256("\n".join(hashes).encode()).hexdigest()
    assert provenance["data_file"] == "a.csv, b.csv" and len(provenance["inputs_sha256"]) == 64
