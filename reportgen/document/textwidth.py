"""Widths of short texts in the theme's font, so charts drawn as lines of text line up exactly.

The compare-areas charts are lines of plain text over one SVG of marks (see charts.draw_bar_panel):
names are wrapped, numbers right-aligned with fixed-width spaces and the marks placed where the
text ends, all from the advance widths in the font files the layouts ship. Widths ignore kerning,
so callers leave a small margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FIGURE_SPACE = "\u2007"  # as wide as a tabular digit
PUNCTUATION_SPACE = "\u2008"  # as wide as a full stop
THIN_SPACE = "\u2009"
HAIR_SPACE = "\u200a"
DIGITS = "0123456789"
#: Used when the theme names no readable font file: an average Latin sans-serif (units per em).
FALLBACK_ADVANCE = 0.62


@dataclass(frozen=True)
class FontWidths:
    """Advance widths, in em, of the characters of one font face; digits are tabular."""

    advances: dict[str, float]
    default: float

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` at font size ``size`` (same unit as the result)."""
        get = self.advances.get
        return size * sum(get(ch, self.default) for ch in text)


@lru_cache(maxsize=16)
def font_widths(path: str) -> FontWidths:
    """The advance widths of one font file (cached per process); digits take their tabular width."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    units = font["head"].unitsPerEm
    cmap = font.getBestCmap() or {}
    metrics = font["hmtx"].metrics
    advances = {chr(code): metrics[name][0] / units for code, name in cmap.items() if 32 <= code < 0x2100}
    figure = advances.get(FIGURE_SPACE) or max((advances.get(d, 0.0) for d in DIGITS), default=FALLBACK_ADVANCE)
    advances.update(dict.fromkeys(DIGITS, figure))  # the charts' numbers are set with tabular figures
    advances[FIGURE_SPACE] = figure
    font.close()
    return FontWidths(advances, max(advances.values(), default=FALLBACK_ADVANCE))


def fallback_widths() -> FontWidths:
    """Widths when no font file is readable: every character as wide as an average letter."""
    return FontWidths({}, FALLBACK_ADVANCE)


@lru_cache(maxsize=16)
def face_widths(files: tuple[str, ...], weight: int) -> FontWidths:
    """Widths of the upright face nearest ``weight`` among the theme's font files."""
    faces = []
    for path in files:
        face = _face(path)
        if face is not None:
            faces.append(face)
    upright = [f for f in faces if not f[1]] or faces
    if not upright:
        return fallback_widths()
    best = min(upright, key=lambda f: (abs(f[0] - weight), f[2]))
    return font_widths(best[2])


def _face(path: str) -> tuple[int, bool, str] | None:
    """(weight, italic, path) of a font file, or ``None`` when it cannot be read as a font."""
    if not Path(path).is_file():
        return None
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(path, lazy=True)
        os2 = font["OS/2"]
        face = (int(os2.usWeightClass), bool(os2.fsSelection & 1), path)
        font.close()
        return face
    except Exception:  # any unreadable file: measured with the fallback widths instead
        return None


def pad_left(texts: list[str], widths: FontWidths | list[FontWidths]) -> list[str]:
    """Right-align texts by putting fixed-width spaces before them; ``widths`` is one face for all
    texts or one face per text (a bold line among regular ones ends where they end)."""
    faces = widths if isinstance(widths, list) else [widths] * len(texts)
    measured = [face.width(t, 1.0) for face, t in zip(faces, texts, strict=True)]
    target = max(measured, default=0.0)
    return [spaces(target - width, face) + text for text, width, face in zip(texts, measured, faces, strict=True)]


def spaces(gap: float, widths: FontWidths) -> str:
    """Fixed-width spaces (figure, full-stop, thin, hair) filling at most ``gap`` em."""
    out = ""
    for space in (FIGURE_SPACE, PUNCTUATION_SPACE, THIN_SPACE, HAIR_SPACE):
        size = widths.width(space, 1.0)
        if size > 0 and gap > 0:
            count = int((gap + 1e-9) // size)
            out += space * count
            gap -= count * size
    return out


def wrap(text: str, limit: float, widths: FontWidths, size: float) -> list[str]:
    """Split ``text`` at spaces into lines at most ``limit`` wide (a single long word stays whole)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and widths.width(f"{lines[-1]} {word}", size) <= limit:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def columns(
    head: list[str], rows: list[list[str]], right: list[bool], body: FontWidths, bold: FontWidths, gap: str = "  "
) -> tuple[str, list[str]]:
    """Lay out cells as columns inside one line of text each (set ``white-space: pre``).

    ``right[i]`` right-aligns column ``i`` (numbers), else it is left-aligned; the titles in ``head``
    (measured in the ``bold`` face) sit over their columns the same way. Returns the title line and one
    line per row.
    """
    widths = [max([bold.width(title, 1.0)] + [body.width(row[i], 1.0) for row in rows]) for i, title in enumerate(head)]

    def line(cells: list[str], face: FontWidths) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            fill = spaces(width - face.width(cell, 1.0), face) if i < len(cells) - 1 or right[i] else ""
            out.append(fill + cell if right[i] else cell + fill)
        between = gap if face is body else spaces(body.width(gap, 1.0), face)  # as wide as the rows' gap
        return between.join(out)

    return line(head, bold), [line(row, body) for row in rows]


NBSP = "\u00a0"
#: Short words that never end or start a line of a name alone ('City / of', 'Isles / of Scilly').
CONNECTORS = frozenset({"of", "upon", "and", "on", "the", "in", "with", "&"})


def glue_connectors(name: str) -> str:
    """A name with a non-breaking space after each connecting word (and before a final one), so that it
    wraps between whole parts: 'Kingston upon Hull, / City of', never 'City / of' or 'Isles of / Scilly'."""
    words = name.split(" ")
    out = words[:1]
    for previous, word in zip(words, words[1:], strict=False):
        last = word is words[-1]
        joined = previous.lower() in CONNECTORS or (last and word.lower() in CONNECTORS)
        out[-1:] = [f"{out[-1]}{NBSP}{word}"] if joined else [out[-1], word]
    return " ".join(out)


def wrap_name(text: str, limit: float, widths: FontWidths, size: float) -> list[str]:
    """:func:`wrap` a name between whole parts (see :func:`glue_connectors`); lines keep plain spaces."""
    return [line.replace(NBSP, " ") for line in wrap(glue_connectors(text), limit, widths, size)]
