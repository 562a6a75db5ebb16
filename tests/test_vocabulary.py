"""One significance scheme and one quintile vocabulary (issue 17, items 1 and 3).

The plain word (Better, Similar, Worse; Higher, Similar, Lower) always, the confidence level in brackets
only for two-level comparisons, quintiles named best … worst or lowest … highest; the same words in the
profile, the brief, the benchmark CSV's display column, and every key explains the scheme.
"""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pdfplumber
import pytest

from reportgen.core.options import BuildOptions
from reportgen.document.view import RESULTS_BY_KEY, comparison, display_label, packaged_wording
from reportgen.publish.build import build_profile
from reportgen.publish.tables import benchmark_bytes, with_display_labels
from reportgen.stats.compare import BOB_LABELS, NOT_COMPARED, QUINTILE_LABELS_BOB, QUINTILE_LABELS_RAG, RAG_LABELS

WORDING = packaged_wording()
FINGERTIPS_LABELS = (*RAG_LABELS, *BOB_LABELS, *QUINTILE_LABELS_RAG, *QUINTILE_LABELS_BOB, NOT_COMPARED)
OLD_VOCABULARY = re.compile(
    r"Quintile \d|(Better|Worse|Higher|Lower) (95|99\.8)%|(better|worse|higher|lower) (95|99\.8)%"
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_two_level_labels_are_the_word_and_a_separate_qualifier():
    for key, result in RESULTS_BY_KEY.items():
        label = WORDING.label(result)
        if result.level:
            assert label == f"{WORDING.word(result)} {WORDING.qualifier(result)}", key
            assert WORDING.qualifier(result) == f"({result.level})"
        else:
            assert WORDING.qualifier(result) == "" and WORDING.word(result) == label, key
        assert label.startswith(WORDING.short(result)), f"{key}: the short label is not the same words"


def test_quintiles_named_one_way():
    judged = [WORDING.label(comparison(label, "high_is_good")) for label in QUINTILE_LABELS_RAG]
    unjudged = [WORDING.label(comparison(label, "no_judgement")) for label in QUINTILE_LABELS_BOB]
    assert judged[0] == "Best quintile" and judged[-1] == "Worst quintile"
    assert unjudged[0] == "Lowest quintile" and unjudged[-1] == "Highest quintile"
    assert not any(re.match(r"Quintile \d", w) for w in (*judged, *unjudged))
    titles = WORDING.sections["legend"]
    assert "best" in titles["quintiles_judged_title"] and "worst" in titles["quintiles_judged_title"]
    assert "lowest" in titles["quintiles_unjudged_title"] and "highest" in titles["quintiles_unjudged_title"]


def test_sentences_never_read_worse_95():
    result = comparison("Worse 95%")
    phrase = WORDING.phrase(result, "England", "66.9%")
    assert phrase == "significantly worse than England (66.9%), with 95% confidence"
    assert WORDING.verdict(result) == "significantly worse, with 95% confidence"
    assert WORDING.phrase(comparison("Worse"), "England", "66.9%") == "significantly worse than England (66.9%)"
    assert not OLD_VOCABULARY.search(WORDING.verdict(comparison("Lower 99.8%", "no_judgement")))


def test_display_labels_of_every_fingertips_label():
    for label in FINGERTIPS_LABELS:
        shown = display_label(label)
        assert shown and not re.fullmatch(r".* (95|99\.8)%", shown), label
        assert shown.split(" (")[0].split(" ")[0] in label, label  # the same plain word
    assert display_label("Better 99.8%") == "Better (99.8%)" and display_label(None) == ""


def test_benchmark_csv_keeps_fingertips_labels_and_adds_the_display_label():
    table = pd.DataFrame(
        {
            "indicator_id": ["a", "a", "b"],
            "compared_to_england": ["Worse 95%", "Similar", "2nd worst quintile"],
            "compared_to_region": ["Better", None, "Best quintile"],
        }
    )
    rows = list(csv.DictReader(io.StringIO(benchmark_bytes(table, "csv").decode("utf-8"))))
    assert [r["compared_to_england"] for r in rows] == ["Worse 95%", "Similar", "2nd worst quintile"]
    assert [r["compared_to_england_display"] for r in rows] == ["Worse (95%)", "Similar", "2nd worst quintile"]
    assert [r["compared_to_region_display"] for r in rows] == ["Better", "", "Best quintile"]
    columns = list(with_display_labels(table).columns)
    assert columns.index("compared_to_england_display") == columns.index("compared_to_england") + 1


@pytest.fixture(scope="module")
def hull(demo_csv, tmp_path_factory):
    """Kingston upon Hull's profile and brief as text (two-level comparisons and quintiles)."""
    out = tmp_path_factory.mktemp("vocabulary")
    result = build_profile("E06000010", demo_csv, BuildOptions(out_dir=out, brief=True))
    texts = {}
    for name, path in (("profile", result.path), ("brief", result.brief_path)):
        with pdfplumber.open(path) as pdf:
            texts[name] = [page.extract_text() or "" for page in pdf.pages]
    return texts, None


@pytest.mark.slow
def test_profile_and_brief_use_the_scheme_and_explain_it(hull):
    texts, _ = hull
    scheme = WORDING.sections["scheme"]
    for name, pages in texts.items():
        joined = _one_line(" ".join(pages))
        assert not OLD_VOCABULARY.search(joined), f"{name}: {OLD_VOCABULARY.search(joined).group()}"
        assert _one_line(scheme["short"]) in joined, f"{name}: the summary's key does not explain the scheme"
        assert WORDING.sections["legend"]["england_title"] in joined, name
    profile = _one_line(" ".join(texts["profile"]))
    assert _one_line(scheme["levels"]) in profile  # the full explanation in the About page's key
    assert "Worse (95%)" in profile and "with 95% confidence" in profile


def test_the_data_csv_shows_the_same_words():
    """The per-area data CSV (site.data_csv) carries the display label beside Fingertips' label."""
    from reportgen.publish.site import data_csv

    rows = pd.DataFrame({"indicator_id": ["a", "b"], "compared_to_england": ["Better 99.8%", "Highest quintile"]})
    read = list(csv.DictReader(io.StringIO(data_csv(rows).decode("utf-8"))))
    assert [(r["compared_to_england"], r["compared_to_england_display"]) for r in read] == [
        ("Better 99.8%", "Better (99.8%)"),
        ("Highest quintile", "Highest quintile"),
    ]


def test_scheme_explained_renders_with_the_wording_alone():
    """The macro another page (About, brief, HTML twin) calls: self-contained, only ``wording`` needed."""
    from reportgen.core.assets import default_layouts_dir
    from reportgen.document.render import layout_search_path, make_environment

    env = make_environment(layout_search_path(None, default_layouts_dir()))
    template = env.from_string(
        '{% import "macros.html.j2" as ui with context %}{{ ui.scheme_explained() }}'
        "|{{ ui.scheme_explained(heading=false) }}"
    )
    with_heading, without = template.render(wording=WORDING.sections).split("|")
    scheme = WORDING.sections["scheme"]
    assert f"<h3>{scheme['title']}</h3>" in with_heading and "<h3>" not in without
    for key in ("words", "levels", "quintiles", "not_compared"):
        assert scheme[key].replace("'", "&#39;") in with_heading, key
    assert "95% level" in scheme["levels"] and "99.8%" in scheme["levels"]  # which level decides the word
