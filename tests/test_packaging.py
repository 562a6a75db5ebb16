"""Packaging: the layouts, specs and reference tables are installed with the package."""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def package_data() -> dict[str, list[str]]:
    config = configparser.ConfigParser()
    config.read(PROJECT / "setup.cfg")
    return {k: [g.strip() for g in v.split(",")] for k, v in config["options.package_data"].items()}


def test_every_layout_and_spec_file_is_in_the_wheel_globs():
    globs = package_data()
    for package, folder in (
        ("reportgen.layouts", "layouts"),
        ("reportgen.indicator_specs", "indicator_specs"),
        ("reportgen", "reportgen"),
    ):
        root = PROJECT / folder
        for path in root.rglob("*"):
            relative = path.relative_to(root).as_posix()
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in relative:
                continue
            assert any(fnmatch.fnmatch(relative, g) for g in globs[package]), f"{folder}/{relative} is not packaged"


def test_console_script_and_pinned_weasyprint():
    config = configparser.ConfigParser()
    config.read(PROJECT / "setup.cfg")
    assert "reportgen = reportgen.cli:main" in config["options.entry_points"]["console_scripts"]
    requirements = config["options"]["install_requires"]
    assert "weasyprint>=70,<71" in requirements
