"""Issue 17 item 4: page 1 leads with strengths in every authority, ranked, each saying what kind it is."""

from __future__ import annotations

import dataclasses

import pytest

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.geography import load_geography
from reportgen.core.options import BuildOptions
from reportgen.document.compose import ProfileInputs, plan_profile
from reportgen.document.context import profile_context
from reportgen.document.render import layout_search_path, make_environment
from reportgen.document.strengths import SHOWN, TIER_OF, rank_strengths
from reportgen.document.theme import load_theme
from reportgen.document.view import load_wording
from reportgen.publish.prepare import compute_benchmark, edition_and_date, read_data, read_specs

HULL, SCILLY, HARTLEPOOL = "E06000010", "E06000053", "E06000001"
PAGE_ONE = (
    '{% extends "base.html.j2" %}{% import "macros.html.j2" as ui with context %}'
    '{% block body %}{% include "glance.html.j2" %}{% endblock %}'
)


@pytest.fixture(scope="module")
def national(demo_csv):
    specs = read_specs(None)
    data = read_data(demo_csv, specs)
    return specs, data, compute_benchmark(data, specs)


def plan_and_context(code, national, table=None):
    specs, data, full = national
    search = layout_search_path(None, default_layouts_dir())
    edition, data_date = edition_and_date(data, specs, BuildOptions())
    inputs = ProfileInputs(
        area=load_geography().lookup(code),
        specs=tuple(specs),
        table=full if table is None else table,
        theme=load_theme(search, None),
        edition=edition,
        data_date=data_date,
        author="test",
        synthetic=True,
        version=__version__,
        data_label="demo.csv",
        wording=load_wording(search),
    )
    plan = dataclasses.replace(plan_profile(inputs), spines=(), bars=(), trends=())
    return plan, profile_context(plan, {}), search


def ranked(code, national, table=None):
    plan, context, _ = plan_and_context(code, national, table)
    return rank_strengths(plan.facts, context["indicators"], plan.inputs.wording), context


def test_hull_leads_with_three_strengths_though_none_is_better_than_england(national):
    strengths, context = ranked(HULL, national)
    assert not any(ind.result.kind == "better" for ind in context["indicators"])  # the case
    assert len(strengths.shown) == SHOWN and len(context["glance"]["strengths"]) == SHOWN
    assert context["glance"]["strengths_fewer"] == ""
    assert all(s.kind != "better_england" for s in strengths.candidates)
    for s in strengths.shown:  # each says honestly what kind of strength it is, and how it compares with England
        assert "England" in s.label
        assert "significantly better than England" not in s.label
    # An improving trend is offered as a strength, even for an indicator worse than England.
    improving = [s for s in strengths.candidates if s.kind == "improving"]
    assert improving and "significantly worse than England" in improving[0].label


def test_strengths_are_ranked_by_test_then_by_place_among_authorities(national):
    for code in (HULL, SCILLY, HARTLEPOOL, "E09000030", "E06000047"):
        strengths, context = ranked(code, national)
        orders = [s.order for s in strengths.candidates]
        assert orders == sorted(orders), code
        assert [s.tier for s in strengths.candidates] == sorted(s.tier for s in strengths.candidates)
        assert len({s.indicator_id for s in strengths.candidates}) == len(strengths.candidates)  # once each
        better = [i.id for i in context["indicators"] if i.has_value and i.result.kind == "better"]
        assert {s.indicator_id for s in strengths.candidates if s.kind == "better_england"} == set(better)
        assert len(context["glance"]["strengths"]) == min(SHOWN, len(strengths.candidates))


def test_page_one_shows_strengths_before_the_counts_and_areas_to_develop(national):
    _, context, search = plan_and_context(HULL, national)
    html = make_environment(search).from_string(PAGE_ONE).render(**context)
    first = context["glance"]["strengths"][0]["name"]
    assert html.index("Strengths to build on") < html.index(first) < html.index('class="counts"')
    assert html.index(first) < html.index("Areas to develop")


def test_fewer_than_three_candidates_are_said_honestly(national):
    plan, context, _ = plan_and_context(HULL, national)
    wording = plan.inputs.wording
    all_strengths = rank_strengths(plan.facts, context["indicators"], wording)
    keep = {all_strengths.candidates[0].indicator_id}
    none = [i for i, f in enumerate(plan.facts) if f.spec.id not in {s.indicator_id for s in all_strengths.candidates}]
    one = [i for i, f in enumerate(plan.facts) if f.spec.id in keep] + none
    facts = [plan.facts[i] for i in one]
    indicators = [context["indicators"][i] for i in one]
    assert len(rank_strengths(facts, indicators, wording).candidates) == 1
    from reportgen.document.context import _strengths_fewer

    assert _strengths_fewer(1, wording) == "Only 1 indicator meets any of these tests in the latest period."
    assert _strengths_fewer(0, wording).startswith("No indicator meets any of these tests")
    assert _strengths_fewer(3, wording) == ""


def test_better_than_similar_authorities_counts_only_where_the_table_has_a_comparator(national):
    specs, data, table = national
    strengths, _ = ranked(HULL, national)
    assert all(s.kind != "better_comparator" for s in strengths.candidates)  # no stub without the data
    candidates = {s.indicator_id for s in strengths.candidates}
    plan, context, _ = plan_and_context(HULL, national)
    other = next(f.spec.id for f in plan.facts if f.spec.id not in candidates and f.spec.polarity == "high_is_good"
                 and f.row is not None and f.spec.comparison != "quintiles")  # fmt: skip
    table = table.assign(comparator_name="Similar authorities", comparator_value=50.0, compared_to_comparator="Similar")
    hit = (table["area_code"] == HULL) & (table["indicator_id"] == other)
    table.loc[hit, "compared_to_comparator"] = "Better"
    strengths, _ = ranked(HULL, national, table)
    mine = next(s for s in strengths.candidates if s.indicator_id == other)
    assert mine.kind == "better_comparator" and mine.tier == TIER_OF["better_comparator"]
    assert "significantly better than Similar authorities" in mine.label
