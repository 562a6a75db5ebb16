"""The "Find your area" page in a real browser: Debian's chromium, headless, driven by Playwright.

The page is opened from the file system, filtered by typing, used with the keyboard, followed to a
PDF, and checked with axe-core (shipped in the axe-playwright-python wheel). Where the browser
cannot start, these tests fail with the reason: they never pass by skipping.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pikepdf
import pytest
from browser_helpers import launched_chromium
from national_helpers import HARTLEPOOL, HULL, small_inputs

from reportgen.cli import cli
from reportgen.core.geography import load_geography
from reportgen.publish import site
from reportgen.publish.area import slugify

SEARCH_LABEL = "Search by authority name or code"


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    """An edition folder built by a real national run of two authorities in two regions."""
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("site")
    specs, data = small_inputs(root / "inputs")
    args = ["build", "--area", HARTLEPOOL, "--area", HULL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = CliRunner().invoke(cli, [*args, "--out", str(root / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "out" / "2024"


@pytest.fixture(scope="module")
def browser():
    yield from launched_chromium()


@pytest.fixture
def page(browser, edition):
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto((edition / "index.html").as_uri())
    page.requested = requested
    yield page
    context.close()


def visible_areas(page) -> list[str]:
    return [text.strip() for text in page.locator("li.area:visible h3").all_inner_texts()]


def test_the_page_lists_every_authority_by_region_and_loads_nothing_from_outside(page, edition):
    assert page.title() == "Find your area: Health assets profiles, edition 2024"
    assert page.locator("h1").inner_text() == "Find your area"
    regions = page.locator("section.region h2").all_inner_texts()
    assert regions == ["North East", "Yorkshire and The Humber"]
    assert visible_areas(page) == ["Hartlepool E06000001", "Kingston upon Hull, City of E06000010"]
    assert page.locator("#status").inner_text() == "2 authorities listed."
    assert all(url.startswith(("file:", "data:")) for url in page.requested), page.requested
    for landmark in ("banner", "main", "contentinfo", "search"):
        assert page.get_by_role(landmark).count() == 1, landmark


def test_typing_part_of_a_name_or_code_filters_the_list_and_announces_the_count(page):
    search = page.get_by_label(SEARCH_LABEL)
    assert search.get_attribute("type") == "search"
    search.press_sequentially("HART")
    assert visible_areas(page) == ["Hartlepool E06000001"]
    assert page.locator("section.region:visible h2").all_inner_texts() == ["North East"]
    page.wait_for_function("document.getElementById('status').textContent.includes('match')")
    assert page.locator("#status").inner_text() == "1 authority matches \u201cHART\u201d."
    search.fill("e06000010")
    assert visible_areas(page) == ["Kingston upon Hull, City of E06000010"]
    search.fill("nowhere")
    assert visible_areas(page) == []
    page.wait_for_function("document.getElementById('status').textContent.startsWith('No authority')")
    search.fill("")
    assert len(visible_areas(page)) == 2


def test_keyboard_skip_link_and_focus_order(page):
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the list of areas"
    box = page.evaluate("JSON.stringify(document.activeElement.getBoundingClientRect())")
    assert '"x":0' in box.replace(" ", "")  # shown on screen when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the zip link
    assert page.evaluate("document.activeElement.getAttribute('href')") == "profiles.zip"
    page.keyboard.press("Tab")  # "About this publication" and "Accessibility", in the page
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#about"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#accessibility"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_each_area_lists_its_web_page_first_then_the_pdf_brief_and_data(page):
    files = page.locator("li.area").first.locator("ul.files li")
    texts = [" ".join(t.split()) for t in files.all_inner_texts()]
    assert [t.split(" for Hartlepool")[0] for t in texts] == [
        "Full profile",
        "Full profile to print",
        "Board brief",
        "Data",
    ]
    assert texts[0].endswith("KB)") and "(web page, " in texts[0] and "(PDF, " in texts[1] and "(CSV, " in texts[3]


def test_following_the_web_page_link_opens_the_accessible_profile(page, edition):
    page.get_by_role("link", name="Full profile for Hartlepool").click()
    page.wait_for_url("**/E06000001-hartlepool.html")
    assert page.locator("h1").count() == 1 and "Hartlepool" in page.title()


def test_the_method_link_opens_the_about_section_of_a_profile(page, edition):
    link = page.get_by_role("link", name="About the profile for Hartlepool")
    assert link.get_attribute("href") == "E06000001-hartlepool.html#about"
    link.click()
    page.wait_for_url("**/E06000001-hartlepool.html#about")
    assert page.locator("#about").count() == 1


def test_following_a_profile_link_opens_the_existing_pdf(page, edition):
    page.get_by_label(SEARCH_LABEL).fill("hartlepool")
    link = page.get_by_role("link", name="Full profile to print for Hartlepool")
    assert "PDF, " in link.locator("xpath=..").inner_text()
    link.click()
    page.wait_for_url("**/E06000001-hartlepool.pdf")
    target = Path(page.url.removeprefix("file://"))
    assert target == edition / "E06000001-hartlepool.pdf"
    with pikepdf.open(target) as pdf:
        assert len(pdf.pages) > 1


def test_data_links_point_at_existing_csv_files(page, edition):
    hrefs = page.locator("a[href$='-data.csv']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert sorted(hrefs) == ["E06000001-hartlepool-data.csv", "E06000010-kingston-upon-hull-city-of-data.csv"]
    assert all((edition / h).read_text(encoding="utf-8").startswith("indicator_id,") for h in hrefs)


def test_without_javascript_the_full_list_is_shown(browser, edition):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((edition / "index.html").as_uri())
    assert len(visible_areas(page)) == 2
    assert not page.get_by_label(SEARCH_LABEL).is_visible()  # no search box that would do nothing
    context.close()


def test_axe_finds_no_serious_or_critical_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    for state in ("", "hart", "nowhere", "harrogate"):
        page.get_by_label(SEARCH_LABEL).fill(state)
        results = axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"]}
            },
        )
        violations = results.response["violations"]
        bad = [(v["id"], v["impact"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
        assert bad == [], f"filter {state!r}: {bad}"
        assert results.response["passes"], "axe ran no checks"


# --------------------------------------------------------------------------- search finds what people type


@pytest.fixture(scope="module")
def national_page(tmp_path_factory) -> Path:
    """The page of an edition of all 153 authorities, each with its four files (small stand-ins)."""
    folder = tmp_path_factory.mktemp("national") / "2024"
    folder.mkdir()
    areas = {}
    for area in load_geography().authorities:
        stem = f"{area.code}-{slugify(area.name)}"
        names = [f"{stem}.html", f"{stem}.pdf", f"{stem}-brief.pdf", f"{stem}-data.csv"]
        for name in names:
            (folder / name).write_bytes(b"x" * 2000)
        areas[area.code] = {
            "area_name": area.name,
            "region_code": area.region_code,
            "region_name": area.region_name,
            "files": {name: "0" * 64 for name in names},
        }
    page = site.index_html({"areas": areas}, folder, "2024", date(2024, 3, 31), False)
    (folder / "index.html").write_bytes(page)
    return folder / "index.html"


SEARCHES = [
    # (what people type, the authorities shown, the notes shown under them)
    ("st helens", ["St. Helens"], []),
    ("St. Helens", ["St. Helens"], []),
    ("saint helens", ["St. Helens"], []),
    ("hull", ["Kingston upon Hull, City of"], []),  # not Solihull
    ("KINGSTON UPON HULL", ["Kingston upon Hull, City of"], []),
    ("Harrogate", ["North Yorkshire"], ["Harrogate is in North Yorkshire."]),
    ("harro", ["North Yorkshire", "Harrow"], ["Harrogate is in North Yorkshire."]),  # as you type
    ("Bath", ["Bath and North East Somerset"], []),
    ("brighton & hove", ["Brighton and Hove"], []),
    ("Brighton and Hove", ["Brighton and Hove"], []),
    ("brighton&hove", ["Brighton and Hove"], []),
    ("Allerdale", ["Cumberland"], ["Allerdale is in Cumberland."]),
    ("taunton deane", ["Somerset"], ["Taunton Deane is in Somerset."]),
    ("Yeovil", ["Somerset"], ["Yeovil is in Somerset."]),
    ("Corby", ["North Northamptonshire"], ["Corby is in North Northamptonshire."]),
    ("stoke on trent", ["Stoke-on-Trent"], []),
    ("bristol", ["Bristol, City of"], []),
    ("Herefordshire", ["Herefordshire, County of"], []),
    ("isles of scilly", ["Isles of Scilly"], []),
    ("e06000047", ["County Durham"], []),
    ("newcastle", ["Newcastle upon Tyne", "Staffordshire"], ["Newcastle-under-Lyme is in Staffordshire."]),
    ("BS1 4DJ", [], []),  # postcodes are out of scope: nothing matches, and the page says so
]


def test_search_finds_authorities_districts_and_towns_as_people_type_them(browser, national_page):
    context = browser.new_context()
    page = context.new_page()
    page.goto(national_page.as_uri())
    assert len(visible_areas(page)) == 153
    search = page.get_by_label(SEARCH_LABEL)
    for query, authorities, notes in SEARCHES:
        search.fill(query)
        shown = [name.rsplit(" ", 1)[0] for name in visible_areas(page)]
        assert shown == authorities, query
        assert [n.strip() for n in page.locator("li.area:visible .place-note:visible").all_inner_texts()] == notes
    page.wait_for_function("document.getElementById('status').textContent.startsWith('No authority')")
    assert page.locator("#status").inner_text() == "No authority matches \u201cBS1 4DJ\u201d."
    search.fill("Harrogate")
    page.wait_for_function("document.getElementById('status').textContent.includes('Harrogate')")
    assert page.locator("#status").inner_text() == "1 authority matches \u201cHarrogate\u201d."
    _assert_axe_passes(page, "Harrogate on the page of 153 authorities")
    search.fill("")
    assert len(visible_areas(page)) == 153 and page.locator(".place-note:visible").count() == 0
    context.close()


def _assert_axe_passes(page, state: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"]}},
    )
    violations = results.response["violations"]
    bad = [(v["id"], v["impact"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{state}: {bad}"
    assert results.response["passes"], "axe ran no checks"
