"""Errors and problem reports: what went wrong, where, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


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
        return f"{prefix}: {label}{self.message}" if prefix else f"{label}{self.message}"


class ReportgenError(Exception):
    """An error the user can fix; the CLI prints it without a traceback and exits 1."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)

    def __str__(self) -> str:
        lines = [self.message, *(str(p) for p in self.problems)]
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
