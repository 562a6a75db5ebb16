"""Compare-areas charts: lines of text over one SVG of marks, on one grid (charts.draw_bar_panel)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pdfplumber
import pytest

from reportgen.core.assets import default_layouts_dir
from reportgen.core.options import BuildOptions
from reportgen.document.charts import (
    BAR_LINE_MM,
    BAR_NAME_TAB_MAX_MM,
    BAR_NAME_TAB_MM,
    BAR_SIG_COLUMN_MM,
    BAR_TRACK_MIN_MM,
    draw_bar_panel,
)
from reportgen.document.compose import BarPanel, BarRow
from reportgen.document.render import layout_search_path
from reportgen.document.textwidth import FIGURE_SPACE, columns, face_widths, font_widths, pad_left, wrap
from reportgen.document.theme import load_theme
from reportgen.document.view import comparison
from reportgen.publish.build import build_profile

THEME = load_theme(layout_search_path(None, default_layouts_dir()), None)
BAR_PANEL_WIDTH_MM = THEME.sizes.col_left  # a compare-areas chart fills the left column
BAR_TEXT_MM = THEME.sizes.small_text_mm
HEADINGS = ("Authority", "Value", "95% CI", "vs Eng.")
REGULAR = face_widths(THEME.font_files, 400)
BOLD = face_widths(THEME.font_files, 700)
SVG = "{http://www.w3.org/2000/svg}"


def _panel(names: list[str], dots: bool = True, highlight: int = 1) -> BarPanel:
    rows = tuple(
        BarRow(
            name,
            f"{70 + i * 11.3:.1f}" if i != 3 else "1,234.5",
            f"{68 + i:.1f} to {72 + i:.1f}",
            comparison("Better" if i % 2 else "Similar"),
            i == highlight,
            10.0 + 7 * i,
            0.0,
            5.0 + 7 * i,
            15.0 + 7 * i,
        )
        for i, name in enumerate(names)
    )
    return BarPanel("bars-x", rows, 40.0, dots, "60.0", "90.0", "Chart of x for the region", HEADINGS)


def test_font_widths_come_from_the_font_files_with_tabular_digits():
    regular = font_widths(str(default_layouts_dir() / "fonts" / "Inter-Regular.otf"))
    assert len({regular.width(d, 1.0) for d in "0123456789"}) == 1
    assert regular.width("0", 1.0) == pytest.approx(regular.width(FIGURE_SPACE, 1.0))
    assert regular.width("W", 1.0) > regular.width("i", 1.0)
    assert BOLD.width("Hartlepool", 1.0) > REGULAR.width("Hartlepool", 1.0)  # the bold face was chosen


def test_pad_left_right_aligns_numbers_of_different_lengths():
    padded = pad_left(["7.5", "1,234.5", "88.0", "–"], REGULAR)
    widths = [REGULAR.width(p, 1.0) for p in padded]
    assert max(widths) - min(widths) < REGULAR.width("\u200a", 1.0)  # within a thin space
    assert [p.strip("\u2007\u2008\u2009\u200a") for p in padded] == ["7.5", "1,234.5", "88.0", "–"]


def test_wrap_breaks_at_spaces_within_the_limit():
    name = "Bournemouth, Christchurch and Poole"
    lines = wrap(name, 36.0, BOLD, BAR_TEXT_MM)
    assert " ".join(lines) == name and len(lines) == 2
    assert all(BOLD.width(line, BAR_TEXT_MM) <= 36.0 for line in lines)
    assert wrap(name, 200.0, BOLD, BAR_TEXT_MM) == [name]
    assert wrap("Supercalifragilistic", 5.0, BOLD, BAR_TEXT_MM) == ["Supercalifragilistic"]  # one word stays whole


def test_one_line_per_authority_and_a_few_svg_elements_however_many_rows():
    small = draw_bar_panel(_panel([f"Area {i}" for i in range(5)]), THEME)
    large = draw_bar_panel(_panel([f"Area {i}" for i in range(40)]), THEME)
    assert [line.kind for line in small.lines] == ["head", "row", "highlight", "row", "row", "row"]
    assert len(large.lines) == 41
    count = lambda image: len(ET.fromstring(image.svg))  # noqa: E731
    assert count(large) == count(small) <= 18  # marks of one style are joined into one path
    assert large.height_mm == pytest.approx(41 * BAR_LINE_MM, abs=0.01)
    assert small.alt == "Chart of x for the region"


def test_numbers_line_up_and_names_stop_before_the_tab():
    image = draw_bar_panel(_panel(["Hartlepool", "Stockton-on-Tees", "Redcar and Cleveland", "Darlington"]), THEME)
    rows = image.lines[1:]
    names, numbers = zip(*(line.text.split("\t") for line in rows), strict=True)
    faces = [BOLD if line.kind == "highlight" else REGULAR for line in rows]
    value_ends = [face.width(n.split("  ")[0], 1.0) for face, n in zip(faces, numbers, strict=True)]
    assert max(value_ends) - min(value_ends) < BOLD.width("\u200a", 1.0)  # right-aligned, bold line included
    assert "\u2007" in numbers[0] and rows[1].kind == "highlight"
    assert all(REGULAR.width(n, BAR_TEXT_MM) < image.tab_mm for n in names)
    assert image.tab_mm == BAR_NAME_TAB_MM


def test_long_names_widen_the_name_column_then_wrap_and_marks_follow_their_line():
    names = ["Devon", "Bath and North East Somerset", "Bournemouth, Christchurch and Poole", "Plymouth"]
    image = draw_bar_panel(_panel(names, highlight=0), THEME)
    assert BAR_NAME_TAB_MM < image.tab_mm <= BAR_NAME_TAB_MAX_MM
    texts = [line.text for line in image.lines]
    assert texts[3].startswith("Bournemouth,") and "\t" in texts[3]
    assert "\t" not in texts[4] and texts[4].endswith("Poole")  # the rest of the name, under it
    assert texts[5].startswith("Plymouth\t")
    # The significance badges sit on the first line of each authority: lines 1, 2, 3 and 5.
    badges = [p for p in ET.fromstring(image.svg).iter(f"{SVG}path") if p.get("stroke") == "#555555"]
    tops = sorted(float(y) for p in badges for y in re.findall(r"M[\d.]+ ([\d.]+)h", p.get("d")))
    centres = [round((top + 1.15) / BAR_LINE_MM - 0.5, 2) for top in tops]
    assert centres == [1.0, 2.0, 3.0, 5.0]


def test_bars_from_zero_when_not_drawn_as_dots():
    image = draw_bar_panel(_panel(["A", "B", "C"], dots=False), THEME)
    fills = [p for p in ET.fromstring(image.svg).iter(f"{SVG}path") if p.get("stroke") == "#1A1A1A" and p.get("fill")]
    bars = "".join(p.get("d") for p in fills if p.get("fill") != "none")
    assert bars.count("H") == 6 and "a" not in bars  # two horizontal edges per bar, no circles


@pytest.mark.slow
def test_values_in_the_printed_chart_are_right_aligned(demo_csv, tmp_path):
    """In the PDF, each authority's value ends at the same x, and its name is on the same line."""
    result = build_profile("Hartlepool", demo_csv, BuildOptions(out_dir=tmp_path))
    with pdfplumber.open(result.path) as pdf:
        words = pdf.pages[3].extract_words(keep_blank_chars=False, use_text_flow=True)
    rows = {}
    for name in ("Gateshead", "Sunderland", "Darlington", "Middlesbrough", "Hartlepool"):
        for hit in (w for w in words if w["text"] == name and w["x0"] < 30 * 72 / 25.4):
            after = sorted((w for w in words if abs(w["top"] - hit["top"]) < 1.0 and w["x0"] > hit["x1"]),
                           key=lambda w: w["x0"])  # fmt: skip
            if after and re.fullmatch(r"[\d.,]+", after[0]["text"]):
                rows[name] = after[0]["x1"]  # the value: the first word after the name
                break
    assert len(rows) == 5, rows
    ends = list(rows.values())
    assert max(ends) - min(ends) < 0.6, rows


def test_columns_align_numbers_and_titles_as_text():
    """Trend tables set their numbers as one line of text per period: each column ends in one place."""
    semibold = face_widths(THEME.font_files, 600)
    head, lines = columns(
        ["Value", "95% CI", "England", "Note"],
        [["7.5", "6.1 to 9.0", "8.0", "short"], ["1,234.5", "1,100.0 to 1,400.2", "999.9", "a longer note"]],
        [True, True, True, False],
        REGULAR,
        semibold,
    )
    hair = REGULAR.width("\u200a", 1.0)
    ends = [REGULAR.width(line.split("  ")[0], 1.0) for line in lines]
    assert max(ends) - min(ends) < hair
    upto_england = [REGULAR.width("  ".join(line.split("  ")[:3]), 1.0) for line in lines]
    assert max(upto_england) - min(upto_england) < 2 * hair  # the England column ends in one place too
    title_end = semibold.width(head[: head.index("England") + len("England")], 1.0)
    assert abs(title_end - upto_england[0]) < 0.3  # the title ends over its column (within a third of an em)
    assert lines[0].endswith("short") and lines[1].endswith("a longer note")  # left-aligned, not padded


def test_round_marks_are_round_capped_dots_on_the_line_of_their_authority():
    image = draw_bar_panel(_panel(["A", "B", "C"]), THEME)
    dots = [p for p in ET.fromstring(image.svg).iter(f"{SVG}path") if p.get("stroke-linecap") == "round"]
    assert dots and all(re.fullmatch(r"(M[\d.]+ [\d.]+h0)+", p.get("d")) for p in dots)
    ys = sorted({float(y) for p in dots for y in re.findall(r"M[\d.]+ ([\d.]+)h0", p.get("d"))})
    assert ys == pytest.approx([(line + 0.5) * BAR_LINE_MM for line in (1, 2, 3)], abs=0.01)


def test_very_wide_numbers_narrow_the_name_column_so_the_bars_keep_their_track():
    base = _panel(["Hammersmith and Fulham", "Kensington and Chelsea", "Barnet"])
    rows = tuple(
        BarRow(r.name, "12,345.6", "12,000.0 to 13,000.0", r.result, r.highlight, r.x, r.start, r.lower, r.upper)
        for r in base.rows
    )
    image = draw_bar_panel(BarPanel(base.key, rows, base.england, base.dots, "0", "2", base.alt, HEADINGS), THEME)
    assert image.tab_mm < BAR_NAME_TAB_MM
    faces = {"head": face_widths(THEME.font_files, 600), "row": REGULAR, "highlight": BOLD}
    after = max(faces[line.kind].width(line.numbers, BAR_TEXT_MM) for line in image.lines if line.numbers)
    track = BAR_PANEL_WIDTH_MM - 1.0 - (image.tab_mm + after + 1.5 + BAR_SIG_COLUMN_MM + 1.0)
    assert track >= BAR_TRACK_MIN_MM - 0.1
    assert len(image.lines) > 4  # the long names now wrap
    assert all(BOLD.width(line.name, BAR_TEXT_MM) <= image.tab_mm for line in image.lines[1:])
