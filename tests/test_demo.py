"""The embedded demonstration dataset: deterministic, complete and realistic."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from reportgen.core.geography import load_geography
from reportgen.publish.prepare import read_specs
from reportgen.sources.data import (
    AREA_CODE,
    COUNT,
    DENOMINATOR,
    LOWER_95,
    PARENT_CODE,
    PERIOD,
    UPPER_95,
    VALUE,
    VALUE_NOTE,
    load_indicator_data,
    select_series,
)
from reportgen.sources.derive import derive_series
from reportgen.stats.ci import wilson_interval
from reportgen.stats.demo import demo_csv_text, generate_demo_frame, period_labels


@pytest.fixture(scope="module")
def demo(demo_csv):
    # Derived specs' rows are written under their Fingertips source id, as in a real download.
    return derive_series(load_indicator_data(demo_csv, load_geography()), read_specs(None))


@pytest.fixture(scope="module")
def specs():
    return read_specs(None)


def test_same_seed_same_bytes_in_separate_processes(tmp_path):
    outputs = []
    for name in ("a.csv", "b.csv"):
        target = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "reportgen", "demo-data", "--out", str(target)], check=True, capture_output=True
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] and len(outputs[0]) > 1_000_000


def test_different_seed_different_data(specs):
    geo = load_geography()
    assert demo_csv_text(generate_demo_frame(specs[:2], geo, 1)) != demo_csv_text(
        generate_demo_frame(specs[:2], geo, 2)
    )


def test_every_indicator_area_and_period_present(demo, specs):
    assert demo.synthetic and not demo.warnings
    for spec in specs:
        rows = select_series(demo.frame, spec.data_key, spec.sex, spec.age)
        assert sorted(set(rows[PERIOD])) == sorted(period_labels(spec.demo.periods)), spec.id
        assert len(rows) == 5 * (153 + 9 + 1), spec.id
    assert demo.frame[VALUE_NOTE].str.startswith("Synthetic demonstration data").all()


def test_england_and_regions_are_aggregates_of_authorities(demo, specs):
    for spec in (s for s in specs if s.value_type in ("proportion", "crude_rate")):
        rows = select_series(demo.frame, spec.data_key, spec.sex, spec.age)
        for _, period_rows in rows.groupby(PERIOD):
            local = period_rows[period_rows[AREA_CODE].str.match(r"E0[6-9]|E10")]
            england = period_rows[period_rows[AREA_CODE] == "E92000001"].iloc[0]
            assert england[COUNT] == local[COUNT].sum() or local[COUNT].isna().any()
            assert england[DENOMINATOR] == local[DENOMINATOR].sum()
            complete = local[COUNT].notna()
            if complete.all():
                expected = local[COUNT].sum() / local[DENOMINATOR].sum() * spec.multiplier
                assert england[VALUE] == pytest.approx(expected, rel=1e-9)
            for region, members in local.groupby(PARENT_CODE):
                region_row = period_rows[period_rows[AREA_CODE] == region].iloc[0]
                assert region_row[DENOMINATOR] == members[DENOMINATOR].sum()


def test_england_levels_match_the_specs(demo, specs):
    for spec in specs:
        rows = select_series(demo.frame, spec.data_key, spec.sex, spec.age)
        latest = period_labels(spec.demo.periods)[-1]
        england = rows[(rows[AREA_CODE] == "E92000001") & (rows[PERIOD] == latest)][VALUE].iloc[0]
        assert england == pytest.approx(spec.demo.england, abs=max(0.6, spec.demo.spread * 0.25)), spec.id


def test_confidence_interval_widths_are_plausible(demo, specs):
    surveys = [s for s in specs if s.demo.base == "survey" and s.value_type == "proportion"]
    for spec in surveys:
        rows = select_series(demo.frame, spec.data_key, spec.sex, spec.age)
        local = rows[rows[AREA_CODE].str.match(r"E0[6-9]|E10") & rows[COUNT].notna()]
        _, lower, upper = wilson_interval(local[COUNT], local[DENOMINATOR], 0.95, 100)
        width = np.median(upper - lower)
        # Survey samples of a few hundred to a few thousand: a 95% CI of roughly 1.5 to 12 points.
        assert 1.0 < width < 12, (spec.id, width)
    for spec in specs:
        rows = select_series(demo.frame, spec.data_key, spec.sex, spec.age)
        with_ci = rows[rows[LOWER_95].notna()]
        assert (with_ci[LOWER_95] <= with_ci[VALUE]).all() and (with_ci[VALUE] <= with_ci[UPPER_95]).all()


def test_some_values_are_suppressed_with_a_note(demo):
    suppressed = demo.frame[demo.frame[VALUE].isna()]
    assert 10 < len(suppressed) < 0.03 * len(demo.frame)
    assert suppressed[VALUE_NOTE].str.contains("suppressed|cannot be calculated").all()
    assert {"E06000053", "E09000001"} <= set(suppressed[AREA_CODE])
