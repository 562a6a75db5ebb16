"""Derive the packaged map data: reportgen/data/utla_boundaries.json and reportgen/data/utla_hexes.csv.

**Boundaries.** The source is ONS's *Counties and Unitary Authorities (December 2023) Boundaries UK
BSC* (generalised to 200 m, clipped to the coastline; WGS 84 longitude and latitude), as kept by
DHSC's FingertipsNext in
``frontend/fingertips-frontend/public/maps/Counties_and_Unitary_Authorities_December_2023_Boundaries_UK_BSC_4952317392296043005.geo.json``
of https://github.com/dhsc-govuk/FingertipsNext (the commit and checksum are recorded in
reportgen/data/README_maps.md). Licence: Open Government Licence v3.0; "Source: Office for National
Statistics licensed under the Open Government Licence v.3.0" and "Contains OS data © Crown
copyright and database right 2023".

The script keeps the 153 English upper-tier authorities (it stops unless their codes are exactly
those of reportgen/data/utla_2023.csv), projects every vertex to the British National Grid
(EPSG:27700: WGS 84 to OSGB 36 by the Ordnance Survey's Helmert transformation, then the National
Grid's transverse Mercator projection, both in :func:`to_national_grid`, accurate to a few metres,
far below the simplification), drops islands smaller than :data:`MIN_PART_KM2` (never an authority's
largest part, so the Isles of Scilly and the City of London stay), simplifies the authorities
together as one coverage (``shapely.coverage_simplify``: shared borders are simplified once, so
neighbours keep meeting without gaps or overlaps), dissolves them into the 9 regions (from
utla_2023.csv's region column) and England, and rounds every vertex to :data:`GRID_METRES`. The file
holds each area's rings as flat lists ``[x0, y0, x1, y1, ..., x0, y0]`` of integers in units of
``GRID_METRES`` metres east and north of the National Grid's origin; exterior rings run
anticlockwise, holes (Nottingham inside Nottinghamshire) clockwise.

**Hexes.** ``--hexjson`` also rewrites reportgen/data/utla_hexes.csv from Open Innovations' (ODI
Leeds) hex cartogram of upper-tier authorities, ``maps/uk-upper-tier-local-authorities.hexjson`` of
https://github.com/odileeds/hexmaps (MIT licence), whose codes predate April 2023: the changes in
:data:`HEX_RECODED` and :data:`HEX_SPLIT` bring it to the 153 current authorities.

**Dependencies.** shapely (>= 2.1, for ``coverage_simplify``) is a maintainer-only dependency
(``pip install shapely``); reportgen itself reads the output with the standard library only
(reportgen/core/maps.py). The output depends only on the source and the shapely/GEOS version (which
the file records): the same source always gives the same bytes. Run from the repository root:

    MAPS=frontend/fingertips-frontend/public/maps
    FILE=Counties_and_Unitary_Authorities_December_2023_Boundaries_UK_BSC_4952317392296043005.geo.json
    git --git-dir=/path/to/FingertipsNext.git show "HEAD:$MAPS/$FILE" > ctyua.geo.json
    git --git-dir=/path/to/hexmaps.git show HEAD:maps/uk-upper-tier-local-authorities.hexjson > utla.hexjson
    python docs/maintainers/make_boundaries.py ctyua.geo.json --hexjson utla.hexjson

and commit the rewritten files with the commits and checksums in reportgen/data/README_maps.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "reportgen" / "data"  # the package's data files
UTLA_FILE = DATA / "utla_2023.csv"
OUT_FILE = DATA / "utla_boundaries.json"
HEX_FILE = DATA / "utla_hexes.csv"
CODE_FIELD = "CTYUA23CD"
#: Vertices are rounded to multiples of this many metres (100 m: a hair's width on any page).
GRID_METRES = 100
#: shapely.coverage_simplify's tolerance, metres (about the square root of the areas removed).
TOLERANCE_METRES = 600.0
#: Islands (parts other than an authority's largest) smaller than this are dropped.
MIN_PART_KM2 = 0.4
SOURCE = (
    "ONS, Counties and Unitary Authorities (December 2023) Boundaries UK BSC, as kept by "
    "dhsc-govuk/FingertipsNext (frontend/fingertips-frontend/public/maps/); see reportgen/data/README_maps.md"
)
LICENCE = "Open Government Licence v3.0"
ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2023."
)
#: Hex cartogram codes that changed without a change of area (county councils that became unitary).
HEX_RECODED = {
    "E10000002": "E06000060",  # Buckinghamshire (April 2020)
    "E10000023": "E06000065",  # North Yorkshire (April 2023)
    "E10000027": "E06000066",  # Somerset (April 2023)
}
#: Counties split in two (April 2023 Cumbria, April 2021 Northamptonshire): the successors' hexes.
#: Cumberland (north and west) takes the free hex north of Cumbria's; Northamptonshire's hex is
#: surrounded, so Herefordshire and Warwickshire each move one hex west to make room.
HEX_SPLIT = {
    "E10000006": {"E06000064": (6, 14), "E06000063": (6, 15)},  # Westmorland and Furness, Cumberland
    "E10000021": {"E06000062": (6, 6), "E06000061": (7, 6)},  # West and North Northamptonshire
}
HEX_MOVED = {"E06000019": (4, 6), "E10000031": (5, 6)}  # Herefordshire, Warwickshire

# The Ordnance Survey's WGS 84 -> OSGB 36 Helmert transformation and National Grid projection
# (A guide to coordinate systems in Great Britain, OS, 2020, sections 6.6 and annexes B, C).
_WGS84 = (6378137.000, 6356752.3141)
_AIRY = (6377563.396, 6356256.909)
_HELMERT = (-446.448, 125.157, -542.060, 20.4894e-6, -0.1502, -0.2470, -0.8421)  # tx ty tz s rx ry rz
_F0, _LAT0, _LON0, _E0, _N0 = 0.9996012717, math.radians(49.0), math.radians(-2.0), 400000.0, -100000.0


def to_national_grid(lon: float, lat: float) -> tuple[float, float]:
    """British National Grid easting and northing (metres) of a WGS 84 longitude and latitude."""
    phi, lam = math.radians(lat), math.radians(lon)
    a, b = _WGS84
    e2 = 1 - b * b / (a * a)
    nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    x, y, z = (
        nu * math.cos(phi) * math.cos(lam),
        nu * math.cos(phi) * math.sin(lam),
        (1 - e2) * nu * math.sin(phi),
    )
    tx, ty, tz, s, rx, ry, rz = _HELMERT
    rx, ry, rz = (math.radians(v / 3600) for v in (rx, ry, rz))
    x, y, z = (
        tx + (1 + s) * x - rz * y + ry * z,
        ty + rz * x + (1 + s) * y - rx * z,
        tz - ry * x + rx * y + (1 + s) * z,
    )
    a, b = _AIRY
    e2 = 1 - b * b / (a * a)
    p = math.hypot(x, y)
    phi = math.atan2(z, p * (1 - e2))
    for _ in range(10):
        nu = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
        phi = math.atan2(z + e2 * nu * math.sin(phi), p)
    lam = math.atan2(y, x)
    n = (a - b) / (a + b)
    sin, cos, tan = math.sin(phi), math.cos(phi), math.tan(phi)
    nu = a * _F0 / math.sqrt(1 - e2 * sin**2)
    rho = a * _F0 * (1 - e2) / (1 - e2 * sin**2) ** 1.5
    eta2 = nu / rho - 1
    dp, sp = phi - _LAT0, phi + _LAT0
    m = (
        b
        * _F0
        * (
            (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * dp
            - (3 * n + 3 * n**2 + 21 / 8 * n**3) * math.sin(dp) * math.cos(sp)
            + (15 / 8 * n**2 + 15 / 8 * n**3) * math.sin(2 * dp) * math.cos(2 * sp)
            - 35 / 24 * n**3 * math.sin(3 * dp) * math.cos(3 * sp)
        )
    )
    i = m + _N0
    ii = nu / 2 * sin * cos
    iii = nu / 24 * sin * cos**3 * (5 - tan**2 + 9 * eta2)
    iiia = nu / 720 * sin * cos**5 * (61 - 58 * tan**2 + tan**4)
    iv = nu * cos
    v = nu / 6 * cos**3 * (nu / rho - tan**2)
    vi = nu / 120 * cos**5 * (5 - 18 * tan**2 + tan**4 + 14 * eta2 - 58 * tan**2 * eta2)
    dl = lam - _LON0
    north = i + ii * dl**2 + iii * dl**4 + iiia * dl**6
    east = _E0 + iv * dl + v * dl**3 + vi * dl**5
    return east, north


def read_regions(path: Path = UTLA_FILE) -> dict[str, str]:
    """Authority code -> region code, from reportgen/data/utla_2023.csv."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["area_code"]: row["region_code"] for row in csv.DictReader(handle)}


def read_source(path: Path) -> dict:
    """The GeoJSON FeatureCollection (plain or gzip-compressed)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def english_features(collection: dict, codes: set[str]) -> dict[str, dict]:
    """Code -> geometry of the English upper-tier authorities; stops unless they are exactly ``codes``."""
    found: dict[str, dict] = {}
    for feature in collection["features"]:
        code = feature["properties"][CODE_FIELD]
        if code.startswith("E"):
            if code in found:
                raise SystemExit(f"{code} appears twice in the source")
            found[code] = feature["geometry"]
    if set(found) != codes:
        raise SystemExit(
            f"the source's English authorities differ from utla_2023.csv: "
            f"not current {sorted(set(found) - codes)}, missing {sorted(codes - set(found))}"
        )
    return dict(sorted(found.items()))


def _project(geometry: dict) -> Any:
    from shapely.geometry import shape

    def ring(points: list) -> list:
        return [to_national_grid(lon, lat) for lon, lat, *_ in points]

    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise SystemExit(f"unexpected geometry {geometry['type']}")
    projected = [[ring(r) for r in polygon] for polygon in polygons]
    return shape({"type": "MultiPolygon", "coordinates": projected})


def _drop_islands(geometry: Any) -> Any:
    from shapely.geometry import MultiPolygon

    parts = sorted(getattr(geometry, "geoms", [geometry]), key=lambda p: -p.area)
    kept = [parts[0], *(p for p in parts[1:] if p.area >= MIN_PART_KM2 * 1e6)]
    return MultiPolygon(kept)


def _rings(geometry: Any) -> list[list[int]]:
    """Flat, closed integer rings (grid units), exteriors anticlockwise, holes clockwise."""
    import shapely

    geometry = shapely.orient_polygons(geometry, exterior_cw=False)
    out: list[list[int]] = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if polygon.is_empty:
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            points: list[tuple[int, int]] = []
            for x, y in ring.coords:
                point = (round(x / GRID_METRES), round(y / GRID_METRES))
                if not points or points[-1] != point:
                    points.append(point)
            if len(set(points)) >= 3:
                if points[0] != points[-1]:
                    points.append(points[0])
                out.append([v for point in points for v in point])
    return out


def derive(source: Path, utla_file: Path = UTLA_FILE) -> dict:
    """The packaged boundaries, as a JSON-ready dict."""
    import shapely

    regions_of = read_regions(utla_file)
    features = english_features(read_source(source), set(regions_of))
    codes = list(features)
    projected = [_drop_islands(_project(features[code])) for code in codes]
    simplified = shapely.coverage_simplify(projected, TOLERANCE_METRES)
    authorities = {code: _rings(geometry) for code, geometry in zip(codes, simplified, strict=True)}
    regions = {}
    for region in sorted(set(regions_of.values())):
        members = [g for code, g in zip(codes, simplified, strict=True) if regions_of[code] == region]
        regions[region] = _rings(shapely.union_all(members, grid_size=1.0))
    england = _rings(shapely.union_all(list(simplified), grid_size=1.0))
    for code, rings in authorities.items():
        if not rings:
            raise SystemExit(f"{code} vanished in the simplification; lower TOLERANCE_METRES")
    return {
        "about": {
            "source": SOURCE,
            "licence": LICENCE,
            "attribution": ATTRIBUTION,
            "made_by": "docs/maintainers/make_boundaries.py",
            "made_with": f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}",
            "crs": "EPSG:27700 (British National Grid)",
            "unit_metres": GRID_METRES,
            "tolerance_metres": TOLERANCE_METRES,
            "min_island_km2": MIN_PART_KM2,
            "rings": "flat closed lists x0,y0,...,x0,y0; exteriors anticlockwise, holes clockwise",
        },
        "authorities": authorities,
        "regions": regions,
        "england": england,
    }


def render(data: dict) -> bytes:
    """Deterministic, diff-friendly JSON: one area per line."""

    def block(areas: dict[str, list]) -> str:
        lines = [f"    {json.dumps(code)}: {json.dumps(rings, separators=(',', ':'))}" for code, rings in areas.items()]
        return "{\n" + ",\n".join(lines) + "\n  }"

    about = json.dumps(data["about"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
    england = json.dumps(data["england"], separators=(",", ":"))
    text = (
        "{\n"
        f'  "about": {about},\n'
        f'  "authorities": {block(data["authorities"])},\n'
        f'  "regions": {block(data["regions"])},\n'
        f'  "england": {england}\n'
        "}\n"
    )
    return text.encode("utf-8")


def derive_hexes(hexjson: Path, utla_file: Path = UTLA_FILE) -> list[tuple[str, int, int]]:
    """(code, q, r) of the 153 current authorities, from the hexjson (layout odd-r, r upwards)."""
    data = json.loads(hexjson.read_text(encoding="utf-8"))
    if data.get("layout") != "odd-r":
        raise SystemExit(f"expected an odd-r layout, got {data.get('layout')!r}")
    positions: dict[str, tuple[int, int]] = {}
    for code, hexagon in data["hexes"].items():
        if code in HEX_SPLIT:
            positions.update(HEX_SPLIT[code])
        else:
            positions[HEX_RECODED.get(code, code)] = (int(hexagon["q"]), int(hexagon["r"]))
    positions.update(HEX_MOVED)
    current = set(read_regions(utla_file))
    if set(positions) != current:
        raise SystemExit(
            f"hex codes differ from utla_2023.csv: not current {sorted(set(positions) - current)}, "
            f"missing {sorted(current - set(positions))}"
        )
    if len(set(positions.values())) != len(positions):
        raise SystemExit("two authorities share a hex")
    return sorted((code, q, r) for code, (q, r) in positions.items())


def render_hexes(rows: list[tuple[str, int, int]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("area_code", "q", "r"))
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the ONS GeoJSON (or a .gz of it)")
    parser.add_argument("--hexjson", type=Path, help="also rewrite utla_hexes.csv from this hexjson")
    parser.add_argument("--out", type=Path, default=OUT_FILE)
    parser.add_argument("--hex-out", type=Path, default=HEX_FILE)
    args = parser.parse_args(argv)
    args.out.write_bytes(render(derive(args.source)))
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    if args.hexjson:
        args.hex_out.write_bytes(render_hexes(derive_hexes(args.hexjson)))
        print(f"wrote {args.hex_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
