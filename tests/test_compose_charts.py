"""Spine geometry, chart drawing and wording, checked on small inputs."""

from __future__ import annotations

import pytest

from reportgen import formatting as fmt
from reportgen import narrative
from reportgen.assets import default_layouts_dir
from reportgen.charts import draw_bars, draw_spine, draw_trend
from reportgen.compose import marker_for
from reportgen.models import Bar, BarChart, SpineChart, TrendChart, TrendPoint
from reportgen.render import layout_search_path
from reportgen.stats.distribution import spine_positions
from reportgen.theme import load_theme

THEME = load_theme(layout_search_path(None, default_layouts_dir()))


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
    assert narrative.key_message("Active adults", "70.2%", "2023/24", "Better 99.8%", "67.1%") == (
        "Active adults: 70.2% in 2023/24, significantly better than England (67.1%) (at the 99.8% level)."
    )
    assert "similar to England (5.0%)" in narrative.key_message("X", "5.1%", "2023", "Similar", "5.0%")
    assert "in the best fifth of authorities" in narrative.key_message("X", "5.1%", "2023", "Best quintile", "5.0%")
    assert (
        narrative.is_strength("Better 95%")
        and narrative.is_to_develop("Worst quintile")
        and not narrative.is_strength("Higher")
    )


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
    assert image.svg.startswith("<?xml") and "<svg" in image.svg and image.alt == "Spine chart: test"
    assert "Date" not in image.svg and image.svg == draw_spine(chart, THEME).svg  # deterministic


def test_bar_chart_text_stays_text_and_dollars_are_literal():
    bars = (
        Bar("Area $x$ & <b>", 50.0, 45.0, 55.0, marker_for("Similar", THEME), True),
        Bar("Other", 60.0, 58.0, 62.0, marker_for("Better", THEME)),
    )
    image = draw_bars(BarChart("b", bars, 52.0, "Percentage", "alt"), THEME)
    assert "Area $x$ &amp; &lt;b&gt;" in image.svg and "England" in image.svg
    assert "<text" in image.svg and "font-family" in image.svg


def test_trend_chart_with_gaps_and_one_point():
    point = TrendPoint("2023", 5.0, 4.0, 6.0, None, marker_for("Not compared", THEME))
    gap = TrendPoint("2022", None, None, None, 5.5, marker_for("Not compared", THEME))
    image = draw_trend(TrendChart("t", "Area", (gap, point), "Percentage", "alt"), THEME)
    assert "2022" in image.svg and "2023" in image.svg
