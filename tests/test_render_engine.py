"""The per-process PDF engine: cached WeasyPrint state keeps output byte-identical and per layouts folder."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pikepdf

from reportgen.core.assets import default_layouts_dir
from reportgen.document.render import PdfAttachment, html_to_pdf, layout_search_path, pdf_engine

FONTS = default_layouts_dir() / "fonts"
CREATED = date(2024, 3, 31)
IDENTIFIER = b"0123456789abcdef0123456789abcdef"
CHART = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect x="2" y="5" width="80" height="12" fill="#0B5A6B"/>'
    '<text x="90" y="15" font-family="Inter" font-size="9">64.2</text></svg>'
)

FRESH_RENDER = """
import sys
from datetime import date
from pathlib import Path
from reportgen.document.render import PdfAttachment, html_to_pdf
html = Path(sys.argv[1]).read_text(encoding="utf-8")
folders = [Path(p) for p in sys.argv[3:]]
attachment = PdfAttachment("data.csv", b"area,value\\nE06000001,64.2\\n", "Data behind the profile")
pdf, _ = html_to_pdf(html, folders, created=date(2024, 3, 31), attachments=[attachment],
                     identifier=b"0123456789abcdef0123456789abcdef")
Path(sys.argv[2]).write_bytes(pdf)
"""


def _html(css_url: str, text: str = "Healthy life expectancy") -> str:
    image = "data:image/svg+xml;base64," + base64.b64encode(CHART.encode()).decode()
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Engine test</title>'
        f'<link rel="stylesheet" href="{css_url}"></head><body><h1>{text}</h1>'
        f'<p>Some <b>bold</b> and <i>italic</i> words.</p><img src="{image}" alt="Bar chart: 64.2"></body></html>'
    )


def _render(html: str, folders: list[Path]) -> bytes:
    attachment = PdfAttachment("data.csv", b"area,value\nE06000001,64.2\n", "Data behind the profile")
    pdf, log = html_to_pdf(html, folders, created=CREATED, attachments=[attachment], identifier=IDENTIFIER)
    assert log.blocked == []
    return pdf


def _render_fresh(html: str, folders: list[Path], tmp_path: Path) -> bytes:
    """The same render in a new Python process, so nothing is cached."""
    page, out = tmp_path / "fresh.html", tmp_path / "fresh.pdf"
    page.write_text(html, encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    args = [sys.executable, "-c", FRESH_RENDER, str(page), str(out), *map(str, folders)]
    subprocess.run(args, check=True, capture_output=True, env=env, timeout=300)
    return out.read_bytes()


def _font_programs(pdf: bytes) -> set[bytes]:
    """The embedded font programs of a PDF (subset font files), to tell which font file was used."""
    programs = set()
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for font in page.Resources.get("/Font", {}).values():
                for descendant in font.get("/DescendantFonts", [font]):
                    descriptor = descendant.get("/FontDescriptor", {})
                    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                        if key in descriptor:
                            programs.add(descriptor[key].read_bytes())
    return programs


def _layouts(folder: Path, font: str, colour: str) -> Path:
    """A user layouts folder whose stylesheet maps the family 'House' to one of the packaged fonts."""
    (folder / "fonts").mkdir(parents=True)
    (folder / "static").mkdir()
    shutil.copy(FONTS / font, folder / "fonts" / "house.otf")
    (folder / "static" / "profile.css").write_text(
        '@font-face { font-family: "House"; src: url("../fonts/house.otf"); }\n'
        f'body {{ font-family: "House"; color: {colour}; }}\n',
        encoding="utf-8",
    )
    return folder


def test_cached_engine_renders_match_a_fresh_process(tmp_path):
    folders = layout_search_path(None, default_layouts_dir())
    html = _html((folders[0] / "static" / "profile.css").as_uri())
    first = _render(html, folders)
    engine = pdf_engine(folders)
    second = _render(html, folders)
    assert pdf_engine(folders) is engine  # the second render reused the process's engine
    assert first == second
    assert _render_fresh(html, folders, tmp_path) == first
    assert _font_programs(first)


def test_engine_is_per_layouts_folder(tmp_path):
    bold = _layouts(tmp_path / "bold", "Inter-Bold.otf", "#AA0000")
    italic = _layouts(tmp_path / "italic", "Inter-Italic.otf", "#0000AA")
    search_bold = layout_search_path(bold, default_layouts_dir())
    search_italic = layout_search_path(italic, default_layouts_dir())
    html_bold = _html((bold / "static" / "profile.css").as_uri())
    html_italic = _html((italic / "static" / "profile.css").as_uri())

    from_bold = _render(html_bold, search_bold)
    from_italic = _render(html_italic, search_italic)  # same process, right after the other folder
    again_bold = _render(html_bold, search_bold)

    assert pdf_engine(search_bold) is not pdf_engine(search_italic)
    assert _font_programs(from_bold) != _font_programs(from_italic)
    assert again_bold == from_bold
    assert _render_fresh(html_italic, search_italic, tmp_path) == from_italic


def test_edited_layouts_folder_gets_a_fresh_engine(tmp_path):
    folder = _layouts(tmp_path / "house", "Inter-Bold.otf", "#AA0000")
    search = layout_search_path(folder, default_layouts_dir())
    html = _html((folder / "static" / "profile.css").as_uri())
    before = _render(html, search)
    engine = pdf_engine(search)
    font = folder / "fonts" / "house.otf"
    shutil.copy(FONTS / "Inter-Italic.otf", font)
    os.utime(font, ns=(font.stat().st_atime_ns, font.stat().st_mtime_ns + 10**9))

    after = _render(html, search)

    assert pdf_engine(search) is not engine
    assert _font_programs(after) != _font_programs(before)
    assert _render_fresh(html, search, tmp_path) == after


def test_timings_split_layout_and_pdf_writing():
    folders = layout_search_path(None, default_layouts_dir())
    timings: dict[str, float] = {}
    html = _html((folders[0] / "static" / "profile.css").as_uri())
    pdf, _ = html_to_pdf(html, folders, created=CREATED, timings=timings)
    assert pdf.startswith(b"%PDF-")
    assert set(timings) == {"layout", "pdf"}
    assert all(seconds > 0 for seconds in timings.values())


def test_blocked_resources_are_still_reported_with_a_warm_engine(tmp_path):
    folders = layout_search_path(None, default_layouts_dir())
    html = _html((folders[0] / "static" / "profile.css").as_uri()).replace(
        "</body>", f'<img src="{Path("/etc/passwd").as_uri()}" alt="x"></body>'
    )
    for _ in range(2):  # the second render uses the cached engine
        _, log = html_to_pdf(html, folders, created=CREATED)
        assert log.blocked == ["file:///etc/passwd"]


def test_engine_cache_is_bounded(tmp_path):
    from reportgen.document import render

    for index in range(render.MAX_ENGINES + 2):
        folder = tmp_path / f"layouts{index}"
        folder.mkdir()
        pdf_engine(layout_search_path(folder, default_layouts_dir()))
    assert len(render._ENGINES) <= render.MAX_ENGINES


LEAVE_ENGINE = """
from datetime import date
from reportgen.core.assets import default_layouts_dir
from reportgen.document.render import html_to_pdf, layout_search_path, pdf_engine
folders = layout_search_path(None, default_layouts_dir())
css = (folders[0] / "static" / "profile.css").as_uri()
html_to_pdf(f'<html><head><link rel="stylesheet" href="{css}"></head><body><p>Hi</p></body></html>', folders,
            created=date(2024, 3, 31))
print(pdf_engine(folders).font_config._folder)
"""


def test_engine_font_folder_is_removed_when_the_process_exits():
    done = subprocess.run([sys.executable, "-c", LEAVE_ENGINE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("weasyprint-")
    assert not folder.exists()
    assert "Exception ignored" not in done.stderr


def test_templates_are_compiled_once_per_layouts_folder_and_recompiled_when_edited(tmp_path):
    """A batch worker compiles each template once; an edited template is picked up at once."""
    import os

    from reportgen.document.render import make_environment, render_html

    folder = tmp_path / "layouts"
    folder.mkdir()
    template = folder / "t.html.j2"
    template.write_text("one {{ x }}", encoding="utf-8")
    env = make_environment([folder])
    assert render_html(env, "t.html.j2", {"x": "<b>"}) == "one &lt;b&gt;"
    assert make_environment([folder]) is env
    compiled = env.get_template("t.html.j2")
    assert env.get_template("t.html.j2") is compiled
    template.write_text("two {{ x }}", encoding="utf-8")
    os.utime(template, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    assert render_html(make_environment([folder]), "t.html.j2", {"x": 1}) == "two 1"
    other = tmp_path / "other"
    other.mkdir()
    assert make_environment([other]) is not env
