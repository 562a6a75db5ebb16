"""Derived series: complements of published Fingertips proportions (``derive`` in a spec)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from benchmark_helpers import dataset, record, spec

from reportgen.core.assets import default_specs_dir
from reportgen.core.errors import SpecError
from reportgen.core.geography import load_geography
from reportgen.core.specs import DeriveParams, load_specs
from reportgen.sources.derive import derive_series
from reportgen.stats.benchmark import benchmark_table

GEO = load_geography()


def derived_spec(**kwargs):
    base = spec(id_="not_lonely", fingertips_id=None, **kwargs)
    return dataclasses.replace(base, derive=DeriveParams(93758, "complement", base.sex, base.age))


def source_rows():
    """A published 'feel lonely' series: Hartlepool 30.0% (28.0 to 32.5), England 22.0%."""
    rows = [
        record(
            "E06000001",
            value=30.0,
            lower=28.0,
            upper=32.5,
            lower998=26.5,
            upper998=34.0,
            count=300,
            denominator=1000,
            indicator="93758",
            note="Estimate from a small sample",
        ),
        record(
            "E92000001", value=22.0, lower=21.9, upper=22.1, count=220_000, denominator=1_000_000, indicator="93758"
        ),
    ]
    rows[0]["Recent Trend"] = "Increasing and getting worse"
    rows[0]["Compared to England value or percentiles"] = "Worse"
    return rows


def test_complement_against_hand_computed_values():
    data = derive_series(dataset(source_rows()), [derived_spec()])
    row = data.frame[(data.frame["indicator_id"] == "not_lonely") & (data.frame["area_code"] == "E06000001")].iloc[0]
    # 100 - 30.0 = 70.0; limits swap: 100 - 32.5 = 67.5 and 100 - 28.0 = 72.0; 99.8%: 66.0 and 73.5.
    assert row["value"] == 70.0
    assert (row["lower_ci_95"], row["upper_ci_95"]) == (67.5, 72.0)
    assert (row["lower_ci_99_8"], row["upper_ci_99_8"]) == (66.0, 73.5)
    assert row["count"] == 700 and row["denominator"] == 1000
    assert row["value_note"] == "Estimate from a small sample"
    assert row["recent_trend"] == "" and row["compared_to_england"] == ""
    england = data.frame[(data.frame["indicator_id"] == "not_lonely") & (data.frame["area_code"] == "E92000001")]
    assert england.iloc[0]["value"] == 78.0 and england.iloc[0]["count"] == 780_000


def test_derived_series_is_compared_with_its_own_polarity():
    table = benchmark_table(derive_series(dataset(source_rows()), [derived_spec()]), [derived_spec()], GEO)
    local = table[table["area_code"] == "E06000001"].iloc[0]
    # Not lonely: 70.0 (67.5 to 72.0) against England 78.0, high is good -> Worse (recomputed, not carried).
    assert local["value"] == 70.0 and local["england_value"] == 78.0
    assert local["compared_to_england"] == "Worse"
    assert local["recent_trend"] == "Cannot be calculated"


def test_local_rows_under_the_spec_id_win():
    rows = source_rows() + [record("E06000001", value=55.0, count=550, denominator=1000, indicator="not_lonely")]
    data = derive_series(dataset(rows), [derived_spec()])
    mine = data.frame[data.frame["indicator_id"] == "not_lonely"]
    assert list(mine["value"]) == [55.0]


def test_missing_source_is_named_by_check(tmp_path, write_spec):
    from reportgen.publish.prepare import check_inputs

    folder = write_spec(fingertips_id=None, derive={"from": 93758, "transform": "complement"})
    csv = tmp_path / "data.csv"
    csv.write_text("Indicator ID,Area Code,Sex,Age,Time period,Value\n1,E92000001,Persons,All ages,2022,5\n")
    report = check_inputs(folder, csv)
    messages = " ".join(p.message for p in report.problems)
    assert "93758 (the Fingertips series it is derived from)" in messages


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"derive": {"from": 93758, "transform": "complement"}}, "either fingertips_id"),
        (
            {"fingertips_id": None, "value_type": "crude_rate", "derive": {"from": 1, "transform": "complement"}},
            "for proportions",
        ),
        ({"fingertips_id": None, "derive": {"from": 1, "transform": "invert"}}, "'invert' is not allowed"),
        ({"fingertips_id": None, "derive": {"from": 1, "transform": "complement", "sexx": "x"}}, "allowed keys are"),
    ],
)
def test_bad_derive_blocks_are_located(write_spec, overrides, expected):
    folder = write_spec(**overrides)
    with pytest.raises(SpecError) as caught:
        load_specs(folder)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert expected in text and "sample_indicator.yaml:" in text


def test_derive_sex_and_age_default_to_the_spec(write_spec):
    folder = write_spec(fingertips_id=None, derive={"from": 22304, "transform": "complement", "age": "16-64 yrs"})
    (loaded,) = load_specs(folder)
    assert loaded.derive == DeriveParams(22304, "complement", "Persons", "16-64 yrs")
    assert loaded.source_key == "22304" and "22304" in loaded.derivation_note


def test_catalogue_sources():
    specs = {s.id: s for s in load_specs(default_specs_dir())}
    published = [s for s in specs.values() if s.fingertips_id or s.derive]
    assert len(published) == 20
    assert specs["low_anxiety"].derive.source_id == 22304
    assert specs["young_people_in_eet"].derive.source_id == 93203
    assert all(s.source_url for s in specs.values())


def test_demo_writes_derived_specs_under_their_source(demo_csv):
    from reportgen.sources.data import load_indicator_data

    raw = load_indicator_data(demo_csv, GEO).frame
    assert "93758" in set(raw["indicator_id"]) and "adults_not_lonely" not in set(raw["indicator_id"])
    specs = [s for s in load_specs(default_specs_dir()) if s.id == "adults_not_lonely"]
    derived = derive_series(load_indicator_data(demo_csv, GEO), specs).frame
    mine = derived[derived["indicator_id"] == "adults_not_lonely"]
    source = raw[raw["indicator_id"] == "93758"]
    assert np.allclose(np.sort(mine["value"].dropna()), np.sort(100 - source["value"].dropna()))


@pytest.mark.slow
def test_definitions_page_says_how_a_figure_was_derived(tmp_path):
    import pypdfium2 as pdfium

    from reportgen.core.options import BuildOptions
    from reportgen.publish.build import build_profile

    result = build_profile("Hartlepool", None, BuildOptions(out_dir=tmp_path))
    pdf = pdfium.PdfDocument(str(result.path))
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    text = " ".join(text.split())
    assert "Computed by reportgen as 100 minus Fingertips indicator 93758" in text


def test_derive_block_can_name_the_source_sex_and_age():
    rows = source_rows()
    for row in rows:
        row["Age"] = "16-64 yrs"
    base = spec(id_="not_lonely", fingertips_id=None, age="16+ yrs")
    derived = dataclasses.replace(base, derive=DeriveParams(93758, "complement", "Persons", "16-64 yrs"))
    data = derive_series(dataset(rows), [derived])
    mine = data.frame[data.frame["indicator_id"] == "not_lonely"]
    assert set(mine["age"]) == {"16+ yrs"} and sorted(mine["value"]) == [70.0, 78.0]
    wrong_age = dataclasses.replace(base, derive=DeriveParams(93758, "complement", "Persons", "18+ yrs"))
    assert "not_lonely" not in set(derive_series(dataset(rows), [wrong_age]).frame["indicator_id"])
