"""One table of sizes and colours (theme.yaml ``neutrals`` and ``sizes``) for the stylesheet and the charts.

The stylesheet receives the table as custom properties (``var(--ink)``, ``var(--col-right)`` ...) and
the charts are drawn from it, so a chart always fits its column and both use the same greys.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import weasyprint
import yaml

from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import RenderError
from reportgen.document.charts import draw_bar_panel, draw_spine, draw_trend
from reportgen.document.compose import BarPanel, BarRow, marker_for
from reportgen.document.models import Neutrals, Sizes, SpineChart, TrendChart, TrendPoint
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.document.view import comparison, css_variables

LAYOUTS = default_layouts_dir()
CSS = (LAYOUTS / "static" / "profile.css").read_text(encoding="utf-8")
CHARTS = (Path(__file__).resolve().parents[1] / "reportgen" / "document" / "charts.py").read_text(encoding="utf-8")
THEME = load_theme(layout_search_path(None, LAYOUTS))
MM = 96 / 25.4  # CSS pixels per millimetre


def _theme(tmp_path: Path, settings: dict):
    folder = tmp_path / "layouts"
    folder.mkdir(exist_ok=True)
    (folder / "theme.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return load_theme(layout_search_path(folder, LAYOUTS))


def _trend(theme) -> TrendChart:
    points = tuple(
        TrendPoint(f"20{10 + i}", 50.0 + i, 48.0 + i, 52.0 + i, 51.0, marker_for("Similar", theme)) for i in range(5)
    )
    return TrendChart("t", "Hartlepool", points, "Percentage", "alt", "England")


def _panel() -> BarPanel:
    rows = tuple(
        BarRow(name, "70.0", "68.0 to 72.0", comparison("Similar"), i == 0, 40.0 + i, 0.0, 35.0, 45.0)
        for i, name in enumerate(["Hartlepool", "Darlington"])
    )
    return BarPanel("bars-x", rows, 40.0, False, "0", "90", "alt", ("Authority", "Value", "95% CI", "vs Eng."))


def test_the_css_variables_come_from_the_one_table():
    css = css_variables(THEME)
    for name, value in dataclasses.asdict(THEME.neutrals).items():
        assert f"--{name.replace('_', '-')}: {value};" in css
    assert "--ink: #1A1A1A;" in css and "--muted: #4A4A4A;" in css
    assert "--col-left: 110mm;" in css and "--col-right: 68mm;" in css and "--small-text: 7.5pt;" in css
    assert "--spine-width: 27.6mm;" in css and "--data-cell-padding: 0.6mm;" in css


def test_the_stylesheet_uses_the_table_not_its_own_copies():
    assert not re.search(r":root\s*\{", CSS)  # the template's :root rule (from theme.yaml) is the only one
    for rule, variable in ((".col-left {", "var(--col-left)"), (".col-right {", "var(--col-right)"),
                           (".c-spine {", "var(--spine-width)"), (".bar-lines {", "var(--small-text)"),
                           ("table.data {", "var(--small-text)")):  # fmt: skip
        assert variable in CSS[CSS.index(rule) :].split("}")[0], rule
    colours = {c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}\b", CSS)}
    assert not colours & {c.upper() for c in dataclasses.asdict(THEME.neutrals).values()}
    assert "7.5pt" not in CSS and "68mm" not in CSS and "110mm" not in CSS


def test_the_charts_have_no_sizes_or_greys_of_their_own():
    """charts.py draws with the theme's sizes and neutral colours (white, the paper, aside)."""
    assert set(re.findall(r"#[0-9A-Fa-f]{6}\b", CHARTS)) <= {"#FFFFFF"}
    assert "SPINE_SIZE_MM" not in CHARTS and "TREND_SIZE_MM" not in CHARTS and "BAR_PANEL_WIDTH_MM" not in CHARTS
    trend, spine = draw_trend(_trend(THEME), THEME), draw_spine(_spine(THEME), THEME)
    bars = draw_bar_panel(_panel(), THEME)
    assert (trend.width_mm, trend.height_mm) == (THEME.sizes.col_right, THEME.sizes.trend_height)
    assert (spine.width_mm, spine.height_mm) == (THEME.sizes.spine_width, THEME.sizes.spine_height)
    assert bars.width_mm == THEME.sizes.col_left
    assert f'stroke="{THEME.neutrals.chart_rule}"' in bars.svg and f'fill="{THEME.neutrals.muted}"' in bars.svg


def _spine(theme) -> SpineChart:
    return SpineChart("s", (0.1, 0.9), (0.4, 0.6), 0.3, 0.55, marker_for("Worse", theme), "alt")


def test_a_councils_sizes_and_greys_change_the_charts_and_the_css_together(tmp_path):
    theme = _theme(tmp_path, {"sizes": {"col_right": 60, "trend_height": 36, "col_left": 112},
                              "neutrals": {"ink": "#000000", "chart_rule": "#CCCCCC"}})  # fmt: skip
    assert theme.sizes == dataclasses.replace(THEME.sizes, col_right=60, trend_height=36, col_left=112)
    assert theme.neutrals == dataclasses.replace(THEME.neutrals, ink="#000000", chart_rule="#CCCCCC")
    css = css_variables(theme)
    assert "--col-right: 60mm;" in css and "--col-left: 112mm;" in css and "--ink: #000000;" in css
    trend = draw_trend(_trend(theme), theme)
    assert (trend.width_mm, trend.height_mm) == (60, 36)
    assert re.search(r'<svg[^>]* width="170\.08pt" height="102\.05pt"', trend.svg)  # 60 x 36 mm
    bars = draw_bar_panel(_panel(), theme)
    assert bars.width_mm == 112 and 'stroke="#CCCCCC"' in bars.svg and 'stroke="#000000"' in bars.svg
    assert 'stroke="#000000"' in draw_spine(_spine(theme), theme).svg  # the area marker's outline


def test_weasyprint_lays_the_columns_out_at_the_tables_widths():
    html = (
        f'<html><head><link rel="stylesheet" href="{(LAYOUTS / "static" / "profile.css").as_uri()}">'
        f"<style>{css_variables(THEME)}</style></head><body><div class='col-left'>a</div>"
        "<div class='col-right'>b</div><div class='c-spine'>c</div>"
        "</body></html>"
    )
    document = weasyprint.HTML(string=html, base_url=str(LAYOUTS)).render()
    widths = {}
    stack = [document.pages[0]._page_box]
    while stack:
        box = stack.pop()
        element = getattr(box, "element", None)
        if element is not None and element.get("class") in ("col-left", "col-right", "c-spine"):
            widths.setdefault(element.get("class"), box.width / MM)
        stack.extend(box.all_children())
    assert widths["col-left"] == pytest.approx(THEME.sizes.col_left)
    assert widths["col-right"] == pytest.approx(THEME.sizes.col_right)
    assert widths["c-spine"] == pytest.approx(THEME.sizes.spine_width + 0.8)  # the spine and the cell's padding


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"neutrals": {"ink": "black"}}, "neutrals.ink: 'black' is not a colour; use #RRGGBB"),
        ({"neutrals": {"inc": "#000000"}}, "neutrals.inc: is not a theme key"),
        ({"sizes": {"col_left": 0}}, "sizes.col_left: must be more than 0"),
        ({"sizes": {"col_right": "68mm"}}, "sizes.col_right: must be a number"),
        ({"sizes": {"small_text_pt": 3}}, "sizes.small_text_pt: Input should be greater than or equal to 6"),
        ({"sizes": [1]}, "sizes: must be a mapping of keys to values"),
    ],
)
def test_bad_sizes_and_greys_are_clear_errors_naming_file_and_key(tmp_path, settings, problem):
    with pytest.raises(RenderError) as caught:
        _theme(tmp_path, settings)
    assert caught.value.message.startswith(f"{tmp_path / 'layouts' / 'theme.yaml'}: ")
    assert problem in caught.value.message


def test_the_models_and_the_packaged_table_have_the_same_keys():
    packaged = yaml.safe_load((LAYOUTS / "theme.yaml").read_text(encoding="utf-8"))
    assert list(packaged["neutrals"]) == [f.name for f in dataclasses.fields(Neutrals)]
    assert list(packaged["sizes"]) == [f.name for f in dataclasses.fields(Sizes)]
