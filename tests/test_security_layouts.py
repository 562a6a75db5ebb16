"""A --layouts folder is untrusted: templates run sandboxed, and only files inside the folder are read."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import date
from pathlib import Path

import pikepdf
import pytest
import yaml

from reportgen.cli import cli
from reportgen.core.assets import default_layouts_dir, default_specs_dir
from reportgen.core.errors import RenderError
from reportgen.document.provenance import _file_sha256, _layout_files
from reportgen.document.render import html_to_pdf, layout_search_path, make_environment, render_html
from reportgen.document.theme import load_theme

PASSWD = Path("/etc/passwd")
SECRET_MARKERS = ("root:x:0", "root:*:0", "/bin/bash", "/usr/sbin/nologin")


def _no_secrets(*texts: str) -> None:
    for text in texts:
        for marker in SECRET_MARKERS:
            assert marker not in text


@pytest.fixture
def few_specs(tmp_path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    shutil.copy(default_specs_dir() / "employment_rate.yaml", folder)
    return folder


@pytest.fixture
def layouts(tmp_path) -> Path:
    folder = tmp_path / "layouts"
    folder.mkdir()
    return folder


def _build(runner, demo_csv, few_specs, layouts: Path, out: Path):
    args = ["build", "--area", "Hartlepool", "--data", str(demo_csv), "--specs", str(few_specs)]
    return runner.invoke(cli, [*args, "--layouts", str(layouts), "--out", str(out)])


def _assert_refused(result, out: Path, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr
    _no_secrets(result.stdout, result.stderr)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


def _env(folder: Path):
    return make_environment(layout_search_path(folder, default_layouts_dir()))


# --- 1. Templates run in a sandbox -------------------------------------------------------------


@pytest.mark.slow
def test_template_cannot_run_shell_commands(runner, demo_csv, few_specs, layouts, tmp_path):
    (layouts / "glance.html.j2").write_text(
        "<section>\n{{ cycler.__init__.__globals__.os.popen('id').read() }}\n</section>\n"
    )
    out = tmp_path / "out"
    result = _build(runner, demo_csv, few_specs, layouts, out)
    _assert_refused(result, out, f"{layouts / 'glance.html.j2'}:2: templates may not access")
    assert "uid=" not in result.output


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("ok\n{{ range.__init__.__globals__ }}", 2),
        ("{{ theme.__class__.__mro__ }}", 1),
        ("{{ ''.__class__.__subclasses__() }}", 1),
        ("\n\n{% set x = [] %}{{ x.append(1) }}", 3),
    ],
)
def test_template_access_to_python_internals_is_a_clear_error(layouts, source, line):
    (layouts / "evil.html.j2").write_text(source)
    with pytest.raises(RenderError, match=r"evil\.html\.j2:(\d+): templates may not access") as caught:
        render_html(
            _env(layouts), "evil.html.j2", {"theme": load_theme(layout_search_path(None, default_layouts_dir()))}
        )
    assert f"evil.html.j2:{line}:" in caught.value.message


def test_templates_autoescape_and_refuse_undefined_values(layouts):
    (layouts / "page.html.j2").write_text("<p>{{ name }}</p>")
    assert render_html(_env(layouts), "page.html.j2", {"name": "<b>&"}) == "<p>&lt;b&gt;&amp;</p>"
    with pytest.raises(RenderError, match="page.html.j2:1: template uses an undefined value: 'name' is undefined"):
        render_html(_env(layouts), "page.html.j2", {})


@pytest.mark.parametrize("expression", ["'a' * 10 ** 7", "[0] * 10 ** 7", "(9 ** 64) ** (64 ** 4)"])
def test_template_cannot_build_huge_values(layouts, expression):
    (layouts / "big.html.j2").write_text(f"{{{{ {expression} }}}}")
    with pytest.raises(RenderError, match=r"big\.html\.j2:1: template makes a value too large"):
        render_html(_env(layouts), "big.html.j2", {})
    (layouts / "small.html.j2").write_text("{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ 1.5 ** 2 }}")
    assert render_html(_env(layouts), "small.html.j2", {}) == "ababab 1024 2.25"


def test_asset_url_gives_templates_no_way_to_other_folders(layouts):
    (layouts / "page.html.j2").write_text('{{ asset_url.func(["/"], "etc/passwd") }}')
    with pytest.raises(RenderError) as caught:
        render_html(_env(layouts), "page.html.j2", {})
    assert "page.html.j2:1:" in caught.value.message
    _no_secrets(caught.value.message)


def test_template_runtime_errors_name_the_line(layouts):
    (layouts / "div.html.j2").write_text("a\nb\n{{ 1 / 0 }}")
    with pytest.raises(RenderError, match=r"div\.html\.j2:3: template error: ZeroDivisionError"):
        render_html(_env(layouts), "div.html.j2", {})


# --- 2. Files read by templates stay inside the layouts folder ---------------------------------


@pytest.mark.slow
def test_included_link_to_outside_file_is_refused(runner, demo_csv, few_specs, layouts, tmp_path):
    (layouts / "leak.txt").symlink_to(PASSWD)
    (layouts / "glance.html.j2").write_text('<pre>{% include "leak.txt" %}</pre>\n')
    out = tmp_path / "out"
    result = _build(runner, demo_csv, few_specs, layouts, out)
    _assert_refused(result, out, str(layouts / "leak.txt"), "leads outside the layouts folder")


@pytest.mark.parametrize(
    "source",
    ['{{ asset_url("leak.txt") }}', '{{ asset_url("/etc/passwd") }}', '{{ asset_url("../../../../etc/passwd") }}'],
)
def test_asset_url_refuses_files_outside_the_folder(layouts, source):
    (layouts / "leak.txt").symlink_to(PASSWD)
    (layouts / "page.html.j2").write_text(source)
    with pytest.raises(RenderError, match="leads outside the layouts folder") as caught:
        render_html(_env(layouts), "page.html.j2", {})
    _no_secrets(caught.value.message)


def test_links_inside_the_folder_still_work(layouts):
    (layouts / "real.html.j2").write_text("inside")
    (layouts / "alias.html.j2").symlink_to(layouts / "real.html.j2")
    (layouts / "page.html.j2").write_text('{% include "alias.html.j2" %}')
    assert render_html(_env(layouts), "page.html.j2", {}) == "inside"


def test_oversized_template_is_refused(layouts):
    (layouts / "huge.html.j2").write_text("x" * (1024 * 1024 + 1))
    with pytest.raises(RenderError, match=r"huge\.html\.j2: 1,048,577 bytes is more than the 1 MB allowed"):
        render_html(_env(layouts), "huge.html.j2", {})


def test_fifo_template_is_refused_without_hanging(layouts):
    os.mkfifo(layouts / "pipe.html.j2")
    (layouts / "page.html.j2").write_text('{% include "pipe.html.j2" %}')
    with pytest.raises(RenderError, match=r"pipe\.html\.j2: is not a regular file"):
        render_html(_env(layouts), "page.html.j2", {})


def test_theme_yaml_link_to_outside_is_refused(layouts, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("organisation: Elsewhere\n")
    (layouts / "theme.yaml").symlink_to(outside)
    with pytest.raises(RenderError, match=r"layouts/theme\.yaml: leads outside the layouts folder"):
        load_theme(layout_search_path(layouts, default_layouts_dir()))


# --- 3. Resources WeasyPrint fetches ---------------------------------------------------------

REFUSED_URLS = (
    "file://localhost/etc/passwd",
    "file:/etc/hostname",
    "file:///etc/passwd",
    "file:etc/passwd",
    "file://otherhost/etc/passwd",
    "file://LOCALHOST/etc/%70asswd",
    "http://127.0.0.1:9/logo.png",
    "ftp://127.0.0.1:9/logo.png",
)


def _embedded(pdf_bytes: bytes) -> dict[str, bytes]:
    import io

    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}


def test_fetcher_allows_only_files_inside_the_layouts_folder(layouts, monkeypatch):
    """Run from inside the layouts folder, as ``--layouts .`` is, where relative-path checks were fooled."""
    (layouts / "notes.txt").write_text("allowed attachment")
    (layouts / "link.txt").symlink_to(PASSWD)
    for part in ("localhost/etc", "file:/etc", "etc"):
        (layouts / part).mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(layouts)
    dot_dot = layouts.resolve().as_uri() + "/%2e%2e" * 30 + "/etc/passwd"
    refused = (*REFUSED_URLS, (layouts / "link.txt").as_uri(), dot_dot)
    links = "".join(f'<link rel="attachment" href="{url}">' for url in refused)
    images = "".join(f'<img src="{url}" alt="x">' for url in refused)
    fonts = "".join(f'@font-face {{ font-family: F{i}; src: url("{url}"); }}' for i, url in enumerate(refused))
    html = (
        f'<html lang="en"><head><title>t</title><style>{fonts} p {{ font-family: F0, F1, sans-serif; }}</style>'
        f'{links}<link rel="attachment" href="notes.txt"></head><body><p>Text</p>{images}'
        '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 width=%221%22 height=%221%22/%3E"'
        ' alt="ok"></body></html>'
    )
    pdf, log = html_to_pdf(html, [layouts.resolve()], created=date(2024, 3, 31))
    assert set(log.blocked) == set(refused)
    assert _embedded(pdf) == {"notes.txt": b"allowed attachment"}
    _no_secrets(pdf.decode("latin-1"))


@pytest.mark.slow
def test_build_reports_refused_resources_as_warnings(runner, demo_csv, few_specs, layouts, tmp_path):
    glance = (default_layouts_dir() / "glance.html.j2").read_text()
    (layouts / "glance.html.j2").write_text('<link rel="attachment" href="file://localhost/etc/passwd">\n' + glance)
    result = _build(runner, demo_csv, few_specs, layouts, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "warning: refused to fetch file://localhost/etc/passwd" in result.stderr
    pdf = Path(result.stdout.strip()).read_bytes()
    assert set(_embedded(pdf)) == {"E06000001-benchmark.csv", "provenance.json"}


@pytest.mark.parametrize(
    ("setting", "key", "reason"),
    [
        ({"font": {"files": ["../../../../../etc/passwd"]}}, "font.files[0]", "leads outside the layouts folder"),
        ({"font": {"files": ["fonts/outside.otf"]}}, "font.files[0]", "leads outside the layouts folder"),
        ({"logo": "/etc/passwd"}, "logo", "leads outside the layouts folder"),
        ({"logo": "static/outside.svg"}, "logo", "leads outside the layouts folder"),
        ({"logo": "static/missing.svg"}, "logo", "not found in the layouts folders"),
    ],
)
def test_theme_files_must_be_inside_the_layouts_folder(layouts, setting, key, reason):
    (layouts / "fonts").mkdir()
    (layouts / "static").mkdir()
    (layouts / "fonts" / "outside.otf").symlink_to(PASSWD)
    (layouts / "static" / "outside.svg").symlink_to(PASSWD)
    (layouts / "theme.yaml").write_text(yaml.safe_dump(setting))
    with pytest.raises(RenderError) as caught:
        load_theme(layout_search_path(layouts, default_layouts_dir()))
    assert caught.value.message.startswith(f"{layouts / 'theme.yaml'}: {key}: ")
    assert reason in caught.value.message


# --- 4. Hashing the layouts for provenance ---------------------------------------------------


def test_layout_hash_skips_links_outside_fifos_and_reads_in_chunks(layouts, tmp_path, monkeypatch):
    (layouts / "ok.css").write_text("p { color: #000; }")
    (layouts / "leak.txt").symlink_to(PASSWD)
    (layouts / "etc").symlink_to("/etc")
    os.mkfifo(layouts / "pipe.css")
    files = dict(_layout_files([layouts]))
    assert files == {"ok.css": (layouts / "ok.css").resolve()}
    big = tmp_path / "big.bin"
    payload = os.urandom(3 * 1024 * 1024 + 7)
    big.write_bytes(payload)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("whole-file read"))
    assert _file_sha256(big) == hashlib.sha256(payload).digest()


@pytest.mark.parametrize(("name", "size", "limit"), [("fonts/Huge.otf", 20, "20 MB"), ("static/huge.css", 1, "1 MB")])
def test_oversized_layout_files_are_refused(layouts, name, size, limit):
    path = layouts / name
    path.parent.mkdir()
    with path.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(size * 1024 * 1024 + 1)
    with pytest.raises(RenderError, match=f"{name}: .* bytes is more than the {limit} allowed"):
        _layout_files([layouts])


# --- 5. Theme values of the wrong type -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("palettes: [fingertips]", "palettes: must be a mapping of keys to values"),
        ("palettes: {fingertips: {accent: [1]}}", "palettes.fingertips.accent: must be text"),
        ('palettes: {fingertips: {accent: "#GGG"}}', "palettes.fingertips.accent: '#GGG' is not a colour; use #RRGGBB"),
        (
            'palettes: {fingertips: {comparison: {Similar: "red; } body { display:none"}}}',
            "palettes.fingertips.comparison.Similar: 'red; } body { display:none' is not a colour; use #RRGGBB",
        ),
        (
            'palettes: {fingertips: {quintiles_judged: ["#fff"]}}',
            "palettes.fingertips.quintiles_judged: needs exactly 5",
        ),
        ('palettes: {fingertips: {quintiles_judged: ["#fff", 1, 2, 3, 4]}}', "quintiles_judged.1: must be text"),
        ("font: {files: fonts/Inter-Regular.otf}", "font.files: must be a list"),
        ("organisation: {name: Anytown}", "organisation: must be text"),
        ("colour: red", "colour: is not a theme key"),
        ("- organisation", "the top level must be keys such as organisation"),
        ('palettes: {fingertips: {comparison: {Simlar: "#FFFFFF"}}}', "palettes.fingertips.comparison: unknown label"),
    ],
)
def test_theme_values_of_the_wrong_type_are_clear_errors(layouts, text, problem):
    (layouts / "theme.yaml").write_text(text + "\n")
    with pytest.raises(RenderError) as caught:
        load_theme(layout_search_path(layouts, default_layouts_dir()))
    assert caught.value.message.startswith(f"{layouts / 'theme.yaml'}: ")
    assert problem in caught.value.message


@pytest.mark.slow
def test_bad_theme_colour_exits_1_without_traceback(runner, demo_csv, few_specs, layouts, tmp_path):
    (layouts / "theme.yaml").write_text('palettes: {fingertips: {accent: "red; } body { display:none"}}\n')
    out = tmp_path / "out"
    result = _build(runner, demo_csv, few_specs, layouts, out)
    _assert_refused(
        result,
        out,
        f"{layouts / 'theme.yaml'}: palettes.fingertips.accent: 'red; }} body {{ display:none' is not a colour",
    )


def test_three_digit_colours_are_expanded(layouts):
    (layouts / "theme.yaml").write_text('palettes: {fingertips: {accent: "#a1C"}}\n')
    theme = load_theme(layout_search_path(layouts, default_layouts_dir()))
    assert theme.palette.accent == "#aa11CC"


# --- 6. A partial theme.yaml overrides only what it names -------------------------------------


def test_partial_theme_keeps_every_other_default(layouts):
    (layouts / "theme.yaml").write_text(
        'organisation: Anytown Council\npalettes:\n  fingertips:\n    accent: "#123456"\nlogo_alt:\n'
    )
    search = layout_search_path(layouts, default_layouts_dir())
    default = load_theme(layout_search_path(None, default_layouts_dir()))
    theme = load_theme(search)
    assert theme.organisation == "Anytown Council" and theme.palette.accent == "#123456"
    assert theme.palette.comparison == default.palette.comparison
    assert theme.palette.quintiles_judged == default.palette.quintiles_judged
    assert theme.font_files == default.font_files and theme.font_family == "Inter"
    assert (
        load_theme(search, "colourblind").palette
        == load_theme(layout_search_path(None, default_layouts_dir()), "colourblind").palette
    )


def test_user_lists_replace_default_lists(layouts):
    (layouts / "fonts").mkdir()
    shutil.copy(default_layouts_dir() / "fonts" / "Inter-Bold.otf", layouts / "fonts" / "Mine.otf")
    (layouts / "theme.yaml").write_text("font:\n  files: [fonts/Mine.otf]\n")
    theme = load_theme(layout_search_path(layouts, default_layouts_dir()))
    assert theme.font_files == (str((layouts / "fonts" / "Mine.otf").resolve()),) and theme.font_family == "Inter"


def test_errors_in_a_partial_theme_name_the_users_file(layouts):
    (layouts / "theme.yaml").write_text("default_palette: neon\n")
    with pytest.raises(RenderError) as caught:
        load_theme(layout_search_path(layouts, default_layouts_dir()))
    assert caught.value.message.startswith(f"{layouts / 'theme.yaml'}: no palette named 'neon'; available: fingertips")


def test_new_palette_must_be_complete(layouts):
    (layouts / "theme.yaml").write_text('palettes:\n  mine:\n    accent: "#123456"\n')
    with pytest.raises(RenderError, match=r"theme\.yaml: palette 'mine' is missing: Better 99\.8%"):
        load_theme(layout_search_path(layouts, default_layouts_dir()), "mine")


# --- --layouts itself ------------------------------------------------------------------------


def test_layouts_option_pointing_to_a_file_is_one_line_error(runner, demo_csv, few_specs, tmp_path):
    target = tmp_path / "theme.yaml"
    target.write_text("organisation: x\n")
    out = tmp_path / "out"
    result = _build(runner, demo_csv, few_specs, target, out)
    _assert_refused(result, out, f"Error: --layouts {target} is a file; pass the folder")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_unreadable_layouts_folder_is_one_line_error(runner, demo_csv, few_specs, layouts, tmp_path):
    layouts.chmod(0)
    try:
        result = _build(runner, demo_csv, few_specs, layouts, tmp_path / "out")
    finally:
        layouts.chmod(0o755)
    _assert_refused(result, tmp_path / "out", "cannot be read")


def test_files_referenced_from_svg_and_css_are_checked_too(layouts):
    (layouts / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<image href="file://localhost/etc/hostname" width="5" height="5"/><rect width="3" height="3"/></svg>'
    )
    (layouts / "style.css").write_text('body { background: url("file:/etc/passwd"); }')
    html = (
        '<html lang="en"><head><title>t</title><base href="file:///etc/">'
        f'<link rel="stylesheet" href="{(layouts / "style.css").as_uri()}"><style>@import url("hosts");</style></head>'
        f'<body><img alt="logo" src="{(layouts / "logo.svg").as_uri()}"><object data="shells"></object></body></html>'
    )
    pdf, log = html_to_pdf(html, [layouts.resolve()], created=date(2024, 3, 31))
    assert set(log.blocked) == {
        "file://localhost/etc/hostname",
        "file:/etc/passwd",
        "file:///etc/hosts",
        "file:///etc/shells",
    }
    _no_secrets(pdf.decode("latin-1"))
