"""Reading ONS Explore Local Statistics files as published (tests/data/els, real files, OGL v3)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pytest

from reportgen.core.geography import load_geography
from reportgen.core.periods import period_sort_key
from reportgen.sources import els
from reportgen.sources.data import (
    AREA_CODE,
    INDICATOR_ID,
    LOWER_95,
    PERIOD,
    UPPER_95,
    VALUE,
    VALUE_NOTE,
    load_indicator_data,
    parse_indicator_csv,
)

ELS = Path(__file__).parent / "data" / "els"
CATALOGUE = Path(__file__).resolve().parents[1] / "indicator_specs"
TARGET = els.Target("my_indicator", "Persons", "All ages")


def table(slug: str) -> els.ElsTable:
    return els.read_els_csv((ELS / slug / f"{slug}.csv").read_bytes(), slug)


def raw_rows(slug: str) -> list[dict[str, str]]:
    text = (ELS / slug / f"{slug}.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def frame_of(slug: str, indicator: str):
    selection = els.select_upper_tier(table(slug), indicator, load_geography())
    text = els.fingertips_csv_text(selection, TARGET, load_geography())
    return selection, parse_indicator_csv(io.StringIO(text), slug, load_geography()).frame


# --- periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "label", "years"),
    [
        ("2023-04-01/P1Y", "2023/24", 1),  # financial year
        ("2023-01-01/P1Y", "2023", 1),  # calendar year
        ("2022-01-01/P3Y", "2022 - 24", 3),  # rolling three years
        ("2022-04-01/P3Y", "2022/23 - 24/25", 3),  # three financial years
        ("2019-01-01/P5Y", "2019 - 23", 5),
        ("2023-09-01/P1Y", "2023/24", 1),  # academic year
        ("2015-11-16/P1Y", "2015/16", 1),  # Active Lives year (mid-November)
        ("2023-10-05", "Oct 2023", 1),  # a single date
        ("2023-07-01/P1M", "Jul 2023", 1),  # a month
    ],
)
def test_every_period_form_gets_a_fingertips_style_label_that_sorts(period, label, years):
    got = els.els_period(period)
    assert got.label == label
    assert got.sortable == period[:10].replace("-", "")
    parsed_years = [p for p in (label,)]
    assert period_sort_key(parsed_years[0])[0] == int(period[:4])  # the label parses to its start year
    if "/P" in period:
        assert got.range.startswith(period.split("/P")[1][:-1])


def test_single_dates_sort_by_date_within_a_year():
    labels = els._labels({"2026-04-01", "2026-01-01", "2025-04-30"})
    ordered = sorted((v.label for v in labels.values()), key=period_sort_key)
    assert ordered == ["Apr 2025", "Jan 2026", "Apr 2026"]
    same_month = els._labels({"2026-01-01", "2026-01-15"})
    assert sorted(v.label for v in same_month.values()) == ["1 Jan 2026", "15 Jan 2026"]


@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("2023-01-01/P6M", "only one-month periods"),
        ("2023-01-01/P2W", "not a form reportgen reads"),
        ("2023-01-01/2023-06-30", "not a form reportgen reads"),
        ("2023", "not a form reportgen reads"),
        ("2023-02-30", "not a real date"),
        ("2010-01-01/P20Y", "20 years is not read"),
    ],
)
def test_other_iso_forms_are_refused_with_a_reason(period, why):
    with pytest.raises(ValueError, match=why):
        els.els_period(period)


# --- the real files --------------------------------------------------------------------------------

REAL = [
    ("library-walk", "Residents within a 30 minute walk of their nearest library"),
    ("sports-facilities", "Sports facilities"),
    ("museums", "museums"),
    ("gigabit-capable-broadband", "Gigabit capable broadband"),
    ("railway-station-walk", "Residents within a 30 minute walk of their nearest railway station"),
    ("engagement-with-culture-and-heritage", "Visited a public library"),
    ("environment-regulating", "Air pollution regulating"),
    ("qualifications-level-3-or-above", "Level 3 or above qualifications (Great Britain)"),
    ("personal-wellbeing-estimates", "Satisfaction"),
    ("healthy-life-expectancy", "Female healthy life expectancy"),
    (
        "pupils-at-expected-standards-by-end-of-primary-school",
        "Pupils meeting the expected standard in reading, writing and maths",
    ),
]


@pytest.mark.parametrize(("slug", "indicator"), REAL)
def test_a_real_file_becomes_the_frame_the_fingertips_reader_produces(slug, indicator, validation_dir):
    selection, frame = frame_of(slug, indicator)
    fingertips = load_indicator_data(validation_dir / "fingertips/jargonautical_data-dev__indicators-CountyUA.data.csv")
    assert set(fingertips.frame.columns) <= set(frame.columns)  # that export lacks 'Time period range'
    for column in fingertips.frame.columns:
        assert frame[column].dtype == fingertips.frame[column].dtype, column
    assert set(frame[INDICATOR_ID]) == {"my_indicator"}
    kinds = {load_geography().lookup(code) is not None for code in frame[AREA_CODE]}
    assert kinds == {True}  # only England, regions and current upper-tier authorities
    assert "E92000001" in set(frame[AREA_CODE])
    # every row's value is the file's own row for that code and period: nothing is summed
    published = {
        (r["areacd"], els.els_period(r["period"]).sortable): r["observation"]
        for r in raw_rows(slug)
        if r["indicator"] == indicator
    }
    for row, code, _ in selection.rows:
        assert published[(row.code, els.els_period(row.period).sortable)] == row.value
        assert code == els.CODE_CHANGES.get(row.code, row.code)


def test_confidence_limits_are_used_as_published():
    _, frame = frame_of("qualifications-level-3-or-above", "Level 3 or above qualifications (Great Britain)")
    source = {(r["areacd"], r["period"]): r for r in raw_rows("qualifications-level-3-or-above")}
    hartlepool = frame[(frame[AREA_CODE] == "E06000001") & (frame[PERIOD] == "2023")].iloc[0]
    raw = source[("E06000001", "2023-01-01/P1Y")]
    assert hartlepool[VALUE] == float(raw["observation"])
    assert (hartlepool[LOWER_95], hartlepool[UPPER_95]) == (float(raw["lci_95"]), float(raw["uci_95"]))
    assert els.select_upper_tier(
        table("healthy-life-expectancy"), "Male healthy life expectancy", load_geography()
    ).has_ci


def test_a_dataset_without_confidence_intervals_has_none():
    selection, frame = frame_of("library-walk", "Residents within a 30 minute walk of their nearest library")
    assert not selection.has_ci
    assert frame[LOWER_95].isna().all() and frame[UPPER_95].isna().all()


def test_status_codes_and_notes_become_value_notes():
    rows = raw_rows("qualifications-level-3-or-above")
    withheld = next(r for r in rows if r["status"] == "x" and r["areacd"][:3] in ("E06", "E08", "E09", "E10"))
    _, frame = frame_of("qualifications-level-3-or-above", "Level 3 or above qualifications (Great Britain)")
    row = frame[(frame[AREA_CODE] == withheld["areacd"]) & (frame[PERIOD] == els.els_period(withheld["period"]).label)]
    assert math.isnan(row[VALUE].iloc[0])
    assert row[VALUE_NOTE].iloc[0].startswith("Not available (ONS status 'x')")
    wellbeing = [r for r in raw_rows("personal-wellbeing-estimates") if r["status"] == "u"]
    assert wellbeing and els.value_note(_els_row(wellbeing[0])).startswith("Low reliability (ONS status 'u')")
    aggregated = next(
        r for r in raw_rows("sports-facilities") if r["notes"].startswith("This data has been aggregated")
    )
    _, sports = frame_of("sports-facilities", "Sports facilities")
    note = sports.loc[sports[AREA_CODE] == aggregated["areacd"], VALUE_NOTE].iloc[0]
    assert note == aggregated["notes"]


def _els_row(record: dict[str, str]) -> els.ElsRow:
    return els.ElsRow(
        0, record["areacd"], record["areanm"], record["geography"], record["indicator"], record["period"],
        record["observation"], record["lci_95"], record["uci_95"], record["status"], record["notes"],
    )  # fmt: skip


def test_notes_about_replaced_codes_are_not_value_notes():
    obsolete = next(r for r in raw_rows("library-walk") if r["notes"].startswith("Obsolete code since"))
    assert els.value_note(_els_row(obsolete)) == ""


def test_geography_levels_map_to_our_area_types_and_districts_are_never_used():
    rows = raw_rows("library-walk")
    levels = {r["geography"] for r in rows}
    assert {"County or Unitary Authority", "Local Authority District", "Region", "Nation"} <= levels
    selection, frame = frame_of("library-walk", "Residents within a 30 minute walk of their nearest library")
    area_types = dict(zip(frame[AREA_CODE], frame["area_type"], strict=True))
    assert area_types["E92000001"] == "England" and area_types["E12000001"] == "Region"
    # metropolitan districts and London boroughs are labelled districts by ELS but are upper tier
    assert area_types["E08000025"] == els.UTLA_AREA_TYPE and area_types["E09000001"] == els.UTLA_AREA_TYPE
    assert not any(code.startswith("E07") for code in frame[AREA_CODE])
    assert selection.ignored["Local Authority District"] == sum(
        1 for r in rows if r["geography"] == "Local Authority District" and r["areacd"][:3] in ("E07", "W06")
    )
    # a county's value is ELS's county row, not a sum of its districts
    county = next(r for r in rows if r["areacd"] == "E10000003")
    assert frame.loc[frame[AREA_CODE] == "E10000003", VALUE].iloc[0] == float(county["observation"])
    assert len(selection.rows) - 1 - 9 == len(load_geography().authorities)  # England, 9 regions, 153


def test_barnsley_and_sheffields_2025_codes_are_read_as_their_2023_codes():
    rows = {r["areacd"]: r for r in raw_rows("gigabit-capable-broadband")}
    assert "E08000038" in rows and "E08000016" not in rows  # the file has only the 2025 codes
    _, frame = frame_of("gigabit-capable-broadband", "Gigabit capable broadband")
    values = dict(zip(frame[AREA_CODE], frame[VALUE], strict=True))
    assert "E08000038" not in values and "E08000039" not in values
    assert values["E08000016"] == float(rows["E08000038"]["observation"])  # Barnsley
    assert values["E08000019"] == float(rows["E08000039"]["observation"])  # Sheffield


def test_a_dataset_without_upper_tier_rows_is_reported_not_aggregated():
    slug = "research-and-development-public-funded"
    data = table(slug)
    with pytest.raises(els.ElsCoverageError, match=r"no rows for county or unitary authorities .*never sums"):
        els.select_upper_tier(data, data.indicators[0], load_geography())


def test_authorities_without_a_latest_value_are_reported():
    selection = els.select_upper_tier(
        table("engagement-with-culture-and-heritage"), "Engaged with the arts", load_geography()
    )
    counties = [a.name for a in load_geography().authorities if a.code.startswith("E10")]
    assert set(counties) <= set(selection.missing_latest)
    assert "21 of the upper-tier authorities have no value for 2023/24" in selection.gaps("x")[0]


def test_an_indicator_is_named_by_its_code_or_its_title():
    data = table("personal-wellbeing-estimates")
    found = els.read_els_json(
        (ELS / "personal-wellbeing-estimates/personal-wellbeing-estimates.json").read_bytes(), "j"
    )
    assert els.match_indicator(data, "  satisfaction ") == "Satisfaction"
    assert els.match_indicator(data, "Life satisfaction", els.titles(found)) == "Satisfaction"
    with pytest.raises(els.ElsError, match="no indicator 'Joy' in the dataset; it has: "):
        els.match_indicator(data, "Joy", els.titles(found))


def test_the_json_metadata_of_single_and_several_indicator_datasets():
    one = els.read_els_json((ELS / "library-walk/library-walk.json").read_bytes(), "library-walk.json")
    meta = els.metadata_for(one, "anything")
    assert meta is not None and (meta.unit, meta.decimals) == ("%", 0) and "library" in meta.label
    many = els.read_els_json((ELS / "personal-wellbeing-estimates/personal-wellbeing-estimates.json").read_bytes(), "p")
    worthwhile = els.metadata_for(many, "Worthwhile")
    assert worthwhile is not None and worthwhile.unit == "score out of 10" and worthwhile.decimals == 1
    assert worthwhile.source == "Office for National Statistics"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "the file is empty"),
        (b"a,b,c\n1,2,3\n", r"column\(s\) areacd, areanm, geography"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"areacd,areanm,geography,indicator,period,observation,measure,unit,lci_95,uci_95,status,notes\n", "no rows"),
    ],
)
def test_files_that_are_not_els_csv_are_refused(text, message):
    with pytest.raises(els.ElsError, match=message):
        els.read_els_csv(text, "bad.csv")


def test_a_damaged_row_or_number_names_the_line():
    lines = (ELS / "library-walk/library-walk.csv").read_text(encoding="utf-8-sig").splitlines()
    short = "\n".join([*lines[:5], lines[5].rsplit(",", 2)[0], *lines[6:]])
    with pytest.raises(els.ElsError, match=r"bad.csv:6: 10 fields but the header has 12"):
        els.read_els_csv(short, "bad.csv")
    hartlepool = next(i for i, line in enumerate(lines) if line.startswith("E06000001"))
    lines[hartlepool] = lines[hartlepool].replace(",92,", ",ninety-two,")
    data = els.read_els_csv("\n".join(lines), "bad.csv")
    with pytest.raises(els.ElsError, match=rf"bad.csv:{hartlepool + 1}: observation 'ninety-two' is not a number"):
        els.select_upper_tier(data, data.indicators[0], load_geography())


def test_a_bad_period_names_the_line():
    lines = (ELS / "sports-facilities/sports-facilities.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] = lines[3].replace("2023-10-05", "2023-10-05/P2W")
    data = els.read_els_csv("\n".join(lines), "p.csv")
    with pytest.raises(els.ElsError, match=r"p.csv:4: period '2023-10-05/P2W' is not a form reportgen reads"):
        els.select_upper_tier(data, data.indicators[0], load_geography())


# --- comparisons: published intervals, or the spec's method where there are none ---------------------


def test_stats_compare_without_intervals_by_quintiles_and_with_published_intervals(tmp_path, runner):
    import shutil

    from reportgen.cli import cli

    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("library_walk.yaml", "adults_qualified_level3.yaml"):
        shutil.copy(CATALOGUE / name, specs / name)
    parts = []
    for spec_id, slug, indicator in (
        ("library_walk", "library-walk", "Residents within a 30 minute walk of their nearest library"),
        (
            "adults_qualified_level3",
            "qualifications-level-3-or-above",
            "Level 3 or above qualifications (Great Britain)",
        ),
    ):
        selection = els.select_upper_tier(table(slug), indicator, load_geography())
        target = els.Target(spec_id, "Persons", "All ages" if spec_id == "library_walk" else "16-64 yrs")
        parts.append(els.fingertips_csv_text(selection, target, load_geography()))
    data = tmp_path / "els.csv"
    data.write_text(parts[0] + parts[1].split("\n", 1)[1], encoding="utf-8")
    out = tmp_path / "benchmark.csv"
    result = runner.invoke(cli, ["benchmark", "--specs", str(specs), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    walk = [r for r in rows if r["indicator_id"] == "library_walk" and r["area_type"] == "UTLA"]
    assert {r["compared_to_england"] for r in walk} >= {"Best quintile", "Worst quintile"}
    assert {r["ci_source"] for r in walk} == {"none"}
    level3 = [
        r for r in rows if r["indicator_id"] == "adults_qualified_level3" and r["area_type"] == "UTLA" and r["value"]
    ]
    without = {(r["areacd"], els.els_period(r["period"]).label) for r in raw_rows("qualifications-level-3-or-above")
               if r["observation"] and not r["lci_95"]}  # fmt: skip
    for r in level3:
        assert r["ci_source"] == ("none" if (r["area_code"], r["period"]) in without else "data")
    assert {"Better", "Worse", "Similar"} <= {r["compared_to_england"] for r in level3}
    assert np.isfinite([float(r["lower_ci_95"]) for r in level3 if r["ci_source"] == "data"]).all()


# --- specs naming an ELS series ------------------------------------------------------------------------


def test_the_catalogues_els_specs_load_with_their_source():
    from reportgen.core.specs import load_specs

    specs = {s.id: s for s in load_specs(CATALOGUE)}
    walk = specs["library_walk"]
    assert walk.els is not None and walk.els.dataset == "library-walk" and walk.els.publisher == "ons-els"
    assert walk.fingertips_id is None and walk.data_key == "library_walk"
    assert walk.source.startswith("Office for National Statistics, travel time to libraries")


@pytest.mark.parametrize(
    ("source", "extra", "key", "message"),
    [
        (
            {"publisher": "ons-els", "dataset": "Library Walk", "indicator": "x"},
            {},
            "source.dataset",
            "ELS dataset slug",
        ),
        ({"publisher": "ons-els", "dataset": "library-walk"}, {}, "source.indicator", "required key is missing"),
        ({"publisher": "ons", "dataset": "a", "indicator": "b"}, {}, "source.publisher", "use one of: 'ons-els'"),
        ({"publisher": "ons-els", "dataset": "a", "indicator": "b", "url": "x"}, {}, "source.url", "unknown key"),
        ({"publisher": "ons-els", "dataset": "a", "indicator": "b"}, {"fingertips_id": 5}, "source", "cannot also"),
        (7, {}, "source", "must be text, or a mapping {publisher: ons-els"),
    ],
)
def test_a_wrong_els_source_names_the_file_and_key(tmp_path, source, extra, key, message):
    import yaml

    from reportgen.core.errors import SpecError
    from reportgen.core.specs import load_specs

    spec = yaml.safe_load((CATALOGUE / "museums.yaml").read_text())
    spec.update(source=source, **extra)
    (tmp_path / "museums.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path)
    problems = [p for p in caught.value.problems if p.key == key]
    assert problems and message in problems[0].message
    assert problems[0].where.startswith(f"{tmp_path / 'museums.yaml'}:")
