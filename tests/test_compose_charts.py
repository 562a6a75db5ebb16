"""Spine geometry, chart drawing and wording, checked on small inputs."""

from __future__ import annotations

import pytest

from reportgen import formatting as fmt
from reportgen import narrative
from reportgen.assets import default_layouts_dir
from reportgen.charts import draw_spine, draw_trend
from reportgen.compose import bar_scale, marker_for
from reportgen.models import SpineChart, TrendChart, TrendPoint
from reportgen.render import layout_search_path
from reportgen.stats.distribution import spine_positions
from reportgen.theme import load_theme
from reportgen.view import RESULTS_BY_KEY, comparison, load_wording

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
        return narrative.key_message("X", "5.1%", "2023", WORDING.phrase(comparison(label), "England", "5.0%"))

    assert message("Better 99.8%") == "X: 5.1% in 2023, significantly better than England (5.0%) at the 99.8% level."
    assert "similar to England (5.0%)" in message("Similar")
    assert "in the best quintile of authorities" in message("Best quintile")
    assert "in the highest quintile of authorities" in narrative.key_message(
        "X", "5.1%", "2023", WORDING.phrase(comparison("Highest quintile", "no_judgement"), "England", "5.0%")
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
    assert shapes == {"Better": "^", "Similar": "o", "Worse": "v", "Best quintile": "s", "Not compared": "o"}
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
    image = draw_trend(TrendChart("t", "Area", (gap, point), "Percentage", "alt"), THEME)
    assert "2022" in image.svg and "2023" in image.svg
