"""Derive reportgen/data/neighbours.csv: each upper-tier authority's similar authorities, most similar first.

The source is the Department for Education's children's services statistical neighbours, as shipped
by DfE's Local Authority Interactive Tool (LAIT): the workbook ``01_data/02_prod/sn_may_2025.xlsx``
of https://github.com/dfe-analytical-services/local-authority-interactive-tool (the commit used is
recorded in reportgen/data/README.md; why this model: docs/maintainers/decisions.md). Its sheet
"LA SN Groups" lists, for each of England's 153 local authorities with children's services (the
same 153 upper-tier authorities as reportgen/data/utla_2023.csv), its ten statistical neighbours
SN1 (closest) to SN10 by DfE local authority number, each with a closeness band ("SNP"). Rows after
the first empty row ("Old SNs": Dorset, Poole, Bournemouth, Northamptonshire and Cumbria before
their reorganisations) are not current and are left out.

DfE numbers are turned into ONS codes through the authorities' names, checked against
utla_2023.csv: a name must match a current authority's name exactly (letter case, punctuation and
"&" aside) or be one of the three spellings in :data:`ALIASES`; the script stops if any authority
or neighbour cannot be matched, if two numbers match one authority, or if an authority is left
without its set. Run from the repository root:

    git --git-dir=/path/to/local-authority-interactive-tool.git show HEAD:01_data/02_prod/sn_may_2025.xlsx > sn.xlsx
    python docs/maintainers/make_neighbours.py sn.xlsx

and commit the rewritten reportgen/data/neighbours.csv with the README's commit and checksum. The
output depends only on the workbook's values: the same workbook always gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "reportgen" / "data"  # the package's data files
UTLA_FILE = DATA / "utla_2023.csv"
OUT_FILE = DATA / "neighbours.csv"
SHEET = "LA SN Groups"
HEADER = ("area_code", "neighbour_code")
#: The workbook's columns: the authority's DfE number and name, its neighbours SN1..SN10.
NUMBER, NAME = "LA num", "LA Name"
NEIGHBOUR_COLUMNS = tuple(f"SN{rank}" for rank in range(1, 11))
#: DfE names that differ from ONS names by more than case and punctuation.
ALIASES = {
    "Bedford Borough": "Bedford",
    "Durham": "County Durham",
    "Herefordshire": "Herefordshire, County of",
}


def _normalise(name: str) -> str:
    text = name.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def read_utlas(path: Path = UTLA_FILE) -> dict[str, str]:
    """Normalised name -> ONS code of the current upper-tier authorities."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {_normalise(row["area_name"]): row["area_code"] for row in csv.DictReader(handle)}


def read_groups(workbook: Path) -> list[tuple[int, str, list[int]]]:
    """The current rows of the workbook: (DfE number, name, neighbours' DfE numbers SN1..SN10)."""
    from openpyxl import load_workbook  # a maintainer's tool: openpyxl is already a dependency

    book = load_workbook(workbook, read_only=True, data_only=True)
    try:
        if SHEET not in book.sheetnames:
            raise SystemExit(f"{workbook}: no sheet {SHEET!r} (found {', '.join(book.sheetnames)})")
        rows = list(book[SHEET].iter_rows(values_only=True))
    finally:
        book.close()
    start = next((i for i, row in enumerate(rows) if row and row[0] == NUMBER), None)
    if start is None:
        raise SystemExit(f"{workbook}: no header row starting {NUMBER!r} in sheet {SHEET!r}")
    header = [str(cell).strip() if cell is not None else "" for cell in rows[start]]
    try:
        name_at = header.index(NAME)
        neighbour_at = [header.index(column) for column in NEIGHBOUR_COLUMNS]
    except ValueError as exc:
        raise SystemExit(f"{workbook}: the header row lacks a column ({exc})") from None
    groups = []
    for row in rows[start + 1 :]:
        if row[0] is None:  # the current authorities end at the first empty row; "Old SNs" follow
            break
        neighbours = [row[i] for i in neighbour_at]
        if not all(isinstance(n, int) for n in neighbours):
            raise SystemExit(f"{workbook}: {row[name_at]}: a neighbour is not a DfE number: {neighbours}")
        groups.append((int(row[0]), str(row[name_at]).strip(), [int(n) for n in neighbours]))
    return groups


def derive(workbook: Path, utla_file: Path = UTLA_FILE) -> list[tuple[str, str]]:
    """The (area_code, neighbour_code) pairs: authorities in code order, neighbours most similar first."""
    utlas = read_utlas(utla_file)
    groups = read_groups(workbook)
    code_of: dict[int, str] = {}
    for number, name, _ in groups:
        code = utlas.get(_normalise(ALIASES.get(name, name)))
        if code is None:
            raise SystemExit(f"DfE authority {number} {name!r} is not a current upper-tier authority by name")
        if code in code_of.values() or number in code_of:
            raise SystemExit(f"DfE authority {number} {name!r} matches {code}, which another row matched already")
        code_of[number] = code
    missing = sorted(set(utlas.values()) - set(code_of.values()))
    if missing:
        raise SystemExit(f"no statistical neighbours for {', '.join(missing)}")
    pairs = []
    for number, name, neighbours in sorted(groups, key=lambda group: code_of[group[0]]):
        unknown = [n for n in neighbours if n not in code_of]
        if unknown or number in neighbours or len(set(neighbours)) != len(neighbours):
            raise SystemExit(f"DfE authority {number} {name!r}: bad neighbours {neighbours}")
        pairs.extend((code_of[number], code_of[n]) for n in neighbours)
    return pairs


def render(pairs: list[tuple[str, str]]) -> bytes:
    """The CSV file's bytes (UTF-8, LF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(pairs)
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path, help="sn_may_2025.xlsx from DfE's LAIT repository")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help=f"file to write (default: {OUT_FILE})")
    args = parser.parse_args(argv)
    pairs = derive(args.workbook)
    args.out.write_bytes(render(pairs))
    areas = len({area for area, _ in pairs})
    print(f"Wrote {args.out}: {areas} authorities, {len(pairs)} pairs.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
