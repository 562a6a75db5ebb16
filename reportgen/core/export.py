"""Tables as CSV and JSON bytes, safe to open in a spreadsheet: text never runs as a formula."""

from __future__ import annotations

import json

import pandas as pd

from reportgen.core.files import neutralise_text


def table_csv(table: pd.DataFrame) -> bytes:
    """``table`` as UTF-8 CSV with one newline per row; text cells neutralised."""
    return neutralised(table, one_newline=True).to_csv(index=False, lineterminator="\n").encode("utf-8")


def table_json(table: pd.DataFrame) -> bytes:
    """``table`` as a JSON list of records (missing values as null)."""
    records = [{str(k): _json_value(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    return (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _json_value(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def neutralised(table: pd.DataFrame, one_newline: bool = False) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot run as spreadsheet formulas; numbers unchanged.

    With ``one_newline``, carriage returns in text become newlines, which the CSV writer quotes
    (a bare carriage return would otherwise split the row for some readers).
    """

    def clean(value: object) -> object:
        value = neutralise_text(value)
        if one_newline and isinstance(value, str):
            return value.replace("\r\n", "\n").replace("\r", "\n")
        return value

    text_columns = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    changed = {}
    for column in text_columns:  # each distinct text once: most columns need no change at all
        values = table[column]
        fixes = {v: fixed for v in pd.unique(values) if isinstance(v, str) and (fixed := clean(v)) != v}
        if fixes:
            changed[column] = values.map(lambda v, fixes=fixes: fixes.get(v, v) if isinstance(v, str) else v)
    return table.assign(**changed)
