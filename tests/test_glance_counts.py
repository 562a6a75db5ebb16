"""Issue 17 item 5: page 1's counts add up to the catalogue, each bucket named; what page 1 and the
definitions say is true (fuel poverty's intervals, derived sources, spine ends and ranks)."""

from __future__ import annotations

import pandas as pd
from test_strengths import HULL, SCILLY, national, plan_and_context  # noqa: F401 (the fixture)

from reportgen.document.context import GLANCE_BUCKETS, glance_bucket


def test_counts_add_up_to_the_catalogue_with_every_bucket_named(national):  # noqa: F811
    specs = national[0]
    for code, no_data in ((SCILLY, 4), (HULL, 0)):
        _, context, _ = plan_and_context(code, national)
        glance = context["glance"]
        counts = {c["key"]: c["n"] for c in glance["counts"]}
        assert sum(counts.values()) == len(specs) == glance["total"], code
        assert counts.get("no_data", 0) == no_data, code
        assert all(c["label"] for c in glance["counts"]) and set(counts) <= set(GLANCE_BUCKETS)
        assert all(n > 0 for k, n in counts.items() if k not in ("better", "similar", "worse"))  # others when used
        for domain in glance["by_domain"]:
            assert sum(domain[k] for k in glance["bucket_keys"]) == domain["total"]
        named = {glance_bucket(ind) for ind in context["indicators"]}
        assert named <= set(counts)
        if no_data:
            assert "No data: no value for the Isles of Scilly in the latest period." in glance["counts_note"]


def test_fuel_poverty_has_no_computed_interval_and_its_caveat_says_so(national):  # noqa: F811
    specs, _, table = national
    spec = next(s for s in specs if s.id == "households_not_fuel_poor")
    rows = table[table["indicator_id"] == spec.id]
    assert rows["lower_ci_95"].isna().all() and set(rows["ci_source"]) == {"none"}
    assert "reportgen computes none" in spec.caveats
    _, context, _ = plan_and_context(HULL, national)
    ind = next(i for i in context["indicators"] if i.id == spec.id)
    assert "Not applicable" not in ind.derivation_note and "93759" in ind.derivation_note
    assert ind.ci == "–" or not any(ch.isdigit() for ch in ind.ci)


def test_spine_ends_and_ranks_describe_the_same_authorities_including_the_area(national):  # noqa: F811
    table = national[2]
    local = table[(table["area_type"] == "UTLA") & table["value"].notna() & table["spine_shown"]]
    for code in (SCILLY, HULL):
        mine = local[local["area_code"] == code]
        assert len(mine)
        value = mine["value"].round(5)
        assert ((mine["spine_min"] <= value) & (value <= mine["spine_max"])).all(), code
        assert (mine["rank_in_england"] <= mine["n_in_england"]).all()
    scilly = local[local["area_code"] == SCILLY]
    assert (scilly["spine_note"] != "").all()  # the row says its range and rank include it
    _, context, _ = plan_and_context(SCILLY, national)
    notes = [n for ind in context["indicators"] for n in ind.notes]
    assert any("Range and rank here include the Isles of Scilly" in n for n in notes)
    hull = local[local["area_code"] == HULL]
    assert (hull["n_in_england"] == hull["spine_n"]).all()  # ranked among the spine's authorities
    assert isinstance(hull, pd.DataFrame)
