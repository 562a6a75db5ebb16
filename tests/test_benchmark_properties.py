"""Property tests of the benchmark table (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_helpers import dataset, proportion_record, record, spec
from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.core.geography import load_geography
from reportgen.stats.benchmark import benchmark_table
from reportgen.stats.compare import BOB_LABELS, NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG, RAG_LABELS

GEO = load_geography()
NE = [a.code for a in GEO.in_region("E12000001")]
ALLOWED = {NOT_COMPARED, *RAG_LABELS, *BOB_LABELS, *QUINTILE_LABELS_RAG, *QUINTILE_LABELS_BOB}
SWAP = {
    "Better": "Worse",
    "Worse": "Better",
    "Better 95%": "Worse 95%",
    "Worse 95%": "Better 95%",
    "Better 99.8%": "Worse 99.8%",
    "Worse 99.8%": "Better 99.8%",
}

area_counts = st.lists(st.one_of(st.none(), st.integers(0, 400)), min_size=12, max_size=12)


def rows_for(counts, denominator=400, england=(5000, 10000)):
    rows = [
        record(code, note="suppressed") if c is None else proportion_record(code, c, denominator)
        for code, c in zip(NE, counts, strict=True)
    ]
    rows.append(proportion_record("E12000001", sum(c or 0 for c in counts), denominator * 12))
    if england is not None:
        rows.append(proportion_record("E92000001", *england))
    return rows


@settings(max_examples=60, deadline=None)
@given(
    area_counts,
    st.sampled_from(["ci95", "ci998", "ci95_998", "quintiles", "none"]),
    st.sampled_from(["high_is_good", "low_is_good", "no_judgement", "not_applicable"]),
    st.booleans(),
)
def test_labels_are_always_known_words(counts, comparison, polarity, with_england):
    table = benchmark_table(
        dataset(rows_for(counts, england=(5000, 10000) if with_england else None)),
        [spec(comparison=comparison, polarity=polarity)],
        GEO,
    )
    for column in ("compared_to_england", "compared_to_region"):
        assert set(table[column]) <= ALLOWED
    assert table["recent_trend"].map(lambda v: isinstance(v, str)).all()


@settings(max_examples=60, deadline=None)
@given(area_counts, st.sampled_from(["ci95", "ci998", "ci95_998"]))
def test_swapping_polarity_swaps_better_and_worse(counts, comparison):
    data = dataset(rows_for(counts))
    high = benchmark_table(data, [spec(comparison=comparison, polarity="high_is_good")], GEO)
    low = benchmark_table(data, [spec(comparison=comparison, polarity="low_is_good")], GEO)
    for column in ("compared_to_england", "compared_to_region"):
        assert list(low[column]) == [SWAP.get(label, label) for label in high[column]]


@settings(max_examples=40, deadline=None)
@given(area_counts, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(counts, random):
    rows = rows_for(counts)
    shuffled = rows[:]
    random.shuffle(shuffled)
    first = benchmark_table(dataset(rows), [spec(comparison="ci95_998")], GEO)
    second = benchmark_table(dataset(shuffled), [spec(comparison="ci95_998")], GEO)
    pd.testing.assert_frame_equal(first, second)


@settings(max_examples=60, deadline=None)
@given(area_counts)
def test_intervals_nest_and_contain_the_value(counts):
    table = benchmark_table(dataset(rows_for(counts)), [spec()], GEO)
    valid = table[table["value"].notna()]
    assert (valid["lower_ci_99_8"] <= valid["lower_ci_95"] + 1e-12).all()
    assert (valid["lower_ci_95"] <= valid["value"] + 1e-12).all() and (
        valid["value"] <= valid["upper_ci_95"] + 1e-12
    ).all()
    assert (valid["upper_ci_95"] <= valid["upper_ci_99_8"] + 1e-12).all()
    assert np.isfinite(valid[["lower_ci_95", "upper_ci_95"]].to_numpy()).all()
