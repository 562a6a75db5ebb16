"""Indicator spec loading and validation: every error form, and the packaged catalogue."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from reportgen.core.assets import default_specs_dir
from reportgen.core.errors import SpecError
from reportgen.core.specs import COMPARISONS, DOMAINS, POLARITIES, VALUE_TYPES, load_specs


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_specs(folder)
    return [str(p) for p in info.value.problems]


def test_catalogue_is_valid_and_covers_every_domain():
    specs = load_specs(default_specs_dir())
    assert len(specs) >= 24
    per_domain = collections.Counter(s.domain for s in specs)
    assert set(per_domain) == set(DOMAINS)
    assert min(per_domain.values()) >= 3
    for spec in specs:
        assert Path(spec.path).stem == spec.id
        assert spec.value_type in VALUE_TYPES and spec.polarity in POLARITIES and spec.comparison in COMPARISONS
        assert spec.definition and spec.rationale and spec.source


def test_catalogue_order_follows_domains():
    specs = load_specs(default_specs_dir())
    order = [DOMAINS.index(s.domain) for s in specs]
    assert order == sorted(order)


def test_two_specs_may_share_a_fingertips_id_with_another_sex():
    specs = {s.id: s for s in load_specs(default_specs_dir())}
    male, female = specs["life_expectancy_male"], specs["life_expectancy_female"]
    assert male.fingertips_id == female.fingertips_id and male.sex != female.sex


def test_valid_spec_loads(write_spec):
    (spec,) = load_specs(write_spec())
    assert spec.id == "sample_indicator" and spec.data_key == "99999" and spec.multiplier == 100


def test_local_indicator_uses_its_own_id_as_data_key(write_spec):
    (spec,) = load_specs(write_spec(fingertips_id=None))
    assert spec.data_key == "sample_indicator"


def test_unknown_key_is_located(write_spec):
    text = Path(write_spec()).joinpath("sample_indicator.yaml").read_text() + "colour: red\n"
    folder = write_spec(text)
    (message,) = problems_of(folder)
    assert message.startswith(f"{folder / 'sample_indicator.yaml'}:17:1: colour: unknown key; allowed keys are: id, ")


def test_wrong_type_is_located(write_spec):
    folder = write_spec(decimals="one")
    (message,) = problems_of(folder)
    assert message == f"{folder / 'sample_indicator.yaml'}:10:11: decimals: must be a whole number (got 'one')"


def test_value_outside_list_names_the_choices(write_spec):
    folder = write_spec(polarity="good")
    (message,) = problems_of(folder)
    assert message == (
        f"{folder / 'sample_indicator.yaml'}:13:11: polarity: 'good' is not allowed; "
        "use one of: high_is_good, low_is_good, no_judgement, not_applicable"
    )


@pytest.mark.parametrize("key,bad", [("domain", "Housing"), ("value_type", "percent"), ("comparison", "ci90")])
def test_every_closed_vocabulary_is_checked(write_spec, key, bad):
    (message,) = problems_of(write_spec(**{key: bad}))
    assert f": {key}: '{bad}' is not allowed; use one of: " in message


def test_missing_key(write_spec):
    folder = write_spec(rationale=None)
    (message,) = problems_of(folder)
    assert (
        message == f"{folder / 'sample_indicator.yaml'}:1:1: rationale: required key is missing; add 'rationale: ...'"
    )


def test_id_must_match_file_name(write_spec):
    folder = write_spec(name="other_name")
    (message,) = problems_of(folder)
    assert (
        message
        == f"{folder / 'other_name.yaml'}:1:5: id: 'sample_indicator' does not match the file name 'other_name.yaml'; rename one of them"
    )


def test_duplicate_ids_and_series(write_spec):
    write_spec(name="sample_indicator")
    folder = write_spec(name="copy", id="copy")
    (message,) = problems_of(folder)
    assert ": fingertips_id: selects the same data series (indicator 99999, Persons, 16+ yrs) as " in message
    assert "copy.yaml" in message and "sample_indicator.yaml" in message


def test_duplicate_id_across_files(write_spec):
    write_spec(name="a", id="a")
    folder = write_spec(name="b", id="a", sex="Male")
    found = problems_of(folder)
    assert any("b.yaml:1:5: id: 'a' does not match the file name 'b.yaml'" in m for m in found)


def test_duplicate_key_in_one_file(write_spec):
    text = Path(write_spec()).joinpath("sample_indicator.yaml").read_text() + "name: Again\n"
    (message,) = problems_of(write_spec(text))
    assert message.endswith("sample_indicator.yaml:17:1: name: key appears more than once; keep one")


def test_yaml_syntax_error_is_located(write_spec):
    (message,) = problems_of(write_spec("id: x\n  bad: [\n"))
    assert message.endswith("sample_indicator.yaml:2:6: YAML syntax error: mapping values are not allowed here")


def test_slug_rule_and_ranges(write_spec):
    found = problems_of(write_spec(id="Bad Id", decimals=9, multiplier=0))
    assert any(": id: must be a slug" in m for m in found)
    assert any(": decimals: must be at most 4 (got 9)" in m for m in found)
    assert any(": multiplier: must be greater than 0 (got 0)" in m for m in found)


def test_proportion_multiplier_rule(write_spec):
    (message,) = problems_of(write_spec(multiplier=7))
    assert message.endswith(
        "sample_indicator.yaml:12:13: multiplier: a proportion needs multiplier 1, 100 (percentage) or 1000"
    )


def test_every_problem_in_every_file_is_reported(write_spec):
    write_spec(name="first", id="first", polarity="up")
    folder = write_spec(name="second", id="second", sex="Male", domain="Town", colour="red")
    found = problems_of(folder)
    assert len(found) == 3
    assert {Path(m.split(":")[0]).name for m in found} == {"first.yaml", "second.yaml"}


def test_demo_block_is_validated(write_spec):
    (message,) = problems_of(write_spec(demo={"england": 50, "spread": "wide", "size": 10}))
    assert ": demo.spread: must be a number (got 'wide')" in message


def test_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_specs(tmp_path / "nowhere")
    with pytest.raises(SpecError, match=r"No indicator specs \(\*\.yaml\)"):
        load_specs(tmp_path)
