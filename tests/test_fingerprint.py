"""An area's dependency hash covers what its profile reads from the whole table, and nothing more."""

from __future__ import annotations

import pandas as pd
import pytest

from reportgen.core.geography import load_geography
from reportgen.publish import prepare as pipeline
from reportgen.stats.fingerprint import DependencyHashes, inputs_sha256

RECORD = {"generator": "reportgen test"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    specs = pipeline.read_specs(None)
    return pipeline.compute_benchmark(pipeline.read_data(None, specs), specs)


def _hash(table: pd.DataFrame, area) -> str:
    digest = inputs_sha256(table, area, RECORD, {})
    assert DependencyHashes(table).sha256(area, RECORD, {}) == digest  # the national run's hashes agree
    return digest


def test_hash_follows_the_authorities_in_the_table_and_each_indicators_periods(table):
    geography = load_geography()
    hartlepool, camden = geography.resolve("E06000001"), geography.resolve("E09000007")
    before = _hash(table, hartlepool)

    # An authority outside the region leaves the file: the profile says "N authorities in this file".
    fewer = table[table["area_code"] != camden.code]
    assert _hash(fewer, hartlepool) != before

    # A period that only an authority elsewhere has: the trend chart's periods are the table's.
    row = table[(table["area_code"] == camden.code)].iloc[[0]].copy()
    row["period"] = "2030/31"
    assert _hash(pd.concat([table, row], ignore_index=True), hartlepool) != before

    # A value elsewhere that no profile of the North East shows changes nothing.
    other = table.copy()
    other.loc[(other["area_code"] == camden.code), "value"] = other["value"] + 0.5
    assert _hash(other, hartlepool) == before
