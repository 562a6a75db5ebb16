"""Data that cover less than England: ranks and ranges say so, and build/benchmark warn."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from reportgen.cli import cli
from reportgen.core.geography import load_geography
from reportgen.core.specs import load_specs
from reportgen.sources.data import load_indicator_data
from reportgen.stats.benchmark import benchmark_table

NORTH_EAST = "fingertips/jezzaay_mental-health-analysis__suicides__north_east.csv"
WHOLE_ENGLAND = "fingertips/jargonautical_data-dev__indicators-CountyUA.data.csv"
SUICIDE_SPEC = {
    "id": "suicide_rate",
    "fingertips_id": 41001,
    "name": "Suicide rate",
    "short_name": "Suicide rate",
    "domain": "Health",
    "definition": "Age-standardised suicide rate per 100,000 males aged 10 and over.",
    "rationale": "A real one-region Fingertips download.",
    "source": "ONS (via OHID Fingertips)",
    "unit": "per 100,000",
    "decimals": 1,
    "value_type": "dsr",
    "multiplier": 100000,
    "polarity": "no_judgement",
    "comparison": "ci95",
    "sex": "Male",
    "age": "10+ yrs",
}
CAMPYLOBACTER_SPEC = {
    **SUICIDE_SPEC,
    "id": "campylobacter",
    "fingertips_id": 93356,
    "name": "Campylobacter",
    "short_name": "Campylobacter",
    "value_type": "crude_rate",
    "polarity": "low_is_good",
    "sex": "Persons",
    "age": "All ages",
}
GEO = load_geography()


@pytest.fixture
def specs_dir(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    for spec in (SUICIDE_SPEC, CAMPYLOBACTER_SPEC):
        (folder / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def table_for(path, specs_dir, spec_id):
    specs = [s for s in load_specs(specs_dir) if s.id == spec_id]
    table = benchmark_table(load_indicator_data(path, GEO), specs, GEO)
    return table[table["area_type"] == "UTLA"]


def test_one_region_file_is_not_presented_as_england(validation_dir, specs_dir):
    local = table_for(validation_dir / NORTH_EAST, specs_dir, "suicide_rate")
    assert local["area_code"].nunique() == 12
    assert set(local["coverage"]) == {"12 of 153 authorities (North East only)"}
    assert set(local["rank_scope"]) == {"in this file"}
    ranked = local[local["rank_in_england"].notna()]
    assert set(ranked["n_in_england"]) == {len(ranked)} and len(ranked) <= 12
    shown = local[local["spine_shown"]]
    assert len(shown) and set(shown["spine_note"]) == {
        "Range among 12 of England's 153 authorities (North East only) in this file"
    }


def test_a_whole_england_file_of_an_older_vintage_is_england(validation_dir, specs_dir):
    local = table_for(validation_dir / WHOLE_ENGLAND, specs_dir, "campylobacter")
    assert local["area_code"].nunique() == 152  # 2015-17 boundaries
    assert set(local["coverage"]) == {"England"} and set(local["rank_scope"]) == {"in England"}
    assert set(local.loc[local["spine_shown"], "spine_note"]) == {""}


def test_rank_wording_follows_the_coverage(validation_dir, specs_dir):
    from reportgen.document.context import _rank

    local = table_for(validation_dir / NORTH_EAST, specs_dir, "suicide_rate")
    row = local[local["rank_in_england"].notna()].iloc[0]
    assert f" of {row['n_in_england']} authorities in this file" in _rank(row)


def test_benchmark_warns(validation_dir, specs_dir, runner, tmp_path):
    args = ["benchmark", "--specs", str(specs_dir), "--data", str(validation_dir / NORTH_EAST)]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 0, result.output
    assert (
        "warning: data cover 12 of 153 authorities (North East only): ranks and spine ranges are among these "
        "authorities, not all of England" in result.stderr
    )


@pytest.mark.slow
def test_build_from_one_region_warns_and_ranks_in_this_file(validation_dir, specs_dir, runner, tmp_path):
    import pypdfium2 as pdfium

    (specs_dir / "campylobacter.yaml").unlink()
    args = ["build", "--area", "E06000001", "--specs", str(specs_dir), "--data", str(validation_dir / NORTH_EAST)]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning: data cover 12 of 153 authorities (North East only)" in result.stderr
    (pdf_path,) = (tmp_path / "out").rglob("*.pdf")
    pdf = pdfium.PdfDocument(str(pdf_path))
    text = " ".join(" ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).split())
    assert "authorities in this file" in text and "authorities in England" not in text


def test_a_partial_coverage_warning_names_its_indicators():
    from reportgen.stats.coverage import ENGLAND, coverage_messages

    table = pd.DataFrame({
        "indicator_id": ["employment_rate", "arts_engagement", "heritage_visits"],
        "coverage": [ENGLAND, "132 of 153 authorities", "132 of 153 authorities"],
    })  # fmt: skip
    assert coverage_messages(table) == [
        "data cover 132 of 153 authorities for arts_engagement, heritage_visits: ranks and spine ranges are among "
        "these authorities, not all of England"
    ]
