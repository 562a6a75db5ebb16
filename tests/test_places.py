"""reportgen/data/places.csv: the districts and towns the "Find your area" search finds, and its derivation.

The file is written by docs/maintainers/make_places.py from mySociety's local authority table (see
reportgen/data/README.md); these tests check what it holds and how the script follows a district to
its upper-tier authority.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from reportgen.core.assets import reference_table
from reportgen.core.geography import load_geography

ROOT = Path(__file__).resolve().parent.parent
SOURCE_COLUMNS = ["local-authority-code", "nice-name", "gss-code", "end-date", "replaced-by", "nation",
                  "local-authority-type", "county-la"]  # fmt: skip


def places() -> list[dict[str, str]]:
    with reference_table("places.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def where(name: str) -> set[str]:
    geography = load_geography()
    return {geography.lookup(row["area_code"]).name for row in places() if row["place"] == name}


def test_every_place_is_in_a_current_upper_tier_authority():
    codes = {area.code for area in load_geography().authorities}
    rows = places()
    assert rows and all(row["area_code"] in codes for row in rows)
    assert {row["kind"] for row in rows} == {"district", "former authority", "town"}
    # Every current English lower-tier district of LAD 2023: 164 non-metropolitan districts.
    assert sum(row["kind"] == "district" for row in rows) == 164
    assert len({(row["place"].casefold(), row["area_code"]) for row in rows}) == len(rows)


@pytest.mark.parametrize(
    "place, authority",
    [
        ("Harrogate", "North Yorkshire"),  # districts abolished in 2023
        ("Craven", "North Yorkshire"),
        ("Allerdale", "Cumberland"),
        ("Barrow-in-Furness", "Westmorland and Furness"),
        ("Mendip", "Somerset"),
        ("Taunton Deane", "Somerset"),  # 2019, then its successor in 2023
        ("Christchurch", "Bournemouth, Christchurch and Poole"),
        ("Forest Heath", "Suffolk"),  # 2019, its successor a district
        ("Aylesbury Vale", "Buckinghamshire"),  # 2020
        ("Corby", "North Northamptonshire"),  # 2021
        ("Daventry", "West Northamptonshire"),
        ("Bassetlaw", "Nottinghamshire"),  # current districts
        ("Hart", "Hampshire"),
        ("Bath", "Bath and North East Somerset"),  # towns that name no authority
        ("Hull", "Kingston upon Hull, City of"),
        ("Yeovil", "Somerset"),
    ],
)
def test_districts_former_authorities_and_towns_are_in_their_authority(place, authority):
    assert where(place) == {authority}


def _script():
    spec = importlib.util.spec_from_file_location("make_places", ROOT / "docs" / "maintainers" / "make_places.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SOURCE_COLUMNS)
        writer.writerows(rows)
    return path


def test_the_script_follows_counties_and_successors_and_checks_every_code(tmp_path):
    script = _script()
    rows = [
        ["NYK", "North Yorkshire County", "E10000023", "2023-04-01", "NYE", "England", "CTY", ""],
        ["NYE", "North Yorkshire", "E06000065", "", "", "England", "UA", ""],
        ["HAG", "Harrogate", "E07000165", "2023-04-01", "NYE", "England", "NMD", "NYK"],
        ["SFK", "Suffolk", "E10000029", "", "", "England", "CTY", ""],
        ["WSK", "West Suffolk", "E07000245", "", "", "England", "NMD", "SFK"],
        ["FHE", "Forest Heath", "E07000201", "2019-03-31", "WSK", "England", "NMD", "SFK"],
        ["OLD", "Long Gone", "E07000999", "2009-04-01", "WSK", "England", "NMD", "SFK"],  # before 2019: left out
        ["CDF", "Cardiff", "W06000015", "", "", "Wales", "UA", ""],  # not England: left out
    ]
    derived = script.derive(_source(tmp_path / "source.csv", rows))
    found = {(place, code, kind) for place, code, kind in derived}
    assert ("Harrogate", "E06000065", "former authority") in found
    assert ("Forest Heath", "E10000029", "former authority") in found
    assert ("West Suffolk", "E10000029", "district") in found
    assert not any(place in ("Long Gone", "Cardiff", "North Yorkshire") for place, _, _ in derived)
    assert ("Bath", "E06000022", "town") in found  # the towns file, by authority name

    rows.append(["BAD", "Nowhere", "E07000998", "", "", "England", "NMD", "XXX"])
    with pytest.raises(SystemExit, match="cannot follow BAD -> XXX"):
        script.derive(_source(tmp_path / "bad.csv", rows))
