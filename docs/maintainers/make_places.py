"""Derive reportgen/data/places.csv: place names people search for -> the upper-tier authority (UTLA) they are in.

The "Find your area" page (reportgen/publish/site.py) lists the 153 upper-tier authorities; people
type the name of their district or town ("Harrogate", "Bath"). This script writes the offline
lookup the page embeds, from three inputs:

1. mySociety's UK local authority names and codes, ``uk_local_authorities_future.csv``
   (https://github.com/mysociety/uk_local_authority_names_and_codes, file
   data/packages/uk_la_future/uk_local_authorities_future.csv; the commit used is recorded in
   reportgen/data/README.md). Licence: CC BY 4.0 (mySociety); the ONS codes in it are
   © Crown copyright, Open Government Licence v3.0. For every English authority it gives the ONS
   (GSS) code, the end date and successor of an abolished one ("replaced-by") and a district's county
   ("county-la"), so district -> UTLA is followed, not typed in.
2. docs/maintainers/places_towns.csv: a short, hand-made list of main towns that name no authority (Bath,
   Hull, Yeovil ...), each with the *name* of its authority as in utla_2023.csv (its area_name or
   display_name; never a code).
3. reportgen/data/utla_2023.csv: the current UTLAs (codes and names), against which every result
   is checked: a place whose authority is not a current UTLA stops the script.

Places kept: every current English non-metropolitan (lower-tier) district (LAD 2023), every
district or unitary authority abolished from 2019 to 2023 (Allerdale, Harrogate, Taunton Deane,
Bournemouth ...), and the towns. Run from the repository root:

    python docs/maintainers/make_places.py /path/to/uk_local_authorities_future.csv

and commit the rewritten reportgen/data/places.csv with its README.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "reportgen" / "data"  # the package's data files
UTLA_FILE = DATA / "utla_2023.csv"
TOWNS_FILE = Path(__file__).resolve().parent / "places_towns.csv"
OUT_FILE = DATA / "places.csv"
#: Abolished authorities are kept when they ended in these years.
FIRST_YEAR, LAST_YEAR = 2019, 2023
#: Authority types of the source: non-metropolitan district, unitary, metropolitan district, London
#: borough, county.
DISTRICT, UPPER_TIERS, COUNTY = "NMD", ("UA", "MD", "LBO"), "CTY"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def utla_of(code: str, rows: dict[str, dict[str, str]], seen: tuple[str, ...] = ()) -> str:
    """The GSS code of the current upper-tier authority that holds the authority ``code`` (registry code)."""
    if code in seen or code not in rows:
        raise SystemExit(f"cannot follow {' -> '.join((*seen, code))}: not in the source")
    row, path = rows[code], (*seen, code)
    if row["end-date"]:
        successor = row["replaced-by"].split(",")[0].strip()
        return utla_of(successor, rows, path)
    if row["local-authority-type"] in (*UPPER_TIERS, COUNTY):
        return row["gss-code"]
    return utla_of(row["county-la"], rows, path)


def ended_in_range(row: dict[str, str]) -> bool:
    return bool(row["end-date"]) and FIRST_YEAR <= int(row["end-date"][:4]) <= LAST_YEAR


def derive(source: Path) -> list[tuple[str, str, str]]:
    utlas = {row["area_code"]: row["area_name"] for row in read_csv(UTLA_FILE)}
    by_name = {name: code for code, name in utlas.items()}
    by_name |= {row["display_name"]: row["area_code"] for row in read_csv(UTLA_FILE) if row.get("display_name")}
    english = [row for row in read_csv(source) if row["nation"] == "England"]
    rows = {row["local-authority-code"]: row for row in english}
    places: list[tuple[str, str, str]] = []
    for row in english:
        kind = row["local-authority-type"]
        current = not row["end-date"]
        if kind == DISTRICT and current:
            label = "district"
        elif kind in (DISTRICT, *UPPER_TIERS) and ended_in_range(row):
            label = "former authority"
        else:
            continue
        code = utla_of(row["local-authority-code"], rows)
        if code not in utlas:
            raise SystemExit(f"{row['nice-name']}: {code} is not a UTLA of {UTLA_FILE.name}")
        places.append((row["nice-name"], code, label))
    for town in read_csv(TOWNS_FILE):
        if town["authority"] not in by_name:
            raise SystemExit(f"{TOWNS_FILE.name}: {town['place']}: no UTLA named {town['authority']!r}")
        places.append((town["place"], by_name[town["authority"]], "town"))
    unique: dict[tuple[str, str], tuple[str, str, str]] = {}
    for place in places:
        if place[0] != utlas[place[1]]:  # a place named as its authority adds nothing
            unique.setdefault((place[0].casefold(), place[1]), place)
    return sorted(unique.values(), key=lambda p: (p[0].casefold(), p[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="mySociety's uk_local_authorities_future.csv")
    parser.add_argument("--out", type=Path, default=OUT_FILE)
    args = parser.parse_args(argv)
    places = derive(args.source)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["place", "area_code", "kind"])
        writer.writerows(places)
    kinds = {kind: sum(1 for p in places if p[2] == kind) for kind in ("district", "former authority", "town")}
    print(f"{args.out}: {len(places)} places ({', '.join(f'{n} {k}' for k, n in kinds.items())})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
