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
        '<li><a href="E06000001-hartlepool.pdf">Full profile<span class="visually-hidden"> for Hartlepool</span></a> '
        '<span class="meta">(PDF, 1 KB)</span></li>' in page
    )
    assert "Board brief" in page and '<a href="E06000001-hartlepool-data.csv">Data' in page
    assert '<h2 id="region-Z">Other areas</h2>' in page  # an authority without a region comes last
    assert 'data-matches-one="{n} authority matches “{query}”."' in page  # the script's messages, with slots
    css = (default_layouts_dir() / "static" / "site.css").read_text(encoding="utf-8")
    assert css.split("*/", 1)[1].strip() in page  # the styles are written into the page: it loads nothing
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)


def test_names_from_the_data_are_shown_literally(edition):
    page = _page(edition)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    assert 'data-search="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co e99999999"' in page


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
