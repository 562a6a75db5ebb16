"""Check reportgen.stats.ci against the PHEindicatormethods test vectors (read at test time)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from reportgen.stats import ci

VALIDATION = Path(
    os.environ.get(
        "REPORTGEN_VALIDATION_DIR",
        Path(__file__).resolve().parent / "data" / "validation",
    )
)
PIM = VALIDATION / "pheindicatormethods"

# European Standard Population 2013, 19 bands 0-4 ... 85-89, 90+: an INPUT of the DSR tests
# (PHEindicatormethods data-raw/LoadTestdata.R, quoted in the validation README).
ESP2013 = np.array(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000],
    dtype=float,
)

RTOL = 1e-8  # testthat tolerance is sqrt(.Machine$double.eps) ~ 1.49e-8 (README)
LEVELS = {"95_0": 0.95, "99_8": 0.998}


def read(name: str) -> pd.DataFrame:
    """Read one validation CSV; FAIL (not skip) when the validation folder is missing."""
    if not PIM.is_dir():
        pytest.fail(
            f"PHEindicatormethods validation folder not found: {PIM}. Set "
            "REPORTGEN_VALIDATION_DIR to the folder that contains 'pheindicatormethods'."
        )
    path = PIM / name
    if not path.is_file():
        pytest.fail(f"validation file missing: {path}")
    return pd.read_csv(path, encoding="utf-8-sig")


def close(actual, expected, rtol: float = RTOL) -> None:
    """assert_allclose on float arrays, NaN must match NaN."""
    assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=0, equal_nan=True
    )


def labels(column) -> list:
    """Expected text column with blanks (NaN) mapped to None."""
    return [None if pd.isna(v) else v for v in column]


def percent(text: pd.Series) -> np.ndarray:
    """'95%' / '99.8%' -> 95.0 / 99.8 (z_value accepts percentages)."""
    return text.str.rstrip("%").astype(float).to_numpy()


def sum_keep_na(frame: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """Group sums without na.rm, like R's sum() inside summarise()."""
    return frame.groupby(key, sort=False)[columns].agg(lambda s: s.sum(skipna=False))


# ------------------------------------------------------------------ Byar's / Wilson


def test_validation_folder_present():
    assert PIM.is_dir(), f"validation folder missing: {PIM}"


@pytest.mark.parametrize("level", ["95%", "99.8%"])
def test_byars_helper_rows(level):
    # Rows 1-6 and 13 of testdata_B_W; row 13 (x=1, 99.8%) has a negative lower limit -> NA.
    data = read("testdata_Byars_Wilson__testdata_B_W.csv")
    rows = data[(data["method"] == "Byars") & (data["confidence"] == level)]
    lower, upper = ci.byars_interval(rows["x"], percent(rows["confidence"])[0])
    close(lower, rows["lowercl"])
    close(upper, rows["uppercl"])
    assert rows["lowercl"].isna().sum() == (1 if level == "99.8%" else 0)


@pytest.mark.parametrize("level", ["95%", "99.8%"])
def test_wilson_helper_rows(level):
    # Rows 7-12 of testdata_B_W, including the non-integer x = 0.445, n = 1.
    data = read("testdata_Byars_Wilson__testdata_B_W.csv")
    rows = data[(data["method"] == "Wilson") & (data["confidence"] == level)]
    value, lower, upper = ci.wilson_interval(rows["x"], rows["n"], percent(rows["confidence"])[0])
    close(value, rows["x"] / rows["n"])
    close(lower, rows["lowercl"])
    close(upper, rows["uppercl"])


def test_wilson_confidence_one_gives_whole_range():
    data = read("testdata_Byars_Wilson__testdata_B_W.csv")
    rows = data[data["method"] == "Wilson"]
    for multiplier in (1.0, 100.0):
        _, lower, upper = ci.wilson_interval(rows["x"], rows["n"], 1.0, multiplier)
        assert_array_equal(lower, 0.0)
        assert_array_equal(upper, multiplier)


# ---------------------------------------------------------------------- proportions


@pytest.mark.parametrize("tag", LEVELS)
def test_proportion_rows(tag):
    # Rows 1-8 proportion of 1, rows 9-16 percentage, rows 17-19 NA inputs -> all NA.
    data = read("testdata_Proportion__testdata_Prop.csv")
    value, lower, upper = ci.wilson_interval(data["Numerator"], data["Denominator"], LEVELS[tag], data["multiplier"])
    close(value, data["value"])
    close(lower, data[f"lower{tag}cl"])
    close(upper, data[f"upper{tag}cl"])
    assert np.isnan(value[16:]).all() and np.isnan(upper[16:]).all()


def test_proportion_grouped_rows():
    # Prop_g = rows 1-8 (multiplier 1) entered twice plus the NA rows once, grouped by Area:
    # numerators and denominators are summed within Area, then Wilson (95%).
    plain = read("testdata_Proportion__testdata_Prop.csv")
    expected = read("testdata_Proportion__testdata_Prop_g.csv")
    base = plain[plain["multiplier"] == 1]
    raw = pd.concat([base.iloc[:8], base]).reset_index(drop=True)
    summed = sum_keep_na(raw, "Area", ["Numerator", "Denominator"]).loc[expected["Area"]]
    close(summed["Numerator"], expected["Numerator"], rtol=0)
    close(summed["Denominator"], expected["Denominator"], rtol=0)
    value, lower, upper = ci.wilson_interval(
        summed["Numerator"],
        summed["Denominator"],
        percent(expected["confidence"])[0],
        expected["multiplier"].to_numpy(),
    )
    close(value, expected["value"])
    close(lower, expected["lowercl"])
    close(upper, expected["uppercl"])


def test_ncmp_wilson_percentages():
    # NCMP_testdata: Rate, LCL, UCL = Wilson 95% x 100 (values stored to ~15 significant digits).
    data = read("NCMP_testdata.csv")
    value, lower, upper = ci.wilson_interval(data["Count"], data["Measured"], 0.95, 100)
    close(value, data["Rate"])
    close(lower, data["LCL"])
    close(upper, data["UCL"])


# ---------------------------------------------------------------------- crude rates


@pytest.mark.parametrize("tag", LEVELS)
def test_rate_rows(tag):
    # Rows 1-8 per 100, 9-16 per 100000, 17-19 NA inputs, row 20 numerator > denominator.
    data = read("testdata_Rate__testdata_Rate.csv")
    value, lower, upper, method = ci.crude_rate_interval(
        data["Numerator"], data["Denominator"], LEVELS[tag], data["multiplier"].to_numpy()
    )
    close(value, data["value"])
    close(lower, data[f"lower{tag}cl"])
    close(upper, data[f"upper{tag}cl"])
    assert list(method) == labels(data["method"])


def test_rate_grouped_rows():
    # Rate_g = per-100000 rows with Area1-8 entered twice (NA rows and Area12 once), summed
    # within Area. Area1 (2 events) is Exact, Area2 (10 events) Byars: the switch is x < 10.
    plain = read("testdata_Rate__testdata_Rate.csv")
    expected = read("testdata_Rate__testdata_Rate_g.csv")
    base = plain[plain["multiplier"] == 100000]
    raw = pd.concat([base.iloc[:8], base]).reset_index(drop=True)
    summed = sum_keep_na(raw, "Area", ["Numerator", "Denominator"]).loc[expected["Area"]]
    close(summed["Numerator"], expected["Numerator"], rtol=0)
    close(summed["Denominator"], expected["Denominator"], rtol=0)
    value, lower, upper, method = ci.crude_rate_interval(
        summed["Numerator"],
        summed["Denominator"],
        percent(expected["confidence"])[0],
        expected["multiplier"].to_numpy(),
    )
    close(value, expected["value"])
    close(lower, expected["lowercl"])
    close(upper, expected["uppercl"])
    assert list(method) == labels(expected["method"])


# ---------------------------------------------------------------------------- means


@pytest.mark.parametrize("tag", LEVELS)
def test_mean_rows(tag):
    # Rows 1-2 grouped by area; row 3 "No grouping" = all 26 observations as one group.
    data = read("testdata_Mean__testdata_Mean.csv")
    expected = read("testdata_Mean__testdata_Mean_results.csv")
    grouped = ci.t_mean_interval(data["values"], data["area"], LEVELS[tag])
    single = ci.t_mean_interval(data["values"], ["No grouping"] * len(data), LEVELS[tag])
    result = pd.concat([grouped, single]).loc[expected["area"]]
    for column in ("value_sum", "value_count", "stdev", "value"):
        close(result[column], expected[column])
    close(result["lower"], expected[f"lower{tag}cl"])
    close(result["upper"], expected[f"upper{tag}cl"])
    assert list(result["method"]) == list(expected["method"])


@pytest.mark.parametrize("tag", LEVELS)
def test_mean_from_summary_rows(tag):
    expected = read("testdata_Mean__testdata_Mean_results.csv")
    value, lower, upper = ci.t_mean_interval_from_summary(
        expected["value"], expected["stdev"], expected["value_count"], LEVELS[tag]
    )
    close(value, expected["value"])
    close(lower, expected[f"lower{tag}cl"])
    close(upper, expected[f"upper{tag}cl"])


# ----------------------------------------------------------------------------- DSRs


def multiarea_dsr(multiplier: float, confidence: float) -> pd.DataFrame:
    data = read("testdata_DSR_ISR__testdata_multiarea.csv")
    stdpop = np.tile(ESP2013, data["area"].nunique())  # 19 bands per area, in ESP order
    return ci.dobson_dsr(data["count"], data["pop"], stdpop, data["area"], confidence, multiplier)


def check_dsr(result: pd.DataFrame, expected: pd.DataFrame, tags=tuple(LEVELS)) -> None:
    result = result.loc[expected["area"]]
    close(result["total_count"], expected["total_count"])
    close(result["total_pop"], expected["total_pop"])
    close(result["value"], expected["value"])
    for tag in tags:
        close(result[f"lower{tag}"], expected[f"lower{tag}cl"])
        close(result[f"upper{tag}"], expected[f"upper{tag}cl"])
    # method text, or the statistic text "dsr NA for total count < 10" when suppressed
    suppressed = expected["statistic"] == ci.DSR_NA_TEXT
    assert list(result["method"]) == list(expected["statistic"].where(suppressed, expected["method"]))


def both_levels(make) -> pd.DataFrame:
    """Run a DSR function at 95% and 99.8% and put the limits side by side."""
    first, second = make(0.95), make(0.998)
    return first.assign(
        lower95_0=first["lower"], upper95_0=first["upper"], lower99_8=second["lower"], upper99_8=second["upper"]
    )


@pytest.mark.parametrize(("multiplier", "rows"), [(10000, [0, 1, 2]), (100000, [4, 5, 6])])
def test_dsr_multiarea_rows(multiplier, rows):
    # testresults_DSR rows 1-3 (per 10000) and 5-7 (per 100000); testdata_tiny (total count 9)
    # gives NA value/limits. The blank count in testdata_tiny is treated as 0.
    expected = read("testdata_DSR_ISR__testresults_DSR.csv").iloc[rows]
    assert set(expected["statistic"]) <= {f"dsr per {multiplier}", ci.DSR_NA_TEXT}
    check_dsr(both_levels(lambda conf: multiarea_dsr(multiplier, conf)), expected)


@pytest.mark.parametrize(("multiplier", "row"), [(10000, 3), (100000, 7)])
def test_dsr_esp1976_rows(multiplier, row):
    # testresults_DSR rows 4 and 8 (testdata_1976, own standard population esp1976). Only the
    # 95% columns are checked, as in the R test: the workbook's 99.8% cells of these rows are
    # 10x too large (README). That quirk is asserted explicitly below.
    data = read("testdata_DSR_ISR__testdata_1976.csv")
    expected = read("testdata_DSR_ISR__testresults_DSR.csv").iloc[[row]]

    def make(conf):
        return ci.dobson_dsr(
            data["count"], data["pop"], data["esp1976"], ["testdata_1976"] * len(data), conf, multiplier
        )

    result = both_levels(make)
    check_dsr(result, expected, tags=("95_0",))
    close(10 * result["lower99_8"].to_numpy(), expected["lower99_8cl"])
    close(10 * result["upper99_8"].to_numpy(), expected["upper99_8cl"])


def test_dsr_nonindependent_rows():
    # testresults_DSR rows 9-12. fk = people with exactly k events, blank = 0. The R test drops
    # f4 for the dummy/small/tiny areas; their f4 cells are all blank or 0, so keeping f4 is
    # equivalent (asserted). Expected cells are rounded to 8 decimals (rel error < 1e-11).
    data = read("testdata_DSR_ISR__testdata_nonindepe.csv")
    expected = read("testdata_DSR_ISR__testresults_DSR.csv").iloc[8:12]
    freq = data[["f1", "f2", "f3", "f4"]]
    assert freq["f4"].fillna(0)[data["area"] != "testdata_nonind_big"].eq(0).all()
    close(freq.fillna(0).to_numpy() @ np.arange(1, 5), data["count"], rtol=0)
    stdpop = np.tile(ESP2013, data["area"].nunique())
    result = both_levels(
        lambda conf: ci.dobson_dsr_nonindependent(freq, data["pop"], stdpop, data["area"], confidence=conf)
    )
    check_dsr(result, expected)


# ----------------------------------------------------------------------------- ISRs


def with_reference(data: pd.DataFrame) -> pd.DataFrame:
    """Attach refdata by age band label (both files carry the same '55-69' typo for 55-59)."""
    ref = read("testdata_DSR_ISR__refdata.csv")
    merged = data.merge(ref, left_on="ageband", right_on="Age Band", how="left", validate="m:1")
    assert merged["refpop"].notna().all()
    return merged


ISR_CASES = {  # testresults_ISR rows -> (reference, rate_multiplier)
    "ISRate per 100000": ([0, 1, 2], 1.0, 100000),
    "ISRate per 1000": ([3, 4, 5], 1.0, 1000),
    "ISRatio x 1": ([6, 7, 8], 1.0, None),
    "ISRatio x 100": ([9, 10, 11], 100.0, None),
}


def check_isr(result: pd.DataFrame, expected: pd.DataFrame, tags=tuple(LEVELS)) -> None:
    result = result.loc[expected["area"]]
    close(result["observed"], expected["observed"])
    close(result["expected"], expected["expected"])
    if "ref_rate" in result:
        close(result["ref_rate"], expected["ref_rate"])
    else:
        assert expected["ref_rate"].isna().all()
    close(result["value"], expected["value"])
    for tag in tags:
        close(result[f"lower{tag}"], expected[f"lower{tag}cl"])
        close(result[f"upper{tag}"], expected[f"upper{tag}cl"])
    assert list(result["method"]) == list(expected["method"])  # Exact for testdata_tiny (O=9)


def isr_levels(data, reference, rate_multiplier) -> pd.DataFrame:
    return both_levels(
        lambda conf: ci.isr_from_age_bands(
            data["count"], data["pop"], data["refcount"], data["refpop"], data["area"], conf, reference, rate_multiplier
        )
    )


@pytest.mark.parametrize("case", ISR_CASES)
def test_isr_vector_reference_rows(case):
    rows, reference, rate_multiplier = ISR_CASES[case]
    data = with_reference(read("testdata_DSR_ISR__testdata_multiarea.csv"))
    expected = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[rows]
    check_isr(isr_levels(data, reference, rate_multiplier), expected)


@pytest.mark.parametrize("case", ISR_CASES)
def test_isr_field_reference_rows(case):
    # Same expected rows with the reference columns already in the data (refpoptype "field");
    # testdata_tiny has a blank count, pop and refcount in band 10-14 (treated as 0).
    rows, reference, rate_multiplier = ISR_CASES[case]
    data = read("testdata_DSR_ISR__testdata_multiarea_isr.csv")
    expected = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[rows]
    check_isr(isr_levels(data, reference, rate_multiplier), expected)


def test_isr_observed_totals_rows():
    # observed_totals variant: observed events from the lookup file, E from the age bands.
    data = with_reference(read("testdata_DSR_ISR__testdata_multiarea.csv"))
    lookup = read("testdata_DSR_ISR__testdata_multiarea_lookup.csv").set_index("area")
    expected = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[9:12]
    bands = ci.isr_from_age_bands(
        data["count"], data["pop"], data["refcount"], data["refpop"], data["area"], reference=100
    )
    observed = lookup.loc[expected["area"], "total_count"]
    for tag, conf in LEVELS.items():
        value, lower, upper, method = ci.isr_interval(observed, bands.loc[expected["area"], "expected"], conf, 100)
        close(value, expected["value"])
        close(lower, expected[f"lower{tag}cl"])
        close(upper, expected[f"upper{tag}cl"])
        assert list(method) == list(expected["method"])


@pytest.mark.parametrize(("rows", "reference", "rate_multiplier"), [([12, 13], 1.0, 100000), ([14, 15], 100.0, None)])
def test_isr_zero_population_rows(rows, reference, rate_multiplier):
    # testresults_ISR rows 13-16 (95% only): testdata_err2, Area1 has population 0 in band 5-9;
    # that band adds nothing to E while its 25 events still count as observed.
    data = read("testdata_DSR_ISR__testdata_err2.csv")
    ref = read("testdata_DSR_ISR__refdata.csv")
    n_areas = data["area"].nunique()
    data = data.assign(
        refcount=np.tile(ref["refcount"], n_areas), refpop=np.tile(ref["refpop"], n_areas)
    )  # bands in refdata order
    expected = read("testdata_DSR_ISR__testresults_ISR.csv").iloc[rows]
    result = ci.isr_from_age_bands(
        data["count"], data["pop"], data["refcount"], data["refpop"], data["area"], 0.95, reference, rate_multiplier
    )
    result = result.rename(columns={"lower": "lower95_0", "upper": "upper95_0"})
    check_isr(result, expected, tags=("95_0",))
    assert expected["lower99_8cl"].isna().all()


def test_dsr_error_fixtures_raise():
    # testdata_err1 (negative count), err3 (negative population), err4 (negative stdpop).
    for name, problem in [("err1", "count"), ("err3", "population"), ("err4", "standard")]:
        data = read(f"testdata_DSR_ISR__testdata_{name}.csv")
        with pytest.raises(ValueError, match=problem):
            ci.dobson_dsr(data["count"], data["pop"], data["stdpop"], ["a"] * len(data))


# -------------------------------------------------------------------- life expectancy


def le_round(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float), 4)


def test_life_expectancy_df1_all_ages():
    # LE at every start age, compared at 4 dp (expected CIs were made with z = 1.96; the
    # qnorm(0.975) limits differ by ~5e-6 years, equal at 4 dp). pops_used/dths_used are
    # plain cumulative sums of the inputs and are not part of this API.
    data = read("le_chiang_testvector_df1.csv")
    result = ci.chiang_life_expectancy(data["deaths"], data["pops"], data["startage"], ["df1"] * len(data), le_age=None)
    close(result["start_age"], data["startage"], rtol=0)
    assert_array_equal(le_round(result["value"]), le_round(data["value"]))
    assert_array_equal(le_round(result["lower"]), le_round(data["lowercl"]))
    assert_array_equal(le_round(result["upper"]), le_round(data["uppercl"]))
    assert (result["method"] == ci.LE_METHOD).all()
    at_birth = ci.chiang_life_expectancy(data["deaths"], data["pops"], data["startage"], ["df1"] * len(data))
    assert_array_equal(le_round(at_birth["value"]), le_round(data["value"].iloc[:1]))


def test_life_expectancy_wide_cis():
    # Area 2: values blank from age 40 (1.96 SE > 10) but limits reported; Area 1: deaths >
    # population at 90+, whole area NA. R lists Area 1 after Area 2, so align on keys.
    data = read("le_chiang_testvector_widecis.csv")
    result = ci.chiang_life_expectancy(
        data["deaths"], data["pops"], data["startage"], data["area"], le_age=None
    ).reset_index()
    merged = data.merge(
        result, left_on=["area", "startage"], right_on=["group", "start_age"], how="left", validate="1:1"
    )
    assert_array_equal(le_round(merged["value_y"]), le_round(merged["value_x"]))
    assert_array_equal(le_round(merged["lower"]), le_round(merged["lower95_0cl"]))
    assert_array_equal(le_round(merged["upper"]), le_round(merged["upper95_0cl"]))
    area2 = merged[merged["area"] == "Area 2"]
    assert (area2["value_x"].isna() == (area2["startage"] >= 40)).all()
    assert area2.loc[area2["startage"] >= 40, "note"].str.contains("wider than 20").all()
    assert merged.loc[merged["area"] == "Area 1", "note"].str.contains("deaths exceed").all()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.assign(deaths=d["deaths"].where(d.index != 3, -1)), "negative deaths"),
        (lambda d: d.assign(pops=d["pops"].where(d.index != 5, 0)), "population <= 0"),
        (lambda d: d.iloc[:-1], "20 age bands"),
        (lambda d: d.assign(deaths=1, pops=250), "5000 or fewer"),
    ],
    ids=["negative-deaths", "zero-population", "19-bands", "small-population"],
)
def test_life_expectancy_group_suppression(change, reason):
    # Rules tested in R without data files, applied to the df1 inputs (second group untouched).
    data = read("le_chiang_testvector_df1.csv")
    bad = change(data)
    deaths = np.r_[bad["deaths"], data["deaths"]]
    pops = np.r_[bad["pops"], data["pops"]]
    ages = np.r_[bad["startage"], data["startage"]]
    groups = ["bad"] * len(bad) + ["good"] * len(data)
    result = ci.chiang_life_expectancy(deaths, pops, ages, groups, le_age=None)
    assert result.loc["bad", ["value", "lower", "upper"]].isna().all().all()
    assert result.loc["bad", "note"].str.contains(reason, regex=False).all()
    assert_array_equal(le_round(result.loc["good", "value"]), le_round(data["value"]))


# ------------------------------------------------------------------------- quantiles


def test_quantile_good_rows():
    # 'Good*' rows: IndSexReg = deciles within indicator+sex+region, IndSex = septiles within
    # indicator+sex, GroupSet blank = quartiles over all those rows (invert TRUE). Polarity
    # "RAG - Low is good" / "True" -> invert TRUE. Rows with a blank Value expect NA.
    data = read("testdata_Quantiles__testdata_Quantiles.csv")
    data = data[data["Test"].str.startswith("Good")]
    invert = data["Polarity"].isin(["RAG - Low is good", "True"]).to_numpy()
    group_sets = {
        "IndSexReg": (data["IndSexRef"] + "|" + data["ParentCode"], 10, invert),
        "IndSex": (data["IndSexRef"], 7, invert),
        None: (None, 4, True),
    }
    got = pd.Series(np.nan, index=data.index)
    for name, (groups, n_quantiles, flip) in group_sets.items():
        mask = (data["GroupSet"].isna() if name is None else data["GroupSet"] == name).to_numpy()
        keys = None if groups is None else groups[mask]
        flags = flip if np.isscalar(flip) else flip[mask]
        got[mask] = ci.quantile_category(data.loc[mask, "Value"], keys, n_quantiles, flags)
    assert len(data) == 982
    close(got, data["QuantileInGrp"], rtol=0)


def test_quantile_bad_polarity_rows_raise():
    # BadPolarity rows mix invert TRUE/FALSE inside one group: R stops with an error.
    data = read("testdata_Quantiles__testdata_Quantiles.csv")
    bad = data[data["Test"] == "BadPolarity"]
    with pytest.raises(ValueError, match="invert"):
        ci.quantile_category(bad["Value"], bad["IndSexRef"], 7, bad["Polarity"].eq("True").to_numpy())
