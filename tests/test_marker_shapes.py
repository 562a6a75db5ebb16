"""Every comparison result has its own marker shape (issue 17, item 2): the greyscale promise.

Each result of a comparison method is drawn in a spine chart, a compare-areas chart and a trend chart;
the shapes drawn are read back from the SVG (colours removed) and must differ pairwise among the results
that can appear together, with and without a polarity, and for both quintile sets.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest
from PIL import Image, ImageDraw

from reportgen.core.assets import default_layouts_dir
from reportgen.document import charts
from reportgen.document.compose import BarPanel, BarRow, marker_for
from reportgen.document.models import SpineChart
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.document.view import SHAPE_POINTS, comparison, packaged_wording
from reportgen.stats.compare import BOB_LABELS, NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG, SIMILAR

THEME = load_theme(layout_search_path(None, default_layouts_dir()), None)
SVG = "{http://www.w3.org/2000/svg}"

#: The results that can appear together in one chart: (polarity, labels).
FAMILIES = {
    "two levels, judged": (
        "high_is_good",
        ("Better 99.8%", "Better 95%", SIMILAR, "Worse 95%", "Worse 99.8%", NOT_COMPARED),
    ),
    "two levels, low is good": (
        "low_is_good",
        ("Better 99.8%", "Better 95%", SIMILAR, "Worse 95%", "Worse 99.8%", NOT_COMPARED),
    ),
    "one level, judged": ("high_is_good", ("Better", SIMILAR, "Worse", NOT_COMPARED)),
    "two levels, no judgement": ("no_judgement", (*BOB_LABELS[:2], SIMILAR, *BOB_LABELS[5:], NOT_COMPARED)),
    "one level, no judgement": ("no_judgement", (BOB_LABELS[2], SIMILAR, BOB_LABELS[4], NOT_COMPARED)),
    "quintiles, judged": ("high_is_good", (*QUINTILE_LABELS_RAG, NOT_COMPARED)),
    "quintiles, no judgement": ("no_judgement", (*QUINTILE_LABELS_BOB, NOT_COMPARED)),
}
COLOUR = re.compile(r'(fill|stroke)="[^"]*"')


def _geometry(element: ET.Element) -> str:
    """An SVG element without its colours, its coordinates relative to its first point."""
    text = COLOUR.sub("", ET.tostring(element, encoding="unicode"))
    numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", text)]
    return re.sub(r"-?\d+\.?\d*", "#", text) + repr([round(n - numbers[0], 1) for n in numbers[:40]])


def _spine_marker(label: str, polarity: str) -> str:
    """The area's marker of a spine chart drawn for this result (the last elements of the SVG)."""
    marker = marker_for(label, THEME, polarity)
    chart = SpineChart("spine-x", (0.0, 1.0), (0.3, 0.7), 0.6, None, marker, "alt")
    root = ET.fromstring(charts.draw_spine(chart, THEME).svg)
    shapes = [el for el in root if el.tag in (f"{SVG}polygon", f"{SVG}circle")]
    # the ring of 'not compared' is two circles; every other marker one element
    return "".join(_geometry(el) for el in shapes)


@pytest.mark.parametrize("family", FAMILIES)
def test_spine_markers_differ_pairwise(family):
    polarity, labels = FAMILIES[family]
    drawn = {label: _spine_marker(label, polarity) for label in labels}
    for a, b in combinations(labels, 2):
        assert drawn[a] != drawn[b], f"{family}: {a!r} and {b!r} are drawn with the same shape"


@pytest.mark.parametrize("family", FAMILIES)
def test_trend_markers_differ_pairwise(family):
    polarity, labels = FAMILIES[family]
    paths = {label: charts._marker_path(marker_for(label, THEME, polarity).shape) for label in labels}
    for a, b in combinations(labels, 2):
        same = paths[a].vertices.shape == paths[b].vertices.shape and (paths[a].vertices == paths[b].vertices).all()
        assert not same, f"{family}: {a!r} and {b!r} have the same trend marker"


def _bar_panel(labels: tuple[str, ...], polarity: str) -> BarPanel:
    rows = tuple(
        BarRow(f"Area {i}", "70.0", "68.0 to 72.0", comparison(label, polarity), i == 0, 50.0, 0.0, 45.0, 55.0)
        for i, label in enumerate(labels)
    )
    return BarPanel("bars-x", rows, 50.0, True, "60.0", "80.0", "alt", ("Authority", "Value", "95% CI", "vs Eng."))


@pytest.mark.parametrize("family", FAMILIES)
def test_compare_chart_glyphs_differ_and_sit_on_top_of_their_badges(family):
    """Issue 17: 'Worse 99.8%' drew as a plain square, its glyph hidden under a later badge."""
    polarity, labels = FAMILIES[family]
    image = charts.draw_bar_panel(_bar_panel(labels, polarity), THEME)
    root = ET.fromstring(image.svg)
    elements = list(root)
    badge_index = max(i for i, el in enumerate(elements) if el.get("stroke") == THEME.neutrals.badge_border)
    rows = {}
    for i, label in enumerate(labels):
        cy = i * charts.BAR_LINE_MM + charts.BAR_LINE_MM * 1.5  # the head line comes first
        found = []
        for index, el in enumerate(elements):
            d = el.get("d", "")
            for piece in re.findall(r"M[^M]+", d):
                ys = [float(y) for y in re.findall(r"[ ,](-?\d+\.\d+)", piece)]
                if ys and abs(sum(ys) / len(ys) - cy) < 0.6 and el.get("stroke") != THEME.neutrals.badge_border:
                    x = float(re.match(r"M(-?\d+\.?\d*)", piece).group(1))
                    if x < 80:  # the significance column, left of the track
                        found.append((index, _relative(piece), el.get("stroke-width", "")))
        assert found, f"{family}: no glyph drawn for {label!r}"
        assert all(index > badge_index for index, _, _ in found), f"{family}: {label!r}'s glyph is under a badge"
        rows[label] = sorted((shape, width) for _, shape, width in found)
    for a, b in combinations(labels, 2):
        assert rows[a] != rows[b], f"{family}: {a!r} and {b!r} have the same glyph in compare-areas charts"


def _relative(piece: str) -> str:
    """Path data with its coordinates relative to their centre: the shape, wherever it is drawn."""
    numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", piece)]
    xs, ys = numbers[0::2], numbers[1::2]
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    points = [f"{x - cx:.1f},{y - cy:.1f}" for x, y in zip(xs, ys, strict=False)]
    return re.sub(r"-?\d+\.?\d*", "", piece) + " ".join(points)


def _mask(shape: str) -> bytes:
    """A shape rasterised in greyscale (black on white) from the geometry every renderer draws."""
    image = Image.new("L", (40, 40), 255)
    draw = ImageDraw.Draw(image)
    if shape in SHAPE_POINTS:
        draw.polygon([(20 + 16 * x, 20 + 16 * y) for x, y in SHAPE_POINTS[shape]], fill=0)
    else:
        draw.ellipse((6, 6, 34, 34), fill=0)
        if shape == "O":
            draw.ellipse((13, 13, 27, 27), fill=255)
    return image.tobytes()


@pytest.mark.parametrize("family", FAMILIES)
def test_greyscale_masks_differ(family):
    """Without colour, the silhouettes alone tell the results apart (a pixel test of the shapes)."""
    polarity, labels = FAMILIES[family]
    masks = {label: _mask(comparison(label, polarity).shape) for label in labels}
    for a, b in combinations(labels, 2):
        differing = sum(x != y for x, y in zip(masks[a], masks[b], strict=True))
        assert differing > 60, f"{family}: {a!r} and {b!r} look alike in greyscale ({differing} pixels differ)"


def test_badges_carry_the_same_shapes():
    """The badges in the text draw the charts' shapes (an SVG image per shape), not font glyphs."""
    from reportgen.document.view import badge

    wording = packaged_wording()
    for polarity, labels in FAMILIES.values():
        icons = {badge(comparison(label, polarity), THEME, wording).mark for label in labels}
        assert len(icons) == len(labels)
