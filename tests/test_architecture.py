"""Module boundaries: data flows one way, and each heavy library is used by one stage only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
OWNERS = {
    "click": {"cli"},
    "jinja2": {"render"},
    "weasyprint": {"render"},
    "matplotlib": {"charts"},
    "pikepdf": {"pdfcheck"},
    "fontTools": {"textwidth"},
}
# A stage may import only stages to its left (and the shared modules).
ORDER = [
    "specs", "geography", "data", "derive", "stats", "sources", "demo", "view", "compose", "charts", "context", "theme", "render", "pdfcheck",
    "fingerprint", "changes", "site", "pipeline", "national", "cli", "bench", "national_bench", "__main__",
]  # fmt: skip
SHARED = {"errors", "models", "assets", "formatting", "periods", "narrative", "output", "yamlsafe", "textwidth", "__init__"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
    return names


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    return relative.parts[0]


def test_heavy_libraries_stay_in_their_stage():
    for path in PACKAGE.rglob("*.py"):
        for name in imports_of(path):
            root = name.split(".")[0]
            if root in OWNERS:
                assert module_name(path) in OWNERS[root], f"{path.name} imports {name}"


def test_stages_only_import_earlier_stages():
    for path in PACKAGE.rglob("*.py"):
        mine = module_name(path)
        if mine not in ORDER:
            continue
        for name in imports_of(path):
            if not name.startswith("."):
                continue
            target = name.lstrip(".").split(".")[0] or "stats"
            if path.parent != PACKAGE and name.startswith(".."):
                target = name[2:].split(".")[0] or "__init__"
            elif path.parent != PACKAGE:
                continue  # inside the stats subpackage
            if target in SHARED or target == mine:
                continue
            assert target in ORDER, f"{path.name} imports unknown module {target}"
            assert ORDER.index(target) < ORDER.index(mine), f"{mine} must not import {target}"
