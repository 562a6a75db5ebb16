"""Compose the template context of a profile from specs and computed values."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from .data import AREA_CODE, PERIOD, VALUE, IndicatorData, select_series
from .geography import ENGLAND_CODE, Area
from .periods import period_sort_key
from .specs import DOMAINS, IndicatorSpec


def latest_values(data: IndicatorData, specs: list[IndicatorSpec], area_code: str) -> pd.DataFrame:
    """Latest period's value for the area and England, one row per spec."""
    rows = []
    for spec in specs:
        series = select_series(data.frame, spec.data_key, spec.sex, spec.age)
        periods = sorted(set(series[PERIOD]), key=period_sort_key)
        latest = periods[-1] if periods else ""
        now = series[series[PERIOD] == latest]
        area = now.loc[now[AREA_CODE] == area_code, VALUE]
        england = now.loc[now[AREA_CODE] == ENGLAND_CODE, VALUE]
        rows.append({
            "indicator_id": spec.id, "period": latest,
            "value": float(area.iloc[0]) if len(area) else float("nan"),
            "england_value": float(england.iloc[0]) if len(england) else float("nan"),
        })
    return pd.DataFrame(rows)


def format_number(value: float, decimals: int) -> str:
    """Fixed decimals with thousands separators; an en dash for a missing value."""
    if value is None or pd.isna(value):
        return "–"
    return f"{value:,.{decimals}f}"


def profile_context(area: Area, specs: list[IndicatorSpec], table: pd.DataFrame, *, edition: str,
                    data_date: date, author: str | None, synthetic: bool, version: str) -> dict[str, Any]:
    """Everything the profile template needs, already formatted as text."""
    by_id = table.set_index("indicator_id")
    domains = []
    for domain in DOMAINS:
        rows = []
        for spec in (s for s in specs if s.domain == domain):
            row = by_id.loc[spec.id]
            rows.append({
                "name": spec.short_name, "period": row["period"] or "–", "unit": spec.unit,
                "value": format_number(row["value"], spec.decimals),
                "england": format_number(row["england_value"], spec.decimals),
            })
        if rows:
            domains.append({"name": domain, "rows": rows})
    return {
        "title": f"Health assets profile: {area.name}",
        "area": area, "edition": edition, "data_date": data_date.isoformat(),
        "data_date_text": f"{data_date.day} {data_date:%B %Y}", "author": author or "reportgen",
        "synthetic": synthetic, "version": version, "domains": domains,
        "language": "en-GB",
    }
