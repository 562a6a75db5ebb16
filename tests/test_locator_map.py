"""The locator map on page 1 (issue 19, item 4): England's authorities, the area's region outlined
and the area filled, drawn from the shipped boundaries as a few SVG paths; its alternative text, its
web version with a title and description, and the map data's attribution on the About page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from reportgen.core.assets import default_layouts_dir
from reportgen.core.geography import load_geography
from reportgen.core.maps import area_of, centroid_of, load_boundaries
from reportgen.core.options import BuildOptions
from reportgen.document import charts
from reportgen.document.build import make_document, render_twin
from reportgen.document.charts import LOCATOR_SMALL_KM2, LocatorMap, draw_locator_map
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.publish.prepare import prepare, resolve_area

THEME = load_theme(layout_search_path(None, default_layouts_dir()), None)
NS = {"svg": "http://www.w3.org/2000/svg"}
HAMPSHIRE, SCILLY, TOWER_HAMLETS, NORTH_YORKSHIRE = "E10000014", "E06000053", "E09000030", "E06000065"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _draw(code: str):
    area = load_geography().lookup(code)
    assert area is not None
    return draw_locator_map(LocatorMap(f"map-{code}", "alt", code, area.region_code), THEME)


def _points(d: str) -> list[tuple[float, float]]:
    """The absolute points of path data written as ``M x y l dx dy ... z`` rings."""
    points: list[tuple[float, float]] = []
    for ring in re.findall(r"M([^Mz]*)z", d):
        start, _, rest = ring.partition("l")
        x, y = (float(v) for v in _NUMBER.findall(start))
        points.append((x, y))
        steps = [float(v) for v in _NUMBER.findall(rest)]
        for dx, dy in zip(steps[::2], steps[1::2], strict=True):
            x, y = x + dx, y + dy
            points.append((x, y))
    return points


def _bbox(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _project(point: tuple[float, float]) -> tuple[float, float]:
    """A National Grid point in the map's units, as the drawing projects it."""
    geometry = charts._map_geometry()
    west, _, east, north = load_boundaries().bounds
    pad = charts.LOCATOR_PAD_UNITS
    scale = (geometry.width - 2 * pad) / (east - west)
    return pad + (point[0] - west) * scale, pad + (north - point[1]) * scale


def _inside(point: tuple[float, float], box: tuple[float, float, float, float], slack: float = 0.0) -> bool:
    return box[0] - slack <= point[0] <= box[2] + slack and box[1] - slack <= point[1] <= box[3] + slack


@pytest.mark.parametrize("code", [HAMPSHIRE, NORTH_YORKSHIRE, "E06000010"])
def test_the_accent_filled_path_is_the_area_and_not_another_region(code):
    drawn = _draw(code)
    root = ET.fromstring(drawn.svg)
    (area,) = [p for p in root.iterfind("svg:path", NS) if p.get("fill") == THEME.palette.accent]
    box = _bbox(_points(area.get("d", "")))
    boundaries = load_boundaries()
    assert _inside(_project(centroid_of(boundaries.authorities[code])), box)
    region = load_geography().lookup(code).region_code
    # the centre of every other region lies outside the filled shape's box
    others = [
        r for r, rings in boundaries.regions.items() if r != region and _inside(_project(centroid_of(rings)), box)
    ]
    assert others == []
    # the outlined region (ink, thick) is the area's own
    (outline,) = [p for p in root.iterfind("svg:path", NS) if p.get("class") == "region"]
    assert outline.get("stroke") == THEME.neutrals.ink
    assert _inside(_project(centroid_of(boundaries.regions[region])), _bbox(_points(outline.get("d", ""))))
    # a ring only for an area too small to see (Hull's 71 km² are: a ring; Hampshire's are not)
    small = area_of(boundaries.authorities[code]) / 1e6 < LOCATOR_SMALL_KM2
    assert (root.find("svg:circle", NS) is not None) == small == (code == "E06000010")


@pytest.mark.parametrize("code", [SCILLY, TOWER_HAMLETS, "E09000001"])
def test_a_tiny_authority_gets_a_ring_around_its_centre(code):
    rings = load_boundaries().authorities[code]
    assert area_of(rings) / 1e6 < LOCATOR_SMALL_KM2
    root = ET.fromstring(_draw(code).svg)
    (ring,) = root.iterfind("svg:circle[@class='marker']", NS)
    x, y = _project(centroid_of(rings))
    assert abs(float(ring.get("cx", "nan")) - x) < 0.1 and abs(float(ring.get("cy", "nan")) - y) < 0.1
    assert ring.get("fill") == "none" and ring.get("stroke") == THEME.neutrals.ink


def test_the_map_is_a_few_paths_small_and_deterministic():
    for code in (HAMPSHIRE, SCILLY, TOWER_HAMLETS):
        svg = _draw(code).svg
        assert svg.count("<path") <= 6
        assert len(svg.encode("utf-8")) <= 40_000
        assert svg == _draw(code).svg
    drawn = _draw(HAMPSHIRE)
    assert 38 <= drawn.width_mm <= 46 and drawn.height_mm <= 52


def test_the_geometry_is_read_and_projected_once_per_process():
    charts._map_geometry.cache_clear()
    _draw(HAMPSHIRE)
    _draw(TOWER_HAMLETS)
    info = charts._map_geometry.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert charts._map_geometry() is charts._map_geometry()


def test_the_web_page_carries_the_map_with_its_title_description_and_attribution(tmp_path):
    prepared = prepare(None, BuildOptions(out_dir=tmp_path))
    document = make_document(prepared, resolve_area("E06000001", prepared.data))
    page = render_twin(document, ()).decode("utf-8")
    alt = "Map of England showing Hartlepool in North East"
    svg = re.search(r'<svg[^>]*aria-labelledby="map-title map-desc"[^>]*>.*?</svg>', page, re.S)
    assert svg is not None
    assert '<title id="map-title">Where Hartlepool is</title>' in svg.group(0)
    assert f'<desc id="map-desc">{alt}</desc>' in svg.group(0)
    assert "Contains OS data © Crown copyright and database right 2023." in page
