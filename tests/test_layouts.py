"""Councils restyle the profile through --layouts (theme.yaml, logo, CSS) and --palette, without Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import yaml

from reportgen.cli import cli
from reportgen.core.assets import default_layouts_dir, default_specs_dir
from reportgen.core.errors import RenderError
from reportgen.document.compose import marker_for
from reportgen.document.render import layout_search_path
from reportgen.document.theme import load_theme
from reportgen.document.view import text_colour

pytestmark = pytest.mark.slow
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#2a6f97"/></svg>'


@pytest.fixture
def few_specs(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name in ("employment_rate", "school_readiness", "library_walk"):
        shutil.copy(default_specs_dir() / f"{name}.yaml", folder)
    return folder


@pytest.fixture
def council_layouts(tmp_path) -> Path:
    folder = tmp_path / "layouts"
    (folder / "static").mkdir(parents=True)
    (folder / "static" / "logo.svg").write_text(LOGO)
    theme = yaml.safe_load((default_layouts_dir() / "theme.yaml").read_text())
    theme.update(
        organisation="Anytown Council Public Health Intelligence",
        logo="static/logo.svg",
        logo_alt="Anytown Council logo",
    )
    theme["palettes"]["fingertips"]["comparison"]["Similar"] = "#123456"
    (folder / "theme.yaml").write_text(yaml.safe_dump(theme, sort_keys=False))
    return folder


def test_theme_from_user_layouts_overrides_the_packaged_one(council_layouts):
    theme = load_theme(layout_search_path(council_layouts, default_layouts_dir()))
    assert theme.organisation.startswith("Anytown") and theme.palette.comparison["Similar"] == "#123456"
    assert marker_for("Similar", theme).colour == "#123456"
    assert all(Path(f).is_file() for f in theme.font_files)  # fonts fall back to the packaged ones


def test_colour_blind_palette_changes_colours_not_shapes():
    search = layout_search_path(None, default_layouts_dir())
    default, safe = load_theme(search), load_theme(search, "colourblind")
    for label in ("Better", "Similar", "Worse", "Higher", "Lower"):
        assert marker_for(label, default).shape == marker_for(label, safe).shape
    assert marker_for("Better", default).colour != marker_for("Better", safe).colour
    with pytest.raises(RenderError, match="no palette named 'neon'"):
        load_theme(search, "neon")


def test_badge_text_contrast():
    assert text_colour("#FFC000") == "#000000" and text_colour("#821733") == "#FFFFFF"


def test_build_with_council_layouts_and_palette(runner, demo_csv, few_specs, council_layouts, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "build",
            "--area",
            "Hartlepool",
            "--data",
            str(demo_csv),
            "--specs",
            str(few_specs),
            "--layouts",
            str(council_layouts),
            "--palette",
            "colourblind",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    document = pdfium.PdfDocument(str(path))
    first = document[0].get_textpage().get_text_range()
    document.close()
    assert "Anytown Council Public Health Intelligence" in first
    with pikepdf.open(path) as pdf:
        assert _has_alt(pdf, "Anytown Council logo")


def _has_alt(pdf: pikepdf.Pdf, text: str) -> bool:
    seen, stack = set(), [pdf.Root.StructTreeRoot]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            if node.objgen != (0, 0):
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            if str(node.get("/Alt", "")) == text:
                return True
            kids = node.get("/K")
            if kids is not None:
                stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids])
    return False


def test_missing_layouts_folder_is_a_clear_error(runner, demo_csv, tmp_path):
    result = runner.invoke(
        cli,
        [
            "build",
            "--area",
            "Hartlepool",
            "--data",
            str(demo_csv),
            "--layouts",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1 and "Layouts directory" in result.stderr and "does not exist" in result.stderr


# --------------------------------------------------------------------------- wording and branding without Python


def _page_one_html(demo_csv, layouts=None, palette=None, specs=None) -> str:
    """The full profile's HTML (the document model written by the layouts), without making a PDF."""
    from reportgen.core.geography import load_geography
    from reportgen.core.options import BuildOptions
    from reportgen.document.build import make_document
    from reportgen.document.render import make_environment, render_html
    from reportgen.publish.prepare import prepare

    options = BuildOptions(specs_dir=specs, layouts_dir=layouts, palette=palette)
    prepared = prepare([demo_csv] if demo_csv else None, options)
    area = load_geography().lookup("E06000001")
    document = make_document(prepared, area)
    return render_html(make_environment(document.search_path), "profile.html.j2", document.context)


def test_a_wording_file_in_layouts_changes_the_document(demo_csv, few_specs, tmp_path):
    """A council renames a result and a heading in its own wording.yaml (only the keys it changes)."""
    folder = tmp_path / "layouts"
    folder.mkdir()
    (folder / "wording.yaml").write_text(
        'labels:\n  similar: "About the same"\nglance:\n  strengths_title: "What is going well"\n',
        encoding="utf-8",
    )
    default = _page_one_html(demo_csv, specs=few_specs)
    council = _page_one_html(demo_csv, layouts=folder, specs=few_specs)
    assert "About the same" in council and "About the same" not in default
    assert "What is going well" in council and "Strengths to build on" in default
    assert "Strengths to build on" not in council
    assert "Better 99.8%" in council or "Better" in council  # untouched keys keep the packaged wording


def test_bad_wording_files_are_clear_errors(tmp_path):
    from reportgen.document.view import load_wording

    folder = tmp_path / "layouts"
    folder.mkdir()
    search = layout_search_path(folder, default_layouts_dir())
    (folder / "wording.yaml").write_text("labels:\n  simliar: Same\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"wording.yaml: unknown wording key labels.simliar"):
        load_wording(search)
    (folder / "wording.yaml").write_text("labels:\n  similar: [1]\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"labels.similar: must be text"):
        load_wording(search)
    (folder / "wording.yaml").write_text('phrases:\n  similar: "like {benchmark.__class__}"\n', encoding="utf-8")
    wording = load_wording(search)
    assert wording.text("phrases", "similar", benchmark="England", value="1") == "like {benchmark.__class__}"
    (folder / "wording.yaml").write_text('phrases:\n  similar: "like {nonsense}"\n', encoding="utf-8")
    with pytest.raises(RenderError, match=r"uses \{nonsense\}"):
        load_wording(search).text("phrases", "similar", benchmark="England", value="1")


def test_accent_colour_drives_headings_rules_and_kicker(demo_csv, few_specs, tmp_path):
    """Issue 9 defect 6: the theme's accent reaches the CSS as a custom property (the CSS no longer hard-codes it)."""
    folder = tmp_path / "layouts"
    folder.mkdir()
    theme = yaml.safe_load((default_layouts_dir() / "theme.yaml").read_text())
    theme["palettes"]["fingertips"]["accent"] = "#AA3377"
    theme["organisation"] = "Anytown Council"
    (folder / "theme.yaml").write_text(yaml.safe_dump(theme, sort_keys=False))
    html = _page_one_html(demo_csv, layouts=folder, specs=few_specs)
    assert "--accent: #AA3377;" in html and '<p class="organisation">Anytown Council</p>' in html
    css = (default_layouts_dir() / "static" / "profile.css").read_text()
    for rule in ("h2 {", ".kicker {", ".cover {", ".organisation {"):
        block = css[css.index(rule) :].split("}")[0]
        assert "var(--accent)" in block, rule


def test_colour_blind_legend_follows_the_palette(demo_csv, few_specs):
    """Issue 9 defect 5: trend colours come from the palette in use; England's swatch matches its line."""
    html = _page_one_html(demo_csv, palette="colourblind", specs=few_specs)
    safe = load_theme(layout_search_path(None, default_layouts_dir()), "colourblind").palette
    assert f"--better: {safe.comparison['Better']};" in html and f"--worse: {safe.comparison['Worse']};" in html
    assert f"--england: {safe.england};" in html
    assert "green:" not in html.lower() and "red:" not in html.lower()
    assert "--palette" not in html and "Colour-blind-safe colours" in html
    css = (default_layouts_dir() / "static" / "profile.css").read_text()
    assert ".key-england" in css and "background: var(--england)" in css


def test_a_bad_theme_colour_is_refused_before_it_reaches_the_css(demo_csv, few_specs, tmp_path):
    folder = tmp_path / "layouts"
    folder.mkdir()
    theme = yaml.safe_load((default_layouts_dir() / "theme.yaml").read_text())
    theme["palettes"]["fingertips"]["accent"] = "red; } body { display: none"
    (folder / "theme.yaml").write_text(yaml.safe_dump(theme, sort_keys=False))
    with pytest.raises(RenderError, match="accent: .* is not a colour"):
        _page_one_html(demo_csv, layouts=folder, specs=few_specs)
