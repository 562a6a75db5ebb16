"""Loading Fingertips CSV exports, and clear messages for bad data."""

from __future__ import annotations

import pytest

from reportgen.core.errors import DataError
from reportgen.core.geography import load_geography
from reportgen.core.specs import load_specs
from reportgen.sources.data import (
    AREA_CODE,
    CATEGORY_TYPE,
    COUNT,
    FINGERTIPS_HEADER,
    LINE,
    VALUE,
    check_against_specs,
    load_indicator_data,
    select_series,
)

HEADER = ",".join(display for _, display in FINGERTIPS_HEADER[:26])


def fingertips_files(validation_dir):
    files = sorted((validation_dir / "fingertips").glob("*.csv"))
    assert len(files) == 8
    return files


def test_every_validation_export_loads(validation_dir):
    for path in fingertips_files(validation_dir):
        data = load_indicator_data(path, load_geography())
        frame = data.frame
        with path.open(encoding="utf-8-sig") as handle:
            physical_lines = sum(1 for _ in handle)
        assert 0 < len(frame) < physical_lines
        assert frame[VALUE].dtype == float and frame[COUNT].dtype == float
        assert (frame[AREA_CODE] == "E92000001").any()
        assert frame[LINE].is_monotonic_increasing and frame[LINE].iloc[0] == 2


def test_current_header_with_quoted_newlines_and_categories(validation_dir):
    data = load_indicator_data(validation_dir / "fingertips" / "jargonautical_data-dev__indicators-CountyUA.data.csv")
    frame = data.frame
    assert len(frame) == 852
    assert frame["indicator_name"].iloc[0] == "Campylobacter incidence rate/100,000"
    assert (frame[CATEGORY_TYPE] != "").sum() > 0
    headline = select_series(frame, "93356", "Persons", "All ages")
    assert len(headline) == 3 * (152 + 9 + 1)
    # The second physical line holds a quoted newline, so the next record starts on line 4.
    assert list(frame[LINE].iloc[:2]) == [2, 4]


def test_older_underscore_header(validation_dir):
    data = load_indicator_data(
        validation_dir / "fingertips" / "jezzaay_mental-health-analysis__suicides__north_east.csv"
    )
    rows = select_series(data.frame, "41001", "Male", "10+ yrs")
    assert set(rows["period"]) == {"2015 - 17"}
    assert rows["compared_to_england"].isin(["Similar", "Higher", "Lower", "Not compared"]).all()


def write(tmp_path, body: str, header: str = HEADER, name="data.csv", encoding="utf-8") -> str:
    path = tmp_path / name
    path.write_text(header + "\n" + body, encoding=encoding)
    return path


def row(
    area="E06000001",
    value="50",
    count="50",
    denominator="100",
    period="2022",
    indicator="1",
    parent="E12000001",
    lower="",
    upper="",
):
    cells = [
        indicator,
        "Ind",
        parent,
        "",
        area,
        "Name",
        "County & UA",
        "Persons",
        "All ages",
        "",
        "",
        period,
        value,
        lower,
        upper,
        "",
        "",
        count,
        denominator,
        "",
        "",
        "",
        "",
        "20220000",
        "",
        "",
    ]
    return ",".join(cells) + "\n"


def messages(tmp_path, body, **kwargs):
    with pytest.raises(DataError) as info:
        load_indicator_data(write(tmp_path, body, **kwargs))
    return info.value.message, [str(p) for p in info.value.problems]


def test_bom_and_blank_values(tmp_path):
    path = write(tmp_path, row(value="", count="", denominator=""), encoding="utf-8-sig")
    frame = load_indicator_data(path).frame
    assert frame[VALUE].isna().all() and frame["indicator_id"].iloc[0] == "1"


def test_short_rows_are_padded(tmp_path):
    path = write(tmp_path, row().rstrip("\n").rsplit(",", 1)[0] + "\n")
    assert len(load_indicator_data(path).frame) == 1


def test_non_numeric_value_names_line_and_column(tmp_path):
    _, found = messages(tmp_path, row() + row(area="E06000002", count="abc"))
    assert found == [
        f"{tmp_path / 'data.csv'}:3: Count: 'abc' is not a number; use digits with a '.' decimal point, or leave it blank if missing"
    ]


def test_negative_count_and_denominator(tmp_path):
    _, found = messages(tmp_path, row(count="-1") + row(area="E06000002", denominator="-5"))
    assert found[0].endswith(":2: Count: -1 is negative; counts must be 0 or more")
    assert found[1].endswith(":3: Denominator: -5 is negative; denominators must be 0 or more")


def test_swapped_limits(tmp_path):
    _, found = messages(tmp_path, row(lower="60", upper="40"))
    assert found == [
        f"{tmp_path / 'data.csv'}:2: Lower CI 95.0 limit: 60 is greater than the upper 95% limit; check the two limits are not swapped"
    ]


def test_duplicates_differing_only_by_parent_are_merged(tmp_path):
    path = write(tmp_path, row(parent="E92000001") + row(parent="E12000001"))
    frame = load_indicator_data(path).frame
    assert len(frame) == 1 and frame["parent_code"].iloc[0] == "E12000001"


def test_conflicting_duplicates(tmp_path):
    _, found = messages(tmp_path, row() + row(value="51"))
    assert found == [
        f"{tmp_path / 'data.csv'}:3: conflicting duplicate rows (lines 2, 3) for indicator 1, area E06000001, "
        "period 2022: the numbers differ; keep one row"
    ]


def test_missing_required_columns(tmp_path):
    message, _ = messages(tmp_path, "1,2\n", header="Indicator ID,Area Code")
    assert message.startswith(f"{tmp_path / 'data.csv'}:1: missing required column(s): Sex, Age, Time period, Value.")


def test_extra_fields_are_an_error(tmp_path):
    _, found = messages(tmp_path, row().rstrip("\n") + ",surplus\n")
    assert found == [f"{tmp_path / 'data.csv'}:2: has 27 fields but the header has 26; check quoting and commas"]


def test_not_utf8_and_empty_and_missing(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + row(area="E06000001").replace("Name", "Caf\xe9")).encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text"):
        load_indicator_data(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load_indicator_data(empty)
    with pytest.raises(DataError, match="does not exist"):
        load_indicator_data(tmp_path / "nothing.csv")


def test_unknown_area_codes_are_a_warning(tmp_path):
    path = write(tmp_path, row(area="E06000999") + row(area="E06000001"))
    data = load_indicator_data(path, load_geography())
    (warning,) = data.warnings
    assert warning.severity == "warning" and "E06000999" in warning.message and len(data.frame) == 2


def test_spec_checks_count_over_denominator_and_missing_series(tmp_path, write_spec):
    folder = write_spec(fingertips_id=1, age="All ages")
    write_spec(name="other", id="other", fingertips_id=2, age="All ages")
    specs = load_specs(folder)
    data = load_indicator_data(
        write(tmp_path, row(count="120", denominator="100") + row(area="E06000002", denominator="0"))
    )
    found = [str(p) for p in check_against_specs(data, specs)]
    assert any(
        m.endswith(
            ":2: Count: 120 is greater than the denominator 100; sample_indicator is a proportion, so the count cannot exceed it"
        )
        for m in found
    )
    assert any(
        m.endswith(
            ":3: Denominator: is 0 for sample_indicator; a proportion needs a positive denominator (leave it blank if unknown)"
        )
        for m in found
    )
    assert any("other: indicator missing from the data: no rows have Indicator ID 2" in m for m in found)
