"""A seeded generator of realistic synthetic data in the Fingertips CSV format, for demonstrations."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from reportgen.core.geography import ENGLAND_CODE, ENGLAND_NAME, Area, Geography
from reportgen.core.specs import IndicatorSpec
from reportgen.sources.data import FINGERTIPS_HEADER, SYNTHETIC_MARK
from reportgen.sources.derive import as_published_source
from reportgen.sources.population import PopulationTable, from_shares
from reportgen.stats.ci import chiang_life_expectancy, t_mean_interval_from_summary

DEFAULT_SEED = 20240331
SYNTHETIC_NOTE = SYNTHETIC_MARK
N_PERIODS = 5
LATEST_YEAR = 2023  # calendar 2023, financial and academic 2023/24, three-year 2021 - 23
UTLA_AREA_TYPE = "Counties & UAs (from Apr 2023)"
SMALL_SAMPLE_NOTE = "value suppressed for disclosure control due to small sample"

# Approximate resident populations of a few authorities (ONS mid-2022, rounded); the rest are
# drawn around typical sizes for their type of authority.
_KNOWN_POPULATION = {
    "E06000053": 2_100,
    "E09000001": 8_600,
    "E06000017": 41_000,
    "E06000001": 92_500,
    "E06000005": 108_000,
    "E06000002": 144_000,
    "E08000025": 1_157_000,
    "E08000035": 822_000,
    "E08000003": 568_000,
    "E08000019": 556_000,
    "E10000016": 1_590_000,
    "E10000012": 1_503_000,
    "E10000014": 1_410_000,
    "E10000017": 1_247_000,
    "E10000030": 1_214_000,
    "E10000015": 1_199_000,
    "E06000065": 615_000,
    "E06000052": 575_000,
    "E06000047": 524_000,
    "E08000012": 490_000,
}
_TYPE_MEDIAN = {"E06": 230_000, "E08": 320_000, "E09": 290_000, "E10": 760_000}
_TYPE_SIGMA = {"E06": 0.45, "E08": 0.35, "E09": 0.22, "E10": 0.3}
_REGION_DEPRIVATION = {
    "E12000001": 0.8,
    "E12000002": 0.5,
    "E12000003": 0.5,
    "E12000004": 0.1,
    "E12000005": 0.4,
    "E12000006": -0.3,
    "E12000007": 0.1,
    "E12000008": -0.6,
    "E12000009": -0.3,
}
_KNOWN_DEPRIVATION = {
    "E06000009": 2.3,
    "E08000011": 2.1,
    "E06000002": 2.1,
    "E06000010": 1.9,
    "E08000012": 1.8,
    "E08000003": 1.7,
    "E06000001": 1.4,
    "E06000041": -1.9,
    "E09000027": -1.5,
    "E06000040": -1.5,
    "E10000030": -1.4,
    "E06000060": -1.3,
    "E06000017": -1.4,
}
_LE_BANDS = np.array([0, 1] + list(range(5, 95, 5)), dtype=float)
# Share of the population in each life-table band (England-like age structure).
_AGE_SHARE = np.array(
    [1.1, 4.6, 6.0, 6.2, 5.9, 6.0, 6.6, 6.8, 6.8, 6.4, 6.3, 6.9, 6.9, 6.2, 5.3, 4.8, 4.4, 3.0, 1.9, 1.2]
)


#: A row's unit: ("E", None) England, ("R", region code) a region, ("A", position) an authority.
_Key = str | int | None
#: Value, lower and upper 95%, lower and upper 99.8% limits, count and denominator of one row.
_Interval = tuple[float, float, float, float, float, float, float]
#: The computed interval of a unit (kind, key) in period t.
_Summary = Callable[[str, _Key, int], _Interval]


@dataclass(frozen=True)
class _Place:
    area: Area
    population: float
    deprivation: float


def _places(geography: Geography, rng: np.random.Generator) -> list[_Place]:
    places = []
    for area in sorted(geography.authorities, key=lambda a: a.code):
        prefix = area.code[:3]
        drawn = _TYPE_MEDIAN[prefix] * float(np.exp(rng.normal(0, _TYPE_SIGMA[prefix])))
        population = _KNOWN_POPULATION.get(area.code, round(drawn, -2))
        city = 0.3 if prefix in ("E08", "E06") else -0.35
        dep = _REGION_DEPRIVATION[area.region_code] + city + rng.normal(0, 0.6)
        places.append(_Place(area, population, _KNOWN_DEPRIVATION.get(area.code, dep)))
    return places


def period_labels(kind: str, n: int = N_PERIODS, latest: int = LATEST_YEAR) -> list[str]:
    """The ``n`` consecutive period labels of a kind, oldest first, in Fingertips' formats."""
    years = range(latest - n + 1, latest + 1)
    if kind == "calendar":
        return [str(y) for y in years]
    if kind in ("financial", "academic"):
        return [f"{y}/{(y + 1) % 100:02d}" for y in years]
    if kind in ("calendar_3yr", "financial_3yr"):
        return [f"{y - 2} - {y % 100:02d}" for y in years]
    raise ValueError(f"unknown period kind {kind!r}")


def generate_demo_frame(specs: Sequence[IndicatorSpec], geography: Geography, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Build the demonstration dataset (Fingertips column names) for every spec with a ``demo`` block."""
    rng = np.random.default_rng(seed)
    places = _places(geography, rng)
    parts = []
    for spec in specs:
        if spec.demo is None:
            continue
        spec_rng = np.random.default_rng([seed, _stable_hash(spec.id)])
        parts.append(as_published_source(_indicator_rows(spec, places, geography, spec_rng), spec))
    if not parts:
        raise ValueError("no spec has a demo block, so there is nothing to generate")
    return pd.concat(parts, ignore_index=True)


def _stable_hash(text: str) -> int:
    return int.from_bytes(text.encode("utf-8")[:16].ljust(16, b"\0"), "little") % (2**63)


def _true_values(spec: IndicatorSpec, places: list[_Place], rng: np.random.Generator) -> np.ndarray:
    """Underlying area values, shape (areas, periods), centred on the England level per period."""
    demo = spec.demo
    assert demo is not None
    dep = np.array([p.deprivation for p in places])
    regions = sorted({p.area.region_code for p in places})
    region_effect = dict(zip(regions, rng.normal(0, 0.35, len(regions)), strict=True))
    level = (
        demo.deprivation * 0.75 * dep
        + np.array([region_effect[p.area.region_code] for p in places])
        + rng.normal(0, 0.55, len(places))
    ) * demo.spread
    slopes = demo.trend + rng.normal(0, max(abs(demo.trend), demo.spread * 0.08), len(places))
    steps = np.arange(N_PERIODS) - (N_PERIODS - 1)
    values = level[:, None] + slopes[:, None] * steps[None, :]
    weights = np.array([p.population for p in places])
    england = demo.england + demo.trend * steps
    values += england[None, :] - np.average(values, axis=0, weights=weights)[None, :]
    return values


def _denominators(spec: IndicatorSpec, places: list[_Place], rng: np.random.Generator) -> np.ndarray:
    demo = spec.demo
    assert demo is not None
    pop = np.array([p.population for p in places])
    jitter = np.exp(rng.normal(0, 0.06, (len(places), N_PERIODS)))
    if demo.base == "survey":
        size = demo.size * (pop / 300_000) ** 0.3 * np.exp(rng.normal(0, 0.15, len(places)))
        return np.maximum(np.round(size[:, None] * jitter), 12)
    if demo.base == "service_users":
        return np.maximum(np.round(pop[:, None] * demo.size * jitter), 8)
    return np.maximum(np.round(pop[:, None] * demo.size * jitter), 1)


def _indicator_rows(
    spec: IndicatorSpec, places: list[_Place], geography: Geography, rng: np.random.Generator
) -> pd.DataFrame:
    if spec.value_type == "life_expectancy":
        return _life_expectancy_rows(spec, places, geography, rng)
    if spec.value_type in ("mean", "score"):
        return _mean_rows(spec, places, geography, rng)
    return _count_rows(spec, places, geography, rng)


def _count_rows(
    spec: IndicatorSpec, places: list[_Place], geography: Geography, rng: np.random.Generator
) -> pd.DataFrame:
    """Proportions and crude rates: counts drawn from binomial or Poisson models."""
    true = _true_values(spec, places, rng)
    denominator = _denominators(spec, places, rng)
    if spec.value_type == "proportion":
        p = np.clip(true / spec.multiplier, 0.002, 0.998)
        count = rng.binomial(denominator.astype(np.int64), p).astype(float)
    else:
        count = rng.poisson(np.clip(true, 0, None) / spec.multiplier * denominator).astype(float)
    return _assemble(spec, places, geography, count, denominator, rng)


def _assemble(
    spec: IndicatorSpec,
    places: list[_Place],
    geography: Geography,
    count: np.ndarray,
    denominator: np.ndarray,
    rng: np.random.Generator,
    *,
    ci: _Summary | None = None,
) -> pd.DataFrame:
    demo = spec.demo
    assert demo is not None
    periods = period_labels(demo.periods)
    suppressed = _suppression(spec, places, denominator, rng)
    frames = []
    for t, period in enumerate(periods):
        local = pd.DataFrame(
            {
                "code": [p.area.code for p in places],
                "name": [p.area.name for p in places],
                "region": [p.area.region_code for p in places],
                "count": count[:, t],
                "denominator": denominator[:, t],
            }
        )
        frames.append(_period_rows(spec, period, local, suppressed[:, t], geography, ci, t))
    return pd.concat(frames, ignore_index=True)


def _suppression(
    spec: IndicatorSpec, places: list[_Place], denominator: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Areas whose value is withheld: tiny samples, plus a few random gaps."""
    demo = spec.demo
    assert demo is not None
    small = denominator < (60 if demo.base in ("survey", "service_users") else 3)
    random_gap = rng.random(denominator.shape) < 0.004
    return small | random_gap


def _period_rows(
    spec: IndicatorSpec,
    period: str,
    local: pd.DataFrame,
    suppressed: np.ndarray,
    geography: Geography,
    ci: _Summary | None,
    t: int,
) -> pd.DataFrame:
    """One period's rows: England, the regions, then every authority (built column by column)."""
    regions = local.groupby("region", sort=True)[["count", "denominator"]].sum()
    region_names = geography.regions
    n_regions, n_local = len(regions), len(local)
    region_codes = list(regions.index)
    local_regions = local["region"].tolist()
    count = np.concatenate([[local["count"].sum()], regions["count"].to_numpy(), local["count"].to_numpy()])
    denominator = np.concatenate(
        [[local["denominator"].sum()], regions["denominator"].to_numpy(), local["denominator"].to_numpy()]
    )
    columns = {
        "Parent Code": ["", *[ENGLAND_CODE] * n_regions, *local_regions],
        "Parent Name": ["", *[ENGLAND_NAME] * n_regions, *[f"{region_names[r]} region" for r in local_regions]],
        "Area Code": [ENGLAND_CODE, *region_codes, *local["code"].tolist()],
        "Area Name": [ENGLAND_NAME, *[region_names[c] for c in region_codes], *local["name"].tolist()],
        "Area Type": ["England", *["Region"] * n_regions, *[UTLA_AREA_TYPE] * n_local],
    }
    units: list[tuple[str, _Key]] = [("E", None), *[("R", code) for code in region_codes]]
    units += [("A", i) for i in range(n_local)]
    limits = _values_and_limits(spec, count, denominator, [ci(kind, key, t) if ci else None for kind, key in units])
    withheld = np.concatenate([np.zeros(1 + n_regions, dtype=bool), np.asarray(suppressed, dtype=bool)])
    return _rows_frame(spec, period, columns, limits, withheld)


def _values_and_limits(
    spec: IndicatorSpec, count: np.ndarray, denominator: np.ndarray, intervals: Sequence[_Interval | None]
) -> dict[str, np.ndarray]:
    """Value, limits, count and denominator of each row: from counts, or the row's computed interval."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, count / denominator * spec.multiplier, np.nan)
    out = {"value": value, "count": count.astype(float), "denominator": denominator.astype(float)}
    for name in ("lower95", "upper95", "lower998", "upper998"):
        out[name] = np.full(len(value), np.nan)
    names = ("value", "lower95", "upper95", "lower998", "upper998", "count", "denominator")
    for i, interval in enumerate(intervals):
        if interval is not None:
            for name, number in zip(names, interval, strict=True):
                out[name][i] = number
    return out


def _rows_frame(
    spec: IndicatorSpec, period: str, columns: dict[str, list[str]], limits: dict[str, np.ndarray], withheld: np.ndarray
) -> pd.DataFrame:
    n = len(withheld)
    value = limits["value"]
    too_small = np.isnan(value) & ~withheld
    note = np.full(n, SYNTHETIC_NOTE, dtype=object)
    note[too_small] = f"{SYNTHETIC_NOTE}; value cannot be calculated because the population is too small"
    note[withheld] = f"{SYNTHETIC_NOTE}; {SMALL_SAMPLE_NOTE}"
    hidden = {k: np.where(withheld, np.nan, limits[k]) for k in ("value", "lower95", "upper95", "lower998")}
    hidden |= {k: np.where(withheld, np.nan, limits[k]) for k in ("upper998", "count")}
    return pd.DataFrame(
        {
            "Indicator ID": [spec.data_key] * n,
            "Indicator Name": [spec.name] * n,
            **columns,
            "Sex": [spec.sex] * n,
            "Age": [spec.age] * n,
            "Category Type": [""] * n,
            "Category": [""] * n,
            "Time period": [period] * n,
            "Value": hidden["value"],
            "Lower CI 95.0 limit": hidden["lower95"],
            "Upper CI 95.0 limit": hidden["upper95"],
            "Lower CI 99.8 limit": hidden["lower998"],
            "Upper CI 99.8 limit": hidden["upper998"],
            "Count": hidden["count"],
            "Denominator": limits["denominator"],
            "Value note": note,
            "Recent Trend": [""] * n,
            "Compared to England value or percentiles": [""] * n,
            "Compared to Region value or percentiles": [""] * n,
            "Time period Sortable": [f"{int(period[:4])}0000"] * n,
            "New data": [""] * n,
            "Compared to goal": [""] * n,
            "Time period range": ["3y" if " - " in period else "1y"] * n,
        }
    )


def _mean_rows(
    spec: IndicatorSpec, places: list[_Place], geography: Geography, rng: np.random.Generator
) -> pd.DataFrame:
    """Means (scores, earnings): area means of n individuals with the spec's standard deviation."""
    demo = spec.demo
    assert demo is not None
    sd = demo.sd or demo.spread * 4
    true = _true_values(spec, places, rng)
    n = _denominators(spec, places, rng)
    n = np.maximum(n, 30)
    means = true + rng.normal(0, 1, true.shape) * sd / np.sqrt(n)
    region_codes = np.array([p.area.region_code for p in places])

    def intervals(mean: ArrayLike, size: ArrayLike) -> tuple[np.ndarray, ...]:
        value, lo95, up95 = t_mean_interval_from_summary(mean, sd, size, 0.95)
        _, lo998, up998 = t_mean_interval_from_summary(mean, sd, size, 0.998)
        return value, lo95, up95, lo998, up998

    by_period: dict[int, tuple[np.ndarray, ...]] = {}  # every authority of a period at once (elementwise)

    def summary(kind: str, key: _Key, t: int) -> _Interval:
        if kind == "A":
            assert isinstance(key, int)
            if t not in by_period:
                by_period[t] = intervals(means[:, t], n[:, t])
            value, lo95, up95, lo998, up998 = (float(column[key]) for column in by_period[t])
            return value, lo95, up95, lo998, up998, np.nan, float(n[key, t])
        mask = np.ones(len(places), bool) if kind == "E" else region_codes == key
        size = n[mask, t].sum()
        mean = float(np.sum(means[mask, t] * n[mask, t]) / size)
        centre, low95, high95, low998, high998 = (float(column) for column in intervals(mean, size))
        return centre, low95, high95, low998, high998, np.nan, float(size)

    return _assemble(spec, places, geography, np.zeros_like(n), n, rng, ci=summary)


def _life_expectancy_rows(
    spec: IndicatorSpec, places: list[_Place], geography: Geography, rng: np.random.Generator
) -> pd.DataFrame:
    """Life expectancy from simulated deaths by age band (Chiang II), England and regions from summed bands."""
    demo = spec.demo
    assert demo is not None
    true = _true_values(spec, places, rng)
    pop = np.array([p.population for p in places]) * demo.size
    band_pop = np.round(pop[:, None] * _AGE_SHARE[None, :] / _AGE_SHARE.sum() * 3)  # three-year person-years
    log_a = _gompertz_level(true)
    rates = _mortality(log_a)  # (areas, periods, bands)
    deaths = rng.poisson(rates * band_pop[:, None, :]).astype(float)
    region_codes = np.array([p.area.region_code for p in places])
    units: list[tuple[str, _Key]] = [("A", i) for i in range(len(places))]
    units += [("R", code) for code in sorted(set(region_codes))] + [("E", None)]
    table: dict[tuple[str, _Key, int], _Interval] = {}
    for t in range(N_PERIODS):
        d_rows, p_rows = [], []
        for kind, key in units:
            mask = (
                (np.arange(len(places)) == key)
                if kind == "A"
                else (np.ones(len(places), bool) if kind == "E" else region_codes == key)
            )
            d_rows.append(deaths[mask, t].sum(axis=0))
            p_rows.append(band_pop[mask].sum(axis=0))
        for unit, result in zip(units, _le_summaries(np.array(d_rows), np.array(p_rows)), strict=True):
            table[(*unit, t)] = result

    def summary(kind: str, key: _Key, t: int) -> _Interval:
        return table[(kind, key, t)]

    return _assemble(
        spec,
        places,
        geography,
        deaths.sum(axis=2),
        np.repeat(band_pop.sum(axis=1)[:, None], N_PERIODS, 1),
        rng,
        ci=summary,
    )


def _mortality(log_a: np.ndarray) -> np.ndarray:
    mid = _LE_BANDS + np.array([0.5, 2.5] + [2.5] * 17 + [5.0])
    rates = np.exp(log_a[..., None] + 0.088 * mid)
    infant = np.exp(log_a[..., None] + 3.2)[..., 0]
    rates[..., 0] = infant
    return np.minimum(rates, 0.9)


def _gompertz_level(target_le: np.ndarray) -> np.ndarray:
    """Gompertz level giving each target life expectancy, by interpolation on a grid."""
    grid = np.linspace(-12.5, -7.5, 201)
    rates = _mortality(grid)
    groups = np.repeat(np.arange(grid.size), _LE_BANDS.size)
    le = chiang_life_expectancy((rates * 1e6).ravel(), np.full(rates.size, 1e6), np.tile(_LE_BANDS, grid.size), groups)[
        "value"
    ].to_numpy()
    order = np.argsort(le)
    return np.interp(target_le, le[order], grid[order])


def _le_summaries(deaths: np.ndarray, pops: np.ndarray) -> list[_Interval]:
    """Life expectancy at birth with 95% and 99.8% limits for each row of (units, bands) arrays."""
    groups = np.repeat(np.arange(deaths.shape[0]), _LE_BANDS.size)
    ages = np.tile(_LE_BANDS, deaths.shape[0])
    r95 = chiang_life_expectancy(deaths.ravel(), pops.ravel(), ages, groups, 0.95)
    r998 = chiang_life_expectancy(deaths.ravel(), pops.ravel(), ages, groups, 0.998)
    return [
        (float(a), float(b), float(c), float(d), float(e), float(deaths[i].sum()), float(pops[i].sum()))
        for i, (a, b, c, d, e) in enumerate(
            zip(r95["value"], r95["lower"], r95["upper"], r998["lower"], r998["upper"], strict=True)
        )
    ]


def demo_csv_text(frame: pd.DataFrame) -> str:
    """Serialise the demo frame as a Fingertips CSV with fixed number formatting (byte-stable)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = [display for _, display in FINGERTIPS_HEADER]
    writer.writerow(header)
    cells = [_column_cells(frame[name]) for name in header]  # column by column
    writer.writerows(zip(*cells, strict=True))
    return buffer.getvalue()


def _column_cells(column: pd.Series) -> list[str]:
    """A column's cells as :func:`_cell` writes them; numbers of a float column without the type checks."""
    if column.dtype == np.float64:
        return ["" if v != v else (str(int(v)) if v.is_integer() else f"{v:.10g}") for v in column.tolist()]
    return [_cell(v) for v in column.tolist()]


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else f"{value:.10g}"
    return str(value)


def write_demo_data(
    path: Path | str, specs: Sequence[IndicatorSpec], geography: Geography, seed: int = DEFAULT_SEED
) -> Path:
    """Generate the demonstration dataset and write it atomically to ``path``."""
    from reportgen.core.files import write_atomic

    text = demo_csv_text(generate_demo_frame(specs, geography, seed))
    return write_atomic(Path(path), text.encode("utf-8"))


# --- the population pyramid -------------------------------------------------------------------------

#: England's population by five-year age band (percent, both sexes; close to ONS mid-2023) and the
#: share of each band that is female: the shape every synthetic pyramid varies around.
_ENGLAND_AGES = (5.4, 5.9, 6.1, 5.8, 6.0, 6.5, 6.9, 6.8, 6.4, 6.2, 6.8, 6.7, 5.9, 5.0, 4.8, 3.8, 2.5, 2.5)
_FEMALE_SHARE = (0.487, 0.487, 0.487, 0.488, 0.492, 0.498, 0.503, 0.505, 0.505, 0.506, 0.508, 0.509, 0.511,
                 0.515, 0.522, 0.537, 0.562, 0.64)  # fmt: skip
DEMO_POPULATION_PERIOD = f"mid-{LATEST_YEAR}"


def _pyramid_shape(older: float, student: float, young: float) -> np.ndarray:
    """Shares by age band: older areas lean to later bands, cities have students and young adults."""
    mids = np.arange(len(_ENGLAND_AGES)) * 5 + 2.5
    shares = np.array(_ENGLAND_AGES) * np.exp(older * (mids - 40) / 45)
    shares[3:5] *= 1 + student * np.array([0.8, 1.6])
    shares[5:8] *= 1 + young
    shares[0:3] *= 1 + young * 0.5
    return shares


def demo_population(geography: Geography, seed: int = DEFAULT_SEED) -> PopulationTable:
    """Synthetic population pyramids of England and every authority (deterministic for a seed).

    Each authority's shape is England's, older or younger by its type (London boroughs and cities
    younger, shire counties older), with a student bulge in some cities; labelled synthetic.
    """
    lean = {"E09": (-0.3, 0.2, 0.3), "E08": (-0.12, 0.35, 0.15), "E06": (0.02, 0.15, 0.05), "E10": (0.18, -0.1, 0)}
    pyramids = {}
    female = np.array(_FEMALE_SHARE)
    for code in (ENGLAND_CODE, *sorted(a.code for a in geography.authorities)):
        if code == ENGLAND_CODE:
            older, student, young = 0.0, 0.0, 0.0
        else:
            rng = np.random.default_rng([seed, 7, int(code[1:])])  # the code's digits: one stream per area
            base = lean.get(code[:3], (0.0, 0.0, 0.0))
            older = base[0] + float(rng.normal(0, 0.12))
            student = max(-0.2, base[1] + float(rng.normal(0, 0.25)))
            young = base[2] + float(rng.normal(0, 0.08))
        shares = _pyramid_shape(older, student, young)
        pyramids[code] = from_shares(code, DEMO_POPULATION_PERIOD, shares * female, shares * (1 - female))
    return PopulationTable(SYNTHETIC_MARK, pyramids, DEMO_POPULATION_PERIOD, synthetic=True)
