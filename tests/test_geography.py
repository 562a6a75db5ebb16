"""The packaged geography: 153 authorities in 9 regions, and resolving --area text."""

from __future__ import annotations

import collections
import csv
import io

import pytest

from reportgen.cli import cli
from reportgen.core.errors import AreaError
from reportgen.core.geography import UTLA_PREFIXES, load_geography


def test_153_authorities_in_9_regions():
    geo = load_geography()
    codes = [a.code for a in geo.authorities]
    assert len(codes) == 153 == len(set(codes))
    assert all(c.startswith(UTLA_PREFIXES) and len(c) == 9 for c in codes)
    assert list(geo.regions) == [f"E1200000{i}" for i in range(1, 10)]
    per_region = collections.Counter(a.region_code for a in geo.authorities)
    assert sum(per_region.values()) == 153 and set(per_region) == set(geo.regions)
    assert per_region["E12000007"] == 33 and per_region["E12000001"] == 12


def test_every_authority_is_in_exactly_one_region():
    geo = load_geography()
    membership = collections.Counter(a.code for r in geo.regions for a in geo.in_region(r))
    assert set(membership.values()) == {1} and len(membership) == 153


def test_april_2023_changes_are_present():
    geo = load_geography()
    names = {a.code: a.name for a in geo.authorities}
    for code in ("E06000063", "E06000064", "E06000065", "E06000066"):
        assert code in names
    for old in ("E10000006", "E10000023", "E10000027", "E10000002"):
        assert old not in names and not geo.lookup(old).current


@pytest.mark.parametrize(
    "text,code",
    [
        ("E06000001", "E06000001"),
        ("e06000001", "E06000001"),
        ("hartlepool", "E06000001"),
        ("HARTLEPOOL", "E06000001"),
        ("Kingston upon Hull, City of", "E06000010"),
        ("Hull", "E06000010"),
        ("Bournemouth, Christchurch and Poole", "E06000058"),
        ("County Durham", "E06000047"),
    ],
)
def test_resolve(text, code):
    assert load_geography().resolve(text).code == code


def test_ambiguous_name_lists_matches():
    with pytest.raises(AreaError) as info:
        load_geography().resolve("Northamptonshire")
    assert "ambiguous" in info.value.message
    assert (
        "North Northamptonshire (E06000061)" in info.value.message
        and "West Northamptonshire (E06000062)" in info.value.message
    )


def test_unknown_name_suggests_closest():
    with pytest.raises(AreaError) as info:
        load_geography().resolve("Hartlepol")
    assert info.value.message == "Unknown area 'Hartlepol'. Closest matches: Hartlepool (E06000001)."


def test_areas_csv_has_exact_columns(runner):
    result = runner.invoke(cli, ["areas", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["area_code", "area_name", "region_code", "region_name"]
    assert len(rows) == 154


def test_areas_filters(runner):
    result = runner.invoke(cli, ["areas", "--region", "north east", "--format", "csv"])
    assert result.exit_code == 0 and len(result.stdout.strip().splitlines()) == 13
    result = runner.invoke(cli, ["areas", "--region", "E12000007", "--search", "upon"])
    assert result.exit_code == 0
    assert "Kingston upon Thames" in result.stdout and "Richmond upon Thames" in result.stdout
    assert result.stdout.strip().endswith("2 authorities.")


def test_areas_unknown_region(runner):
    result = runner.invoke(cli, ["areas", "--region", "Wessex"])
    assert result.exit_code == 1
    assert "Unknown region 'Wessex'" in result.stderr
