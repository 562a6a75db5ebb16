"""Locations of the packaged layouts, indicator specs and reference tables."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_dir(package: str) -> Path:
    return Path(str(files(package)))


def default_layouts_dir() -> Path:
    """Directory of the packaged Jinja2 templates, CSS and fonts."""
    return _package_dir("reportgen.layouts")


def default_specs_dir() -> Path:
    """Directory of the packaged indicator catalogue (one YAML file per indicator)."""
    return _package_dir("reportgen.indicator_specs")


def reference_table(name: str) -> Path:
    """Path of a reference CSV shipped in ``reportgen/data``."""
    return _package_dir("reportgen") / "data" / name
