"""Confidence intervals for every row: taken from the data where given, else computed by value type."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from reportgen.sources.data import (
    AGE,
    AREA_CODE,
    COUNT,
    DENOMINATOR,
    LOWER_95,
    LOWER_998,
    PERIOD,
    STD_DEV,
    UPPER_95,
    UPPER_998,
    VALUE,
)
from reportgen.stats.ci import (
    chiang_life_expectancy,
    crude_rate_interval,
    dobson_dsr,
    isr_interval,
    t_mean_interval_from_summary,
    wilson_interval,
)

CI_METHOD = "ci_method"
CI_SOURCE = "ci_source"
SUPPLIED = "Supplied with the data"
NO_CI = "Not available"

#: European Standard Population 2013, 19 bands 0-4 ... 85-89, 90+.
ESP2013 = np.array(
    [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000],
    float,
)
ESP_STARTS = np.array([*range(0, 95, 5)], float)
LE_STARTS = np.array([0, 1, *range(5, 95, 5)], float)


def band_start(age: str) -> float:
    """Start age of a Fingertips age-band label ('0-4 yrs', '<1 yr', '90+ yrs'); NaN if not a band."""
    text = age.strip().lower()
    if re.fullmatch(r"<\s*1 yrs?|0 yrs?", text):
        return 0.0
    match = re.fullmatch(r"(\d+)\s*(?:-\s*\d+|\+)\s*yrs?", text)
    return float(match[1]) if match else float("nan")


def _computed(
    value_type: str, frame: pd.DataFrame, multiplier: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(lower, upper, method labels) computed from counts for one value type, or ``None``.

    ``multiplier`` holds one value per row (specs of one value type may differ in scale).
    """
    count, denominator = frame[COUNT].to_numpy(float), frame[DENOMINATOR].to_numpy(float)
    usable = ~(np.isnan(count) | np.isnan(denominator)) & (denominator > 0) & frame[VALUE].notna().to_numpy()
    lower = np.full(len(frame), np.nan)
    upper = np.full(len(frame), np.nan)
    method = np.full(len(frame), NO_CI, dtype=object)
    if value_type == "proportion":
        ok = usable & (count <= denominator)
        _, lower[ok], upper[ok] = wilson_interval(count[ok], denominator[ok], confidence, multiplier[ok])
        method[ok] = "Wilson score"
    elif value_type in ("crude_rate", "isr"):
        if value_type == "crude_rate":
            _, lo, up, names = crude_rate_interval(count[usable], denominator[usable], confidence, multiplier[usable])
        else:
            _, lo, up, names = isr_interval(count[usable], denominator[usable], confidence, multiplier[usable])
        lower[usable], upper[usable] = lo, up
        method[usable] = np.where(names == "Exact", "Exact Poisson (count below 10)", "Byar's")
    elif value_type in ("mean", "score"):
        sd = frame[STD_DEV].to_numpy(float)
        ok = usable & ~np.isnan(sd) & (denominator >= 2)
        _, lower[ok], upper[ok] = t_mean_interval_from_summary(
            frame[VALUE].to_numpy(float)[ok], sd[ok], denominator[ok], confidence
        )
        method[ok] = "Student's t"
    else:
        return None
    return lower, upper, method


def attach_intervals(frame: pd.DataFrame, value_type: str, multiplier: ArrayLike, compute: bool = True) -> pd.DataFrame:
    """Fill missing 95% and 99.8% limits where the value type allows, recording method and source.

    Rows that carry both 95% limits keep them (``ci_source`` = ``data``); their 99.8% limits are
    computed only if absent. Rows without limits get computed ones (``computed``) or none (``none``).
    With ``compute`` False nothing is computed: only limits supplied with the data are kept (for
    indicators compared by quintiles, modelled or geographic measures whose publishers give no
    interval: a Wilson interval from their counts would describe a sampling error they do not have).
    """
    out = frame.copy()
    scale = np.broadcast_to(np.asarray(multiplier, dtype=float), (len(out),))
    has95 = out[LOWER_95].notna() & out[UPPER_95].notna()
    has998 = out[LOWER_998].notna() & out[UPPER_998].notna()
    computed95 = _computed(value_type, out, scale, 0.95) if compute else None
    computed998 = _computed(value_type, out, scale, 0.998) if compute else None
    method = np.where(has95, SUPPLIED, NO_CI).astype(object)
    if computed95 is not None and computed998 is not None:
        lo95, up95, m95 = computed95
        lo998, up998, m998 = computed998
        fill95 = ~has95.to_numpy() & ~np.isnan(lo95)
        out.loc[fill95, LOWER_95], out.loc[fill95, UPPER_95] = lo95[fill95], up95[fill95]
        fill998 = ~has998.to_numpy() & ~np.isnan(lo998)
        out.loc[fill998, LOWER_998], out.loc[fill998, UPPER_998] = lo998[fill998], up998[fill998]
        method = np.where(fill95, m95, method)
        mixed = has95.to_numpy() & fill998
        method = np.where(mixed, SUPPLIED + " (95%); " + m998.astype(str) + " (99.8%)", method)
    source = np.where(has95, "data", np.where(out[LOWER_95].notna(), "computed", "none"))
    return out.assign(**{CI_METHOD: method, CI_SOURCE: source})


def headline_from_age_bands(bands: pd.DataFrame, value_type: str, multiplier: float) -> pd.DataFrame:
    """Area-period headline rows (value, count, denominator, limits) computed from age-band rows.

    ``dsr``: Dobson with the 2013 European Standard Population (19 bands, suppressed below 10
    events); ``life_expectancy``: Chiang II at birth (20 bands). Groups without the full set of
    bands are left out.
    """
    starts = bands[AGE].map(band_start)
    bands = bands.assign(_start=starts).dropna(subset=["_start"])
    wanted = ESP_STARTS if value_type == "dsr" else LE_STARTS
    complete = bands.groupby([AREA_CODE, PERIOD])["_start"].transform(
        lambda s: set(s) == set(wanted) and len(s) == len(wanted)
    )
    bands = bands[complete.astype(bool)].sort_values([AREA_CODE, PERIOD, "_start"], kind="stable")
    if bands.empty:
        return pd.DataFrame(
            columns=[AREA_CODE, PERIOD, VALUE, COUNT, DENOMINATOR, LOWER_95, UPPER_95, LOWER_998, UPPER_998, CI_METHOD]
        )
    keys = bands[AREA_CODE] + "\x1f" + bands[PERIOD]
    results = {c: _band_statistic(bands, keys, value_type, multiplier, c) for c in (0.95, 0.998)}
    r95, r998 = results[0.95], results[0.998]
    area, period = zip(*(k.split("\x1f") for k in r95.index), strict=True)
    totals = bands.groupby(keys)[[COUNT, DENOMINATOR]].sum(min_count=1).loc[r95.index]
    return pd.DataFrame(
        {
            AREA_CODE: area,
            PERIOD: period,
            VALUE: r95["value"].to_numpy(),
            COUNT: totals[COUNT].to_numpy(),
            DENOMINATOR: totals[DENOMINATOR].to_numpy(),
            LOWER_95: r95["lower"].to_numpy(),
            UPPER_95: r95["upper"].to_numpy(),
            LOWER_998: r998["lower"].to_numpy(),
            UPPER_998: r998["upper"].to_numpy(),
            CI_METHOD: "Dobson (ESP2013)" if value_type == "dsr" else "Chiang II life table (Silcocks)",
        }
    )


def _band_statistic(
    bands: pd.DataFrame, keys: pd.Series, value_type: str, multiplier: float, confidence: float
) -> pd.DataFrame:
    if value_type == "dsr":
        standard = bands["_start"].map(dict(zip(ESP_STARTS, ESP2013, strict=True)))
        return dobson_dsr(bands[COUNT].fillna(0), bands[DENOMINATOR], standard, keys, confidence, multiplier)
    return chiang_life_expectancy(bands[COUNT], bands[DENOMINATOR], bands["_start"], keys, confidence)
