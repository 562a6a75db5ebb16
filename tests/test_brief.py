"""Issue 17 item 9: the board brief stands alone in at most 2 A4 pages.

It holds page 1 (at a glance), the summary with spines, the key to only the results it shows, the
full profile's file name, where the edition is published, the publisher and contact, and the data
date. Briefs are rendered for authorities at the extremes: the largest region (London), a county
of the South East, the smallest authority (Isles of Scilly), the longest official name, the longest
key and Hull.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
import yaml

from reportgen.core import formatting as fmt
from reportgen.core.options import BuildOptions
from reportgen.document import build as document_build
from reportgen.document.inputs import DocumentFiles
from reportgen.document.pdfcheck import check_pdf
from reportgen.document.render import make_environment, render_html
from reportgen.publish.area import output_names
from reportgen.publish.prepare import prepare, resolve_area

pytestmark = pytest.mark.slow

#: Kingston upon Hull, Tower Hamlets (London: the largest region), Surrey (South East), the Isles of
#: Scilly (the smallest authority, with missing values), Bournemouth, Christchurch and Poole (the
#: longest official name) and Bristol (of the demonstration data, the longest key on page 2).
AREAS = ("E06000010", "E09000030", "E10000030", "E06000053", "E06000058", "E06000023")


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, with line breaks inside hyphenated words (file names) joined and spaces collapsed."""
    document = pdfium.PdfDocument(data)
    try:
        pages = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()
    # pdfium reads a hyphen at the end of a line as U+FFFE
    return [" ".join(re.sub(r"(?:-|\ufffe)\s*[\r\n]*\s*", "-", page).split()) for page in pages]


@pytest.fixture(scope="module")
def prepared(demo_csv, tmp_path_factory):
    return prepare(demo_csv, BuildOptions(out_dir=tmp_path_factory.mktemp("brief"), brief=True))


@pytest.fixture(scope="module")
def briefs(prepared):
    """{code: (document, names, brief page texts, brief PDF)}, rendered as render_area renders them."""
    built = {}
    for code in AREAS:
        area = resolve_area(code, prepared.data)
        names = output_names(prepared.edition, area)
        document = document_build.make_document(
            prepared, area, None, DocumentFiles(names.profile, names.brief, names.data)
        )
        pdf, _ = document_build.render_document(document, document_build.BRIEF_TEMPLATE)
        built[code] = (document, names, pdf_pages(pdf), pdf)
    return built


def test_the_brief_is_limited_to_two_pages():
    assert document_build.MAX_PAGES[document_build.BRIEF_TEMPLATE] == 2


@pytest.mark.parametrize("code", AREAS)
def test_the_brief_stands_alone_in_two_pages(briefs, prepared, code):
    document, names, pages, _ = briefs[code]
    assert len(pages) <= 2, f"{code}: {len(pages)} pages"
    text = " ".join(pages)
    context = document.context
    for heading in ("At a glance", "Summary of indicators", "About this brief", "How to cite"):
        assert heading in text, f"{code}: no {heading!r}"
    assert names.profile in text, f"{code}: the full profile's file name is missing"
    assert f"summarises the full profile of {document.area.in_sentence}," in text  # "of the Isles of Scilly"
    assert "the publication page of this edition (index.html)" in text  # no publication_url in the packaged theme
    data_date = fmt.long_date(prepared.data_date)
    assert f"Data as at {data_date}" in text
    publisher = context["publisher"]
    for sentence in (publisher["who"], publisher["contact"], publisher["cite"]):
        assert " ".join(sentence.split()) in text, f"{code}: {sentence!r} is missing"
    assert "no publishing organisation is named" in publisher["who"]  # honest default: no made-up publisher
    assert "Open Government Licence v3.0" in text
    assert "Office for Health Improvement and Disparities (OHID)" in text and "Office for National Statistics" in text
    # Every indicator of the summary is on the brief's last page, with the about box after it.
    last = pages[-1]
    assert last.index("Summary of indicators") < last.index("About this brief")
    plain = text.replace("\xa0", " ")
    for ind in context["indicators"]:
        assert ind.name.replace("\xa0", " ") in plain, f"{code}: {ind.name}"


@pytest.mark.parametrize("code", AREAS)
def test_the_brief_key_lists_only_the_results_the_brief_shows(briefs, code):
    document, _, _, _ = briefs[code]
    context = document.context
    shown = {ind.badge.key for ind in context["indicators"] if ind.has_value}
    shown |= {c["badge"].key for c in context["glance"]["counts"] if c.get("badge") is not None}
    keyed = {item.key for group in context["brief_legend"] for item in group.items}
    assert keyed == shown, code
    in_profile = {item.key for group in context["legend"] for item in group.items}
    assert keyed <= in_profile
    # the rendered brief uses that key: its summary's legend has exactly those badges
    html = render_html(make_environment(document.search_path), document_build.BRIEF_TEMPLATE, context)
    summary = html[html.index('id="summary"') :]
    key = summary[summary.index('class="legend') : summary.index("<table")]
    labels = {item.short for group in context["brief_legend"] for item in group.items}  # the compact key
    assert key.count('class="badge"') == len(keyed)
    for label in labels:
        assert label.split(" (")[0] in key


def test_every_brief_is_tagged_and_described_for_assistive_technology(briefs, tmp_path):
    for code, (_, names, _, pdf) in briefs.items():
        path = tmp_path / names.brief
        path.write_bytes(pdf)
        failed = [check for check in check_pdf(path) if not check.passed]
        assert not failed, f"{code}: {failed}"


def test_somewhere_the_brief_key_is_shorter_than_the_profiles(briefs):
    """The profile's key also lists the results of its region comparisons, charts and trend tables."""
    shorter = []
    for code, (document, _, _, _) in briefs.items():
        keyed = {item.key for group in document.context["brief_legend"] for item in group.items}
        in_profile = {item.key for group in document.context["legend"] for item in group.items}
        if keyed < in_profile:
            shorter.append(code)
    assert shorter, "no brief leaves out a result its profile shows, so the cut is untested"


def test_the_publication_page_address_comes_from_the_theme(demo_csv, tmp_path):
    folder = tmp_path / "layouts"
    folder.mkdir()
    url = "https://www.example.gov.uk/health-assets/{edition}/"
    (folder / "theme.yaml").write_text(yaml.safe_dump({"publisher": {"publication_url": url}}))
    options = BuildOptions(out_dir=tmp_path / "out", brief=True, layouts_dir=folder)
    council = prepare(demo_csv, options)
    area = resolve_area(AREAS[0], council.data)
    names = output_names(council.edition, area)
    document = document_build.make_document(council, area, None, DocumentFiles(names.profile, names.brief))
    pdf, _ = document_build.render_document(document, document_build.BRIEF_TEMPLATE)
    text = " ".join(pdf_pages(pdf))
    assert url.replace("{edition}", council.edition) in text.replace(" ", "")  # a long address may wrap at a /
    assert "the publication page of this edition (index.html)" not in text
