"""Helpers that build small Fingertips-format datasets for benchmark tests."""

from __future__ import annotations

import csv
import io
import math

from reportgen.core.specs import IndicatorSpec
from reportgen.sources.data import FINGERTIPS_HEADER, parse_indicator_csv

HEADER = [display for _, display in FINGERTIPS_HEADER]


def spec(
    id_="ind",
    fingertips_id=1,
    value_type="proportion",
    polarity="high_is_good",
    comparison="ci95",
    multiplier=100.0,
    sex="Persons",
    age="All ages",
) -> IndicatorSpec:
    return IndicatorSpec(
        id=id_,
        fingertips_id=fingertips_id,
        name=id_,
        short_name=id_,
        domain="Health",
        definition="d",
        rationale="r",
        source="s",
        unit="%",
        decimals=1,
        value_type=value_type,
        multiplier=multiplier,
        polarity=polarity,
        comparison=comparison,
        sex=sex,
        age=age,
        order=1,
        caveats="",
        licence="",
        source_url="",
        provides_population=False,
        demo=None,
        path="test",
    )


def record(
    area,
    period="2022",
    value=None,
    count=None,
    denominator=None,
    lower=None,
    upper=None,
    lower998=None,
    upper998=None,
    parent="E12000001",
    indicator="1",
    sex="Persons",
    age="All ages",
    area_type=None,
    note="",
):
    """One Fingertips row as a dict keyed by the export header."""
    if area_type is None:
        area_type = {"E92": "England", "E12": "Region"}.get(area[:3], "Counties & UAs (from Apr 2023)")
    if area == "E92000001":
        parent = ""
    elif area.startswith("E12"):
        parent = "E92000001"
    cells = {h: "" for h in HEADER}
    cells.update(
        {
            "Indicator ID": indicator,
            "Indicator Name": "Test",
            "Parent Code": parent,
            "Area Code": area,
            "Area Name": area,
            "Area Type": area_type,
            "Sex": sex,
            "Age": age,
            "Time period": period,
            "Value note": note,
        }
    )
    for name, number in (
        ("Value", value),
        ("Count", count),
        ("Denominator", denominator),
        ("Lower CI 95.0 limit", lower),
        ("Upper CI 95.0 limit", upper),
        ("Lower CI 99.8 limit", lower998),
        ("Upper CI 99.8 limit", upper998),
    ):
        if number is not None and not (isinstance(number, float) and math.isnan(number)):
            cells[name] = repr(float(number))
    return cells


def proportion_record(area, count, denominator, **kwargs):
    value = count / denominator * 100 if denominator else None
    return record(area, value=value, count=count, denominator=denominator, **kwargs)


def dataset(rows, label="test.csv"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return parse_indicator_csv(io.StringIO(buffer.getvalue()), label)
