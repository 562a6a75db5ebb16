"""The printed document as a board member gets it: full profiles and briefs checked character by character.

Hartlepool (small unitary), Tower Hamlets (London, the largest region) and Bristol (an official name
that reads badly in sentences) are built once per session, each with its brief, and read with pdfplumber.
"""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
import pytest

from reportgen.cli import cli
from reportgen.core.options import BuildOptions
from reportgen.document.pdfcheck import check_pdf
from reportgen.publish.build import build_profile

pytestmark = pytest.mark.slow

PT_PER_MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * PT_PER_MM, 297 * PT_PER_MM
MARGIN_X = 14 * PT_PER_MM
AREAS = ("Hartlepool", "Tower Hamlets", "Bristol")
HEX_ELLIPSIS = re.compile(r"[0-9a-f]{16}…")


@pytest.fixture(scope="session")
def documents(demo_csv, tmp_path_factory):
    """{area: (full profile, brief)} built once through the pipeline."""
    out = tmp_path_factory.mktemp("documents")
    built = {}
    for area in AREAS:
        result = build_profile(area, demo_csv, BuildOptions(out_dir=out, brief=True))
        built[area] = (result.path, result.brief_path)
    return built


@pytest.fixture(scope="session")
def texts(documents):
    """{path: [(page text, chars)]} for every built PDF."""
    read = {}
    for paths in documents.values():
        for path in paths:
            with pdfplumber.open(path) as pdf:
                read[path] = [(page.extract_text() or "", page.chars) for page in pdf.pages]
    return read


def test_brief_is_written_beside_the_profile(documents):
    for full, brief in documents.values():
        assert brief.parent == full.parent and brief.name == full.name.replace(".pdf", "-brief.pdf")


def test_page_counts_within_the_limits(texts, documents):
    """Issue 9 defect 8: at most 24 pages for the full profile (London included); issue 17: 2 for the brief."""
    for area, (full, brief) in documents.items():
        assert len(texts[full]) <= 24, f"{area}: {len(texts[full])} pages"
        assert len(texts[brief]) == 2, f"{area} brief: {len(texts[brief])} pages"


def test_every_character_inside_the_margins(texts):
    """Issue 9 defect 2: nothing past the left and right margins (the summary table used to run 6 mm over)."""
    for path, pages in texts.items():
        for number, (_, chars) in enumerate(pages, 1):
            outside = [
                c["text"]
                for c in chars
                if c["x0"] < MARGIN_X - 0.5 or c["x1"] > PAGE_W - MARGIN_X + 0.5 or c["top"] < 0 or c["bottom"] > PAGE_H
            ]
            assert not outside, f"{path.name} page {number}: {''.join(outside)[:60]!r} outside the margins"


def _size(char) -> float:
    """The font size of a character in points; for text turned a quarter turn (a chart's axis label)
    pdfminer reports the glyph's advance as its size, and the em size is the box's width."""
    a, b, *_ = char["matrix"]
    if abs(a) < 1e-3 and abs(b) > 1e-3:
        return char["x1"] - char["x0"]
    return char["size"]


def test_no_text_below_7_5_points(texts):
    """Issue 9 defect 7: every piece of text at least 7.5 pt, charts and tables included."""
    for path, pages in texts.items():
        for number, (_, chars) in enumerate(pages, 1):
            small = {round(_size(c), 2) for c in chars if c["text"].strip() and _size(c) < 7.45}
            assert not small, f"{path.name} page {number}: text at {sorted(small)} pt"


def test_body_text_is_9_points(texts, documents):
    full, _ = documents["Hartlepool"]
    sizes = [round(c["size"], 1) for c in texts[full][0][1]]
    assert max(set(sizes), key=sizes.count) == 9.0


def test_one_quintile_vocabulary_and_no_command_lines(texts):
    """Issue 9 defects 4 and 5: 'quintile' only (never 'fifth'), and no command-line options in a document."""
    for path, pages in texts.items():
        for number, (text, _) in enumerate(pages, 1):
            assert not re.search(r"\bfifths?\b", text, re.IGNORECASE), f"{path.name} page {number}"
            assert not re.search(r"--[a-z]", text), f"{path.name} page {number}: {text[text.find('--') - 20 :][:60]!r}"
            assert "Rebuild with" not in text


def test_no_truncated_label_without_its_full_name_on_the_page(texts):
    """Issue 9 defect 2: long names wrap; any shortened text has its full version on the same page."""
    for path, pages in texts.items():
        for number, (text, _) in enumerate(pages, 1):
            for line in text.splitlines():
                if "…" not in line or HEX_ELLIPSIS.search(line):
                    continue
                stem = line.split("…")[0].split("  ")[-1].strip()[-25:]
                assert text.count(stem) >= 2, f"{path.name} page {number}: {line!r} is cut without the full name"


def test_long_south_west_names_are_whole(texts, documents):
    full, _ = documents["Bristol"]
    domain_pages = "\n".join(text for text, _ in texts[full][3:])
    # In the compare-areas charts the longest name wraps onto the next line, under its first words.
    whole = "Bournemouth, Christchurch and Poole" in domain_pages.replace("\n", " ")
    wrapped = re.search(r"Bournemouth, Christchurch\b[^\n]*\n(?:[^\n]*\n)?and Poole\b", domain_pages)
    assert whole or wrapped
    assert "ournemouth, Christchurch and…" not in domain_pages


def test_display_name_reads_well_in_sentences(texts, documents):
    full, brief = documents["Bristol"]
    first = texts[full][0][0]
    assert "Bristol, City of" in first  # the title keeps the official name
    assert "people in Bristol to stay well" in " ".join(first.split())
    assert "Bristol, City of to" not in " ".join(t for t, _ in texts[full])


def test_legend_names_what_appears(texts, documents):
    """Issue 9 defect 7: a result shown in the document (e.g. 'Worse (95%)') is in the key on the summary page."""
    full, _ = documents["Tower Hamlets"]
    summary = texts[full][1][0]
    everything = " ".join(t for t, _ in texts[full][3:])
    for label in ("Worse (95%)", "Better (95%)", "Better (99.8%)", "Worse (99.8%)"):
        if label in everything:
            assert label in summary, label


def test_brief_has_glance_summary_and_symbols(texts, documents):
    for area, (_, brief) in documents.items():
        joined = " ".join(" ".join(t.split()) for t, _ in texts[brief])
        for heading in ("At a glance", "Summary of indicators", "About this brief"):
            assert heading in joined, f"{area} brief lacks {heading!r}"


def test_brief_and_profile_are_accessible(documents, runner):
    """Same guarantees as the full profile: PDF/UA-1 identification, tagged, alt text on every figure."""
    for full, brief in documents.values():
        for path in (full, brief):
            failed = [c for c in check_pdf(Path(path)) if not c.passed]
            assert not failed, f"{path.name}: {failed}"
    result = runner.invoke(cli, ["check-pdf", str(documents["Tower Hamlets"][1])])
    assert result.exit_code == 0, result.output


def test_first_edition_says_so(texts, documents):
    full, _ = documents["Hartlepool"]
    # Issue 17: reportgen cannot know it is a first edition; it says where it looked for an earlier one.
    said = [" ".join(t.split()) for t, _ in texts[full]]
    assert any("No earlier edition of this profile was found in the output folder of this" in t for t in said)
    assert not any("This is the first edition" in t for t in said)


def test_badges_never_wrap(texts, documents):
    """Issue 9 defect 7: 'Worse 95%' and quintile badges stay on one line in the summary and the legend."""
    for area, (full, brief) in documents.items():
        for text, _ in (texts[full][1], texts[brief][1]):
            assert not re.search(r"(Better|Worse|Higher|Lower)\s*\n\s*\((95|99\.8)%\)", text), area
            assert not re.search(r"(best|worst|lowest|highest)\s*\n\s*quintile", text), area
            assert not re.search(r"(Not)\s*\n\s*compared", text), area


def test_brief_title_says_it_is_the_brief(documents):
    """Viewers show the title: a board member with both PDFs open can tell the brief from the profile."""
    import pikepdf

    for area, (full, brief) in documents.items():
        with pikepdf.open(full) as pdf:
            assert str(pdf.docinfo["/Title"]).startswith("Health assets profile: "), area
        with pikepdf.open(brief) as pdf:
            assert str(pdf.docinfo["/Title"]).startswith("Health assets profile board brief: "), area
