"""Profiles still build, clearly, from awkward data: gaps, suppression, one period, hostile text."""

from __future__ import annotations

import csv
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import yaml
from benchmark_helpers import HEADER, proportion_record, record
from click.testing import CliRunner
from conftest import VALID_SPEC

from reportgen.cli import cli
from reportgen.core.assets import default_layouts_dir
from reportgen.core.geography import load_geography
from reportgen.document.render import html_to_pdf, layout_search_path

pytestmark = pytest.mark.slow

NE = [a.code for a in load_geography().in_region("E12000001")]
HOSTILE = 'St <img src="file:///etc/hostname"> Mary & "Quotes" Borough of the Very Long Name upon Sea, Lakes and District Unitary Authority'
HOSTILE_CODE = "E06000999"
PERIODS = ["2019", "2020", "2021", "2022", "2023"]
CASES = {
    "normal": "A normal indicator",
    "no_area_data": "No data for the area",
    "all_suppressed": "Every value suppressed",
    "single_period": "Only one period",
    "no_region": "No region value",
    "no_england": "No England value",
}


def write_specs(folder: Path) -> Path:
    folder.mkdir()
    for order, (key, name) in enumerate(CASES.items()):
        spec = {
            **VALID_SPEC,
            "id": key,
            "fingertips_id": None,
            "name": name,
            "short_name": name,
            "age": "All ages",
            "order": order,
            "domain": "Health" if order % 2 else "Place",
        }
        (folder / f"{key}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder


def rows_for(key: str) -> list[dict]:
    periods = PERIODS[-1:] if key == "single_period" else PERIODS
    rows = []
    for t, period in enumerate(periods):
        common = {"period": period, "indicator": key, "area_type": "County & UA"}
        areas = NE if key == "no_area_data" else [*NE, HOSTILE_CODE]
        for i, code in enumerate(areas):
            if key == "all_suppressed":
                rows.append(record(code, note="Value suppressed <b>for disclosure</b>", **common))
            else:
                rows.append(proportion_record(code, 400 + 15 * i + 5 * t, 1000, **common))
        if key != "no_region":
            rows.append(proportion_record("E12000001", 5000 + 20 * t, 12000, **{**common, "area_type": "Region"}))
        if key != "no_england":
            rows.append(proportion_record("E92000001", 480_000, 1_000_000, **{**common, "area_type": "England"}))
    for row in rows:
        if row["Area Code"] == HOSTILE_CODE:
            row["Area Name"] = HOSTILE
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust")
    specs = write_specs(folder / "specs")
    data = folder / "data.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for key in CASES:
            writer.writerows(rows_for(key))
    result = CliRunner().invoke(
        cli, ["build", "--area", HOSTILE_CODE, "--data", str(data), "--specs", str(specs), "--out", str(folder / "out")]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    document = pdfium.PdfDocument(str(path))
    text = "\n".join(page.get_textpage().get_text_range() for page in document).replace("\r\n", "\n")
    document.close()
    return path, text, result


def section(text: str, name: str) -> str:
    """Text from the indicator's domain heading to the next indicator's heading."""
    start = text.index(name, text.index("Health") if "Health" in text else 0)
    following = [text.find(other, start + 1) for other in CASES.values() if other != name]
    ends = [i for i in following if i > start]
    return text[start : min(ends) if ends else len(text)]


def test_builds_and_names_the_unknown_area_literally(built):
    path, text, result = built
    assert path.name.startswith(f"{HOSTILE_CODE}-st-img-src-file-etc-hostname-mary")
    assert 'St <img src="file:///etc/hostname"> Mary & "Quotes"' in text.replace("\n", " ")
    assert "not in the April 2023 upper-tier geography" in result.stderr


def test_no_file_outside_the_layouts_is_fetched(built):
    path, _, result = built
    assert "refused to fetch" not in result.stderr
    with pikepdf.open(path) as pdf:
        assert not any(page.get_images() for page in pdf.pages)


def test_fetcher_refuses_files_outside_the_layouts():
    layouts = layout_search_path(None, default_layouts_dir())
    html = '<html lang="en"><title>t</title><body><p>x</p><img alt="x" src="file:///etc/hostname"></body></html>'
    pdf, log = html_to_pdf(html, layouts, created=__import__("datetime").date(2024, 1, 1))
    assert pdf.startswith(b"%PDF") and log.blocked == ["file:///etc/hostname"]


def test_indicator_without_data_for_the_area(built):
    _, text, _ = built
    assert "No data for St <img" in text.replace("\n", " ")


def test_all_values_suppressed(built):
    _, text, _ = built
    flat = text.replace("\n", " ")
    # HTML in a value note is shown as its text (tags stripped), never as markup.
    assert "Value suppressed for disclosure" in flat and "<b>" not in flat
    assert "No value for St <img" in flat


def test_single_period(built):
    _, text, _ = built
    flat = text.replace("\n", " ")
    assert "Only one period is available, so there is no trend yet." in flat
    # one value is no trend: no chart and no trend table for it, while the others keep theirs
    assert "Trend data: A normal indicator" in flat and "Trend data: Only one period" not in flat


def test_no_region_value(built):
    _, text, _ = built
    assert "No region value is available." in text.replace("\n", " ")


def test_no_england_value(built):
    _, text, _ = built
    flat = text.replace("\n", " ")
    assert "No England value is available, so the area is not compared with England." in flat
    assert "No England value" in flat


def test_nothing_prints_as_nan(built):
    _, text, _ = built
    for word in (" nan", "NaN", "None", "<NA>"):
        assert word not in text


def test_long_name_fits_in_the_header(built):
    path, _, _ = built
    document = pdfium.PdfDocument(str(path))
    width = document[0].get_width()
    for page in document:
        textpage = page.get_textpage()
        for i in range(textpage.count_rects()):
            left, _, right, _ = textpage.get_rect(i)
            assert left >= 0 and right <= width + 0.5
    document.close()
