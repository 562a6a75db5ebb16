"""DSR and life expectancy computed from age-band rows in a Fingertips-format file.

The inputs and expected results are PHEindicatormethods' own test vectors, laid out as
Fingertips rows (one row per area and age band), so this checks the whole path: loading,
band recognition, Dobson/Chiang and the benchmark table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_helpers import dataset, record, spec

from reportgen.core.geography import load_geography
from reportgen.stats.benchmark import benchmark_table
from reportgen.stats.intervals import band_start

GEO = load_geography()
AREAS = {"testdata_big": "E06000001", "testdata_small": "E06000002", "testdata_tiny": "E06000003"}


@pytest.mark.parametrize(
    "label,start", [("0-4 yrs", 0), ("<1 yr", 0), ("1-4 yrs", 1), ("90+ yrs", 90), ("All ages", None), ("16+ yrs", 16)]
)
def test_band_labels(label, start):
    assert np.isnan(band_start(label)) if start is None else band_start(label) == start


def test_dsr_from_age_bands_matches_phe(validation_dir):
    folder = validation_dir / "pheindicatormethods"
    bands = pd.read_csv(folder / "testdata_DSR_ISR__testdata_multiarea.csv")
    expected = pd.read_csv(folder / "testdata_DSR_ISR__testresults_DSR.csv").iloc[4:7]  # per 100,000
    rows = [
        record(AREAS[r.area], age=f"{r.ageband} yrs", count=r["count"], denominator=r["pop"], value=None)
        for _, r in bands.iterrows()
    ]
    rows.append(record("E92000001", value=1000.0, lower=990.0, upper=1010.0))
    table = benchmark_table(dataset(rows), [spec(value_type="dsr", multiplier=100000)], GEO).set_index("area_code")
    for _, want in expected.iterrows():
        got = table.loc[AREAS[want.area]]
        assert got["count"] == want.total_count and got["denominator"] == want.total_pop
        if np.isnan(want.value):
            assert np.isnan(got["value"]) and got["compared_to_england"] == "Not compared"
            continue
        np.testing.assert_allclose(
            [got["value"], got["lower_ci_95"], got["upper_ci_95"], got["lower_ci_99_8"], got["upper_ci_99_8"]],
            [want.value, want.lower95_0cl, want.upper95_0cl, want.lower99_8cl, want.upper99_8cl],
            rtol=1e-8,
        )
        assert got["ci_source"] == "computed" and got["ci_method"] == "Dobson (ESP2013)"


def test_life_expectancy_from_age_bands_matches_phe(validation_dir):
    vector = pd.read_csv(validation_dir / "pheindicatormethods" / "le_chiang_testvector_df1.csv")
    labels = ["<1 yr", "1-4 yrs"] + [f"{a}-{a + 4} yrs" for a in range(5, 90, 5)] + ["90+ yrs"]
    rows = [
        record("E06000001", age=label, count=r.deaths, denominator=r.pops, period="2020 - 22")
        for label, (_, r) in zip(labels, vector.iterrows(), strict=True)
    ]
    rows.append(record("E92000001", value=79.0, lower=78.9, upper=79.1, period="2020 - 22"))
    table = benchmark_table(dataset(rows), [spec(value_type="life_expectancy", multiplier=1)], GEO).set_index(
        "area_code"
    )
    got = table.loc["E06000001"]
    birth = vector.iloc[0]
    assert round(got["value"], 4) == round(birth.value, 4)
    assert round(got["lower_ci_95"], 4) == round(birth.lowercl, 4) and round(got["upper_ci_95"], 4) == round(
        birth.uppercl, 4
    )
    assert got["compared_to_england"] == "Better" and got["ci_method"] == "Chiang II life table (Silcocks)"


def test_headline_value_in_the_file_wins_over_bands(validation_dir):
    vector = pd.read_csv(validation_dir / "pheindicatormethods" / "le_chiang_testvector_df1.csv")
    labels = ["<1 yr", "1-4 yrs"] + [f"{a}-{a + 4} yrs" for a in range(5, 90, 5)] + ["90+ yrs"]
    rows = [
        record("E06000001", age=label, count=r.deaths, denominator=r.pops)
        for label, (_, r) in zip(labels, vector.iterrows(), strict=True)
    ]
    rows.append(record("E06000001", value=81.5, lower=81.0, upper=82.0))
    table = benchmark_table(dataset(rows), [spec(value_type="life_expectancy", multiplier=1)], GEO)
    assert table["value"].tolist() == [81.5] and table["ci_source"].tolist() == ["data"]
