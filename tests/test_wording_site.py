"""The "Find your area" page is a layouts template (site.html.j2, static/site.css) worded by wording.yaml.

It is rendered on the sandboxed, autoescaping layouts environment, so names from the data are shown
literally; a council's --layouts folder rewords or restyles it without Python. Its behaviour in a
browser is tested in test_site_browser.py.
"""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import RenderError
from reportgen.document.render import layout_search_path
from reportgen.publish import site

SITE_MODULE = Path(site.__file__)
HOSTILE = '<script>alert("x")</script> & Co'


@pytest.fixture
def edition(tmp_path) -> tuple[Path, dict]:
    """An edition folder with two areas' files (one with a hostile name, one without a region) and its manifest."""
    folder = tmp_path / "2024"
    folder.mkdir()
    for name in ("E06000001-hartlepool.pdf", "E06000001-hartlepool-brief.pdf", "E06000001-hartlepool-data.csv",
                 "E99999999-x.pdf"):  # fmt: skip
        (folder / name).write_bytes(b"%PDF-1.7 test" * 100)
    (folder / site.ZIP_FILE).write_bytes(b"z" * 2500)
    manifest = {
        "areas": {
            "E06000001": {
                "area_name": "Hartlepool",
                "region_code": "E12000001",
                "region_name": "North East",
                "files": {
                    "E06000001-hartlepool.pdf": {},
                    "E06000001-hartlepool-brief.pdf": {},
                    "E06000001-hartlepool-data.csv": {},
                },
            },
            "E99999999": {"area_name": HOSTILE, "files": {"E99999999-x.pdf": {}}},
        }
    }
    return folder, manifest


def _page(edition, **options) -> str:
    folder, manifest = edition
    return site.index_html(manifest, folder, "2024", date(2024, 3, 31), True, **options).decode("utf-8")


def test_the_page_is_the_layouts_template_with_the_packaged_wording(edition):
    page = _page(edition)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en-GB">')
    assert "<title>Find your area: Health assets profiles, edition 2024</title>" in page
    assert "<p>Edition 2024. Data as at 31 March 2024. 2 authorities.</p>" in page
    assert '<p class="notice"><strong>Synthetic demonstration data:</strong>' in page
    assert '<span class="meta"> (ZIP, 2 KB)</span>' in page
    assert (
        '<li><a href="E06000001-hartlepool.pdf">Full profile to print<span class="visually-hidden"> for Hartlepool'
        '</span></a> <span class="meta">(PDF, 1 KB)</span></li>' in page
    )
    assert "Board brief" in page and '<a href="E06000001-hartlepool-data.csv">Data' in page
    assert '<h2 id="region-Z">Other areas</h2>' in page  # an authority without a region comes last
    assert 'data-matches-one="{n} authority matches “{query}”."' in page  # the script's messages, with slots
    assert 'data-place-note="{place} is in {area}."' in page
    css = (default_layouts_dir() / "static" / "site.css").read_text(encoding="utf-8")
    assert css.split("*/", 1)[1].strip() in page  # the styles are written into the page: it loads nothing
    assert not re.search(r"""src=["']""", page)  # nothing is loaded, from anywhere
    # The only address elsewhere is the licence's: no publisher is named in the packaged theme.
    assert re.findall(r"""href=["'](https?:[^"']*)""", page) == [site.DEFAULT_LICENCE_URL]


def test_names_from_the_data_are_shown_literally(edition):
    page = _page(edition)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    assert 'data-search="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co"' in page


def test_a_council_rewords_and_restyles_the_page_without_python(edition, tmp_path):
    layouts = tmp_path / "layouts"
    (layouts / "static").mkdir(parents=True)
    wording = {"site": {"heading": "Find your council", "matches_none": "Nothing matches “{query}”.",
                        "series": "Anytown asset profiles"}}  # fmt: skip
    (layouts / "wording.yaml").write_text(yaml.safe_dump(wording, allow_unicode=True), encoding="utf-8")
    (layouts / "static" / "site.css").write_text("body { background: #fffbe6; }\n", encoding="utf-8")
    page = _page(edition, search_path=layout_search_path(layouts, default_layouts_dir()))
    assert "<h1>Find your council</h1>" in page and 'data-matches-none="Nothing matches “{query}”."' in page
    assert "<title>Find your area: Anytown asset profiles, edition 2024</title>" in page
    assert "body { background: #fffbe6; }" in page and "skip-link" in page  # their styles, the packaged template


def test_a_bad_slot_in_the_pages_wording_names_the_file_and_key(edition, tmp_path):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "wording.yaml").write_text('site:\n  listed_many: "{count} listed"\n', encoding="utf-8")
    with pytest.raises(RenderError, match=r"layouts/wording\.yaml: wording site\.listed_many uses \{count\}"):
        _page(edition, search_path=layout_search_path(layouts, default_layouts_dir()))


def test_the_page_is_written_by_the_layouts_not_by_python():
    """site.py builds no HTML: no markup in its strings, no html.escape, and Jinja only through document.render."""
    tree = ast.parse(SITE_MODULE.read_text(encoding="utf-8"))
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imports |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "html" not in imports and not any(m and m.startswith("jinja2") for m in imports)
    markup = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
              and re.search(r"<[a-z!/]", n.value)]  # fmt: skip
    assert markup == []


# --------------------------------------------------------------------------- who, what and how


def _twin(folder: Path, manifest: dict) -> None:
    """Give Hartlepool its HTML twin, listed and on disk."""
    (folder / "E06000001-hartlepool.html").write_bytes(b"<!DOCTYPE html>" * 100)
    manifest["areas"]["E06000001"]["files"]["E06000001-hartlepool.html"] = {}


def test_each_authority_lists_its_web_page_first_then_the_pdf_the_brief_and_the_data(edition):
    folder, manifest = edition
    _twin(folder, manifest)
    page = _page(edition)
    area = page[page.index('data-code="E06000001"') :]
    area = area[: area.index("</ul></li>")]
    hrefs = re.findall(r'href="([^"]+)"', area)
    assert hrefs == [
        "E06000001-hartlepool.html",
        "E06000001-hartlepool.pdf",
        "E06000001-hartlepool-brief.pdf",
        "E06000001-hartlepool-data.csv",
    ]
    assert (
        'Full profile<span class="visually-hidden"> for Hartlepool</span></a> <span class="meta">(web page, 2 KB)'
        in area
    )


def test_the_about_section_says_licence_data_date_method_changes_and_earlier_editions(edition):
    folder, manifest = edition
    _twin(folder, manifest)
    (folder / "changes.csv").write_text("area_code\nE06000001\n", encoding="utf-8")
    for name, files in (("2023", ("manifest.json", "index.html")), ("2022", ("manifest.json", "index.html")),
                        ("notes", ("manifest.json", "index.html")), ("2021", ("index.html",))):  # fmt: skip
        (folder.parent / name).mkdir()
        for file in files:
            (folder.parent / name / file).write_text("{}", encoding="utf-8")
    page = _page(edition, previous_edition="2023")
    about = page[page.index('<section class="about" id="about"') : page.index('id="accessibility"')]
    assert "Produced with reportgen. No publishing organisation is named for this edition." in about
    assert f'under the <a href="{site.DEFAULT_LICENCE_URL}">Open Government Licence v3.0</a>.' in about
    assert "The data are as at 31 March 2024" in about
    assert '<a href="E06000001-hartlepool.html#about">About the profile for Hartlepool</a>' in about
    assert '<a href="changes.csv">What has changed since the 2023 edition</a> <span class="meta">(CSV, 1 KB)' in about
    # Earlier editions: sibling edition folders with a manifest and a page, newest first ("notes" is a
    # valid label too: it has both); 2021 has no manifest.
    assert re.findall(r'<li><a href="(\.\./[^"]+)">', about) == [
        "../notes/index.html",
        "../2023/index.html",
        "../2022/index.html",
    ]


def test_without_a_web_page_twin_changes_or_earlier_editions_the_page_says_so(edition):
    page = _page(edition)
    about = page[page.index('<section class="about" id="about"') :]
    assert "explained on the About page at the end of every profile" in about and ".html#about" not in about
    assert "changes.csv" not in about and "This is the first edition published in this place." in about
    access = page[page.index('id="accessibility"') :]
    assert "The PDF profiles are tagged (PDF/UA)" in access and "web page version" not in access
    assert "no contact is named for this edition" in access and "mailto:" not in access


def test_the_publisher_and_contact_come_from_the_theme(edition, tmp_path):
    folder, manifest = edition
    _twin(folder, manifest)
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    theme = {"publisher": {"name": "Anytown Council <Public Health>", "url": "https://www.anytown.gov.uk/jsna",
                           "contact_email": "jsna@anytown.gov.uk"}}  # fmt: skip
    (layouts / "theme.yaml").write_text(yaml.safe_dump(theme), encoding="utf-8")
    page = _page(edition, search_path=layout_search_path(layouts, default_layouts_dir()))
    assert 'Published by <a href="https://www.anytown.gov.uk/jsna">Anytown Council &lt;Public Health&gt;</a>.' in page
    access = page[page.index('id="accessibility"') :]
    assert "The web page version of each profile is the accessible version" in access
    assert "PDF/UA" in access and "Known limitations:" in access
    assert 'email <a href="mailto:jsna@anytown.gov.uk">jsna@anytown.gov.uk</a>. Say which area' in access
    assert "No publishing organisation" not in page


def test_the_theme_organisation_names_the_publisher_when_the_publisher_block_does_not(edition, tmp_path):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "theme.yaml").write_text('organisation: "Anytown Council"\n', encoding="utf-8")
    page = _page(edition, search_path=layout_search_path(layouts, default_layouts_dir()))
    assert "<p>Published by Anytown Council.</p>" in page


def test_districts_and_towns_are_written_into_the_page_with_their_authority(tmp_path):
    folder = tmp_path / "2024"
    folder.mkdir()
    (folder / "E06000065-north-yorkshire.pdf").write_bytes(b"%PDF")
    manifest = {
        "areas": {"E06000065": {"area_name": "North Yorkshire", "files": {"E06000065-north-yorkshire.pdf": {}}}}
    }
    page = site.index_html(manifest, folder, "2024", date(2024, 3, 31), False).decode("utf-8")
    places = re.search(r'data-places="([^"]*)"', page)
    assert places is not None
    assert {"Harrogate", "Craven", "Selby", "Scarborough", "Richmondshire"} <= set(places.group(1).split("|"))
