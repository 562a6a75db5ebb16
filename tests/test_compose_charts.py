"""Spine geometry, chart drawing and wording, checked on small inputs."""

from __future__ import annotations

import pytest

from reportgen.core import formatting as fmt
from reportgen.core.assets import default_layouts_dir
from reportgen.document import narrative
from reportgen.document.charts import draw_spine, draw_trend
from reportgen.document.compose import bar_scale, marker_for
from reportgen.document.models import SpineChart, TrendChart, TrendPoint
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.document.view import RESULTS_BY_KEY, comparison, load_wording
from reportgen.stats.distribution import spine_positions

SEARCH = layout_search_path(None, default_layouts_dir())
THEME = load_theme(SEARCH)
WORDING = load_wording(SEARCH)


def test_spine_is_symmetric_around_england():
    geometry = spine_positions(40, 50, 60, 70, 60, {"area": 55, "region": None}, low_is_good=False)
    assert geometry["outer"] == (0.0, 0.75) and geometry["inner"] == pytest.approx((0.25, 0.5))
    assert geometry["area"] == pytest.approx(0.375) and geometry["region"] is None


def test_low_is_good_puts_the_worst_on_the_left():
    high = spine_positions(40, 50, 60, 70, 60, {"area": 45}, low_is_good=False)
    low = spine_positions(40, 50, 60, 70, 60, {"area": 45}, low_is_good=True)
    assert low["area"] == pytest.approx(1 - high["area"])
    assert low["outer"] == pytest.approx((0.25, 1.0))  # the maximum (worst) is now at the left end


def test_degenerate_spine():
    geometry = spine_positions(5, 5, 5, 5, 5, {"area": 5}, low_is_good=False)
    assert geometry["outer"] == (0.5, 0.5) and geometry["area"] == 0.5


def test_formatting():
    assert fmt.with_unit(70.25, 1, "%") == "70.3%" and fmt.with_unit(683.5, 0, "£") == "£684"
    assert fmt.with_unit(2.605, 2, "per 1,000") == "2.61 per 1,000" and fmt.with_unit(None, 1, "%") == "–"
    assert fmt.number(12345.678, 1) == "12,345.7" and fmt.interval(1, None, 1) == ""
    assert fmt.place("North East") == "the North East" and fmt.place("London") == "London"


def test_key_message_wording_follows_the_label():
    def message(label: str) -> str:
        return narrative.key_message(WORDING, "X", "5.1%", "2023", WORDING.phrase(comparison(label), "England", "5.0%"))

    assert (
        message("Better 99.8%") == "X: 5.1% in 2023, significantly better than England (5.0%), with 99.8% confidence."
    )
    assert message("Worse 95%") == "X: 5.1% in 2023, significantly worse than England (5.0%), with 95% confidence."
    assert message("Worse") == "X: 5.1% in 2023, significantly worse than England (5.0%)."  # one level: no qualifier
    assert "similar to England (5.0%)" in message("Similar")
    assert "in the best quintile of authorities" in message("Best quintile")
    assert "in the highest quintile of authorities" in narrative.key_message(
        WORDING, "X", "5.1%", "2023", WORDING.phrase(comparison("Highest quintile", "no_judgement"), "England", "5.0%")
    )


def test_comparison_type_knows_label_bucket_and_lists():
    assert comparison("Better 95%").strength and comparison("Worst quintile").to_develop
    assert not comparison("Higher").strength and not comparison("Lower 99.8%").to_develop
    # a worst-quintile indicator is counted in the same column as the list it is in (issue 9, defect 3)
    assert comparison("Worst quintile").bucket == "worse" and comparison("Best quintile").bucket == "better"
    assert comparison("2nd worst quintile").bucket == "not_compared" and comparison("Similar").bucket == "similar"
    assert comparison("Worse 99.8%").strong and not comparison("Worse 95%").strong
    # 'Middle quintile' is shared: the polarity decides the colour family
    assert comparison("Middle quintile", "high_is_good").judged
    assert not comparison("Middle quintile", "no_judgement").judged
    assert comparison("nonsense").kind == "not_compared" and comparison(None).label == "Not compared"
    for key, result in RESULTS_BY_KEY.items():
        assert result.key == key and WORDING.label(result)  # every result has display wording


def test_one_quintile_vocabulary_in_the_wording():
    texts = [t for section in WORDING.sections.values() for t in section.values()]
    assert not any("fifth" in t.lower() for t in texts)
    assert not any("--" in t for t in texts)


def test_bar_scale_from_zero_or_truncated():
    import pandas as pd

    near = pd.DataFrame({"value": [80.0, 82.0], "lower_ci_95": [79.0, 81.0], "upper_ci_95": [81.0, 83.0]})
    low, high, dots = bar_scale(near, 81.5)
    assert dots and low < 79.0 and high > 83.0
    spread = pd.DataFrame({"value": [5.0, 50.0], "lower_ci_95": [4.0, None], "upper_ci_95": [6.0, None]})
    assert bar_scale(spread, 20.0) == (0.0, pytest.approx(52.5), False)


def test_markers_read_in_greyscale():
    shapes = {
        label: marker_for(label, THEME).shape
        for label in ("Better", "Similar", "Worse", "Best quintile", "Not compared")
    }
    # not compared: a hollow circle (a ring), never the filled circle of Similar (tests/test_marker_shapes.py)
    assert shapes == {"Better": "^", "Similar": "o", "Worse": "v", "Best quintile": "s", "Not compared": "O"}
    assert marker_for("Not compared", THEME).colour.upper() == "#FFFFFF"


def test_spine_svg_has_text_free_shapes_and_keeps_alt():
    chart = SpineChart("s", (0.1, 0.9), (0.4, 0.6), 0.3, 0.55, marker_for("Worse", THEME), "Spine chart: test")
    image = draw_spine(chart, THEME)
    assert image.svg.startswith("<svg") and image.alt == "Spine chart: test"
    assert "<text" not in image.svg and image.svg == draw_spine(chart, THEME).svg  # deterministic
    assert image.svg.count("<") <= 8  # a handful of elements, cheap for WeasyPrint to draw
    assert "<polygon" in image.svg  # the area's triangle and the region's diamond


def test_trend_chart_with_gaps_and_one_point():
    point = TrendPoint("2023", 5.0, 4.0, 6.0, None, marker_for("Not compared", THEME))
    gap = TrendPoint("2022", None, None, None, 5.5, marker_for("Not compared", THEME))
    image = draw_trend(TrendChart("t", "Area", (gap, point), "Percentage", "alt", "England"), THEME)
    assert "2022" in image.svg and "2023" in image.svg


def _trend(n: int = 5, area: str = "County Durham") -> TrendChart:
    results = ["Better", "Similar", "Worse", "Not compared"]
    points = tuple(
        TrendPoint(f"20{10 + i}", 50.0 + i, 47.0 + i, 53.0 + i, 52.0 - i, marker_for(results[i % 4], THEME))
        for i in range(n)
    )
    return TrendChart("t", area, points, "Percentage", f"Trend of {area}: rising", "England")


def test_trend_chart_is_a_small_matplotlib_svg_with_text_in_the_shipped_font():
    import xml.etree.ElementTree as ET

    image = draw_trend(_trend(), THEME)
    root = ET.fromstring(image.svg)  # well-formed
    tags = [el.tag.rsplit("}", 1)[-1] for el in root.iter()]
    assert tags[1] == "title" and root[0].text == "Trend of County Durham: rising"  # alternative text first
    assert not {"metadata", "style", "clipPath", "image"} & set(tags)  # nothing WeasyPrint does not need
    assert not any(el.get("style") or el.get("clip-path") for el in root.iter())  # presentation attributes
    texts = [el for el in root.iter() if el.tag.endswith("}text")]
    assert {el.get("font-family") for el in texts} == {THEME.font_family}  # text stays text, Inter named
    assert {el.text for el in texts} >= {"2010", "2014", "England", "County Durham", "Percentage"}
    assert len(tags) <= 45  # one path per series, one element per marker and label
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert ids <= {el.get("{http://www.w3.org/1999/xlink}href", "")[1:] for el in root.iter()}  # only used ids
    numbers = [n for el in root.iter() for n in (el.get("d") or "").split() if "." in n]
    assert numbers and all(len(n.split(".")[1]) <= 2 for n in numbers)  # coarse path precision


def test_trend_chart_markers_keep_their_shape_and_colour_per_point():
    image = draw_trend(_trend(4), THEME)
    fills = {marker_for(r, THEME).colour.lower() for r in ("Better", "Similar", "Worse", "Not compared")}
    marked = [line for line in image.svg.split("<path") if 'stroke-width="0.6"' in line and "fill=" in line]
    assert {f for f in fills if f'fill="{f}"' in image.svg} == fills  # each comparison colour is drawn
    assert len([m for m in marked if 'fill="none"' not in m]) == 4  # one marker element per point


def test_trend_chart_is_deterministic_when_the_figure_is_reused():
    first = draw_trend(_trend(5, "Hartlepool"), THEME).svg
    other = draw_trend(_trend(9, "A much longer authority name than fits"), THEME).svg
    assert draw_trend(_trend(5, "Hartlepool"), THEME).svg == first
    assert "Hartlepool" not in other and ">A much longer authority n…</text>" in other  # no leftovers; shortened
    assert "2018" in other and "2018" not in first


@pytest.mark.parametrize(
    ("spec_id", "title"),
    [
        ("employment_rate", "Authorities in the North East, 2023/24, best first (95% confidence intervals)"),
        ("library_walk", "Authorities in the North East, 2023/24, best first"),  # quintiles: no intervals
        ("sports_facilities", "Authorities in the North East, 2023/24, highest first"),  # no judgement
        ("average_weekly_earnings", "Authorities in the North East, 2023/24, highest first (95% confidence intervals)"),
    ],
)
def test_a_compare_areas_title_names_its_order_and_intervals_only_where_they_are_drawn(spec_id, title):
    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs
    from reportgen.document.context import _bar_title

    spec = next(s for s in load_specs(default_specs_dir()) if s.id == spec_id)
    assert _bar_title(spec, "North East", "2023/24", WORDING) == title
