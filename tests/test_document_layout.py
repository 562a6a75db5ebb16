"""Page 1 and the summary laid out for every authority (fast path: HTML rendered by WeasyPrint, no PDF).

Each authority's document model is made from one benchmark table; page 1 and the summary are
rendered with ``weasyprint.HTML(...).render()`` and checked by page count and box positions.
"""

from __future__ import annotations

import dataclasses

import pytest
import weasyprint

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.geography import load_geography
from reportgen.core.options import BuildOptions
from reportgen.document.charts import draw_spine
from reportgen.document.compose import ProfileInputs, plan_profile
from reportgen.document.context import profile_context
from reportgen.document.inputs import edition_and_date
from reportgen.document.render import layout_search_path, make_environment
from reportgen.document.theme import load_theme
from reportgen.document.view import load_wording
from reportgen.publish.prepare import compute_benchmark, read_data, read_specs

pytestmark = pytest.mark.slow

MM = 96 / 25.4  # CSS pixels per millimetre
PAGE_WIDTH_MM, MARGIN_MM = 210, 14
PAGE_ONE_AND_SUMMARY = (
    '{% extends "base.html.j2" %}{% import "macros.html.j2" as ui with context %}'
    '{% block body %}{% include "glance.html.j2" %}{% include "summary.html.j2" %}{% endblock %}'
)


@pytest.fixture(scope="session")
def national(demo_csv):
    """Specs, data and the benchmark table of the demo data for all 153 authorities, computed once."""
    specs = read_specs(None)
    data = read_data(demo_csv, specs)
    return specs, data, compute_benchmark(data, specs)


def page_one_context(area, national, layouts=None, palette=None, table=None, changes=None):
    """The document model of one area with only the spines drawn (page 1 and the summary need no more)."""
    specs, data, full_table = national
    search = layout_search_path(layouts, default_layouts_dir())
    edition, data_date = edition_and_date(data, specs, BuildOptions())
    inputs = ProfileInputs(
        area=area,
        specs=tuple(specs),
        table=full_table if table is None else table,
        theme=load_theme(search, palette),
        edition=edition,
        data_date=data_date,
        author="test",
        synthetic=True,
        version=__version__,
        data_label="demo.csv",
        wording=load_wording(search),
        changes=changes,
    )
    plan = plan_profile(inputs)
    images = {s.key: draw_spine(s, inputs.theme) for s in plan.spines}
    return search, profile_context(dataclasses.replace(plan, trends=()), images)


def _boxes(box):
    yield box
    for child in box.all_children():
        yield from _boxes(child)


def _summary_page(document) -> int:
    for number, page in enumerate(document.pages):
        for box in _boxes(page._page_box):
            if getattr(box, "element", None) is not None and box.element.get("id") == "summary":
                return number
    raise AssertionError("no summary section")


def _rightmost(page) -> float:
    """The right edge (mm) of the widest box on a page, margin boxes (header, footer) excluded."""
    right = 0.0
    for box in _boxes(page._page_box):
        if type(box).__name__ == "MarginBox":
            continue
        if hasattr(box, "margin_width") and box.element_tag not in ("html", "body"):
            right = max(right, (box.position_x + box.margin_width() - (box.margin_right or 0)) / MM)
    return right


def test_page_one_is_one_page_and_the_summary_fits_for_every_authority(national):
    """Issue 9 defects 1 and 2: page 1 never spills, the summary (one page, so the brief keeps to 4 pages)
    stays inside the right margin."""
    areas = load_geography().authorities
    assert len(areas) == 153
    spills, overflows, summarised = [], [], 0
    for area in areas:
        search, context = page_one_context(area, national)
        html = make_environment(search).from_string(PAGE_ONE_AND_SUMMARY).render(**context)
        for key, limit in (("strengths", 3), ("develop", 3), ("trends", 3)):
            items = context["glance"][key]
            if len(items) > limit:  # prioritised and summarised rather than overflowing
                assert f"and {len(items) - limit} more, see the summary of indicators." in html
                summarised += 1
        document = weasyprint.HTML(string=html, base_url=str(search[0])).render()
        if _summary_page(document) != 1 or len(document.pages) != 2:
            spills.append(area.name)  # page 1 is one page, and the summary one more
        widest = max(_rightmost(page) for page in document.pages[1:])
        if widest > PAGE_WIDTH_MM - MARGIN_MM + 0.1:
            overflows.append(f"{area.name} {widest:.1f} mm")
    assert summarised, "no authority of the demo data has a long list, so the summarising line is untested"
    assert not spills, f"page 1 or the summary runs onto another page for {spills}"
    assert not overflows, f"the summary passes the right margin for {overflows}"


def test_page_one_counts_agree_with_the_lists(national):
    """Issue 9 defect 3: an indicator counted as Better/Worse is exactly one listed as a strength/to develop."""
    for area in load_geography().authorities[::7]:
        _, context = page_one_context(area, national)
        glance = context["glance"]
        counts = {c["key"]: c["n"] for c in glance["counts"]}
        # Issue 17: strengths are ranked from more tests than "better" (tests/test_strengths.py).
        worse = sum(1 for ind in context["indicators"] if ind.has_value and ind.result.to_develop)
        assert worse == len(glance["develop"]), area.name
        assert sum(counts.values()) == glance["total"]
        for domain in glance["by_domain"]:
            assert sum(domain[k] for k in counts) == domain["total"]


def test_partial_coverage_is_said_on_page_one_and_in_ranks(national):
    specs, data, table = national
    north_east = {a.code for a in load_geography().in_region("North East")}
    subset = table[table["area_code"].isin(north_east) | (table["area_type"] != "UTLA")]
    area = load_geography().lookup("E06000001")
    search, context = page_one_context(area, national, table=subset)
    assert context["coverage"] == {"n": 12, "total": 153}
    html = make_environment(search).from_string(PAGE_ONE_AND_SUMMARY).render(**context)
    assert "covers 12 of England&#39;s 153 upper-tier local authorities" in html
    assert "Range of authorities in the file" in html
    ranks = [i.rank for i in context["indicators"] if i.rank]
    assert ranks and all("authorities in this file" in r for r in ranks)
    _, full = page_one_context(area, national)
    assert full["coverage"] is None and all("in England" in i.rank for i in full["indicators"] if i.rank)


def test_display_name_in_sentences_official_name_in_titles(national):
    bristol = load_geography().lookup("E06000023")
    assert bristol.display_name == "Bristol" and bristol.name == "Bristol, City of"
    search, context = page_one_context(bristol, national)
    html = make_environment(search).from_string(PAGE_ONE_AND_SUMMARY).render(**context)
    assert "<h1>Bristol, City of</h1>" in html
    assert "what helps people in Bristol to stay well" in html
    assert "in Bristol, City of to" not in html


def test_what_has_changed_section(national):
    """A first edition says so; given the changes since an earlier edition, they are a table."""
    area = load_geography().lookup("E06000001")
    section = '{% include "definitions.html.j2" %}'
    search, context = page_one_context(area, national)
    first = make_environment(search).from_string(section).render(**context)
    assert "This is the first edition of this profile." in first and '<table class="data changes-table">' not in first
    changes = {
        "previous_edition": "2023",
        "rows": [
            {"indicator": "Employment rate", "what": "Comparison with England", "before": "Similar", "after": "Better"}
        ],
    }
    search, context = page_one_context(area, national, changes=changes)
    later = make_environment(search).from_string(section).render(**context)
    assert "This is the first edition" not in later and "What has changed since the 2023 edition" in later
    assert "Changes since the 2023 edition." not in later  # issue 17: said once, in the heading
    assert '<th scope="row">Employment rate</th><td>Comparison with England</td>' in later


@pytest.fixture(scope="module")
def prepared():
    """The embedded demo data prepared once, for whole profiles."""
    from reportgen.publish.prepare import prepare

    return prepare(None, BuildOptions())


def _first_pages(document, predicate) -> list[tuple[int, object]]:
    """(page number from 1, element) of every element matching ``predicate``, on the page it starts."""
    found, seen = [], set()
    for number, page in enumerate(document.pages, start=1):
        for box in _boxes(page._page_box):
            element = getattr(box, "element", None)
            if element is not None and id(element) not in seen and predicate(element):
                seen.add(id(element))
                found.append((number, element))
    return found


@pytest.mark.parametrize("code", ["E06000010", "E09000030"])
def test_domains_flow_and_each_heading_keeps_with_its_first_indicator(prepared, code):
    """Issue 17 item 6: a domain starts mid-page when there is room (no forced page per domain), its
    heading on the page of its first indicator; the first domain starts the page after the summary."""
    from reportgen.core.errors import escape_bidi
    from reportgen.document.build import PROFILE_TEMPLATE, make_document
    from reportgen.document.render import render_html

    area = load_geography().lookup(code)
    model = make_document(prepared, area)
    html = escape_bidi(render_html(make_environment(model.search_path), PROFILE_TEMPLATE, model.context))
    document = weasyprint.HTML(string=html, base_url=str(model.search_path[0])).render()
    domains = _first_pages(document, lambda e: e.tag == "section" and "domain" in (e.get("class") or "").split())
    indicators = {id(e): n for n, e in _first_pages(document, lambda e: e.tag == "article")}
    assert len(domains) >= 6
    assert domains[0][0] == _summary_page(document) + 2  # the page after the summary's (numbered from 1)
    mid_page = 0
    for number, section in domains:
        assert indicators[id(section.find("article"))] == number, f"{area.name}: {section.get('id')} heading alone"
        page_box = document.pages[number - 1]._page_box
        heading = next(b for b in _boxes(page_box) if getattr(b, "element", None) is section.find("h2"))
        mid_page += heading.position_y > page_box.content_box_y() + 20 * MM
    assert mid_page, f"{area.name}: every domain starts a new page"
