"""Read the theme (fonts, palettes, branding) from the layouts folders, and the files they may hold.

Every file read from a layouts folder goes through :func:`layout_file`: after following links it must
be a regular file inside that folder and not larger than :data:`MAX_TEXT_BYTES` (templates, CSS,
theme) or :data:`MAX_BINARY_BYTES` (fonts, images).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from reportgen.core.errors import RenderError
from reportgen.core.yamlsafe import load_yaml_file
from reportgen.document.models import Neutrals, Palette, Publisher, Sizes, Theme
from reportgen.stats.compare import BOB_LABELS, NOT_COMPARED, RAG_LABELS

REQUIRED_LABELS = (*RAG_LABELS, *BOB_LABELS, NOT_COMPARED)
_PALETTE_KEYS = ("spine_outer", "spine_inner", "england", "region", "bar", "trend_england", "accent")
MAX_TEXT_BYTES = 1024 * 1024
MAX_BINARY_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = frozenset({".j2", ".html", ".htm", ".css", ".yaml", ".yml", ".txt", ".md", ".json"})
COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{3}){1,2}")


# --- Files inside a layouts folder -------------------------------------------------------------


def size_limit(path: Path) -> int:
    """Largest size allowed for a layouts file: 1 MB for text (templates, CSS, theme), 20 MB otherwise."""
    return MAX_TEXT_BYTES if path.suffix.lower() in TEXT_SUFFIXES else MAX_BINARY_BYTES


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` is inside ``directory`` once both are resolved (links followed)."""
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except (OSError, ValueError, RuntimeError):
        return False


class LayoutFileError(RenderError):
    """A layouts file that may not be read; ``reason`` says why without naming the file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def layout_file(directory: Path, name: str | Path) -> Path | None:
    """The resolved path of ``name`` in one layouts folder, ``None`` if it is not there.

    Raises :class:`LayoutFileError` when the file leads outside the folder (an absolute path, ``..``
    or a link), is not a regular file (a FIFO, device or folder) or is larger than allowed.
    """
    candidate = directory / name
    try:
        if not candidate.exists() and not candidate.is_symlink():
            return None
        resolved = candidate.resolve()
        info = resolved.stat()
    except (OSError, ValueError, RuntimeError):
        raise LayoutFileError(candidate, "cannot be read (a broken link or a bad name).") from None
    if not resolved.is_relative_to(directory.resolve()):
        raise LayoutFileError(
            candidate,
            f"leads outside the layouts folder {directory} (a link, an absolute path or '..'); "
            "copy the file into the layouts folder instead.",
        )
    if not stat.S_ISREG(info.st_mode):
        raise LayoutFileError(candidate, "is not a regular file; layouts folders hold only ordinary files.")
    check_size(candidate, info.st_size)
    return resolved


def check_size(path: Path, size: int) -> None:
    """Refuse a layouts file larger than its :func:`size_limit`."""
    limit = size_limit(path)
    if size > limit:
        raise LayoutFileError(
            path,
            f"{size:,} bytes is more than the {limit // (1024 * 1024)} MB allowed for this kind of layouts "
            "file; make it smaller or remove it from the layouts folder.",
        )


def find_layout_file(search_path: Sequence[Path], name: str | Path) -> Path | None:
    """The first layouts folder's copy of ``name`` (checked by :func:`layout_file`), or ``None``."""
    for directory in search_path:
        found = layout_file(directory, name)
        if found is not None:
            return found
    return None


# --- theme.yaml schema -----------------------------------------------------------------------


def _colour(value: str) -> str:
    if not COLOUR.fullmatch(value):
        raise PydanticCustomError("colour", "{value} is not a colour; use #RRGGBB", {"value": repr(value)})
    if len(value) == 4:  # "#abc" -> "#aabbcc": charts and contrast checks need six digits
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


Colour = Annotated[str, AfterValidator(_colour)]
FiveColours = Annotated[list[Colour], Field(min_length=5, max_length=5)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PaletteFile(_Strict):
    """One palette as written in theme.yaml; every key optional so that a theme can override a few."""

    title: str | None = None
    comparison: dict[str, Colour] | None = None
    quintiles_judged: FiveColours | None = None
    quintiles_unjudged: FiveColours | None = None
    spine_outer: Colour | None = None
    spine_inner: Colour | None = None
    england: Colour | None = None
    region: Colour | None = None
    bar: Colour | None = None
    trend_england: Colour | None = None
    accent: Colour | None = None


class NeutralsFile(_Strict):
    """The ``neutrals`` block of theme.yaml: colours shared by every palette."""

    ink: Colour | None = None
    muted: Colour | None = None
    rule: Colour | None = None
    table_rule: Colour | None = None
    data_rule: Colour | None = None
    chart_rule: Colour | None = None
    grid: Colour | None = None
    axis: Colour | None = None
    badge_border: Colour | None = None
    note_rule: Colour | None = None
    banner: Colour | None = None
    unjudged_arrow: Colour | None = None


Millimetres = Annotated[float, Field(gt=0, le=200)]


class SizesFile(_Strict):
    """The ``sizes`` block of theme.yaml, in millimetres (``small_text_pt`` in points)."""

    col_left: Millimetres | None = None
    col_right: Millimetres | None = None
    trend_height: Millimetres | None = None
    spine_width: Millimetres | None = None
    spine_height: Millimetres | None = None
    small_text_pt: Annotated[float, Field(ge=6, le=14)] | None = None
    data_cell_padding: Annotated[float, Field(ge=0, le=5)] | None = None


class FontFile(_Strict):
    """The ``font`` block of theme.yaml."""

    family: Annotated[str, Field(pattern=r"^[^;{}<>\"'\\]+$", max_length=100)] | None = None
    files: list[str] | None = None


_ADDRESS_PART = r"[^@\s<>\"'\\(),;:]+"  # no spaces, quotes, angle brackets: safe to print and to link
WebAddress = Annotated[str, Field(pattern=r"^(https?://[^\s<>\"'\\]+)?$", max_length=300)]
EmailAddress = Annotated[str, Field(pattern=rf"^({_ADDRESS_PART}@{_ADDRESS_PART}\.[A-Za-z]{{2,}})?$", max_length=200)]
PublisherText = Annotated[str, Field(max_length=300)]


class PublisherFile(_Strict):
    """The ``publisher`` block of theme.yaml: who publishes the profiles, contact, licence and attribution."""

    name: PublisherText | None = None
    url: WebAddress | None = None
    contact_email: EmailAddress | None = None
    contact_url: WebAddress | None = None
    publication_url: WebAddress | None = None
    licence: PublisherText | None = None
    licence_url: WebAddress | None = None
    attribution: Annotated[list[PublisherText], Field(max_length=12)] | None = None


class ThemeFile(_Strict):
    """A theme.yaml file: branding, fonts and palettes; every key optional."""

    organisation: Annotated[str, Field(max_length=300)] | None = None
    logo: str | None = None
    logo_alt: Annotated[str, Field(max_length=300)] | None = None
    publisher: PublisherFile | None = None
    font: FontFile | None = None
    neutrals: NeutralsFile | None = None
    sizes: SizesFile | None = None
    default_palette: str | None = None
    palettes: dict[str, PaletteFile] | None = None


_FRIENDLY = {
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "list_type": "must be a list",
    "string_type": "must be text (put it in quotes)",
    "extra_forbidden": "is not a theme key; check the spelling against the packaged theme.yaml",
    "too_short": "needs exactly 5 colours",
    "too_long": "needs exactly 5 colours",
    "string_pattern_mismatch": "may not hold any of ; { } < > \" ' \\",
    "float_type": "must be a number",
    "greater_than": "must be more than 0",
}
#: Messages of keys whose text must have a form (checked by a pattern), by the key's last part.
_PATTERN_MESSAGES = {
    "contact_email": "must be an email address such as health.intelligence@example.gov.uk",
    "url": "must be a web address starting https:// (or http://), without spaces or quotes",
}


def _validation_message(path: Path, exc: ValidationError) -> RenderError:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        text = _FRIENDLY.get(error["type"], error["msg"])
        if error["type"] in ("too_short", "too_long") and "quintiles" not in key:
            text = error["msg"]
        if error["type"] == "string_pattern_mismatch" and key.startswith("publisher."):
            last = key.rpartition(".")[2]
            text = _PATTERN_MESSAGES["contact_email" if last == "contact_email" else "url"]
        if error["type"] == "string_too_long":
            text = error["msg"]
        problems.append(f"{path}: {key}: {text}")
    return RenderError("\n".join(problems))


def _check_theme_file(path: Path, raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise RenderError(f"{path}: the top level must be keys such as organisation, font and palettes.")
    try:
        ThemeFile.model_validate(raw)
    except ValidationError as exc:
        raise _validation_message(path, exc) from None
    for name, palette in (raw.get("palettes") or {}).items():
        _check_labels(path, name, (palette or {}).get("comparison") or {})
    return raw


def _check_labels(path: Path, name: str, comparison: dict) -> None:
    unknown = [label for label in comparison if label not in REQUIRED_LABELS]
    if unknown:
        raise RenderError(
            f"{path}: palettes.{name}.comparison: unknown label(s) {', '.join(map(repr, unknown))}; "
            f"the labels are {', '.join(dict.fromkeys(REQUIRED_LABELS))}."
        )


# --- Loading and merging ---------------------------------------------------------------------


def _read_theme_yaml(path: Path) -> dict:
    try:
        raw = load_yaml_file(path, what="theme") or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: YAML syntax error: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
    return _check_theme_file(path, raw)


def merge_into(base: dict, override: dict, origin: Path, origins: dict[str, Path], prefix: str = "") -> None:
    """Deep-merge ``override`` into ``base``: mappings key by key, lists and values replaced.

    ``origins`` records, for each dotted key set, the file that set it (for error messages).
    """
    for key, value in override.items():
        dotted = f"{prefix}{key}"
        if value is None:  # "key:" with nothing after it keeps the default
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value, origin, origins, dotted + ".")
        else:
            base[key] = copy.deepcopy(value)
            for known in [k for k in origins if k == dotted or k.startswith(dotted + ".")]:
                del origins[known]
            origins[dotted] = origin


def _origin(origins: dict[str, Path], dotted: str, fallback: Path) -> Path:
    while dotted:
        if dotted in origins:
            return origins[dotted]
        dotted = dotted.rpartition(".")[0]
    return fallback


def merged_theme(search_path: Sequence[Path]) -> tuple[dict, dict[str, Path], Path]:
    """The packaged theme.yaml with each user folder's theme.yaml merged over it (first folder wins)."""
    merged: dict = {}
    origins: dict[str, Path] = {}
    last = None
    for directory in reversed(search_path):
        path = layout_file(directory, "theme.yaml")
        if path is None:
            continue
        last = path
        merge_into(merged, _read_theme_yaml(path), path, origins)
    if last is None:
        raise RenderError("No theme.yaml found in the layouts folders.")
    return merged, origins, last


def load_theme(search_path: Sequence[Path], palette: str | None = None) -> Theme:
    """The merged theme of the layouts folders, with the chosen palette."""
    raw, origins, last = merged_theme(search_path)
    palettes = raw.get("palettes") or {}
    name = palette or raw.get("default_palette") or "fingertips"
    if name not in palettes:
        where = _origin(origins, "default_palette", last) if not palette else last
        raise RenderError(f"{where}: no palette named {name!r}; available: {', '.join(palettes) or 'none'}.")
    font = raw.get("font") or {}
    files = tuple(_font_paths(search_path, font.get("files") or (), _origin(origins, "font.files", last)))
    logo = str(raw.get("logo") or "")
    if logo:
        _asset(search_path, logo, _origin(origins, "logo", last), "logo")
    return Theme(
        font_family=str(font.get("family") or "sans-serif"),
        font_files=files,
        palette=_palette(_origin(origins, f"palettes.{name}", last), name, palettes[name]),
        neutrals=_neutrals(_origin(origins, "neutrals", last), raw),
        sizes=_sizes(_origin(origins, "sizes", last), raw),
        organisation=str(raw.get("organisation") or ""),
        logo=logo,
        logo_alt=str(raw.get("logo_alt") or ""),
        publisher=_publisher(raw),
    )


def _publisher(theme: dict) -> Publisher:
    """Who publishes the profiles (theme.yaml ``publisher``, validated by :class:`PublisherFile`)."""
    raw = theme.get("publisher") or {}
    texts = {
        f.name: " ".join(str(raw.get(f.name) or "").split())
        for f in dataclasses.fields(Publisher)
        if f.name != "attribution"
    }
    lines = tuple(" ".join(str(line).split()) for line in raw.get("attribution") or ())
    return Publisher(**texts, attribution=tuple(line for line in lines if line))


def _asset(search_path: Sequence[Path], name: str, theme_path: Path, key: str) -> Path:
    try:
        found = find_layout_file(search_path, name)
    except LayoutFileError as exc:
        raise RenderError(f"{theme_path}: {key}: {name!r} {exc.reason}") from None
    if found is None:
        raise RenderError(f"{theme_path}: {key}: file {name!r} not found in the layouts folders.")
    return found


def _font_paths(search_path: Sequence[Path], names: Sequence[str], theme_path: Path) -> Iterator[str]:
    for index, name in enumerate(names):
        yield str(_asset(search_path, name, theme_path, f"font.files[{index}]"))


def _palette(path: Path, name: str, raw: dict) -> Palette:
    comparison = {str(k): str(v) for k, v in (raw.get("comparison") or {}).items()}
    missing = [label for label in dict.fromkeys(REQUIRED_LABELS) if label not in comparison]
    missing += [key for key in (*_PALETTE_KEYS, "quintiles_judged", "quintiles_unjudged") if key not in raw]
    if missing:
        raise RenderError(f"{path}: palette {name!r} is missing: {', '.join(missing)}.")
    comparison = {label: _colour(colour) for label, colour in comparison.items()}
    return Palette(
        name=name,
        title=str(raw.get("title") or name),
        comparison=comparison,
        quintiles_judged=tuple(_colour(c) for c in raw["quintiles_judged"]),
        quintiles_unjudged=tuple(_colour(c) for c in raw["quintiles_unjudged"]),
        **{key: _colour(str(raw[key])) for key in _PALETTE_KEYS},
    )


def _block(path: Path, theme: dict, block: str, names: Sequence[str]) -> dict:
    """One block of the merged theme (``neutrals``, ``sizes``) with every one of its keys."""
    raw = theme.get(block) or {}
    missing = [name for name in names if raw.get(name) is None]
    if missing:
        raise RenderError(f"{path}: {block} is missing: {', '.join(missing)}.")
    return raw


def _neutrals(path: Path, theme: dict) -> Neutrals:
    """The neutral colours (the same in every palette), shared by the stylesheet and the charts."""
    names = [f.name for f in dataclasses.fields(Neutrals)]
    raw = _block(path, theme, "neutrals", names)
    return Neutrals(**{name: _colour(str(raw[name])) for name in names})


def _sizes(path: Path, theme: dict) -> Sizes:
    """The sizes shared by the stylesheet and the charts, in millimetres (text in points)."""
    names = [f.name for f in dataclasses.fields(Sizes)]
    raw = _block(path, theme, "sizes", names)
    return Sizes(**{name: float(raw[name]) for name in names})
