"""Page 1's strengths: what is going well in an authority, ranked, each saying what kind of strength it is.

The asset approach needs page 1 to lead with strengths in every authority, also where no indicator is
significantly better than England. Every indicator with a judgement (a higher or a lower value is
better) and a value in its latest period is a candidate by the first test it meets, strongest first:

1. ``better_england``: significantly better than England (99.8% before 95%);
2. ``best_quintile``: in the best quintile of authorities (indicators compared by quintile), or
   ``best_fifth``: ranked among the best 20% of authorities (the others);
3. ``better_region``: significantly better than the region (by confidence interval), or, for an
   indicator without confidence intervals, ``region_rank``: ranked among the best 20% of the
   region's authorities (said to be by rank);
4. ``better_comparator``: significantly better than a comparator group (similar authorities), when
   the benchmark table has one (``compared_to_comparator``);
5. ``improving``: a significant recent trend that is getting better (Fingertips' trend test);
6. ``best_half``: ranked in the better half of authorities.

Within a test, candidates are ordered by their rank among authorities. Each strength is worded from
the layouts' ``wording.yaml`` (section ``strengths``) with its value and period and, unless it is
better than England, how it compares with England, so a reader is never told more than the data say.
Results are read from the typed comparisons (:class:`reportgen.document.view.Comparison`: kind, level,
quintile) and the benchmark table's ranks and trend labels, never from display labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reportgen.core import formatting as fmt
from reportgen.document.compose import IndicatorFacts, value_of, value_text
from reportgen.document.view import SIGNIFICANT_TRENDS, Comparison, IndicatorView, Wording, comparison
from reportgen.stats.coverage import RANK_IN_FILE

JUDGED = ("high_is_good", "low_is_good")
#: The tests in the order they rank, with the kinds each test can give.
TIERS = (
    ("better_england",),
    ("best_quintile", "best_fifth"),
    ("better_region", "region_rank"),
    ("better_comparator",),
    ("improving",),
    ("best_half",),
)
TIER_OF = {kind: tier for tier, kinds in enumerate(TIERS) for kind in kinds}
SHOWN = 3  # page 1 always shows the best three (fewer only when there are fewer)
FIFTH, HALF = 0.2, 0.5


@dataclass(frozen=True)
class Strength:
    """One candidate strength: the test it meets and its sentence."""

    indicator_id: str
    name: str
    kind: str  # one of the kinds of TIERS
    order: tuple[int, float, int]  # (tier, place among authorities from 0 best to 1, catalogue position)
    label: str  # what kind of strength, e.g. "significantly better than Yorkshire and The Humber, similar to England"
    detail: str  # the numbers, e.g. "19.1% in 2023/24 (Yorkshire and The Humber 15.0%, England 17.0%)"

    @property
    def tier(self) -> int:
        return self.order[0]


@dataclass(frozen=True)
class Strengths:
    """The ranked candidates; page 1 shows :attr:`shown` and says how many more there are."""

    candidates: tuple[Strength, ...]

    @property
    def shown(self) -> tuple[Strength, ...]:
        return self.candidates[:SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.candidates) - SHOWN)


def rank_strengths(
    facts: Sequence[IndicatorFacts], indicators: Sequence[IndicatorView], wording: Wording, partial: bool = False
) -> Strengths:
    """Every indicator's strongest test met, ranked (see the module's docstring).

    ``partial``: the data cover only part of England, so ranks are "in this file".
    """
    found = []
    for position, (f, ind) in enumerate(zip(facts, indicators, strict=True)):
        strength = _strength(f, ind, wording, partial, position)
        if strength is not None:
            found.append(strength)
    return Strengths(tuple(sorted(found, key=lambda s: s.order)))


def _strength(f: IndicatorFacts, ind: IndicatorView, wording: Wording, partial: bool, position: int) -> Strength | None:
    spec, row = f.spec, f.row
    if row is None or not ind.has_value or spec.polarity not in JUDGED:
        return None
    england = ind.result
    place = _place(row, "rank_in_england", "n_in_england")
    in_file = partial or row.get("rank_scope") == RANK_IN_FILE
    scope = wording.text("strengths", "scope_file" if in_file else "scope_england")
    slots = {
        "value": ind.value,
        "period": ind.period,
        "england": ind.england_text,
        "region": ind.region_place or wording.text("names", "region"),
        "region_name": ind.region_name or wording.text("names", "region"),
        "region_value": ind.region_text,
        "scope": scope,
        "rank": _ordinal(row, "rank_in_england"),
        "n": _whole(row, "n_in_england"),
    }
    chosen = _test_met(f, ind, place)
    if chosen is None:
        return None
    kind, order = chosen
    if kind == "region_rank":
        slots.update(rank=_ordinal(row, "rank_in_region"), n=_whole(row, "n_in_region"))
    elif kind == "better_comparator":
        slots.update(
            comparator=str(row.get("comparator_name", "")),
            comparator_value=value_text(row, "comparator_value", spec),
        )
    elif kind == "improving":
        slots.update(_trend_start(f))
    label = wording.text("strengths", f"kind_{kind}", **slots)
    if kind == "better_england" and england.level == "99.8%":
        label += wording.text("strengths", "level_998")
    if kind != "better_england" and (relation := _relation(england, wording, slots)):
        label = wording.text("strengths", "with_england", kind=label, england=relation)
    detail = wording.text("strengths", f"detail_{kind}", **slots)
    return Strength(spec.id, ind.name, kind, (TIER_OF[kind], order, position), label, detail)


def _test_met(f: IndicatorFacts, ind: IndicatorView, place: float | None) -> tuple[str, float] | None:
    """The first test an indicator meets and its order within the test (0 best), or None."""
    row = f.row
    assert row is not None
    england, region = ind.result, ind.region_result
    at = 1.0 if place is None else place
    if england.kind == "better":
        return "better_england", (0.0 if england.level == "99.8%" else 0.5) + at / 2
    if england.kind == "quintile" and england.judged and england.quintile == 1:
        return "best_quintile", at
    if england.kind != "quintile" and place is not None and place <= FIFTH:
        return "best_fifth", at
    if region.kind == "better":
        return "better_region", at
    region_place = _place(row, "rank_in_region", "n_in_region")
    if not _has_interval(row) and region_place is not None and region_place <= FIFTH:
        return "region_rank", region_place
    if _better_than_comparator(row, f.spec.polarity):
        return "better_comparator", at
    if ind.trend in SIGNIFICANT_TRENDS and ind.trend.endswith("getting better"):
        return "improving", at
    if place is not None and place <= HALF:
        return "best_half", at
    return None


def _place(row: pd.Series, rank: str, n: str) -> float | None:
    """The share of ``n`` authorities ranked at or above this one (1st of 152: 0.007); None without a rank.

    Among the best 20% means at most 0.2 (ranks 1 to 30 of 152), the better half at most 0.5.
    """
    if rank not in row or n not in row or fmt.is_missing(row[rank]) or fmt.is_missing(row[n]) or int(row[n]) < 2:
        return None
    return int(row[rank]) / int(row[n])


def _has_interval(row: pd.Series) -> bool:
    return value_of(row, "lower_ci_95") is not None and value_of(row, "upper_ci_95") is not None


def _better_than_comparator(row: pd.Series, polarity: str) -> bool:
    """Significantly better than the comparator group (similar authorities), where the table has one."""
    label = row.get("compared_to_comparator")
    return isinstance(label, str) and comparison(label, polarity).kind == "better"


def _relation(england: Comparison, wording: Wording, slots: dict[str, str]) -> str:
    """How a strength that is not better than England compares with it ('' for a quintile: its rank says it)."""
    key = {"similar": "england_similar", "worse": "england_worse", "not_compared": "england_not_compared"}.get(
        england.kind
    )
    return wording.text("strengths", key, **slots) if key else ""


def _trend_start(f: IndicatorFacts) -> dict[str, str]:
    """The first of the (up to) five most recent values the trend is tested on, and its period."""
    known = [p for p in f.periods if value_of(f.by_period.get(p), "value") is not None][-5:]
    if not known:
        return {"first": fmt.DASH, "first_period": fmt.DASH}
    return {"first": value_text(f.by_period[known[0]], "value", f.spec), "first_period": known[0]}


def _ordinal(row: pd.Series, column: str) -> str:
    return fmt.DASH if fmt.is_missing(row.get(column)) else fmt.ordinal(int(row[column]))


def _whole(row: pd.Series, column: str) -> str:
    return fmt.DASH if fmt.is_missing(row.get(column)) else str(int(row[column]))
