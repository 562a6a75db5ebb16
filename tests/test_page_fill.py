"""Issue 17 item 6: full pages. No page but the last is less than 70% full, and no heading ends a page.

Every authority's profile is made from the embedded demo data (one ``prepare`` for all) and laid out
by WeasyPrint without writing the PDF; the fill of each page is read from the layout
(tests/pagefill_helpers.py). A few PDFs are written too, and measured from the PDF itself, so the
layout measure is held to what a reader sees.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from typing import Any

import pytest
import weasyprint
from pagefill_helpers import MINIMUM_FILL, PageFill, layout_fills, page_problems, pdf_fills

from reportgen.core.errors import escape_bidi
from reportgen.core.geography import load_geography
from reportgen.core.options import BuildOptions
from reportgen.document.build import BRIEF_TEMPLATE, PROFILE_TEMPLATE, make_document, render_document
from reportgen.document.render import make_environment, pdf_engine, render_html
from reportgen.publish.prepare import prepare

pytestmark = pytest.mark.slow

#: The authorities the issue names: Hull (a domain's last indicator alone on a page), Tower Hamlets
#: (London: the tallest compare-areas charts; a stranded heading), the Isles of Scilly (missing
#: values: short indicator blocks) and Hartlepool (the North East: short compare-areas charts).
NAMED = ("E06000010", "E09000030", "E06000053", "E06000001")
MARGIN_TOP_MM, MARGIN_BOTTOM_MM = 15, 14  # layouts/static/profile.css @page margins

_PREPARED: list[Any] = []  # the prepared build, set before the pool forks so workers share it


def _prepared() -> Any:
    if not _PREPARED:
        _PREPARED.append(prepare(None, BuildOptions(brief=True)))
    return _PREPARED[0]


def _laid_out(template: str, code: str) -> tuple[str, list[PageFill]]:
    """One authority's document laid out by WeasyPrint (no PDF written), measured page by page."""
    area = load_geography().lookup(code)
    assert area is not None, code
    document = make_document(_prepared(), area)
    html = escape_bidi(render_html(make_environment(document.search_path), template, document.context))
    engine = pdf_engine(document.search_path)
    source = weasyprint.HTML(string=html, base_url=str(document.search_path[0]))
    pages = source.render(font_config=engine.font_config).pages
    return f"{area.name} ({area.code})", layout_fills(pages)


def _profile(code: str) -> tuple[str, list[PageFill]]:
    return _laid_out(PROFILE_TEMPLATE, code)


def _lay_out_all(codes: Sequence[str]) -> dict[str, tuple[str, list[PageFill]]]:
    """Every profile laid out, on two processes where there are two cores (about half the time)."""
    _prepared()
    workers = min(2, os.cpu_count() or 1)
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_profile, codes, chunksize=4)
    else:
        results = [_profile(code) for code in codes]
    return dict(zip(codes, results, strict=True))


@pytest.fixture(scope="module")
def all_profiles() -> dict[str, tuple[str, list[PageFill]]]:
    codes = [area.code for area in load_geography().authorities]
    assert len(codes) == 153
    start = time.perf_counter()
    laid_out = _lay_out_all(codes)
    print(f"\n153 profiles laid out in {time.perf_counter() - start:.0f} s")
    return laid_out


def test_every_page_but_the_last_is_at_least_70_percent_full(all_profiles):
    problems, pages = [], 0
    for name, fills in all_profiles.values():
        assert len(fills) >= 10, f"{name}: only {len(fills)} pages"
        assert max(page.fill for page in fills) > 0.9, f"{name}: no page is measured as full"
        pages += len(fills)
        problems += [
            f"{name}: page {p.number} of {len(fills)} is {p.fill:.0%} full" for p in fills[:-1] if p.fill < MINIMUM_FILL
        ]
    assert pages > 153 * 10
    assert not problems, f"{len(problems)} pages less than {MINIMUM_FILL:.0%} full:\n" + "\n".join(problems)


def test_no_heading_is_the_last_thing_on_a_page(all_profiles):
    stranded = [
        f"{name}: page {page.number} ends with the heading {page.last_heading!r}"
        for name, fills in all_profiles.values()
        for page in fills
        if page.last_heading is not None
    ]
    assert not stranded, "\n".join(stranded)


def test_briefs_are_at_most_two_full_pages():
    """The board brief (issue 17 item 9): at most 2 pages, the first of two at least 70% full."""
    problems = []
    for code in NAMED:
        name, fills = _laid_out(BRIEF_TEMPLATE, code)
        if len(fills) > 2:
            problems.append(f"{name}: the brief has {len(fills)} pages")
        problems += page_problems(f"{name} brief", fills)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("code", NAMED[:2])
def test_the_layout_measure_agrees_with_the_written_pdf(code):
    """The PDF a reader gets has the same pages, each as full as the layout says (to 1.5 points)."""
    area = load_geography().lookup(code)
    assert area is not None
    pdf, _ = render_document(make_document(_prepared(), area), PROFILE_TEMPLATE)
    from_pdf = pdf_fills(pdf, MARGIN_TOP_MM, MARGIN_BOTTOM_MM)
    name, from_layout = _profile(code)
    assert len(from_pdf) == len(from_layout), name
    for page, fill in zip(from_layout, from_pdf, strict=True):
        assert abs(page.fill - fill) < 0.015, f"{name} page {page.number}: layout {page.fill:.3f}, PDF {fill:.3f}"


STRANDED = """<!DOCTYPE html><html><head><style>
@page { size: A4; margin: 17mm 14mm 16mm 14mm; @top-left { content: "Running header"; } }
body { margin: 0; font: 9pt sans-serif; } .tall { height: 230mm; } h2 { break-after: auto; margin: 0; }
</style></head><body>
<div class="tall">Spacer</div><h2>Stranded heading</h2><div class="tall" style="break-before: page">Next</div>
<p>Last page</p>
</body></html>"""


def test_the_measure_finds_an_empty_page_and_a_stranded_heading():
    """The checks can fail: a page ending with a heading, a page half empty, the last page exempt."""
    pages = weasyprint.HTML(string=STRANDED).render().pages
    fills = layout_fills(pages)
    assert [p.last_heading for p in fills] == ["Stranded heading", None]
    text_area = 297 - 17 - 16  # the sample page's own margins
    assert fills[0].fill == pytest.approx((230 + 5.3) / text_area, abs=0.02)  # the spacer and the heading line
    assert fills[1].fill == pytest.approx(230 / text_area + 0.015, abs=0.02)
    problems = page_problems("Sample", fills, minimum=0.95)
    assert problems == [
        "Sample: page 1 of 2 is 89% full",
        "Sample: page 1 ends with the heading 'Stranded heading'",
    ]
