"""The package's layout is its pipeline: each stage imports only the stages before it.

    core       shared by every stage: errors, specs, geography, periods, formats, safe files
    sources    stage 1: data files, the Fingertips API, derived series
    stats      stage 2: intervals, comparisons, benchmarks, trends, spines, demonstration data
    document   stage 3: view model, wording, charts, HTML, PDF, PDF checks
    publish    stage 4: prepare inputs, render an area, write files, the national run
    cli        on top: parses options, calls publish, prints

There are no exemptions: a late import inside a function counts like one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
STAGES = ["core", "sources", "stats", "document", "publish", "cli"]
#: Top-level modules and the stage they belong to.
TOP_LEVEL = {"__init__": "core", "cli": "cli", "__main__": "cli"}
#: Each heavy library is used by one module only.
OWNERS = {
    "click": {"cli"},
    "jinja2": {"document.render"},
    "weasyprint": {"document.render"},
    "matplotlib": {"document.charts"},
    "pikepdf": {"document.pdfcheck"},
    "fontTools": {"document.textwidth"},
    "requests": {"sources.http"},
    "urllib3": {"sources.http"},
    "openpyxl": {"publish.tables"},
    "dask": {"publish.national"},
    "distributed": {"publish.national"},
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def stage_of(module: str) -> str:
    head = module.split(".")[0]
    if head in TOP_LEVEL:
        return TOP_LEVEL[head]
    assert head in STAGES, f"reportgen/{head} is in no stage: put it in one of {STAGES}"
    return head


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, late ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = dotted(path).rsplit(".", 1)[0] if "." in dotted(path) else ""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = ["reportgen", *package.split(".")] if package else ["reportgen"]
                base = ".".join(parts[: len(parts) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name == "reportgen" or name.startswith("reportgen."):
                # from reportgen.x import y: y may be a module
                found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, name))
    return found


def internal_target(name: str) -> str | None:
    """The reportgen module an import names ('stats.ci'), or None for outside libraries."""
    if not name.startswith("reportgen."):
        return None
    parts = name.split(".")[1:]
    while parts and not (PACKAGE.joinpath(*parts).with_suffix(".py").exists() or PACKAGE.joinpath(*parts).is_dir()):
        parts.pop()  # from reportgen.core.errors import DataError -> core.errors
    return ".".join(parts) or "__init__"


def test_every_module_is_in_a_stage():
    for path in modules():
        stage_of(dotted(path))


@pytest.mark.parametrize("path", modules(), ids=dotted)
def test_imports_follow_the_stage_order(path):
    mine = stage_of(dotted(path))
    for line, name in imported(path):
        target = internal_target(name)
        if target is None:
            continue
        theirs = stage_of(target)
        assert STAGES.index(theirs) <= STAGES.index(mine), (
            f"reportgen/{path.relative_to(PACKAGE)}:{line}: the {mine} stage imports {target} "
            f"(stage {theirs}), which comes after it"
        )


@pytest.mark.parametrize("path", modules(), ids=dotted)
def test_heavy_libraries_stay_in_their_module(path):
    mine = dotted(path)
    for line, name in imported(path):
        root = name.split(".")[0]
        if root in OWNERS:
            assert mine in OWNERS[root], f"reportgen/{path.relative_to(PACKAGE)}:{line} imports {name}"


def test_benchmarks_are_not_in_the_package():
    assert not list(PACKAGE.rglob("*bench*.py")) or all(
        p.name == "benchmark.py" for p in PACKAGE.rglob("*bench*.py")
    ), "benchmark scripts belong in benchmarks/"


def test_the_check_catches_a_backward_import(tmp_path):
    """The rule is not vacuous: an import from a later stage is found."""
    probe = PACKAGE / "stats" / "_probe_backward.py"
    probe.write_text("from reportgen.document.view import comparison\n", encoding="utf-8")
    try:
        ((line, name),) = imported(probe)
        assert stage_of(internal_target(name)) == "document"
        assert STAGES.index("document") > STAGES.index(stage_of(dotted(probe)))
    finally:
        probe.unlink()
