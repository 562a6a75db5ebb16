"""Tables for people and spreadsheets: the benchmark table as CSV, JSON or a formatted workbook.

Text that a spreadsheet would run as a formula is neutralised in every CSV and workbook cell.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from reportgen.core.export import table_csv, table_json
from reportgen.core.files import neutralise_text
from reportgen.document.view import Wording, display_label

#: Spreadsheet headers and descriptions of the benchmark columns (wording from docs/benchmark-table.md).
COLUMN_GUIDE: dict[str, tuple[str, str]] = {
    "indicator_id": ("Indicator", "Spec id of the indicator"),
    "fingertips_id": ("Fingertips ID", "Fingertips indicator id (blank for local indicators)"),
    "area_code": ("Area code", "ONS area code"),
    "area_name": ("Area name", "Official name of the area (the geography's name where the code is known)"),
    "area_type": ("Area type", "England, Region, UTLA or Other"),
    "region_code": ("Region code", "The authority's region, from the file's Parent Code, else the geography"),
    "region_name": ("Region", "Name of the authority's region"),
    "period": ("Period", "Time period, as in the data"),
    "sex": ("Sex", "As in the data"),
    "age": ("Age", "As in the data"),
    "count": ("Count", "As in the data (or computed from age bands)"),
    "denominator": ("Denominator", "As in the data (or computed from age bands)"),
    "value": ("Value", "The indicator value, rounded to the indicator's decimal places"),
    "lower_ci_95": ("Lower 95% limit", "Lower 95% confidence limit"),
    "upper_ci_95": ("Upper 95% limit", "Upper 95% confidence limit"),
    "lower_ci_99_8": ("Lower 99.8% limit", "Lower 99.8% confidence limit"),
    "upper_ci_99_8": ("Upper 99.8% limit", "Upper 99.8% confidence limit"),
    "ci_method": ("Confidence interval method", "How the confidence limits were obtained"),
    "ci_source": ("Limits from", "data (supplied with the data), computed, or none"),
    "england_value": ("England value", "England's value for the same indicator and period"),
    "compared_to_england": ("Compared with England", "The comparison with England's value, as Fingertips labels it"),
    "compared_to_england_display": (
        "Compared with England (as shown)",
        "The same comparison as the profiles word it: Better, Similar, Worse (Higher, Lower without a judgement), "
        "with the confidence level in brackets for indicators compared at two levels",
    ),
    "region_value": ("Region value", "The region's value (authorities only)"),
    "compared_to_region": ("Compared with region", "The comparison with the region's value (authorities only)"),
    "compared_to_region_display": ("Compared with region (as shown)", "The region comparison as the profiles word it"),
    "recent_trend": ("Recent trend", "Fingertips' recent trend over the five points ending at this period"),
    "rank_in_england": (
        "Rank in England",
        "Rank among authorities with a value, 1 = best (highest where no judgement)",
    ),
    "n_in_england": ("Authorities ranked in England", "Number of authorities with a value"),
    "rank_in_region": ("Rank in region", "Rank among the region's authorities with a value, 1 = best"),
    "n_in_region": ("Authorities ranked in region", "Number of the region's authorities with a value"),
    "value_note": ("Value note", "The data's value note"),
    "spine_min": ("England lowest", "Lowest value among authorities (spine chart)"),
    "spine_p25": ("England 25th percentile", "25th percentile among authorities (spine chart)"),
    "spine_median": ("England median", "Median among authorities (spine chart)"),
    "spine_p75": ("England 75th percentile", "75th percentile among authorities (spine chart)"),
    "spine_max": ("England highest", "Highest value among authorities (spine chart)"),
    "spine_n": ("Authorities in spine", "Number of authorities in the spine statistics"),
    "spine_shown": ("Spine shown", "Whether the spine chart is shown (enough authorities have values)"),
    "spine_note": ("Spine note", "Why the spine chart is not shown, if it is not"),
    "coverage": ("Coverage", "England when the file has every authority for the indicator and period, else which part"),
    "rank_scope": ("Ranked among", "in England, or in this file when the data cover only part of England"),
    "comparator_name": ("Comparator group", "Name of the comparator group (only with --comparator)"),
    "comparator_value": ("Comparator value", "The group's value (only with --comparator)"),
    "compared_to_comparator": ("Compared with comparator", "The comparison with the group's value"),
    "compared_to_comparator_display": ("Compared with comparator (as shown)", "The comparison as the profiles word it"),
}
#: The comparison columns (Fingertips' exact labels), each followed in data outputs by its display label.
COMPARISON_COLUMNS = ("compared_to_england", "compared_to_region", "compared_to_comparator")
DISPLAY_SUFFIX = "_display"


def with_display_labels(table: pd.DataFrame, wording: Wording | None = None) -> pd.DataFrame:
    """``table`` with a display-label column after each comparison column (``compared_to_england_display``
    after ``compared_to_england``: 'Better (95%)' beside Fingertips' 'Better 95%'); the labels are the
    profiles' (``wording``, default the packaged wording). Used by the benchmark CSV and workbook and by
    the per-area data CSV (``reportgen.publish.site.data_csv``)."""
    out = table
    for column in COMPARISON_COLUMNS:
        if column not in table.columns or f"{column}{DISPLAY_SUFFIX}" in table.columns:
            continue
        labels = {value: display_label(value, wording) for value in table[column].dropna().unique()}
        shown = table[column].map(labels).where(table[column].notna(), "")
        if out is table:
            out = table.copy()
        out.insert(out.columns.get_loc(column) + 1, f"{column}{DISPLAY_SUFFIX}", shown)
    return out


#: Columns on the indicator's scale: rounded to the spec's decimal places in the spreadsheet.
ROUNDED_COLUMNS = (
    "value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "england_value", "region_value",
    "comparator_value", "spine_min", "spine_p25", "spine_median", "spine_p75", "spine_max",
)  # fmt: skip
SHEET_NAME = "Benchmark"


def column_header(column: str) -> str:
    """The readable spreadsheet header of a benchmark column."""
    return COLUMN_GUIDE.get(column, (column.replace("_", " ").capitalize(), ""))[0]


def _cell_value(value: object, places: int | None) -> object:
    """A spreadsheet cell value: blanks for missing, plain numbers, neutralised text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and places is not None:
        return round(value, places)
    if isinstance(value, str):
        value = _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return neutralise_text(value)


# Control characters XML 1.0 (so XLSX) cannot hold: shown escaped (\x1b) instead of failing the write.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def workbook_bytes(table: pd.DataFrame, decimals: dict[str, int]) -> bytes:
    """The benchmark table as a readable XLSX workbook, plus a "Columns" sheet describing each column."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_NAME
    columns = list(table.columns)
    sheet.append([column_header(c) for c in columns])
    places_of = [decimals if c in ROUNDED_COLUMNS else None for c in columns]
    ids = table["indicator_id"].tolist() if "indicator_id" in table else [None] * len(table)
    for spec_id, row in zip(ids, table.itertuples(index=False, name=None), strict=True):
        cells = [_cell_value(v, p.get(spec_id) if p is not None else None) for v, p in zip(row, places_of, strict=True)]
        sheet.append(cells)
    _format_sheet(sheet, columns, ids, decimals)
    _columns_sheet(book, columns)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _format_sheet(sheet: Any, columns: list[str], ids: list[Any], decimals: dict[str, int]) -> None:
    """Text cells as strings, numbers shown to the spec's decimals, frozen bold header, filter, widths."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, column in enumerate(columns, start=1):
        width = len(column_header(column))
        for row_number, cell in enumerate(sheet.iter_rows(min_row=2, min_col=index, max_col=index), start=0):
            cell = cell[0]
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif column in ROUNDED_COLUMNS and ids[row_number] in decimals:
                places = decimals[ids[row_number]]
                cell.number_format = "0" if places == 0 else "0." + "0" * places
            width = max(width, len(str(cell.value)) if cell.value is not None else 0)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 50)


def _columns_sheet(book: Any, columns: list[str]) -> None:
    from openpyxl.styles import Alignment, Font

    guide = book.create_sheet("Columns")
    guide.append(["Column", "Name in CSV and JSON", "Meaning"])
    for column in columns:
        header, meaning = COLUMN_GUIDE.get(column, (column_header(column), ""))
        guide.append([header, column, meaning])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    guide.freeze_panes = "A2"
    for letter, width in (("A", 32), ("B", 26), ("C", 90)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")


def benchmark_bytes(table: pd.DataFrame, fmt: str, decimals: dict[str, int] | None = None) -> bytes:
    """Serialise the benchmark table as CSV, JSON (records) or XLSX.

    CSV and XLSX keep Fingertips' exact comparison labels and add the display labels beside them
    (:func:`with_display_labels`); JSON is the table as it is.

    Text that a spreadsheet would run as a formula is neutralised in CSV and XLSX; the XLSX is
    rounded to ``decimals`` (spec id -> decimal places) and laid out for reading.
    """
    if fmt == "csv":
        return table_csv(with_display_labels(table))
    if fmt == "json":
        return table_json(table)
    if fmt == "xlsx":
        return workbook_bytes(with_display_labels(table), decimals or {})
    raise ValueError(f"unknown format {fmt!r}")
