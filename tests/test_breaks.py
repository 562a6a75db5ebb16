"""Wording and breaks (issue 17, item 7): names read naturally in sentences, and no period label or badge
is split across lines in a built profile (Kingston upon Hull and the Isles of Scilly, read with pdfplumber).
"""

from __future__ import annotations

import re

import pdfplumber
import pytest

from reportgen.core.geography import load_geography
from reportgen.core.options import BuildOptions
from reportgen.document.textwidth import glue_connectors
from reportgen.document.view import RESULTS_BY_KEY, packaged_wording
from reportgen.publish.build import build_profile

AREAS = ("E06000010", "E06000053")  # Kingston upon Hull, City of; Isles of Scilly
WORDING = packaged_wording()
#: Every label a badge or a results cell can show.
BADGE_TEXTS = sorted(
    {WORDING.label(r) for r in RESULTS_BY_KEY.values()} | {WORDING.short(r) for r in RESULTS_BY_KEY.values()},
    key=len,
    reverse=True,
)


def test_names_in_sentences():
    geography = load_geography()
    hull, scilly, london, bristol = (geography.lookup(c) for c in ("E06000010", "E06000053", "E09000001", "E06000023"))
    assert hull.display_name == "Kingston upon Hull" and hull.name == "Kingston upon Hull, City of"
    assert scilly.in_sentence == "the Isles of Scilly" and scilly.sentence_start == "The Isles of Scilly"
    assert scilly.verb("has", "have") == "have" and hull.verb("has", "have") == "has"
    assert london.in_sentence == "the City of London" and bristol.in_sentence == "Bristol"


def test_names_wrap_between_whole_parts():
    assert "City\u00a0of" in glue_connectors("Kingston upon Hull, City of")
    assert glue_connectors("Isles of Scilly") == "Isles of\u00a0Scilly"
    assert glue_connectors("Hartlepool") == "Hartlepool"


@pytest.fixture(scope="module")
def lines(demo_csv, tmp_path_factory):
    """{area: [every text line of the profile and the brief]}, one built profile each."""
    out = tmp_path_factory.mktemp("breaks")
    read = {}
    for code in AREAS:
        result = build_profile(code, demo_csv, BuildOptions(out_dir=out, brief=True))
        found = []
        for path in (result.path, result.brief_path):
            with pdfplumber.open(path) as pdf:
                for page in pdf.pages:
                    found += (page.extract_text() or "").splitlines()
        read[code] = found
    return read


def _periods(lines: list[str]) -> set[str]:
    """The period labels printed: '2021 - 23', '2023/24', '2023'."""
    text = " ".join(lines)
    return set(re.findall(r"\b(?:19|20)\d\d(?: - \d\d|/\d\d)\b", text))


@pytest.mark.slow
@pytest.mark.parametrize("code", AREAS)
def test_no_period_label_is_split(lines, code):
    found = lines[code]
    assert _periods(found), "no period label found"
    for before, after in zip(found, found[1:], strict=False):
        assert not re.search(r"\b(?:19|20)\d\d(?: -|/)?$", before) or not re.match(r"^(?:- )?\d\d(?=\s|$)", after), (
            f"{code}: a period is split: {before!r} / {after!r}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("code", AREAS)
def test_no_badge_is_split(lines, code):
    found = lines[code]
    for before, after in zip(found, found[1:], strict=False):
        for text in BADGE_TEXTS:
            words = text.split(" ")
            for cut in range(1, len(words)):
                head, tail = " ".join(words[:cut]), " ".join(words[cut:])
                in_sentence = after[len(tail) :].startswith(" of")  # '... 2nd worst / quintile of the region's'
                if before.endswith(head) and after.startswith(tail) and not in_sentence:
                    pytest.fail(f"{code}: badge {text!r} split: {before!r} / {after!r}")
        assert not re.search(r"\b(No|Not|Compared with England,)$", before) or not re.match(
            r"^(judgement|compared)\b", after
        ), f"{code}: {before!r} / {after!r}"


@pytest.mark.slow
def test_scilly_reads_with_its_article(lines):
    text = " ".join(" ".join(lines["E06000053"]).split())
    assert "people in the Isles of Scilly" in text or "The Isles of Scilly compared with" in text
    assert "The Isles of Scilly compared with" in text  # the summary's caption
    hull = " ".join(" ".join(lines["E06000010"]).split())
    assert "Kingston upon Hull, City of compared with" not in hull
    assert "Kingston upon Hull compared with" in hull
    for code in AREAS:
        assert "City\nof" not in "\n".join(lines[code])
        assert not any(line.rstrip().endswith(", City") for line in lines[code]), code
