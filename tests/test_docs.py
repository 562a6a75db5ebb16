"""The documentation stays true to the program: generated CLI reference, short README, complete site.

Fast and offline: nothing here builds the site or a PDF (``make docs`` builds the site with
``--strict``, which checks every link and anchor).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
COMMANDS_PAGE = DOCS / "commands.md"
PACKAGE = ROOT / "reportgen"

DIRECTIVE = re.compile(r"^::: mkdocs-click\n((?:[ \t]+:\w+:.*\n?)+)", re.MULTILINE)
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def doc_pages() -> list[Path]:
    """Every Markdown page of the site (the hooks folder holds code, not pages)."""
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)


def click_directives(text: str) -> list[dict[str, str]]:
    """The options of each ``::: mkdocs-click`` block in a page."""
    blocks = []
    for match in DIRECTIVE.finditer(text):
        options = dict(re.findall(r":(\w+):[ \t]*(.*)", match.group(1)))
        blocks.append({key: value.strip() for key, value in options.items()})
    return blocks


def walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    """(full command path, command) for the command and every subcommand, depth first."""
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                found.extend(walk(sub, f"{path} {name}"))
    return found


class _Loader(yaml.SafeLoader):
    """mkdocs.yml may hold !!python/name tags (mkdocs extensions); they are not needed here."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def mkdocs_config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


def nav_pages(nav) -> list[str]:
    """Every page path named in a mkdocs nav (nested lists of titles and paths)."""
    if isinstance(nav, str):
        return [] if "://" in nav else [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return []


# The command reference -----------------------------------------------------------------------


def test_the_command_reference_is_generated_from_the_click_group():
    blocks = click_directives(COMMANDS_PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/commands.md has one '::: mkdocs-click' block for the whole CLI"
    (options,) = blocks
    assert options.get("module") == "reportgen.cli"
    assert options.get("command") == "cli"
    assert options.get("prog_name") == "reportgen"
    assert options.get("style", "plain") in {"plain", "table"}
    assert int(options.get("depth", "0")) >= 0
    assert options.get("show_hidden", "false").lower() != "true"

    from reportgen.cli import cli

    assert isinstance(cli, click.Group) and len(walk(cli, "reportgen")) > 1


def test_the_generated_reference_covers_every_command_and_option():
    markdown = pytest.importorskip("markdown", reason="the docs tools are installed by make install")
    pytest.importorskip("mkdocs_click", reason="the docs tools are installed by make install")
    from reportgen.cli import cli

    # Expand the page exactly as the site build does: mkdocs-click's Markdown preprocessor.
    md = markdown.Markdown(extensions=["attr_list", "mkdocs-click"])
    lines = COMMANDS_PAGE.read_text(encoding="utf-8").splitlines()
    expanded = "\n".join(md.preprocessors["mk_click"].run(lines))

    # One heading per command, named by its full path (mkdocs-click with attr_list).
    sections: dict[str, str] = {}
    headings = list(re.finditer(r"^#+ (reportgen(?: [\w-]+)*) \{ #([\w-]+)", expanded, re.MULTILINE))
    for here, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(expanded)
        sections[here.group(1)] = expanded[here.end() : end]

    for path, command in walk(cli, "reportgen"):
        assert path in sections, f"the command reference has no section for '{path}'"
        text = sections[path]
        for param in command.get_params(click.Context(command)):
            if getattr(param, "hidden", False):
                continue
            if isinstance(param, click.Argument):
                assert param.make_metavar(click.Context(command)) in text, f"{path}: argument {param.name}"
                continue
            for name in [*param.opts, *param.secondary_opts]:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (
                    f"the command reference for '{path}' does not show {name}"
                )
        if command.help:
            first_line = command.help.strip().splitlines()[0]
            assert first_line in text, f"the command reference for '{path}' lacks its help text"


# README ---------------------------------------------------------------------------------------


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_opens_with_the_two_command_quickstart():
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# "), "README.md starts with its title"
    sections = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert sections and sections[0].strip().lower() == "quickstart", "the README's first section is the quickstart"

    quickstart = text.split("\n## ", 2)[1]
    before_code = quickstart.split("```", 1)[0]
    assert before_code.strip().lower() == "quickstart", "the quickstart opens with its commands"
    block = FENCED.search(quickstart)
    assert block, "the quickstart has a code block"
    commands = [
        line.split("#", 1)[0].strip() for line in block.group(0).splitlines()[1:-1] if line.split("#", 1)[0].strip()
    ]
    assert commands == ["make demo", "make test"]


def test_the_readme_lists_every_catalogue_indicator_with_its_source():
    """The README's indicator table: exactly the specs' ids, each with the publisher, id or dataset and licence."""
    from reportgen.core.specs import load_specs

    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    specs = load_specs(ROOT / "indicator_specs")
    assert sorted(rows) == sorted(s.id for s in specs), "README.md's indicator table and indicator_specs/ differ"
    for spec in specs:
        _, domain, publisher, where, licence = rows[spec.id]
        assert domain == spec.domain and licence == spec.licence, spec.id
        if spec.els is not None:
            assert publisher == "ONS Explore Local Statistics", spec.id
            assert where == f"`{spec.els.dataset}`: {spec.els.indicator}", spec.id
        else:
            assert publisher == "OHID Fingertips", spec.id
            published = spec.derive.source_id if spec.derive else spec.fingertips_id
            assert re.fullmatch(rf"{published}\b.*", where), f"{spec.id}: README says {where!r}, the spec {published}"
            assert ("(complement)" in where) == (spec.derive is not None), spec.id


def test_readme_links_to_every_docs_page_it_names():
    text = README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
    assert "docs/index.md" in text or "docs/" in text


# The site ---------------------------------------------------------------------------------------


def test_every_docs_page_is_in_the_nav_and_every_nav_page_exists():
    config = mkdocs_config()
    listed = nav_pages(config["nav"])
    pages = [p.relative_to(DOCS).as_posix() for p in doc_pages()]
    missing = sorted(set(pages) - set(listed))
    assert not missing, f"pages not in mkdocs.yml nav: {missing}"
    absent = sorted(set(listed) - set(pages))
    assert not absent, f"mkdocs.yml nav names pages that do not exist: {absent}"
    assert len(listed) == len(set(listed)), "a page is listed twice in the nav"


def test_the_site_is_built_strictly_with_its_hooks():
    config = mkdocs_config()
    assert config.get("strict") is True
    for hook in config.get("hooks", []):
        assert (ROOT / hook).is_file(), f"mkdocs.yml names a missing hook {hook}"
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]
    assert "mkdocs-click" in extensions


def test_the_catalogue_table_has_a_row_for_every_spec():
    spec = importlib.util.spec_from_file_location("docs_catalogue_hook", DOCS / "hooks" / "catalogue.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = (DOCS / "catalogue.md").read_text(encoding="utf-8")
    assert hook.MARKER in page, "the catalogue page holds the marker the hook replaces"
    table = hook.catalogue_markdown()
    ids = sorted(p.stem for p in (ROOT / "indicator_specs").glob("*.yaml"))
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == len(ids)
    for indicator in ids:
        assert f"`{indicator}`" in table


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _resolves(dotted: str) -> bool:
    """reportgen.a.b.name: a module (or package) of the package, then at most one name in it."""
    parts = dotted.split(".")[1:]
    for cut in range(len(parts), -1, -1):
        module, rest = parts[:cut], parts[cut:]
        file = PACKAGE.joinpath(*module).with_suffix(".py") if module else PACKAGE / "__init__.py"
        package = PACKAGE.joinpath(*module, "__init__.py")
        source = file if file.is_file() else package if package.is_file() else None
        if source is None:
            continue
        return not rest or (len(rest) == 1 and rest[0] in _top_level_names(source))
    return False


@pytest.mark.parametrize("page", [README, *doc_pages()], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_names_and_paths_in_the_docs_exist(page):
    """`reportgen.x.y.name` and `reportgen/x/y.py` in the prose name things that exist."""
    text = FENCED.sub("", page.read_text(encoding="utf-8"))
    for span in re.findall(r"`([^`\n]+)`", text):
        span = span.strip().removesuffix("()")
        if re.fullmatch(r"reportgen(\.\w+)+", span):
            assert _resolves(span), f"{page.name}: `{span}` names nothing in the package"
        elif re.fullmatch(r"(reportgen|tests|benchmarks|layouts|indicator_specs|docs)/[\w./-]*", span):
            assert (ROOT / span).exists(), f"{page.name}: `{span}` does not exist"


def test_every_benchmark_column_is_described_on_the_benchmark_table_page():
    from reportgen.stats.benchmark import BENCHMARK_COLUMNS, COMPARATOR_COLUMNS

    page = (DOCS / "benchmark-table.md").read_text(encoding="utf-8")
    for column in (*BENCHMARK_COLUMNS, *COMPARATOR_COLUMNS):
        assert f"`{column}`" in page, f"docs/benchmark-table.md does not describe the column {column}"
