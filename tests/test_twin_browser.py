"""The HTML twin of a profile in a real browser: Debian's chromium, headless, driven by Playwright.

The page is opened from the file system as a reader would open it beside its PDF, checked with
axe-core (shipped in the axe-playwright-python wheel: no serious or critical violation), walked
with the keyboard only (every link and control is reached by Tab and shows where the focus is; the
skip link moves the focus to the main content), and its links to the PDFs are followed. Where the
browser cannot start, these tests fail with the reason: they never pass by skipping.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import launched_chromium
from national_helpers import HARTLEPOOL

from reportgen.core.options import BuildOptions
from reportgen.publish.area import render_area
from reportgen.publish.prepare import prepare, resolve_area

pytestmark = pytest.mark.slow  # a whole profile, and axe-core over its page (about a minute)

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa", "best-practice"]
#: Everything the keyboard reaches: links, buttons, form controls, summaries, anything with a tabindex.
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), "
    "summary, [tabindex]:not([tabindex='-1'])"
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Hartlepool's full profile (all indicators, demonstration data): PDF, brief and HTML twin, written."""
    out = tmp_path_factory.mktemp("twin-browser")
    prepared = prepare(None, BuildOptions(out_dir=out, brief=True))
    area = resolve_area(HARTLEPOOL, prepared.data)
    for name, payload in render_area(prepared, area).files.items():
        (out / name).write_bytes(payload)
    return out


@pytest.fixture(scope="module")
def twin(folder) -> Path:
    (path,) = folder.glob("*.html")
    assert path.name == "E06000001-hartlepool.html"
    return path


@pytest.fixture(scope="module")
def browser():
    yield from launched_chromium()


@pytest.fixture
def page(browser, twin):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(twin.as_uri())
    page.requested = requested
    yield page
    context.close()


def test_the_page_loads_nothing_from_elsewhere_and_has_its_landmarks(page, twin):
    assert page.title() == "Health assets profile: Hartlepool"
    assert page.locator("h1").inner_text() == "Hartlepool"
    assert all(url.startswith(("file:", "data:")) for url in page.requested), page.requested
    assert page.requested[0] == twin.as_uri()
    for landmark in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(landmark).count() == 1, landmark
    assert page.get_by_role("img").count() >= 3 * 20  # spine, trend and compare-areas charts
    spine = page.get_by_role("img", name="Spine chart").first
    assert spine.is_visible() and spine.bounding_box()["width"] > 50


def test_axe_finds_no_serious_or_critical_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    page.eval_on_selector_all("details", "all => all.forEach(d => d.open = true)")  # the tables too
    assert page.locator("details.bar-table table").first.is_visible()
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    violations = results.response["violations"]
    bad = [
        (v["id"], v["impact"], v["help"], v["nodes"][0]["target"])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad
    assert len(results.response["passes"]) > 20, "axe ran too few checks"


def test_the_skip_link_is_first_shown_when_focused_and_moves_the_focus_to_main(page):
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    box = page.evaluate(
        "(() => { const r = document.activeElement.getBoundingClientRect(); return [r.top, r.bottom]; })()"
    )
    assert box[0] >= 0 and box[1] <= 900  # on screen while focused (off screen otherwise)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside main, past the contents and downloads
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def test_a_keyboard_only_walk_reaches_every_link_and_control_with_a_visible_focus(page):
    """Tab from the top to the end: every focusable element is reached, once, in document order, and
    each shows a focus indicator (an outline or a changed background) while it has the focus."""
    expected = page.eval_on_selector_all(
        FOCUSABLE,
        "all => all.filter(e => e.getClientRects().length > 0 && !e.closest('details:not([open]) > :not(summary)'))"
        ".map(e => e.outerHTML.slice(0, 120))",
    )
    assert len(expected) > 30
    reached: list[str] = []
    invisible: list[str] = []
    for _ in range(len(expected) + 5):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) return null;
                const s = getComputedStyle(e);
                const plain = e.cloneNode(false);
                return {
                    html: e.outerHTML.slice(0, 120),
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                    background: s.backgroundColor,
                    shadow: s.boxShadow,
                };
            }"""
        )
        if state is None or (reached and state["html"] == reached[0]):
            break
        reached.append(state["html"])
        if not (state["outline"] or state["shadow"] != "none"):
            invisible.append(state["html"])
    assert reached == expected
    assert invisible == []


def test_the_contents_and_pdf_links_work(page, folder):
    page.get_by_role("navigation").get_by_role("link", name="Definitions").click()
    assert page.url.endswith("#definitions")
    assert page.locator("#definitions").is_visible()
    for name, target in (("Full profile", ".pdf"), ("Board brief", "-brief.pdf")):
        link = page.get_by_role("banner").get_by_role("link", name=name)
        href = link.get_attribute("href")
        assert href.endswith(target) and "/" not in href
        assert (folder / href).read_bytes().startswith(b"%PDF-")


def test_the_compare_areas_table_opens_from_the_keyboard(page):
    summary = page.locator("details.bar-table > summary").first
    summary.focus()
    table = page.locator("details.bar-table").first.locator("table")
    assert not table.is_visible()
    page.keyboard.press("Enter")
    assert table.is_visible()
    assert table.locator("tbody tr").count() >= 2
