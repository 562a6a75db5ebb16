"""Read the theme (fonts, palettes, branding) from the layouts folders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from .errors import RenderError
from .models import Palette, Theme
from .stats.compare import BOB_LABELS, NOT_COMPARED, RAG_LABELS
from .yamlsafe import load_yaml_file

REQUIRED_LABELS = (*RAG_LABELS, *BOB_LABELS, NOT_COMPARED)
_PALETTE_KEYS = ("spine_outer", "spine_inner", "england", "region", "bar", "trend_england", "accent")


def _theme_file(search_path: Sequence[Path]) -> Path:
    for directory in search_path:
        if (directory / "theme.yaml").is_file():
            return directory / "theme.yaml"
    raise RenderError("No theme.yaml found in the layouts folders.")


def load_theme(search_path: Sequence[Path], palette: str | None = None) -> Theme:
    """The theme from the first layouts folder that has ``theme.yaml``, with the chosen palette."""
    path = _theme_file(search_path)
    try:
        raw = load_yaml_file(path, what="theme") or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: YAML syntax error: {exc}") from None
    palettes = raw.get("palettes") or {}
    name = palette or raw.get("default_palette") or "fingertips"
    if name not in palettes:
        raise RenderError(f"{path}: no palette named {name!r}; available: {', '.join(palettes) or 'none'}.")
    font = raw.get("font") or {}
    files = tuple(_font_paths(search_path, font.get("files") or (), path))
    return Theme(
        font_family=str(font.get("family") or "sans-serif"),
        font_files=files,
        palette=_palette(path, name, palettes[name]),
        organisation=str(raw.get("organisation") or ""),
        logo=str(raw.get("logo") or ""),
        logo_alt=str(raw.get("logo_alt") or ""),
    )


def _font_paths(search_path: Sequence[Path], names, theme_path: Path):
    for name in names:
        for directory in search_path:
            candidate = directory / name
            if candidate.is_file():
                yield str(candidate.resolve())
                break
        else:
            raise RenderError(f"{theme_path}: font file {name!r} not found in the layouts folders.")


def _palette(path: Path, name: str, raw: dict) -> Palette:
    comparison = {str(k): str(v) for k, v in (raw.get("comparison") or {}).items()}
    missing = [label for label in REQUIRED_LABELS if label not in comparison]
    missing += [key for key in (*_PALETTE_KEYS, "quintiles_judged", "quintiles_unjudged") if key not in raw]
    if missing:
        raise RenderError(f"{path}: palette {name!r} is missing: {', '.join(missing)}.")
    for key in ("quintiles_judged", "quintiles_unjudged"):
        if len(raw[key]) != 5:
            raise RenderError(f"{path}: palette {name!r}: {key} needs exactly 5 colours.")
    return Palette(
        name=name,
        title=str(raw.get("title") or name),
        comparison=comparison,
        quintiles_judged=tuple(raw["quintiles_judged"]),
        quintiles_unjudged=tuple(raw["quintiles_unjudged"]),
        **{key: str(raw[key]) for key in _PALETTE_KEYS},
    )
