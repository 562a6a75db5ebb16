"""The view model between the statistics and every renderer.

A :class:`Comparison` is one Fingertips comparison result typed once: its kind (better, worse,
similar, higher, lower, quintile, not compared), significance level and quintile. It knows its
exact Fingertips label (for data outputs), its wording key (display text lives in the layouts'
``wording.yaml``) and its palette colour. Nothing downstream matches label prefixes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reportgen.core.errors import RenderError
from reportgen.document.models import Marker, Theme
from reportgen.stats.compare import (
    BOB_LABELS,
    NOT_COMPARED,
    QUINTILE_LABELS_BOB,
    QUINTILE_LABELS_RAG,
    RAG_LABELS,
    SIMILAR,
)

JUDGED_POLARITIES = ("high_is_good", "low_is_good")
SHAPES = {"better": "^", "higher": "^", "worse": "v", "lower": "v", "similar": "o", "quintile": "s"}
GLYPHS = {"^": "▲", "v": "▼", "o": "●", "s": "■", "": "○"}
BUCKETS = ("better", "similar", "worse", "not_compared")
_LEVEL_KEYS = {"99.8%": "998", "95%": "95", "": ""}
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")


@dataclass(frozen=True)
class Comparison:
    """One comparison result: what it is, how it is labelled in data and shown in the document."""

    label: str  # Fingertips' exact label, e.g. 'Better 95%', 'Worst quintile'
    kind: str  # better, worse, similar, higher, lower, quintile, not_compared
    level: str = ""  # '95%', '99.8%' or '' (one level)
    quintile: int = 0  # 1..5 from best (judged) or lowest (unjudged); 0 when not a quintile
    judged: bool = True  # quintiles: a better/worse judgement applies (purple) or not (blue)

    @property
    def key(self) -> str:
        """Wording key: better_998, similar, quintile_judged_1, not_compared ..."""
        if self.kind == "quintile":
            return f"quintile_{'judged' if self.judged else 'unjudged'}_{self.quintile}"
        level = _LEVEL_KEYS[self.level]
        return f"{self.kind}_{level}" if level else self.kind

    @property
    def shape(self) -> str:
        """Greyscale-safe marker: ^ better/higher, v worse/lower, o similar, s quintile, '' not compared."""
        return SHAPES.get(self.kind, "")

    @property
    def glyph(self) -> str:
        return GLYPHS[self.shape]

    @property
    def strength(self) -> bool:
        """Significantly better than the benchmark, or in the best quintile."""
        return self.kind == "better" or (self.kind == "quintile" and self.judged and self.quintile == 1)

    @property
    def to_develop(self) -> bool:
        """Significantly worse than the benchmark, or in the worst quintile."""
        return self.kind == "worse" or (self.kind == "quintile" and self.judged and self.quintile == 5)

    @property
    def bucket(self) -> str:
        """Page-1 count column; strengths count as better and areas to develop as worse, so both agree."""
        if self.strength:
            return "better"
        if self.to_develop:
            return "worse"
        return "similar" if self.kind == "similar" else "not_compared"

    @property
    def strong(self) -> bool:
        """At the 99.8% level (listed first among key messages)."""
        return self.level == "99.8%"

    def colour(self, theme: Theme) -> str:
        palette = theme.palette
        if self.kind == "quintile":
            colours = palette.quintiles_judged if self.judged else palette.quintiles_unjudged
            return colours[self.quintile - 1]
        return palette.comparison.get(self.label, palette.comparison[NOT_COMPARED])

    def marker(self, theme: Theme) -> Marker:
        return Marker(self.label, self.colour(theme), self.shape or "o")


def comparison(label: object, polarity: str = "high_is_good") -> Comparison:
    """Type a Fingertips comparison label (from the benchmark table) once."""
    text = NOT_COMPARED if label is None or not isinstance(label, str) else label
    judged = polarity in JUDGED_POLARITIES
    if text in QUINTILE_LABELS_RAG and (judged or text not in QUINTILE_LABELS_BOB):
        return Comparison(text, "quintile", quintile=QUINTILE_LABELS_RAG.index(text) + 1, judged=True)
    if text in QUINTILE_LABELS_BOB:
        return Comparison(text, "quintile", quintile=QUINTILE_LABELS_BOB.index(text) + 1, judged=False)
    if text == SIMILAR:
        return Comparison(text, "similar")
    word, _, level = text.partition(" ")
    if word.lower() in ("better", "worse", "higher", "lower") and level in _LEVEL_KEYS:
        return Comparison(text, word.lower(), level)
    return Comparison(NOT_COMPARED, "not_compared")


NOT_COMPARED_RESULT = Comparison(NOT_COMPARED, "not_compared")
#: Every result a comparison can produce, by wording key (for legends).
RESULTS_BY_KEY = {
    r.key: r
    for r in (
        *(comparison(label) for label in (*RAG_LABELS, *BOB_LABELS)),
        *(Comparison(label, "quintile", quintile=i + 1, judged=True) for i, label in enumerate(QUINTILE_LABELS_RAG)),
        *(Comparison(label, "quintile", quintile=i + 1, judged=False) for i, label in enumerate(QUINTILE_LABELS_BOB)),
        NOT_COMPARED_RESULT,
    )
}


# --------------------------------------------------------------------------- wording


@dataclass(frozen=True)
class Wording:
    """Display wording from the layouts' ``wording.yaml`` (a council's file overrides single keys)."""

    sections: Mapping[str, Mapping[str, str]]
    path: str

    def text(self, section: str, key: str, **values: object) -> str:
        """One piece of wording with ``{placeholders}`` filled in (only known names; no attribute access)."""
        try:
            template = self.sections[section][key]
        except KeyError:
            raise RenderError(f"{self.path}: wording {section}.{key} is missing; add it to wording.yaml.") from None

        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name not in values:
                raise RenderError(
                    f"{self.path}: wording {section}.{key} uses {{{name}}}; "
                    f"available: {', '.join('{' + v + '}' for v in values) or 'none'}."
                )
            return str(values[name])

        return _PLACEHOLDER.sub(fill, template)

    def label(self, result: Comparison) -> str:
        return self.text("labels", result.key)

    def short(self, result: Comparison) -> str:
        return self.text("short_labels", result.key)

    def phrase(self, result: Comparison, benchmark: str, value: str) -> str:
        """``significantly better than England (67.1%)``, ``in the best quintile of authorities (...)``."""
        if result.kind == "quintile":
            return self.text(
                "phrases", "quintile", quintile=self.label(result).lower(), benchmark=benchmark, value=value
            )
        level = self.text("phrases", "level_998") if result.level == "99.8%" else ""
        return self.text("phrases", result.kind, benchmark=benchmark, value=value, level=level)


def load_wording(search_path: Sequence[Path]) -> Wording:
    """The packaged wording (last folder) overlaid with each earlier folder's ``wording.yaml``."""
    merged: dict[str, dict[str, str]] = {}
    used = []
    for directory in reversed(list(search_path)):
        path = directory / "wording.yaml"
        if not path.is_file():
            continue
        used.append(path)
        for section, entries in _read_wording(path, merged).items():
            merged.setdefault(section, {}).update(entries)
    if not used:
        raise RenderError("No wording.yaml found in the layouts folders.")
    return Wording(merged, str(used[-1]))


def _read_wording(path: Path, known: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RenderError(f"{path}: not a readable YAML file ({exc}).") from None
    if not isinstance(raw, dict):
        raise RenderError(f"{path}: wording.yaml must map section names to key: text pairs.")
    out: dict[str, dict[str, str]] = {}
    for section, entries in raw.items():
        if known and section not in known:
            raise RenderError(f"{path}: unknown wording section {section!r}; use one of: {', '.join(known)}.")
        if not isinstance(entries, dict):
            raise RenderError(f"{path}: {section}: must map keys to text.")
        for key, value in entries.items():
            if known and key not in known[section]:
                raise RenderError(f"{path}: unknown wording key {section}.{key}.")
            if not isinstance(value, str):
                raise RenderError(f"{path}: {section}.{key}: must be text (put it in quotes).")
        out[str(section)] = {str(k): v for k, v in entries.items()}
    return out


# --------------------------------------------------------------------------- theme to CSS


def css_variables(theme: Theme) -> str:
    """CSS custom properties from the theme, so headings, rules and swatches follow the palette."""
    palette = theme.palette
    colours = {
        "accent": palette.accent,
        "england": palette.england,
        "region": palette.region,
        "spine-outer": palette.spine_outer,
        "spine-inner": palette.spine_inner,
        "bar": palette.bar,
        "trend-england": palette.trend_england,
        "better": palette.comparison.get("Better", palette.accent),
        "worse": palette.comparison.get("Worse", palette.accent),
    }
    for name, value in colours.items():
        if not _COLOUR.match(value):
            raise RenderError(
                f"theme.yaml: palette {palette.name!r}: colour {name.replace('-', '_')} is {value!r}; "
                'use a hex colour such as "#0B5A6B".'
            )
    colours["tint"] = accent_tint(theme)
    return ":root { " + " ".join(f"--{k}: {v};" for k, v in colours.items()) + " }"


def accent_tint(theme: Theme) -> str:
    """The light band behind the profile's own authority in tables and compare-areas charts."""
    return _mix_with_white(theme.palette.accent, 0.9)


def _mix_with_white(colour: str, share: float) -> str:
    """A light tint of a colour (table bands in the accent's hue)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * share):02X}" for c in rgb)


def text_colour(background: str) -> str:
    """Black or white text, whichever contrasts more with the background (WCAG luminance)."""
    rgb = [int(background.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#FFFFFF"


def badge(result: Comparison, theme: Theme, wording: Wording) -> dict[str, Any]:
    """Template data of a comparison badge: Fingertips label, display labels, glyph and colours."""
    colour = result.colour(theme)
    return {
        "label": wording.label(result),
        "short": wording.short(result),
        "fingertips": result.label,
        "key": result.key,
        "glyph": result.glyph,
        "colour": colour,
        "text_colour": text_colour(colour),
    }


# --------------------------------------------------------------------------- one indicator, once


@dataclass(frozen=True)
class IndicatorView:
    """One indicator for one area, built once and read by the templates, the brief and any other writer.

    ``result`` and ``region_result`` are the typed comparisons; ``text`` holds every value already
    formatted for display (templates read them as attributes, e.g. ``ind.value``).
    """

    id: str
    domain: str
    result: Comparison
    region_result: Comparison
    has_value: bool
    text: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["text"][name]
        except KeyError:
            raise AttributeError(name) from None
