"""Errors and problem reports: what went wrong, where, and what to do about it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0xA0:
        return f"\\x{code:02x}"
    if char != " " and unicodedata.category(char) in ("Cf", "Zl", "Zp", "Zs", "Cs", "Co", "Cn"):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


MAX_SHOWN = 1_000  # characters of one message; a huge value from the data is shortened in the middle

#: Bidirectional controls (embeddings, overrides, isolates and marks: U+202A..U+202E, U+2066..U+2069,
#: U+200E, U+200F, U+061C). In a PDF, page or spreadsheet they reorder the text around them, so that
#: "INJECTED" prints as "DETCEJNI"; reportgen shows them as visible escapes in every text it publishes.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_ESCAPES = {ord(c): f"\\u{ord(c):04x}" for c in BIDI_CONTROLS}


def escape_bidi(text: str) -> str:
    """``text`` with each bidirectional control character shown as its escape (U+202E as ``\\u202e``),
    so nothing prints reversed and the tampering stays visible. ASCII text is returned at once."""
    return text if text.isascii() else text.translate(_BIDI_ESCAPES)


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control, format (bidi), line-separator and unusual space
    characters (no-break, figure, ...: invisible differences in a data file's header) escaped.

    ESC becomes ``\\x1b``, U+202E becomes ``\\u202e``; newlines and tabs are escaped too, so
    every problem stays on one line. A message longer than :data:`MAX_SHOWN` characters (a
    10,000-character cell quoted from the data) keeps its start (where) and end (what to do).
    """
    if len(text) > MAX_SHOWN:
        omitted = len(text) - 900
        text = f"{text[:650]} [... {omitted:,} characters not shown ...] {text[-250:]}"
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


@dataclass(frozen=True)
class Problem:
    """One problem in one place of an input file.

    ``where`` is the location prefix (``path:line:col`` or ``path:line``), ``key`` names the
    spec key or data column, and ``message`` says what is wrong and how to fix it.
    """

    where: str
    key: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.key) if p]
        prefix = ": ".join(parts)
        label = "warning: " if self.severity == "warning" else ""
        text = f"{prefix}: {label}{self.message}" if prefix else f"{label}{self.message}"
        return printable(text)


class ReportgenError(Exception):
    """An error the user can fix; the CLI prints it without a traceback and exits 1."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)

    def __str__(self) -> str:
        lines = [printable(self.message), *(str(p) for p in self.problems)]
        return "\n".join(lines)


class SpecError(ReportgenError):
    """One or more indicator spec files are invalid."""


class DataError(ReportgenError):
    """A data file is unreadable or holds invalid values."""


class AreaError(ReportgenError):
    """An area code or name could not be resolved."""


class RenderError(ReportgenError):
    """A layout template failed to render or the PDF could not be written."""


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """Return the problems whose severity is ``error``."""
    return [p for p in problems if p.severity == "error"]


class InputFileError(ReportgenError):
    """An input file (spec, theme, comparator) is missing, not a regular file, too large or unsafe."""


class OutputError(ReportgenError):
    """An output file or folder cannot be written (not a folder, no permission, disk full, outside --out)."""
