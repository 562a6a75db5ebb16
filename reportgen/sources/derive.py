"""Derived series: a spec's rows computed from a published Fingertips series (``derive`` in a spec).

``complement`` turns a proportion into its complement (for example "adults who feel lonely" into
"adults who feel lonely occasionally, hardly ever or never"): value' = multiplier - value, the 95% and 99.8% limits swap
and are complemented, count' = denominator - count. Fingertips' own trend and comparison columns of
the source are cleared (reportgen recomputes them); value notes are kept. If the data already hold
rows under the spec's own id (a council's local file), those are used and nothing is derived.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from reportgen.core.errors import escape_bidi
from reportgen.core.specs import IndicatorSpec
from reportgen.sources.data import (
    AGE,
    COMPARED_ENGLAND,
    COMPARED_GOAL,
    COMPARED_PARENT,
    COUNT,
    DENOMINATOR,
    FINGERTIPS_HEADER,
    INDICATOR_ID,
    INDICATOR_NAME,
    LOWER_95,
    LOWER_998,
    RECENT_TREND,
    SEX,
    UPPER_95,
    UPPER_998,
    VALUE,
    IndicatorData,
)

#: Columns of Fingertips' own judgements about the source series, which do not apply to a derived one.
_CLEARED = (RECENT_TREND, COMPARED_ENGLAND, COMPARED_PARENT, COMPARED_GOAL)


def complement(rows: pd.DataFrame, multiplier: float) -> pd.DataFrame:
    """The complement of proportion rows (canonical columns): values, swapped limits and counts."""
    out = rows.copy()
    out[VALUE] = multiplier - rows[VALUE]
    out[LOWER_95], out[UPPER_95] = multiplier - rows[UPPER_95], multiplier - rows[LOWER_95]
    out[LOWER_998], out[UPPER_998] = multiplier - rows[UPPER_998], multiplier - rows[LOWER_998]
    out[COUNT] = rows[DENOMINATOR] - rows[COUNT]
    for column in _CLEARED:
        if column in out:
            out[column] = ""
    return out


def derived_rows(frame: pd.DataFrame, spec: IndicatorSpec) -> pd.DataFrame:
    """The spec's series derived from its source rows (empty when the source is absent)."""
    d = spec.derive
    if d is None:
        return frame.iloc[:0]
    source = frame[(frame[INDICATOR_ID] == str(d.source_id)) & (frame[SEX] == d.sex) & (frame[AGE] == d.age)]
    if source.empty:
        return source
    out = complement(source, spec.multiplier)
    name = escape_bidi(spec.name)  # as the data's text is read: bidi controls escaped
    return out.assign(**{INDICATOR_ID: spec.data_key, INDICATOR_NAME: name, SEX: spec.sex, AGE: spec.age})


def derive_series(data: IndicatorData, specs: Sequence[IndicatorSpec]) -> IndicatorData:
    """Add each derived spec's rows to the data, unless the data already hold the spec's own rows."""
    frame = data.frame
    present = set(frame[INDICATOR_ID].unique())
    parts = [derived_rows(frame, s) for s in specs if s.derive is not None and s.data_key not in present]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return data
    return dataclasses.replace(data, frame=pd.concat([frame, *parts], ignore_index=True))


def as_published_source(display_frame: pd.DataFrame, spec: IndicatorSpec) -> pd.DataFrame:
    """Rows of a derived spec (Fingertips display column names) turned back into its source series.

    The demonstration data use this so that a build derives these specs as it would from real data.
    """
    d = spec.derive
    if d is None:
        return display_frame
    to_canonical = {display: canonical for canonical, display in FINGERTIPS_HEADER}
    rows = complement(display_frame.rename(columns=to_canonical), spec.multiplier)
    rows = rows.assign(
        **{INDICATOR_ID: str(d.source_id), INDICATOR_NAME: f"Source series of: {spec.name}", SEX: d.sex, AGE: d.age}
    )
    return rows.rename(columns={canonical: display for canonical, display in FINGERTIPS_HEADER})
