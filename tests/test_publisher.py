"""Issue 17 item 10: the publisher block (who, contact, licence with attributions, data date, how to
cite) on the About page and in the brief, all from theme.yaml so that a council or OHID can brand it."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import yaml

from reportgen.cli import cli
from reportgen.core.assets import default_layouts_dir, default_specs_dir
from reportgen.core.errors import RenderError
from reportgen.core.geography import Area
from reportgen.document.inputs import DocumentFiles
from reportgen.document.publication import cited_year, publication_context
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.document.view import load_wording

PACKAGED = [default_layouts_dir()]
HULL = Area("E06000010", "Kingston upon Hull, City of", "E12000003", "Yorkshire and The Humber")
COUNCIL = {
    "name": "Anytown Council Public Health Intelligence",
    "url": "https://www.anytown.example/jsna",
    "contact_email": "jsna@anytown.example",
    "contact_url": "https://www.anytown.example/contact",
    "publication_url": "https://www.anytown.example/health-assets/{edition}/",
    "licence": "Open Government Licence v3.0",
    "attribution": ["Local survey data: Anytown Council residents' survey 2023."],
}


def council_folder(tmp_path: Path, theme: dict) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir(exist_ok=True)
    (folder / "theme.yaml").write_text(yaml.safe_dump(theme, sort_keys=False), encoding="utf-8")
    return folder


def context_for(theme_dict: dict | None, tmp_path: Path, edition: str = "2024") -> dict:
    search = layout_search_path(council_folder(tmp_path, theme_dict), default_layouts_dir()) if theme_dict else PACKAGED
    return publication_context(
        load_theme(search),
        load_wording(search),
        area=HULL,
        edition=edition,
        data_date=date(2024, 3, 31),
        files=DocumentFiles(
            "E06000010-kingston-upon-hull-city-of.pdf", "E06000010-kingston-upon-hull-city-of-brief.pdf"
        ),
        version="9.9.9",
    )


def test_the_packaged_publisher_names_no_organisation_and_gives_the_data_licence():
    publisher = load_theme(PACKAGED).publisher
    assert publisher.name == "" and publisher.contact_email == "" and publisher.publication_url == ""
    assert publisher.licence == "Open Government Licence v3.0"
    assert publisher.licence_url.startswith("https://www.nationalarchives.gov.uk/")
    assert any(
        "Office for Health Improvement and Disparities" in line and "Fingertips" in line
        for line in publisher.attribution
    )
    assert any("Office for National Statistics" in line for line in publisher.attribution)
    block = context_for(None, Path("."))["publisher"]
    assert "no publishing organisation is named" in block["who"] and "9.9.9" in block["who"]
    assert block["contact"] == "No contact is given for this edition."
    assert block["data_date"] == "Data as at 31 March 2024; edition 2024."
    # cited without an author, with the full profile's file name for want of an address
    assert block["cite"] == (
        "Health assets profile: Kingston upon Hull, City of, edition 2024 (2024). Made with reportgen. "
        "E06000010-kingston-upon-hull-city-of.pdf"
    )


def test_a_councils_publisher_keys_are_merged_over_the_packaged_ones(tmp_path):
    context = context_for({"publisher": COUNCIL}, tmp_path, edition="2025-autumn")
    block = context["publisher"]
    url = "https://www.anytown.example/health-assets/2025-autumn/"
    assert context["publication_url"] == url
    assert block["who"] == f"Published by {COUNCIL['name']}, {COUNCIL['url']}."
    assert block["contact"] == f"Contact: {COUNCIL['contact_email']}, {COUNCIL['contact_url']}."
    assert block["attribution"] == COUNCIL["attribution"]  # a list replaces the packaged one
    assert (
        block["cite"]
        == f"{COUNCIL['name']} (2025). Health assets profile: Kingston upon Hull, City of, edition 2025-autumn. {url}"
    )
    assert url in context["brief_about"]["where"]
    # a key the council leaves out keeps the packaged value
    assert "https://www.nationalarchives.gov.uk/" in block["licence"]


def test_the_organisation_stands_in_for_an_unnamed_publisher(tmp_path):
    block = context_for({"organisation": "Borsetshire Public Health"}, tmp_path)["publisher"]
    assert block["who"] == "Published by Borsetshire Public Health."
    assert block["cite"].startswith("Borsetshire Public Health (2024). Health assets profile: ")


@pytest.mark.parametrize(
    ("publisher", "problem"),
    [
        ({"contact_email": "not an address"}, "publisher.contact_email: must be an email address"),
        ({"url": "javascript:alert(1)"}, "publisher.url: must be a web address starting https://"),
        ({"publication_url": "https://example.org/a page"}, "publisher.publication_url: must be a web address"),
        ({"contact_url": 'https://example.org/"><script>'}, "publisher.contact_url: must be a web address"),
        ({"phone": "01234"}, "publisher.phone: is not a theme key"),
        ({"attribution": "ONS"}, "publisher.attribution: must be a list"),
        ({"name": "x" * 301}, "publisher.name: String should have at most 300 characters"),
    ],
)
def test_bad_publisher_values_are_clear_errors_naming_file_and_key(tmp_path, publisher, problem):
    folder = council_folder(tmp_path, {"publisher": publisher})
    with pytest.raises(RenderError) as raised:
        load_theme(layout_search_path(folder, default_layouts_dir()))
    message = str(raised.value)
    assert str(folder / "theme.yaml") in message and problem in message, message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("edition", "year"), [("2024", 2024), ("2025-autumn", 2025), ("spring", 2024), ("20245", 2024), ("1999", 1999)]
)
def test_the_cited_year_is_the_editions_own_else_the_data_dates(edition, year):
    assert cited_year(edition, date(2024, 3, 31)) == year


def _pdf_text(path: Path) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    return " ".join(re.sub(r"(?:-|\ufffe)\s*[\r\n]*\s*", "-", text).split())


@pytest.mark.slow
def test_a_councils_theme_brands_the_about_page_and_the_brief(runner, demo_csv, tmp_path):
    """Built through the CLI with a --layouts folder holding only a publisher block."""
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("employment_rate", "school_readiness", "library_walk"):
        shutil.copy(default_specs_dir() / f"{name}.yaml", specs)
    folder = council_folder(tmp_path, {"publisher": COUNCIL})
    out = tmp_path / "out"
    args = ["build", "--area", "Hartlepool", "--data", str(demo_csv), "--specs", str(specs), "--layouts", str(folder)]
    result = runner.invoke(cli, [*args, "--out", str(out), "--brief", "--edition", "2025-autumn"])
    assert result.exit_code == 0, result.output
    edition = out / "2025-autumn"
    profile, brief = edition / "E06000001-hartlepool.pdf", edition / "E06000001-hartlepool-brief.pdf"
    url = "https://www.anytown.example/health-assets/2025-autumn/"
    cite = f"{COUNCIL['name']} (2025). Health assets profile: Hartlepool, edition 2025-autumn. {url}"
    for path in (profile, brief):
        text = _pdf_text(path)
        squeezed = text.replace(" ", "")  # addresses may wrap at a /
        for expected in (
            f"Published by {COUNCIL['name']}",
            COUNCIL["contact_email"],
            "Open Government Licence v3.0",
            COUNCIL["attribution"][0],
            "How to cite",
            "Data as at",
        ):
            assert expected in text, f"{path.name}: {expected!r}"
        for address in (COUNCIL["url"], COUNCIL["contact_url"], cite.replace(" ", "")):
            assert address in squeezed, f"{path.name}: {address!r}"
        assert "no publishing organisation is named" not in text
        assert "Fingertips (fingertips.phe.org.uk)" not in text  # the council's list replaced the packaged one
    brief_text = _pdf_text(brief)
    assert profile.name in brief_text and url in brief_text.replace(" ", "")
