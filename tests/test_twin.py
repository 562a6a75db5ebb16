"""The HTML twin of a profile (issue 17, item 11): one accessible, self-contained web page per profile.

It is rendered from the same document model as the PDF with the same section templates; these
tests read its structure (headings, landmarks, tables, inline charts, links), check that it loads
nothing from elsewhere, that it is deterministic, that its text is escaped, and that every build
writes it and the published-folder checks verify it. The browser tests are in test_twin_browser.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from national_helpers import HARTLEPOOL, HULL, build_small_edition, small_inputs

from reportgen.cli import cli
from reportgen.core.errors import RenderError
from reportgen.core.geography import Area
from reportgen.core.options import BuildOptions
from reportgen.document.build import PROFILE_TEMPLATE, TwinLink, make_document, render_twin
from reportgen.document.render import make_environment, render_html
from reportgen.document.twin import svg_of
from reportgen.publish import manifest as mf
from reportgen.publish.area import output_names, render_area
from reportgen.publish.prepare import prepare, resolve_area
from reportgen.publish.verify import verify_edition

HARTLEPOOL_HTML = "E06000001-hartlepool.html"
HARTLEPOOL_PDF = "E06000001-hartlepool.pdf"
HARTLEPOOL_BRIEF = "E06000001-hartlepool-brief.pdf"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --------------------------------------------------------------------------- a small DOM of the page


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def iter(self, *tags: str):
        for child in self.children:
            if not tags or child.tag in tags:
                yield child
            yield from child.iter(*tags)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Tree(HTMLParser):
    """The page as a tree of nodes; fails on an end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.node = self.root
        self.in_order: list[Node] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        self.in_order.append(node)
        if tag not in VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        self.in_order.append(node)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.node.tag == tag, f"</{tag}> closes <{self.node.tag}>"
        self.node = self.node.parent

    def handle_data(self, data):
        self.node.text.append(data)


def parse(page: bytes) -> Tree:
    tree = Tree()
    tree.feed(page.decode("utf-8"))
    tree.close()
    assert tree.node is tree.root, f"<{tree.node.tag}> is never closed"
    return tree


# --------------------------------------------------------------------------- the documents


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare(None, BuildOptions(out_dir=tmp_path_factory.mktemp("twin")))


@pytest.fixture(scope="module")
def document(prepared):
    return make_document(prepared, resolve_area(HARTLEPOOL, prepared.data))


LINKS = (TwinLink(HARTLEPOOL_PDF, "pdf_link", 461_000), TwinLink(HARTLEPOOL_BRIEF, "brief_link", 140_000))


@pytest.fixture(scope="module")
def page(document) -> bytes:
    return render_twin(document, LINKS)


@pytest.fixture(scope="module")
def tree(page) -> Tree:
    return parse(page)


def test_the_page_is_one_whole_html_document_in_british_english(page, tree):
    assert page.startswith(b"<!DOCTYPE html>\n") and page.rstrip().endswith(b"</html>")
    (root,) = tree.root.iter("html")
    assert root.attrs["lang"] == "en-GB"
    assert [n.attrs.get("charset") for n in tree.root.iter("meta") if "charset" in n.attrs] == ["utf-8"]
    (title,) = [n for n in tree.root.iter("title") if n.parent.tag == "head"]
    assert title.all_text() == "Health assets profile: Hartlepool"


def test_headings_go_down_one_level_at_a_time_from_one_h1(tree):
    levels = [int(n.tag[1]) for n in tree.in_order if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert levels.count(2) >= 5  # at a glance, summary, the domains, definitions, about
    (h1,) = tree.root.iter("h1")
    assert h1.all_text().strip() == "Hartlepool"


def test_landmarks_skip_link_and_contents(tree):
    body = next(tree.root.iter("body"))
    first_link = next(body.iter("a"))
    assert first_link.attrs["href"] == "#main" and first_link.all_text() == "Skip to main content"
    (main,) = tree.root.iter("main")
    assert main.attrs["id"] == "main"
    for tag in ("header", "nav", "footer"):
        assert [n for n in tree.root.iter(tag) if not any(a.tag in ("main", "section") for a in n.ancestors())], tag
    (nav,) = tree.root.iter("nav")
    assert nav.parent.parent.tag == "header"  # the page's banner, before main
    targets = [a.attrs["href"] for a in nav.iter("a")]
    ids = {n.attrs["id"] for n in tree.in_order if "id" in n.attrs}
    assert all(t.startswith("#") and t[1:] in ids for t in targets), targets
    assert any(t.startswith("#domain-") for t in targets)
    labelled_by = nav.attrs["aria-labelledby"]
    assert labelled_by in ids
    # every in-page link has a target
    local = [n.attrs["href"] for n in tree.root.iter("a") if n.attrs.get("href", "").startswith("#")]
    assert all(href[1:] in ids for href in local)


def test_every_id_is_unique(tree):
    ids = [n.attrs["id"] for n in tree.in_order if "id" in n.attrs]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})[:5]


def test_every_table_has_a_caption_and_scoped_header_cells(tree):
    tables = list(tree.root.iter("table"))
    assert len(tables) > 20  # counts, domains, summary, trend and compare-areas tables, definitions
    for table in tables:
        caption = [c for c in table.children if c.tag == "caption"]
        assert caption and caption[0].all_text().strip(), table.attrs
        headers = list(table.iter("th"))
        assert headers, caption[0].all_text()
        assert all(th.attrs.get("scope") in ("col", "row", "colgroup", "rowgroup") for th in headers)


def test_every_chart_is_inline_svg_with_a_title_and_a_description(tree, document):
    svgs = [n for n in tree.in_order if n.tag == "svg"]
    indicators = document.context["indicators"]
    expected = sum((i.spine is not None) + (i.trend_chart is not None) + (i.bar_panel is not None) for i in indicators)
    expected += document.context.get("pyramid") is not None  # the About page's population pyramid
    expected += document.context.get("locator_map") is not None  # page 1's locator map
    assert len(svgs) == expected > 0
    ids = {n.attrs["id"]: n for n in tree.in_order if "id" in n.attrs}
    alts = {i.spine.alt for i in indicators if i.spine} | {i.trend_chart.alt for i in indicators if i.trend_chart}
    described = set()
    for svg in svgs:
        assert svg.attrs["role"] == "img" and svg.attrs["xmlns"] == "http://www.w3.org/2000/svg"
        assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", svg.attrs["viewBox".lower()])
        title, desc = svg.attrs["aria-labelledby"].split()
        assert ids[title].tag == "title" and ids[title].parent is svg and ids[title].all_text().strip()
        assert ids[desc].tag == "desc" and ids[desc].parent is svg and ids[desc].all_text().strip()
        described.add(ids[desc].all_text())
        # every reference inside a chart points into the same chart
        inside = {n.attrs["id"] for n in svg.iter() if "id" in n.attrs}
        for node in svg.iter():
            for key, value in node.attrs.items():
                hrefs = re.findall(r"^#(.+)$", value) if key in ("href", "xlink:href") else []
                for ref in re.findall(r"url\(#([^)]+)\)", value) + hrefs:
                    assert ref in inside, (ref, svg.attrs["aria-labelledby"])
    assert alts <= described  # the PDF's alternative texts, word for word
    assert not list(tree.root.iter("img")) or all(
        n.attrs["src"].startswith("data:") and "alt" in n.attrs for n in tree.root.iter("img")
    )


def test_the_compare_areas_numbers_are_also_a_table(tree, document):
    first = next(i for i in document.context["indicators"] if i.bar_panel is not None)
    (article,) = [n for n in tree.root.iter("article") if n.attrs.get("id") == f"indicator-{first.id}"]
    (details,) = [n for n in article.iter("details")]
    table = next(details.iter("table"))
    rows = [tr for tr in table.iter("tr") if tr.parent.tag == "tbody"]
    assert len(rows) == len(first.bar_panel.rows)
    highlighted = [tr for tr in rows if tr.attrs.get("class") == "highlight"]
    assert len(highlighted) == 1 and "Hartlepool" in highlighted[0].all_text()
    assert first.value_plain in highlighted[0].all_text()


def test_nothing_is_loaded_from_elsewhere(page, tree):
    """Nothing the page shows comes from another host or file: no script, stylesheet, frame, font or
    image by address (only ``data:``). Its links are to the files beside it, anchors in it, or (the
    licence, a council's site) web addresses a reader may follow."""
    assert not list(tree.root.iter("script")) and not list(tree.root.iter("link"))
    assert not list(tree.root.iter("iframe")) and not list(tree.root.iter("object"))
    for node in tree.in_order:
        for key in ("src", "srcset", "xlink:href", "action", "poster", "data", "background") + (
            () if node.tag == "a" else ("href",)
        ):
            value = node.attrs.get(key)
            if value is not None:
                parts = urlsplit(value)
                assert parts.scheme in ("", "data") and not parts.netloc, (node.tag, key, value[:80])
                assert parts.scheme == "data" or value.startswith("#"), (node.tag, key, value[:80])
        if node.tag == "a":
            parts = urlsplit(node.attrs["href"])
            if parts.scheme in ("https", "mailto"):
                continue
            assert not parts.scheme and not parts.netloc, node.attrs["href"]
            assert node.attrs["href"].startswith("#") or "/" not in node.attrs["href"], node.attrs["href"]
    styles = "".join(n.all_text() for n in tree.root.iter("style"))
    assert "@import" not in styles and not re.search(r"url\(\s*(?!['\"]?(?:data:|#))", styles)
    inline_styles = " ".join(n.attrs.get("style", "") for n in tree.in_order)
    assert not re.search(r"url\(\s*(?!['\"]?(?:data:|#))", inline_styles)
    assert not re.search(rb"(?i)\ssrc\s*=\s*[\"']?\s*(?:https?:)?//", page)


def test_it_links_to_its_pdf_and_brief_by_relative_name(tree):
    links = {a.attrs["href"]: a.all_text() for a in tree.root.iter("a") if a.attrs["href"].endswith(".pdf")}
    assert set(links) == {HARTLEPOOL_PDF, HARTLEPOOL_BRIEF}
    assert "Full profile" in links[HARTLEPOOL_PDF] and "PDF, 450 KB" in links[HARTLEPOOL_PDF]
    assert "Board brief" in links[HARTLEPOOL_BRIEF]


def test_the_same_inputs_give_the_same_bytes(prepared, page):
    again = make_document(prepared, resolve_area(HARTLEPOOL, prepared.data))
    assert render_twin(again, LINKS) == page
    assert b"<script" not in page


def test_the_page_has_the_profiles_sections_numbers_and_wording(document, page, tree):
    pdf_html = render_html(make_environment(document.search_path), PROFILE_TEMPLATE, document.context)
    section_ids = re.findall(r'<section class="[^"]*" id="([^"]+)"', pdf_html)
    twin_ids = [n.attrs["id"] for n in tree.root.iter("section") if "id" in n.attrs]
    assert twin_ids == section_ids
    text = " ".join(next(tree.root.iter("main")).all_text().split())
    for ind in document.context["indicators"]:
        assert " ".join(ind.name.split()) in text
        if ind.has_value:
            assert ind.comparison_sentence in text and ind.value in text
    for sentence in re.findall(r"<p>([^<]{40,})</p>", pdf_html):  # plain paragraphs, word for word
        assert " ".join(html.unescape(sentence).split()) in text


def test_the_pdf_medium_is_unchanged_the_charts_stay_images(document):
    pdf_html = render_html(make_environment(document.search_path), PROFILE_TEMPLATE, document.context)
    assert '<img class="chart' in pdf_html and '<img class="bar-marks"' in pdf_html
    assert "<svg" not in pdf_html and 'role="img"' not in pdf_html


def test_text_is_escaped(document):
    hostile = Area(HARTLEPOOL, "Hartle<script>alert(1)</script>pool & <b>co</b>", document.area.region_name)
    context = {**document.context, "area": hostile, "place": hostile.name}
    page = render_twin(dataclasses.replace(document, context=context), LINKS)
    assert b"<script" not in page and b"<b>co" not in page
    assert b"Hartle&lt;script&gt;alert(1)&lt;/script&gt;pool &amp; &lt;b&gt;co&lt;/b&gt;" in page
    parse(page)


def test_only_the_profiles_own_svg_is_inlined():
    import base64

    def uri(svg: str) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()

    own = '<svg xmlns="http://www.w3.org/2000/svg"><path id="a" d="M0 0"/><use xlink:href="#a" clip-path="url(#a)"/></svg>'
    assert svg_of(uri(own)) == own
    for bad in (
        "<svg><script>alert(1)</script></svg>",
        '<svg><rect onload="alert(1)"/></svg>',
        '<svg><image href="https://example.org/x.png"/></svg>',
        '<svg><use href="https://example.org/x.svg#a"/></svg>',
        "<svg><foreignObject><p>x</p></foreignObject></svg>",
        '<svg><style>@import "https://example.org/x.css";</style></svg>',
        "<svg><rect fill=\"url('https://example.org/x.svg#p')\"/></svg>",
        "<p>not an svg</p>",
    ):
        with pytest.raises(RenderError):
            svg_of(uri(bad))
    with pytest.raises(RenderError):
        svg_of("data:image/png;base64,AAAA")


# --------------------------------------------------------------------------- every build writes it


def test_render_area_writes_the_twin_after_the_pdf_and_brief_and_the_option_turns_it_off(tmp_path):
    specs, data = small_inputs(tmp_path / "inputs")
    options = BuildOptions(specs_dir=specs, out_dir=tmp_path / "out", brief=True, data_csv=True)
    prepared = prepare(data, options)
    area = resolve_area(HARTLEPOOL, prepared.data)
    names = output_names(prepared.edition, area)
    built = render_area(prepared, area)
    assert list(built.files) == [names.profile, names.brief, names.html, names.data]
    assert names.html == HARTLEPOOL_HTML
    tree = parse(built.files[names.html])
    hrefs = [a.attrs["href"] for a in tree.root.iter("a") if a.attrs["href"].endswith(".pdf")]
    assert set(hrefs) == {names.profile, names.brief}
    without = render_area(dataclasses.replace(prepared, options=dataclasses.replace(options, html=False)), area)
    assert names.html not in without.files and list(without.files)[0] == names.profile


def test_the_command_line_writes_the_twin_unless_told_not_to(runner, tmp_path):
    specs, data = small_inputs(tmp_path / "inputs")
    base = ["build", "--area", HARTLEPOOL, "--specs", str(specs), "--data", str(data)]
    result = runner.invoke(cli, [*base, "--out", str(tmp_path / "a")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()).name == HARTLEPOOL_PDF  # stdout still names the profile only
    page = (tmp_path / "a" / "2024" / HARTLEPOOL_HTML).read_bytes()
    assert mf.twin_problem(page, HARTLEPOOL, _inputs_hash(page)) is None
    result = runner.invoke(cli, [*base, "--no-html", "--out", str(tmp_path / "b")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "b" / "2024").iterdir()) == [HARTLEPOOL_PDF]


def _inputs_hash(page: bytes) -> str:
    match = re.search(rb'<meta name="reportgen-inputs-sha256" content="([0-9a-f]{64})">', page)
    assert match is not None
    return match.group(1).decode()


# --------------------------------------------------------------------------- manifest and verification


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return build_small_edition(tmp_path_factory.mktemp("twin-edition"))


def test_the_national_run_lists_each_twin_and_verifies_it(edition, tmp_path):
    manifest = json.loads((edition / "manifest.json").read_text(encoding="utf-8"))
    for code in (HARTLEPOOL, HULL):
        entry = manifest["areas"][code]
        (html,) = [name for name in entry["files"] if name.endswith(".html")]
        page = (edition / html).read_bytes()
        assert entry["files"][html] == hashlib.sha256(page).hexdigest()
        assert mf.twin_problem(page, code, entry["inputs_sha256"]) is None
        assert mf.is_up_to_date(edition, code, entry, entry["inputs_sha256"])
    assert verify_edition(edition) == []


def test_a_cut_or_foreign_twin_is_not_verified(edition):
    entry = json.loads((edition / "manifest.json").read_text(encoding="utf-8"))["areas"][HARTLEPOOL]
    page = (edition / HARTLEPOOL_HTML).read_bytes()
    digest = entry["inputs_sha256"]
    assert "whole HTML page" in mf.twin_problem(page[: len(page) // 2], HARTLEPOOL, digest)
    assert "whole HTML page" in mf.twin_problem(page.replace(b"</main>", b"", 1), HARTLEPOOL, digest)
    assert "another area" in mf.twin_problem(page, HULL, digest)
    assert "inputs hash" in mf.twin_problem(page, HARTLEPOOL, "0" * 64)
    assert mf.twin_problem(b"\xff\xfe", HARTLEPOOL, digest) == "is not UTF-8 text"


def test_a_changed_twin_is_named_by_verify(edition, tmp_path):
    import shutil

    folder = tmp_path / "out" / "2024"
    shutil.copytree(edition, folder, symlinks=True)
    target = folder / HARTLEPOOL_HTML
    target.write_bytes(target.read_bytes().replace(b"Hartlepool", b"Hartlepoo1", 1))
    problems = [str(p) for p in verify_edition(folder)]
    assert problems == [
        f"{target}: does not have the SHA-256 the manifest lists (listed in manifest.json for {HARTLEPOOL})"
    ]


def test_only_reportgens_own_html_names_are_output_names():
    assert mf.is_output_name(HARTLEPOOL_HTML, HARTLEPOOL)
    assert not mf.is_output_name(HARTLEPOOL_HTML, HULL)
    for name in ("E06000001-hartlepool.htm", "E06000001-hartlepool.html.pdf", "index.html", "E06000001-x.HTML"):
        assert not mf.is_output_name(name)
