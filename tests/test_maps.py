"""Map data: the packaged boundaries and hex cartogram, their derivation, their loader and class paths.

The packaged files are written by docs/maintainers/make_boundaries.py from ONS's December 2023
county and unitary authority boundaries (BSC) and Open Innovations' hex cartogram; copies of both
sources are kept in tests/data/maps/ (the ONS file cut to England's 153 features and compressed) so
that the derivation is checked from a clean clone.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import math
import re
from pathlib import Path

import pytest

from reportgen.core.assets import reference_table
from reportgen.core.errors import DataError
from reportgen.core.geography import load_geography
from reportgen.core.maps import (
    HEXES_FILE,
    area_of,
    centroid_of,
    class_paths,
    hex_rings,
    load_boundaries,
    load_hexes,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "tests" / "data" / "maps" / "ctyua_dec2023_bsc_england.geojson.gz"
HEXJSON = ROOT / "tests" / "data" / "maps" / "uk-upper-tier-local-authorities.hexjson"
BOUNDARIES = reference_table("utla_boundaries.json")
README = ROOT / "reportgen" / "data" / "README_maps.md"
KM2 = 1e6
NOTTINGHAMSHIRE, NOTTINGHAM = "E10000024", "E06000018"
SCILLY, CITY = "E06000053", "E09000001"
LONDON = "E12000007"


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_boundaries", ROOT / "docs" / "maintainers" / "make_boundaries.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _current() -> set[str]:
    return {a.code for a in load_geography().authorities}


def _inside(point: tuple[float, float], ring) -> bool:
    """Even-odd test of a point against one ring."""
    x, y = point
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


# The packaged boundaries


def test_the_boundaries_hold_the_153_current_authorities_the_9_regions_and_england():
    boundaries = load_boundaries()
    geography = load_geography()
    assert set(boundaries.authorities) == _current() and len(boundaries.authorities) == 153
    assert set(boundaries.regions) == set(geography.regions) and len(boundaries.regions) == 9
    assert {"E06000060", "E06000061", "E06000062", "E06000063", "E06000064", "E06000065", "E06000066"} <= set(
        boundaries.authorities
    )
    assert boundaries.england and all(boundaries.authorities.values())
    assert "Contains OS data © Crown copyright and database right 2023" in boundaries.attribution
    assert "Open Government Licence" in boundaries.licence


def test_the_packaged_file_is_small():
    assert BOUNDARIES.stat().st_size <= 300_000


def test_every_ring_is_closed_and_inside_englands_bounding_box():
    # England on the National Grid: the Isles of Scilly ~ 83 km east, Lowestoft ~ 655 km; the Lizard
    # ~ 12 km north, Berwick-upon-Tweed ~ 658 km.
    raw = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    unit = raw["about"]["unit_metres"]
    groups = [*raw["authorities"].values(), *raw["regions"].values(), raw["england"]]
    rings = [ring for group in groups for ring in group]
    assert all(ring[:2] == ring[-2:] and len(ring) >= 8 for ring in rings)
    xs = [v * unit for ring in rings for v in ring[0::2]]
    ys = [v * unit for ring in rings for v in ring[1::2]]
    assert 75_000 <= min(xs) < 95_000 and 650_000 < max(xs) <= 660_000
    assert 0 <= min(ys) < 20_000 and 650_000 < max(ys) <= 660_000
    loaded = load_boundaries()
    assert all(ring[0] == ring[-1] for rings in loaded.authorities.values() for ring in rings)


def test_the_areas_add_up_and_match_englands_size():
    boundaries = load_boundaries()
    geography = load_geography()
    areas = {code: area_of(rings) for code, rings in boundaries.authorities.items()}
    assert all(a > 0 for a in areas.values())  # exteriors anticlockwise, holes smaller than them
    england = area_of(boundaries.england)
    assert 128_000 * KM2 < england < 133_000 * KM2  # England: 130,310 km² to the coastline (ONS SAM)
    assert sum(areas.values()) == pytest.approx(england, rel=0.003)  # no gaps or overlaps to speak of
    for region, rings in boundaries.regions.items():
        members = sum(areas[a.code] for a in geography.authorities if a.region_code == region)
        assert area_of(rings) == pytest.approx(members, rel=0.003), region
    assert max(areas, key=areas.__getitem__) == "E06000065"  # North Yorkshire, ~8,000 km²
    assert 7_500 * KM2 < areas["E06000065"] < 8_600 * KM2


def test_the_smallest_authorities_are_there_where_they_belong():
    boundaries = load_boundaries()
    city, scilly = boundaries.authorities[CITY], boundaries.authorities[SCILLY]
    assert 2 * KM2 < area_of(city) < 4 * KM2  # 2.9 km²
    assert 10 * KM2 < area_of(scilly) < 22 * KM2 and len(scilly) >= 3  # 16 km², five inhabited islands
    london = boundaries.regions[LONDON]
    assert any(_inside(centroid_of(city), ring) for ring in london)
    west, _, _, _ = boundaries.bounds
    assert min(x for ring in scilly for x, _ in ring) == west  # England's westernmost point


def test_an_enclave_is_a_hole_in_its_county():
    boundaries = load_boundaries()
    county = boundaries.authorities[NOTTINGHAMSHIRE]
    holes = [ring for ring in county if area_of([ring]) < 0]
    assert holes
    assert any(_inside(centroid_of(boundaries.authorities[NOTTINGHAM]), hole) for hole in holes)


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "boundaries.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d["authorities"].pop("E06000001"), r"missing \['E06000001'\]"),
        (
            lambda d: d["authorities"].__setitem__("E10000023", d["authorities"]["E06000065"]),
            r"not current \['E10000023'\]",
        ),
        (lambda d: d["authorities"]["E06000002"][0].pop(), r"E06000002 ring 1: expected an even number"),
        (
            lambda d: d["authorities"]["E06000002"][0].__setitem__(slice(-2, None), [4500, 5200]),
            r"E06000002 ring 1: not closed",
        ),
        (lambda d: d["regions"].pop("E12000009"), r"'regions' should hold the 9 current codes"),
        (lambda d: d["england"][0].__setitem__(slice(0, 2), [99999, 1]), r"england ring 1: not closed"),
        (lambda d: d["about"].pop("unit_metres"), r"unit_metres"),
    ],
)
def test_a_damaged_file_is_a_clear_error(tmp_path, damage, message):
    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    damage(data)
    path = _write(tmp_path, data)
    with pytest.raises(DataError, match=message) as caught:
        load_boundaries(path)
    assert str(path) in str(caught.value) and "damaged" in str(caught.value)


def test_a_ring_outside_england_is_an_error(tmp_path):
    data = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    ring = data["authorities"][CITY][0]
    data["authorities"][CITY][0] = [v + 100_000 if i % 2 else v for i, v in enumerate(ring)]  # 10,000 km north
    with pytest.raises(DataError, match="E09000001 ring 1: a point lies outside England's bounding box"):
        load_boundaries(_write(tmp_path, data))


def test_a_file_that_is_not_json_or_too_large_is_a_clear_error(tmp_path):
    path = tmp_path / "boundaries.json"
    path.write_bytes(BOUNDARIES.read_bytes()[:5000])
    with pytest.raises(DataError, match="not valid UTF-8 JSON"):
        load_boundaries(path)
    path.write_bytes(b" " * 2_000_001)
    with pytest.raises(DataError, match="more than the limit"):
        load_boundaries(path)
    with pytest.raises(DataError, match="missing"):
        load_boundaries(tmp_path / "absent.json")


# The derivation


def test_the_projection_matches_the_sources_own_national_grid_points():
    """The source gives each authority's label point in both systems (BNG_E/BNG_N, LONG/LAT to 5 decimals)."""
    script = _script()
    features = json.loads(gzip.decompress(SOURCE.read_bytes()))["features"]
    assert len(features) == 153
    for feature in features:
        p = feature["properties"]
        east, north = script.to_national_grid(p["LONG"], p["LAT"])
        assert math.hypot(east - p["BNG_E"], north - p["BNG_N"]) < 10, p["CTYUA23CD"]  # 1e-5° is ~1 m


def test_the_test_copy_is_englands_part_of_the_source_named_in_the_readme():
    features = json.loads(gzip.decompress(SOURCE.read_bytes()))["features"]
    assert {f["properties"]["CTYUA23CD"] for f in features} == _current()
    readme = README.read_text(encoding="utf-8")
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() in readme
    assert hashlib.sha256(BOUNDARIES.read_bytes()).hexdigest() in readme


def test_the_script_stops_when_the_sources_authorities_are_not_the_current_ones():
    script = _script()
    collection = json.loads(gzip.decompress(SOURCE.read_bytes()))
    collection["features"] = [f for f in collection["features"] if f["properties"]["CTYUA23CD"] != SCILLY]
    with pytest.raises(SystemExit, match=r"missing \['E06000053'\]"):
        script.english_features(collection, _current())
    collection["features"][0]["properties"]["CTYUA23CD"] = "E10000006"  # Cumbria, abolished 2023
    with pytest.raises(SystemExit, match=r"not current \['E10000006'\]"):
        script.english_features(collection, _current())


def test_the_script_reproduces_the_packaged_boundaries():
    shapely = pytest.importorskip("shapely", reason="shapely is a maintainer-only dependency")
    made_with = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["about"]["made_with"]
    installed = f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}"
    if installed != made_with:
        pytest.skip(f"the file was made with {made_with}; {installed} may simplify differently")
    script = _script()
    assert script.render(script.derive(SOURCE)) == BOUNDARIES.read_bytes()


# The hex cartogram


def test_the_hex_layout_has_the_153_current_authorities_in_distinct_places():
    hexes = load_hexes()
    assert set(hexes) == _current() and len(hexes) == 153
    assert len({(h.q, h.r) for h in hexes.values()}) == 153


def test_the_hex_layout_is_the_sources_with_codes_brought_up_to_date():
    script = _script()
    source = json.loads(HEXJSON.read_text(encoding="utf-8"))["hexes"]
    assert len(source) == 151
    assert set(source) - _current() == {"E10000002", "E10000006", "E10000021", "E10000023", "E10000027"}
    assert script.render_hexes(script.derive_hexes(HEXJSON)) == reference_table(HEXES_FILE).read_bytes()
    hexes = load_hexes()
    kept = {c for c in source if c in _current()} - set(script.HEX_MOVED)
    assert all((hexes[c].q, hexes[c].r) == (source[c]["q"], source[c]["r"]) for c in kept)  # 144 unchanged


@pytest.mark.parametrize(("a", "b"), [("E06000063", "E06000064"), ("E06000061", "E06000062")])
def test_the_successors_of_a_split_county_are_neighbours(a, b):
    hexes = load_hexes()
    (ax, ay), (bx, by) = hexes[a].centre, hexes[b].centre
    assert math.hypot(ax - bx, ay - by) == pytest.approx(math.sqrt(3))


def test_a_damaged_hex_layout_is_a_clear_error(tmp_path):
    lines = reference_table(HEXES_FILE).read_text(encoding="utf-8").splitlines()
    path = tmp_path / "hexes.csv"
    first, second = lines[1].split(","), lines[2].split(",")
    path.write_text("\n".join([lines[0], f"{first[0]},{second[1]},{second[2]}", *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"line 3: {second[0]} is in the same place as {first[0]}"):
        load_hexes(path)
    path.write_text("\n".join([lines[0], f"{first[0]},west,{first[2]}", *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2: expected a code and two whole numbers"):
        load_hexes(path)
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"missing ['{first[0]}']")):
        load_hexes(path)
    path.write_text("code,x,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="the header should be area_code,q,r"):
        load_hexes(path)


# One path per colour class


def test_class_paths_give_one_compound_path_per_class():
    boundaries = load_boundaries()
    geography = load_geography()
    classes = {a.code: a.region_code for a in geography.authorities}
    paths = class_paths(boundaries.authorities, classes)
    assert list(paths) == sorted(set(classes.values()), key=lambda r: min(c for c in classes if classes[c] == r))
    assert len(paths) == 9
    for region, rings in paths.items():
        members = [c for c in sorted(classes) if classes[c] == region]
        assert rings == [ring for code in members for ring in boundaries.authorities[code]]
        assert area_of(rings) == pytest.approx(area_of(boundaries.regions[region]), rel=0.003)


def test_class_paths_leave_out_unlabelled_areas_and_reject_unknown_codes():
    hexes = hex_rings(load_hexes())
    paths = class_paths(hexes, {"E06000001": "worse", "E09000001": "better", "E06000002": "worse"})
    assert list(paths) == ["worse", "better"]  # in the order of each class's first code
    assert paths["worse"] == [*hexes["E06000001"], *hexes["E06000002"]]
    assert area_of(paths["better"]) == pytest.approx(3 * math.sqrt(3) / 2)  # one unit hexagon
    with pytest.raises(DataError, match="no map area for E10000006"):
        class_paths(hexes, {"E10000006": "worse"})
