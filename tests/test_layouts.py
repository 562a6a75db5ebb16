"""Councils restyle the profile through --layouts (theme.yaml, logo, CSS) and --palette, without Python."""

from __future__ import annotations

import shutil
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import yaml

from reportgen.assets import default_layouts_dir, default_specs_dir
from reportgen.cli import cli
from reportgen.compose import marker_for, text_colour
from reportgen.errors import RenderError
from reportgen.render import layout_search_path
from reportgen.theme import load_theme

pytestmark = pytest.mark.slow
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#2a6f97"/></svg>'


@pytest.fixture
def few_specs(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name in ("employment_rate", "school_readiness", "woodland_access"):
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
