"""Every sentence of the document is the layouts' wording (wording.yaml), with the data in named slots.

A council's wording.yaml changes key messages, alternative text, notes, trend words, the title, the
chart legend and the definitions without Python; a file with an unknown section or key, a text that
is not text, or a {slot} its key does not have is refused with the file and the key named.
"""

from __future__ import annotations

import ast
import base64
import re
from pathlib import Path

import pytest
import yaml

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import RenderError, ReportgenError
from reportgen.core.geography import load_geography
from reportgen.core.options import BuildOptions
from reportgen.document import narrative
from reportgen.document.charts import draw_charts
from reportgen.document.compose import ProfileInputs, plan_profile
from reportgen.document.context import profile_context
from reportgen.document.inputs import edition_and_date
from reportgen.document.render import layout_search_path, make_environment, render_html
from reportgen.document.theme import load_theme
from reportgen.document.view import comparison, load_wording, slots
from reportgen.publish.prepare import compute_benchmark, read_data, read_specs

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
LAYOUTS = default_layouts_dir()
PACKAGED = yaml.safe_load((LAYOUTS / "wording.yaml").read_text(encoding="utf-8"))

COUNCIL_WORDING = {
    "document": {"title": "Community assets profile"},
    "messages": {"key": "KEY[{name}|{comparison}]", "trend": "TREND[{name}|{trend}|{first_period}]"},
    "alt": {"spine": "SPINE[{name}]", "bar": "BAR[{name}|{region}]", "trend": "LINE[{name}|{trend}]"},
    "charts": {"trend_england": "Eng-land", "trend_period": "Year", "axis_percent": "Per cent"},
    "indicator": {"rank": "RANK[{rank}]", "trend": "RECENT[{trend}]"},
    "ranks": {"in_england": "{rank}/{n} nationally"},
    "trends": {"increasing_better": "rising well", "no_change": "steady", "cannot": "unknown"},
    "names": {"england": "Engl."},
    "value_types": {"proportion": "PROPORTION"},
    "intervals": {"computed": "{method} (ours)"},
    "strengths": {"item": "STRENGTH[{kind}|{detail}]"},
}


@pytest.fixture(scope="module")
def national():
    """All specs, the embedded demonstration data and their benchmark table, computed once."""
    specs = read_specs(None)
    data = read_data(None, specs)
    return specs, data, compute_benchmark(data, specs)


def _html(national, layouts: Path | None = None, code: str = "E06000001") -> tuple[str, dict]:
    """The full profile's HTML (every chart drawn) and its context, without making a PDF."""
    specs, data, table = national
    search = layout_search_path(layouts, LAYOUTS)
    edition, data_date = edition_and_date(data, specs, BuildOptions())
    inputs = ProfileInputs(
        area=load_geography().lookup(code),
        specs=tuple(specs),
        table=table,
        theme=load_theme(search),
        edition=edition,
        data_date=data_date,
        author="test",
        synthetic=True,
        version=__version__,
        data_label="demo.csv",
        wording=load_wording(search),
        provenance={"generator": f"reportgen {__version__}", "weasyprint": "70", "matplotlib": "3"}
        | {f"{k}_sha256": "0" * 64 for k in ("inputs", "specs", "layouts")},
    )
    plan = plan_profile(inputs)
    context = profile_context(plan, draw_charts(plan.spines, plan.trends, inputs.theme, plan.bars))
    return render_html(make_environment(search), "profile.html.j2", context), context


def _svg_texts(html: str) -> str:
    return "\n".join(
        base64.b64decode(m).decode("utf-8") for m in re.findall(r"data:image/svg\+xml;base64,([^\"]+)", html)
    )


def _council(tmp_path: Path, wording: dict) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir(exist_ok=True)
    (folder / "wording.yaml").write_text(yaml.safe_dump(wording, allow_unicode=True), encoding="utf-8")
    return folder


def test_a_councils_wording_reaches_every_kind_of_sentence(national, tmp_path):
    default, _ = _html(national)
    html, context = _html(national, _council(tmp_path, COUNCIL_WORDING))
    svgs = _svg_texts(html)
    assert "<title>Community assets profile: Hartlepool</title>" in html
    assert '<p class="kicker">Community assets profile 2024</p>' in html
    assert '<body data-document-title="Community assets profile">' in html  # the running header's title
    assert context["subject"].startswith("Community assets profile 2024 for Hartlepool")
    strengths = [s["text"] for s in context["glance"]["strengths"]]
    assert strengths and all(re.fullmatch(r"STRENGTH\[[^|]+\|[^]]+\]", s) for s in strengths)  # page 1's strengths
    assert all(s in html for s in strengths)
    messages = context["glance"]["develop"]
    assert messages and all(m.startswith("KEY[") and "Engl." in m for m in messages)
    assert all(m.startswith("TREND[") for m in context["glance"]["trends"])
    assert 'alt="SPINE[' in html and 'alt="BAR[' in html and 'alt="LINE[' in html
    assert ">Eng-land</text>" in svgs and ">England</text>" not in svgs  # the trend charts' legend
    assert ">Per cent</text>" in svgs
    assert '<th scope="col">Year</th>' in html and '<th scope="col">Period</th>' not in html  # trend tables
    sublines = [i.subline for i in context["indicators"] if i.has_value]
    assert any(re.search(r"RANK\[\d+\w\w/\d+ nationally", s) for s in sublines)
    assert all(re.search(r"RECENT\[[^]]+\]$", s) for s in sublines)
    assert any(s.endswith(("RECENT[steady]", "RECENT[unknown]", "RECENT[rising well]")) for s in sublines)
    assert "PROPORTION" in html and "(ours)" in html
    assert "Community assets profile" not in default and "KEY[" not in default and "STRENGTH[" not in default


def test_the_packaged_wording_gives_the_documents_sentences():
    wording = load_wording([LAYOUTS])
    phrase = wording.phrase(comparison("Better 99.8%"), wording.england, "67.1%")
    assert narrative.key_message(wording, "Physically active adults", "70.2%", "2023/24", phrase) == (
        "Physically active adults: 70.2% in 2023/24, significantly better than England (67.1%), with 99.8% confidence."
    )
    assert narrative.trend_message(wording, "Employment rate", "Increasing and getting better", ("70.1%", "2019/20"),
                                   ("73.7%", "2023/24")) == (
        "Employment rate: increasing and getting better, from 70.1% in 2019/20 to 73.7% in 2023/24."
    )  # fmt: skip
    spine = narrative.spine_alt(wording, "X", "Hartlepool", "5.0%", "similar to England (5.1%)", ("1.0%", "9.0%"),
                                True, ("", "4.0%"))  # fmt: skip
    assert spine == (
        "Spine chart, X: Hartlepool 5.0%, similar to England (5.1%); range across authorities: worst 1.0%, "
        "best 9.0%; Region 4.0%."
    )
    assert wording.trend("Decreasing") == "decreasing" and wording.trend("Something new") == "something new"


# --------------------------------------------------------------------------- checks of a council's file


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('messages:\n  key: "{name} is {colour}"\n', r"wording messages\.key uses \{colour\}; available: \{name\}, "),
        ('alt:\n  spine: "{name} {value.__class__}"\n', None),  # not a slot: shown as written
        ("notes:\n  one_period: [1]\n", r"notes\.one_period: must be text"),
        ("notes:\n  one_periods: Only one\n", r"unknown wording key notes\.one_periods; use one of: no_indicator_data"),
        ("remarks:\n  one: x\n", r"unknown wording section 'remarks'; use one of: labels"),
        ("site: Find your area\n", r"site: must map keys to text"),
        ("- a list\n", r"must map section names to key: text pairs"),
        ("labels: {similar: &a x, better: *a}\n", r"aliases are not allowed"),
    ],
)
def test_a_bad_council_wording_file_is_a_clear_error_naming_file_and_key(tmp_path, text, problem):
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "wording.yaml").write_text(text, encoding="utf-8")
    search = layout_search_path(folder, LAYOUTS)
    if problem is None:
        assert load_wording(search).text("alt", "spine", name="X", area="", value="", comparison="", ends="",
                                         region="") == "X {value.__class__}"  # fmt: skip
        return
    with pytest.raises(ReportgenError) as caught:
        load_wording(search)
    assert str(folder / "wording.yaml") in caught.value.message
    assert re.search(problem, caught.value.message), caught.value.message


def test_a_council_may_reorder_or_leave_out_slots(tmp_path):
    folder = _council(tmp_path, {"messages": {"key": "In {period}, {name} was {comparison}."}})
    wording = load_wording(layout_search_path(folder, LAYOUTS))
    assert narrative.key_message(wording, "X", "5%", "2023", "similar") == "In 2023, X was similar."
    assert wording.origins["messages.key"] == str(folder / "wording.yaml")
    assert wording.origins["messages.trend"] == str(LAYOUTS / "wording.yaml")


def test_a_wording_file_outside_the_layouts_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("labels: {similar: x}\n", encoding="utf-8")
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "wording.yaml").symlink_to(outside)
    with pytest.raises(RenderError, match="leads outside the layouts folder"):
        load_wording(layout_search_path(folder, LAYOUTS))


#: Sections whose keys are values in the data or specs (a comparison result, a spec's value type ...).
KEYED_BY_DATA = ("labels", "short_labels", "value_types", "comparison_methods", "polarities")


def _composed_keys(modules: list[Path]) -> tuple[set[str], set[str]]:
    """The prefixes of keys the code composes (``f"kind_{kind}"``) and the plain names it holds ("better_england")."""
    prefixes, names = set(), set()
    for node in ast.walk(ast.Module(body=[ast.parse(m.read_text(encoding="utf-8")) for m in modules], type_ignores=[])):
        if isinstance(node, ast.JoinedStr) and len(node.values) == 2:
            head, tail = node.values
            if isinstance(head, ast.Constant) and isinstance(tail, ast.FormattedValue):
                if re.fullmatch(r"[a-z_]+_", str(head.value)):
                    prefixes.add(str(head.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[a-z_0-9]+", node.value):
            names.add(node.value)
    return prefixes, names


def test_every_packaged_text_is_used_and_every_slot_name_is_plain():
    """No dead wording: each key is read by the code or the templates; slot names are lower-case words.

    A key is read when its name is written in the code or a template, or when the code composes it: a
    prefix written as ``f"kind_{kind}"`` followed by a name the code holds ("better_england"); a key
    ending ``_one`` or ``_many`` is the singular or plural of its stem, chosen by a count.
    """
    modules = [*PACKAGE.joinpath("document").glob("*.py"), PACKAGE / "publish" / "site.py"]
    sources = "\n".join(p.read_text(encoding="utf-8") for p in [*modules, *LAYOUTS.glob("*.j2")])
    prefixes, names = _composed_keys(modules)

    def read(key: str) -> bool:
        stem = re.sub(r"_(one|many)$", "", key)
        return any(
            re.search(rf"\b{re.escape(k)}\b", sources)
            or any(k.startswith(p) and k[len(p) :] in names for p in prefixes)
            for k in {key, stem}
        )

    unused = [
        f"{section}.{key}"
        for section, entries in PACKAGED.items()
        for key in entries
        if not read(key) and section not in KEYED_BY_DATA
    ]
    assert unused == []
    for section, entries in PACKAGED.items():
        for key, text in entries.items():
            assert all(re.fullmatch(r"[a-z_]+", name) for name in slots(text)), f"{section}.{key}"


#: Labels of the benchmark table and Fingertips' series (Fingertips' words, kept exactly in data outputs)
#: that the code reads.
DATA_LABELS = {
    "Increasing and getting better",
    "Increasing and getting worse",
    "Decreasing and getting better",
    "Decreasing and getting worse",
    "No significant change",
    "Synthetic demonstration data",
    "Not applicable",  # the sex or age of a Fingertips series without that breakdown
}
WORDED_MODULES = ["narrative.py", "context.py", "compose.py", "charts.py", "view.py"]


@pytest.mark.parametrize("path", [*(PACKAGE / "document" / m for m in WORDED_MODULES), PACKAGE / "publish" / "site.py"],
                         ids=lambda p: p.name)  # fmt: skip
def test_no_display_sentence_is_written_in_python(path):
    """Sentences shown to readers live in the layouts: the modules that word the document hold none
    (docstrings, error messages and the benchmark table's own labels aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            skipped.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Raise):
            skipped.update(id(sub) for sub in ast.walk(node))
    sentences = [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skipped
        and re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", node.value)
        and node.value not in DATA_LABELS
        and not node.value.lstrip().startswith("<")  # SVG markup
    ]
    assert sentences == []
