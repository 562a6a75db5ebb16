"""One quintile method: the function the benchmark table ships is checked against methods.md 8.3 on real data.

Fingertips' quintiles (methods.md 8.3, ``QuintilesComparer.cs``) cut a comparison set at its
type-7 percentiles P20 ... P80. PHEindicatormethods' ``phe_quantile`` (methods.md 7a,
:func:`reportgen.stats.ci.quantile_category`, validated in test_ci_methods.py) is a different,
rank-based rule used for deprivation deciles; the two disagree for some values, so the benchmark
table does not call it (the last test shows the difference on PHE's own test data).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmark_helpers import spec

from reportgen.core.geography import load_geography
from reportgen.sources.data import load_indicator_data
from reportgen.stats import ci
from reportgen.stats.benchmark import BenchmarkOptions, ComparatorGroup, benchmark_table
from reportgen.stats.compare import QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG, compare_quintiles

GEO = load_geography()
CAMPYLOBACTER = Path("fingertips") / "jargonautical_data-dev__indicators-CountyUA.data.csv"
QUANTILES = Path("pheindicatormethods") / "testdata_Quantiles__testdata_Quantiles.csv"
POLARITIES = ("high_is_good", "low_is_good", "no_judgement")


def methods_md_quintile(value: float, comparison_set: list[float], polarity: str) -> str:
    """methods.md 8.3 written out literally, one value at a time (1-based indices as in the text)."""
    v = sorted(x for x in comparison_set if not math.isnan(x))
    n = len(v)
    if n < 5 or math.isnan(value):
        return "Not compared"

    def percentile(f: float) -> float:
        h = (n - 1) * f + 1
        k = math.floor(h)
        if k >= n:
            return v[n - 1]
        return v[k - 1] + (h - k) * (v[k] - v[k - 1])

    bound = [float(np.round(b, 10)) for b in (v[0], *(percentile(f) for f in (0.2, 0.4, 0.6, 0.8)), v[n - 1])]
    rounded = float(np.round(value, 10))
    category = next((i for i in range(1, 6) if rounded <= bound[i]), 5)
    if polarity == "high_is_good":
        category = 6 - category
    names = QUINTILE_LABELS_RAG if polarity in ("high_is_good", "low_is_good") else QUINTILE_LABELS_BOB
    return names[category - 1]


def literal(values: pd.Series, groups: pd.Series, polarity: str) -> list[str]:
    by_group = {key: list(part) for key, part in values.groupby(groups)}
    return [methods_md_quintile(v, by_group[g], polarity) for v, g in zip(values, groups, strict=True)]


@pytest.fixture(scope="module")
def campylobacter(validation_dir: Path):
    return load_indicator_data(validation_dir / CAMPYLOBACTER, GEO)


@pytest.fixture(scope="module")
def phe_quantile_data(validation_dir: Path) -> pd.DataFrame:
    data = pd.read_csv(validation_dir / QUANTILES, encoding="utf-8-sig")
    return data[data["Test"] == "Gooddata"]


def test_the_function_is_methods_md_on_phe_test_values_with_and_without_ties(phe_quantile_data):
    data = phe_quantile_data
    groups = data["IndSexRef"] + "|" + data["ParentCode"].fillna("")
    keys = pd.DataFrame({"set": groups})
    for values in (data["Value"], data["Value"].round(0)):  # rounding makes ties and values on the bounds
        for polarity in POLARITIES:
            assert list(compare_quintiles(values, keys, polarity)) == literal(values, groups, polarity)


@pytest.mark.parametrize("polarity", POLARITIES)
def test_benchmark_table_quintiles_are_the_checked_function_on_real_data(campylobacter, polarity):
    quintile_spec = spec(
        "campylobacter", 93356, "crude_rate", polarity, "quintiles", multiplier=100000.0, age="All ages"
    )
    group = ComparatorGroup("Neighbours", tuple(a.code for a in GEO.in_region("E12000001")[:7]))
    table = benchmark_table(campylobacter, [quintile_spec], GEO, BenchmarkOptions(comparator=group))
    local = table[table["area_type"] == "UTLA"]
    assert len(local) > 400 and local["compared_to_england"].nunique() == 6  # five quintiles and Not compared

    periods = local[["indicator_id", "period"]]
    england = compare_quintiles(local["value"], periods, polarity)
    assert list(local["compared_to_england"]) == list(england)
    assert list(england) == literal(local["value"], local["period"], polarity)

    in_region = local[local["region_code"] != ""]
    region = compare_quintiles(in_region["value"], in_region[["indicator_id", "period", "region_code"]], polarity)
    assert list(in_region["compared_to_region"]) == list(region)
    assert list(region) == literal(in_region["value"], in_region["period"] + in_region["region_code"], polarity)

    members = table[table["area_code"].isin(group.areas)]
    comparator = compare_quintiles(
        table["value"],
        table[["indicator_id", "period"]],
        polarity,
        members["value"],
        members[["indicator_id", "period"]],
    )
    assert list(table["compared_to_comparator"]) == list(comparator)
    pools = {p: list(part) for p, part in members.groupby("period")["value"]}
    expected = [
        methods_md_quintile(v, pools[p], polarity) for v, p in zip(table["value"], table["period"], strict=True)
    ]
    assert list(comparator) == expected


def test_fingertips_quintiles_are_not_phe_quantile(phe_quantile_data):
    """Why ci.quantile_category is not the shipped quintile rule: it assigns some values differently."""
    data = phe_quantile_data
    groups = data["IndSexRef"] + "|" + data["ParentCode"].fillna("")
    shipped = compare_quintiles(data["Value"], pd.DataFrame({"set": groups}), "no_judgement")
    rank_based = ci.quantile_category(data["Value"], groups, 5, invert=False)
    as_labels = np.array(["Not compared", *QUINTILE_LABELS_BOB], dtype=object)[np.nan_to_num(rank_based).astype(int)]
    differ = shipped != as_labels
    assert 0 < differ.sum() < 0.2 * len(data)
