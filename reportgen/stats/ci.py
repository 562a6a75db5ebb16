"""Vectorised confidence-interval methods reproducing PHE's PHEindicatormethods R package."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "Z95",
    "Z998",
    "LE_START_AGES",
    "z_value",
    "wilson_interval",
    "byars_interval",
    "exact_poisson_interval",
    "poisson_count_interval",
    "crude_rate_interval",
    "isr_interval",
    "dobson_dsr",
    "dobson_dsr_nonindependent",
    "isr_from_age_bands",
    "t_mean_interval",
    "t_mean_interval_from_summary",
    "chiang_life_expectancy",
    "quantile_category",
]

#: ``scipy.stats.norm.ppf(0.975)`` and ``norm.ppf(0.999)`` (tests check them against scipy.stats).
Z95: float = 1.959963984540054
Z998: float = 3.090232306167813

#: Start ages of the 20 abridged life-table bands (0, 1-4, 5-9, ..., 85-89, 90+).
LE_START_AGES: np.ndarray = np.array([0, 1, *range(5, 95, 5)], dtype=float)

EXACT_THRESHOLD = 10  # exact Poisson limits strictly below this count, Byar's from it
DSR_METHOD = "Dobson"
DSR_NONIND_METHOD = "Dobson, with confidence adjusted for non-independent events"
DSR_NA_TEXT = "dsr NA for total count < 10"
LE_METHOD = "Chiang, using Silcocks et al for confidence limits"
MEAN_METHOD = "Student's t-distribution"


# --------------------------------------------------------------------------- quantiles

# scipy.stats takes about 0.4 s and 65 MB to import (once per process, and once per worker of a
# national run). Its ``ppf`` of the normal, chi-squared and Student's t distributions is a
# scipy.special function behind argument checks; these reproduce both exactly (the tests compare
# them with scipy.stats bit for bit), and scipy.special is imported only when first needed.


def _ppf(
    core: Callable[..., np.ndarray],
    q: ArrayLike,
    shape: ArrayLike | None = None,
    support: tuple[float, float] = (-np.inf, np.inf),
) -> np.ndarray | float:
    """``dist.ppf(q[, shape])`` as scipy.stats computes it, with ``core`` its ``_ppf``.

    Where the shape parameter is not positive (or NaN) or ``q`` is outside [0, 1] the result is
    NaN; ``q`` of 0 and 1 give the ends of the support.
    """
    arrays = [np.asarray(q)] if shape is None else [np.asarray(q), np.asarray(shape)]
    broadcast = np.broadcast_arrays(*arrays)
    q, args = broadcast[0], broadcast[1:]
    valid = np.logical_and.reduce([a > 0 for a in args]) if args else np.ones(q.shape, dtype=bool)
    inside = valid & (0 < q) & (q < 1)
    output = np.full(q.shape, np.nan)
    output[valid & (q == 0)] = support[0]
    output[valid & (q == 1)] = support[1]
    if np.any(inside):
        output[inside] = core(q[inside], *[a[inside] for a in args]) * 1.0 + 0.0
    return output[()] if output.ndim == 0 else output


def norm_ppf(q: ArrayLike) -> np.ndarray | float:
    """Standard normal quantile (``scipy.stats.norm.ppf``)."""
    from scipy.special import ndtri

    return _ppf(ndtri, q)


def chi2_ppf(q: ArrayLike, df: ArrayLike) -> np.ndarray | float:
    """Chi-squared quantile with ``df`` degrees of freedom (``scipy.stats.chi2.ppf``)."""
    from scipy.special import gammaincinv

    return _ppf(lambda p, k: 2 * gammaincinv(k / 2, p), q, df, (0.0, np.inf))


def t_ppf(q: ArrayLike, df: ArrayLike) -> np.ndarray | float:
    """Student's t quantile with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    from scipy.special import stdtrit

    return _ppf(lambda p, k: stdtrit(k, p), q, df)


# --------------------------------------------------------------------------- helpers


def _as_float(values: ArrayLike | pd.Series) -> np.ndarray:
    """Return ``values`` as a float ndarray (pandas NA and None become NaN)."""
    if hasattr(values, "to_numpy"):
        return np.asarray(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    return np.asarray(values, dtype=float)


def _require(bad: ArrayLike | pd.Series, message: str) -> None:
    """Raise ValueError(message) if any element of ``bad`` is True (NaN never counts)."""
    if np.any(bad):
        raise ValueError(message)


def _confidence_level(confidence: float) -> float:
    """Normalise 0.95 / 95 to a probability in [0.9, 1]."""
    level = float(confidence)
    if level > 1:
        level /= 100.0
    if not 0.9 <= level <= 1:
        raise ValueError(f"confidence must be between 0.9 and 1 (or 90 and 100), got {confidence!r}")
    return level


def _group_keys(groups: Iterable[Hashable], size: int) -> pd.Series:
    """Return one group key per row as a Series named ``group``."""
    keys = pd.Series(groups.to_numpy() if hasattr(groups, "to_numpy") else list(groups))
    if len(keys) != size:
        raise ValueError(f"groups has {len(keys)} entries but the data have {size} rows")
    return keys.rename("group")


def _floats(*arrays: ArrayLike) -> tuple[np.ndarray, ...]:
    """Return every argument as a float ndarray (0-d for scalar input)."""
    return tuple(np.asarray(a, dtype=float) for a in arrays)


def _method_labels(count: np.ndarray) -> np.ndarray:
    """Object array "Exact" (count < 10) / "Byars" (count >= 10) / None (NaN count)."""
    method = np.full(count.shape, None, dtype=object)
    method[count < EXACT_THRESHOLD] = "Exact"
    method[count >= EXACT_THRESHOLD] = "Byars"
    return method


# --------------------------------------------------------------- single-value methods


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for a confidence level.

    Parameters
    ----------
    confidence : float
        Confidence level as a proportion (0.95) or a percentage (95); values above
        1 are divided by 100. Must lie in [0.9, 1] as in PHEindicatormethods.

    Returns
    -------
    float
        ``norm.ppf(1 - (1 - confidence) / 2)``; ``inf`` for confidence 1.

    Raises
    ------
    ValueError
        If the confidence level is outside [0.9, 1].
    """
    return float(norm_ppf((1 + _confidence_level(confidence)) / 2))


def wilson_interval(
    count: ArrayLike, denominator: ArrayLike, confidence: float = 0.95, multiplier: float = 1.0
) -> tuple[np.ndarray, ...]:
    """Proportion with Wilson score confidence limits (Wilson 1927).

    Parameters
    ----------
    count, denominator : array_like
        Numerator ``x`` and denominator ``n`` with ``0 <= x <= n`` and ``n > 0``.
        Non-integer counts are accepted; NaN gives NaN outputs.
    confidence : float
        Confidence level (0.95, 0.998, 95, ...). Confidence 1 gives (0, multiplier).
    multiplier : float
        1 for a proportion, 100 for a percentage.

    Returns
    -------
    tuple of ndarray
        ``(value, lower, upper)`` on the multiplier scale (PHEindicatormethods
        ``phe_proportion`` / ``wilson_lower`` / ``wilson_upper``).

    Raises
    ------
    ValueError
        If a count is negative, a denominator is <= 0 or a count exceeds its
        denominator.
    """
    x, n = np.broadcast_arrays(_as_float(count), _as_float(denominator))
    _require(x < 0, "count must be >= 0 for Wilson proportions")
    _require(n <= 0, "denominator must be > 0 for Wilson proportions")
    _require(x > n, "count must not exceed denominator for Wilson proportions")
    z = z_value(confidence)
    value = x / n * multiplier
    if np.isinf(z):
        nan = np.isnan(value)
        return _floats(value, np.where(nan, np.nan, 0.0), np.where(nan, np.nan, multiplier))
    centre = 2 * x + z**2
    half = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
    scale = multiplier / (2 * (n + z**2))
    # x = 0 and x = n give exactly 0 and 1 in exact arithmetic; pin them (and clip) so
    # rounding noise such as -1e-17 or 0.99999999999999 never leaves [0, multiplier]
    lower = np.where(x == 0, 0.0, np.clip((centre - half) * scale, 0.0, multiplier))
    upper = np.where(x == n, multiplier, np.clip((centre + half) * scale, 0.0, multiplier))
    return _floats(value, lower, upper)


def byars_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, ...]:
    """Byar's approximation to exact Poisson limits (Byar in Breslow & Day 1987).

    Parameters
    ----------
    count : array_like
        Observed count(s) ``x >= 0``.
    confidence : float
        Confidence level.

    Returns
    -------
    tuple of ndarray
        ``(lower, upper)`` on the count scale:
        ``x(1 - 1/(9x) - z/(3 sqrt x))^3`` and
        ``(x+1)(1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3``. A negative lower limit
        (tiny counts at high confidence) is returned as NaN, as in the R package.
    """
    x = _as_float(count)
    _require(x < 0, "count must be >= 0 for Byar's limits")
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
    x1 = x + 1
    upper = x1 * (1 - 1 / (9 * x1) + z / (3 * np.sqrt(x1))) ** 3
    return _floats(np.where(lower < 0, np.nan, lower), upper)


def exact_poisson_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, ...]:
    """Exact Poisson limits from the chi-squared distribution (Garwood 1936).

    Parameters
    ----------
    count : array_like
        Observed count(s) ``x >= 0``.
    confidence : float
        Confidence level.

    Returns
    -------
    tuple of ndarray
        ``(lower, upper)`` on the count scale: ``qchisq(a/2, 2x)/2`` (0 when
        ``x = 0``) and ``qchisq(1 - a/2, 2x + 2)/2``.
    """
    x = _as_float(count)
    _require(x < 0, "count must be >= 0 for exact Poisson limits")
    alpha = 1 - _confidence_level(confidence)
    with np.errstate(invalid="ignore"):
        lower = np.where(x == 0, 0.0, chi2_ppf(alpha / 2, 2 * x) / 2)
    upper = chi2_ppf(1 - alpha / 2, 2 * x + 2) / 2
    return _floats(lower, upper)


def poisson_count_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, ...]:
    """Poisson limits for a count: exact when ``x < 10``, Byar's otherwise.

    This is the switch used by PHEindicatormethods ``phe_rate`` and the ISR
    functions (Byar in Breslow & Day 1987; exact chi-squared limits).

    Parameters
    ----------
    count : array_like
        Observed count(s) ``x >= 0``; NaN gives NaN limits.
    confidence : float
        Confidence level.

    Returns
    -------
    tuple
        ``(lower, upper, method)`` with the limits on the count scale and
        ``method`` an object array of "Exact" / "Byars" (None for NaN counts).
    """
    x = _as_float(count)
    exact_lower, exact_upper = exact_poisson_interval(x, confidence)
    byars_lower, byars_upper = byars_interval(x, confidence)
    small = x < EXACT_THRESHOLD
    lower = np.where(small, exact_lower, byars_lower)
    upper = np.where(small, exact_upper, byars_upper)
    return *_floats(lower, upper), _method_labels(x)


def crude_rate_interval(
    count: ArrayLike, denominator: ArrayLike, confidence: float = 0.95, multiplier: float = 100000.0
) -> tuple[np.ndarray, ...]:
    """Crude rate with exact (x < 10) or Byar's (x >= 10) limits (``phe_rate``).

    Parameters
    ----------
    count, denominator : array_like
        Events ``x >= 0`` and person-years/population ``n > 0``; ``x > n`` is
        allowed. NaN gives NaN outputs.
    confidence : float
        Confidence level.
    multiplier : float
        Rate per ``multiplier`` (default per 100,000).

    Returns
    -------
    tuple
        ``(value, lower, upper, method)``; method as in
        :func:`poisson_count_interval` (Byar in Breslow & Day 1987).
    """
    x, n = np.broadcast_arrays(_as_float(count), _as_float(denominator))
    _require(x < 0, "count must be >= 0 for crude rates")
    _require(n <= 0, "denominator must be > 0 for crude rates")
    lower, upper, method = poisson_count_interval(x, confidence)
    scale = multiplier / n
    return *_floats(x * scale, lower * scale, upper * scale), method


def isr_interval(
    observed: ArrayLike, expected: ArrayLike, confidence: float = 0.95, reference: ArrayLike = 1.0
) -> tuple[np.ndarray, ...]:
    """Indirectly standardised ratio/rate ``O/E * reference`` with Poisson limits.

    Parameters
    ----------
    observed, expected : array_like
        Observed events ``O >= 0`` and expected events ``E > 0``.
    confidence : float
        Confidence level.
    reference : float or array_like
        1 or 100 for a standardised ratio (SMR), or the reference rate
        (per multiplier) for an indirectly standardised rate.

    Returns
    -------
    tuple
        ``(value, lower, upper, method)`` with limits ``[O_L, O_U] / E * reference``
        (exact for O < 10, Byar's otherwise; Breslow & Day 1987).
    """
    o, e = np.broadcast_arrays(_as_float(observed), _as_float(expected))
    _require(o < 0, "observed count must be >= 0 for indirect standardisation")
    _require(e <= 0, "expected count must be > 0 for indirect standardisation")
    lower, upper, method = poisson_count_interval(o, confidence)
    scale = _as_float(reference) / e
    return *_floats(o * scale, lower * scale, upper * scale), method


def t_mean_interval_from_summary(
    mean: ArrayLike, sd: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, ...]:
    """Mean with Student's t confidence limits from summary statistics.

    Parameters
    ----------
    mean, sd, n : array_like
        Sample mean, sample standard deviation (denominator ``n - 1``) and
        number of observations.
    confidence : float
        Confidence level.

    Returns
    -------
    tuple of ndarray
        ``(value, lower, upper)`` with limits
        ``mean -/+ t(1 - a/2, n - 1) * sd / sqrt(n)`` (Student 1908, as in
        ``phe_mean``); limits are NaN when ``n < 2``.
    """
    m, s, k = np.broadcast_arrays(_as_float(mean), _as_float(sd), _as_float(n))
    _require(s < 0, "standard deviation must be >= 0")
    _require(k < 0, "number of observations must be >= 0")
    alpha = 1 - _confidence_level(confidence)
    df = np.where(k >= 2, k - 1, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = t_ppf(1 - alpha / 2, df) * s / np.sqrt(k)
    return _floats(m, m - half, m + half)


# ------------------------------------------------------------------ grouped methods


def _dobson(
    x: np.ndarray,
    vx: np.ndarray,
    n: np.ndarray,
    w: np.ndarray,
    keys: pd.Series,
    confidence: float,
    multiplier: float,
    method: str,
) -> pd.DataFrame:
    """Dobson DSR per group; ``vx`` is the per-band variance weight (x or sum f^2 people)."""
    _require(n <= 0, "population must be > 0 in every age band for a DSR")
    _require(w < 0, "standard population must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "total_count": x,
                "total_pop": n,
                "w": w,
                "xw": x * w / n,
                "vw": vx * (w / n) ** 2,
                "bad": np.isnan(n) | np.isnan(w),
            }
        )
    sums = frame.groupby(keys, sort=True, dropna=False).sum()
    sums.loc[sums["bad"] > 0, ["total_pop", "xw", "vw"]] = np.nan
    total = sums["total_count"].to_numpy(dtype=float)
    b_lower, b_upper = byars_interval(np.maximum(total, EXACT_THRESHOLD), confidence)
    small = total < EXACT_THRESHOLD
    with np.errstate(divide="ignore", invalid="ignore"):
        dsr = sums["xw"].to_numpy() / sums["w"].to_numpy()
        spread = np.sqrt(sums["vw"].to_numpy() / sums["w"].to_numpy() ** 2 / total)
    out = sums[["total_count", "total_pop"]].copy()
    out["value"] = np.where(small, np.nan, dsr * multiplier)
    out["lower"] = np.where(small, np.nan, (dsr + spread * (b_lower - total)) * multiplier)
    out["upper"] = np.where(small, np.nan, (dsr + spread * (b_upper - total)) * multiplier)
    out["method"] = np.where(small, DSR_NA_TEXT, method).astype(object)
    return out


def dobson_dsr(
    count: ArrayLike,
    population: ArrayLike,
    standard_population: ArrayLike,
    groups: Iterable[Hashable],
    confidence: float = 0.95,
    multiplier: float = 100000.0,
) -> pd.DataFrame:
    """Directly standardised rate with Dobson confidence limits (Dobson et al 1991).

    Parameters
    ----------
    count, population, standard_population : array_like
        One row per area and age band: events ``x_i`` (NaN treated as 0),
        population ``n_i > 0`` and standard population ``w_i`` (e.g. ESP2013).
    groups : array_like
        Group (area) key of every row.
    confidence : float
        Confidence level (call twice for 95% and 99.8%).
    multiplier : float
        Rate per ``multiplier`` (default 100,000).

    Returns
    -------
    pandas.DataFrame
        Indexed by sorted group key, columns ``total_count, total_pop, value,
        lower, upper, method``. ``DSR = sum(x w/n)/sum(w)``; limits use Byar's
        limits of the total count scaled by ``sqrt(var/O)``. Groups with a total
        count below 10 get NaN value and limits and method
        "dsr NA for total count < 10" (``calculate_dsr`` in PHEindicatormethods).
    """
    x = np.nan_to_num(_as_float(count), nan=0.0)
    _require(x < 0, "count must be >= 0 for a DSR")
    n, w = _as_float(population), _as_float(standard_population)
    keys = _group_keys(groups, x.size)
    return _dobson(x, x, n, w, keys, confidence, multiplier, DSR_METHOD)


def dobson_dsr_nonindependent(
    frequency_counts: ArrayLike,
    population: ArrayLike,
    standard_population: ArrayLike,
    groups: Iterable[Hashable],
    frequencies: ArrayLike | None = None,
    confidence: float = 0.95,
    multiplier: float = 100000.0,
) -> pd.DataFrame:
    """Dobson DSR with confidence limits adjusted for non-independent events.

    Parameters
    ----------
    frequency_counts : array_like, shape (rows, k)
        Per area and age band, the number of unique individuals who had exactly
        ``frequencies[j]`` events (column ``j``); NaN is treated as 0.
    population, standard_population, groups : array_like
        As for :func:`dobson_dsr` (one entry per row).
    frequencies : array_like, optional
        Event frequency of each column; default ``1, 2, ..., k``.
    confidence, multiplier : float
        As for :func:`dobson_dsr`.

    Returns
    -------
    pandas.DataFrame
        Same layout as :func:`dobson_dsr`. Events per band are
        ``sum_f f * people_f``; the variance is ``sum_f f^2 var_f`` where
        ``var_f`` is the Dobson variance of the people with frequency ``f``
        (Dobson et al 1991; PHEindicatormethods ``independent_events = FALSE``).
    """
    people = np.nan_to_num(_as_float(frequency_counts), nan=0.0)
    if people.ndim == 1:
        people = people[:, np.newaxis]
    _require(people < 0, "frequency counts must be >= 0")
    freq = np.arange(1, people.shape[1] + 1) if frequencies is None else _as_float(frequencies)
    _require(freq.shape != (people.shape[1],), "need one frequency per frequency_counts column")
    _require(freq <= 0, "event frequencies must be > 0")
    x, vx = people @ freq, people @ freq**2
    n, w = _as_float(population), _as_float(standard_population)
    keys = _group_keys(groups, x.size)
    return _dobson(x, vx, n, w, keys, confidence, multiplier, DSR_NONIND_METHOD)


def isr_from_age_bands(
    count: ArrayLike,
    population: ArrayLike,
    ref_count: ArrayLike,
    ref_population: ArrayLike,
    groups: Iterable[Hashable],
    confidence: float = 0.95,
    reference: float = 1.0,
    rate_multiplier: float | None = None,
) -> pd.DataFrame:
    """Indirectly standardised ratio or rate from age-band data (Breslow & Day 1987).

    Parameters
    ----------
    count, population : array_like
        Local events and population per area and age band (NaN counted as 0;
        a zero population is allowed and contributes nothing to E).
    ref_count, ref_population : array_like
        Reference events and population for the same age band on every row.
    groups : array_like
        Group (area) key of every row.
    confidence : float
        Confidence level.
    reference : float
        1 or 100 for an ISRatio (``calculate_ISRatio``); ignored for rates.
    rate_multiplier : float, optional
        If given, return the ISRate ``O/E * ref_rate`` with
        ``ref_rate = sum(ref_count)/sum(ref_population) * rate_multiplier``
        (``calculate_ISRate``).

    Returns
    -------
    pandas.DataFrame
        Indexed by sorted group key, columns ``observed, expected,
        [ref_rate,] value, lower, upper, method`` (exact limits for O < 10,
        Byar's otherwise).
    """
    x, n = _as_float(count), _as_float(population)
    rx, rn = _as_float(ref_count), _as_float(ref_population)
    _require(x < 0, "count must be >= 0 for indirect standardisation")
    _require(n < 0, "population must be >= 0 for indirect standardisation")
    _require(rx < 0, "reference count must be >= 0")
    _require(rn <= 0, "reference population must be > 0")
    with np.errstate(invalid="ignore"):
        expected = np.nan_to_num(rx / rn, nan=0.0) * np.nan_to_num(n, nan=0.0)
    frame = pd.DataFrame(
        {
            "observed": np.nan_to_num(x, nan=0.0),
            "expected": expected,
            "rx": np.nan_to_num(rx, nan=0.0),
            "rn": np.nan_to_num(rn, nan=0.0),
        }
    )
    out = frame.groupby(_group_keys(groups, x.size), sort=True, dropna=False).sum()
    scale = float(reference)
    if rate_multiplier is not None:
        out["ref_rate"] = out["rx"] / out["rn"] * rate_multiplier
        scale = out["ref_rate"].to_numpy()
    out = out.drop(columns=["rx", "rn"])
    expected_ok = out["expected"].where(out["expected"] > 0)  # E = 0 (no population) -> NaN
    value, lower, upper, method = isr_interval(out["observed"], expected_ok, confidence, scale)
    return out.assign(value=value, lower=lower, upper=upper, method=method)


def t_mean_interval(values: ArrayLike, groups: Iterable[Hashable], confidence: float = 0.95) -> pd.DataFrame:
    """Group means with Student's t confidence limits (``phe_mean``; Student 1908).

    Parameters
    ----------
    values : array_like
        Individual observations.
    groups : array_like
        Group key of every observation.
    confidence : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by sorted group key, columns ``value_sum, value_count, stdev``
        (sample SD, denominator n - 1), ``value, lower, upper, method``. A group
        containing a NaN observation gets NaN statistics (as R without ``na.rm``).
    """
    v = _as_float(values)
    frame = pd.DataFrame({"value_sum": v, "nan": np.isnan(v)})
    grouped = frame.groupby(_group_keys(groups, v.size), sort=True, dropna=False)
    out = grouped["value_sum"].sum().to_frame()
    out["value_count"] = grouped.size()
    out["stdev"] = grouped["value_sum"].std(ddof=1)
    out.loc[grouped["nan"].any(), ["value_sum", "stdev"]] = np.nan
    mean = out["value_sum"] / out["value_count"]
    value, lower, upper = t_mean_interval_from_summary(mean, out["stdev"], out["value_count"], confidence)
    return out.assign(value=value, lower=lower, upper=upper, method=MEAN_METHOD)


# ----------------------------------------------------------------- life expectancy


def _le_matrices(
    deaths: ArrayLike, population: ArrayLike, start_age: ArrayLike, groups: Iterable[Hashable]
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Pivot LE input to (groups x 20) arrays; rows of malformed groups are NaN."""
    frame = pd.DataFrame(
        {
            "group": _group_keys(groups, np.size(deaths)),
            "age": _as_float(start_age),
            "D": _as_float(deaths),
            "P": _as_float(population),
        }
    )
    by_group = frame.groupby("group", sort=True, dropna=False)["age"]
    bands_ok = by_group.agg(
        lambda a: a.size == LE_START_AGES.size and bool(np.all(np.sort(a.to_numpy()) == LE_START_AGES))
    )
    valid = frame[frame["group"].map(bands_ok).astype(bool)]
    deaths_2d, pops_2d = (
        valid.pivot(index="group", columns="age", values=column)
        .reindex(index=bands_ok.index, columns=LE_START_AGES)
        .to_numpy(dtype=float)
        for column in ("D", "P")
    )
    return bands_ok.index, bands_ok.to_numpy(dtype=bool), deaths_2d, pops_2d


def _le_group_note(bands_ok: np.ndarray, deaths: np.ndarray, pops: np.ndarray) -> np.ndarray:
    """Reason (or "") why a whole group's life expectancy is suppressed (methods.md s6)."""
    conditions = [
        ~bands_ok,
        np.isnan(deaths).any(axis=1) | np.isnan(pops).any(axis=1),
        (deaths < 0).any(axis=1),
        (pops <= 0).any(axis=1),
        (deaths > pops).any(axis=1),
        pops.sum(axis=1) <= 5000,
        deaths[:, -1] <= 0,
    ]
    notes = [
        "LE not calculated: need exactly 20 age bands 0, 1-4, 5-9, ..., 85-89, 90+",
        "LE not calculated: missing deaths or population",
        "LE not calculated: negative deaths in at least one age band",
        "LE not calculated: population <= 0 in at least one age band",
        "LE not calculated: deaths exceed population in at least one age band",
        "LE not calculated: total population is 5000 or fewer",
        "LE not calculated: no deaths in the 90+ age band",
    ]
    return np.select(conditions, notes, default="").astype(object)


def _chiang_table(deaths: np.ndarray, pops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chiang II abridged life table: LE and its Silcocks standard error at each start age."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = deaths / pops
        width = np.broadcast_to(np.diff(LE_START_AGES, append=np.nan), rate.shape).copy()
        width[:, -1] = 2 / rate[:, -1]
        frac = np.where(LE_START_AGES == 0, 0.1, 0.5)
        q = width * rate / (1 + width * rate * (1 - frac))
        q = np.where(deaths > pops / width / frac, 1.0, q)
        q[:, -1] = 1.0
        alive = 100000.0 * np.cumprod(np.hstack([np.ones_like(q[:, :1]), 1 - q[:, :-1]]), axis=1)
        died = alive * q
        years = width * (alive - died + frac * died)
        years[:, -1] = alive[:, -1] / rate[:, -1]
        le = np.cumsum(years[:, ::-1], axis=1)[:, ::-1] / alive
        s2 = np.where(deaths > 0, q**2 * (1 - q) / deaths, 0.0)
        le_next = np.hstack([le[:, 1:], np.zeros_like(le[:, :1])])
        weight = s2 * alive**2 * ((1 - frac) * width + le_next) ** 2
        weight[:, -1] = (alive[:, -1] / 2) ** 2 * 4 / (deaths[:, -1] * rate[:, -1] ** 2)
        se = np.sqrt(np.cumsum(weight[:, ::-1], axis=1)[:, ::-1] / alive**2)
    return le, se


def chiang_life_expectancy(
    deaths: ArrayLike,
    population: ArrayLike,
    start_age: ArrayLike,
    groups: Iterable[Hashable],
    confidence: float = 0.95,
    le_age: float | None = 0,
) -> pd.DataFrame:
    """Life expectancy by Chiang's method II (Chiang 1968; Silcocks et al 2001 variance).

    Parameters
    ----------
    deaths, population, start_age : array_like
        One row per group and age band; each group needs exactly the 20 bands
        starting 0, 1, 5, 10, ..., 90 (any order).
    groups : array_like
        Group (area) key of every row.
    confidence : float
        Confidence level of the limits.
    le_age : float or None
        Start age at which LE is reported (default 0, at birth); ``None``
        returns LE at every start age (20 rows per group).

    Returns
    -------
    pandas.DataFrame
        Indexed by group key (sorted), columns ``start_age, value, lower, upper,
        method, note``. A whole group is NaN (reason in ``note``) if bands are
        malformed, any deaths are negative or missing, any population is <= 0,
        deaths exceed population, total population <= 5000 or there are no
        deaths at 90+. The value alone is NaN when ``Z95 * SE > 10`` (95% CI
        wider than 20 years), as in ``phe_life_expectancy``.
    """
    z = z_value(confidence)
    index, bands_ok, d2, p2 = _le_matrices(deaths, population, start_age, groups)
    group_note = _le_group_note(bands_ok, d2, p2)
    le, se = _chiang_table(d2, p2)
    le[group_note != ""] = np.nan
    se[group_note != ""] = np.nan
    wide_ci = Z95 * se > 10
    out = pd.DataFrame(
        {
            "start_age": np.tile(LE_START_AGES, len(index)),
            "value": np.where(wide_ci, np.nan, le).ravel(),
            "lower": (le - z * se).ravel(),
            "upper": (le + z * se).ravel(),
            "method": LE_METHOD,
            "note": np.where(
                wide_ci, "LE suppressed: 95% confidence interval wider than 20 years", group_note[:, np.newaxis]
            ).ravel(),
        },
        index=pd.Index(np.repeat(index.to_numpy(), LE_START_AGES.size), name="group"),
    )
    if le_age is None:
        return out
    _require(not np.isin(float(le_age), LE_START_AGES), f"le_age must be one of {LE_START_AGES}")
    return out[out["start_age"] == float(le_age)]


# ------------------------------------------------------------------------ quantiles


def quantile_category(
    values: ArrayLike, groups: Iterable[Hashable] | None, n_quantiles: int, invert: ArrayLike = True
) -> np.ndarray:
    """Quantile (1 = first) of each value within its group (``phe_quantile``).

    Parameters
    ----------
    values : array_like
        Indicator values; NaN values get NaN and are not counted.
    groups : array_like or None
        Group key of every value (``None``: a single group).
    n_quantiles : int
        Number of quantiles (10 = deciles).
    invert : bool or array_like of bool
        True (default): the highest value is in quantile 1. An array gives one
        flag per row and must be constant within each group.

    Returns
    -------
    ndarray
        Float quantile per value: with ``rank`` the "min" rank within the group
        and N the number of non-NaN values,
        ``floor(nq + 1 - ceil((N + 1 - rank) / (N / nq)))`` with 0 mapped to 1;
        NaN for the whole group when ``N < nq`` (PHEindicatormethods).
    """
    v = _as_float(values)
    _require(int(n_quantiles) != n_quantiles or n_quantiles < 1, "n_quantiles must be a positive integer")
    flip = np.broadcast_to(np.asarray(invert, dtype=bool), v.shape)
    keys = _group_keys(np.zeros(v.size) if groups is None else groups, v.size)
    _require(
        pd.Series(flip).groupby(keys, dropna=False).nunique() > 1, "invert must be the same for every row of a group"
    )
    grouped = pd.Series(np.where(flip, -v, v)).groupby(keys, dropna=False)
    rank = grouped.rank(method="min", na_option="keep").to_numpy(dtype=float)
    total = grouped.transform("count").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor(n_quantiles + 1 - np.ceil((total + 1 - rank) / (total / n_quantiles)))
    q = np.where(q == 0, 1.0, q)
    return np.where(total < n_quantiles, np.nan, q)
