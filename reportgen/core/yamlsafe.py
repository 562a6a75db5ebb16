"""Read small YAML files from outside safely: size cap, regular files only, no aliases, bounded nesting.

Specs, the theme and comparator groups are plain mappings with no need for anchors and aliases, so
aliases are refused outright: this stops "billion laughs" alias bombs before they expand. Files are
checked with ``stat`` (regular file, below the size cap) before they are opened, so a link to a
device or a FIFO is never read, and at most ``max_bytes + 1`` bytes are ever read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from reportgen.core.errors import InputFileError, Problem

DEFAULT_MAX_BYTES = 1_000_000
MAX_DEPTH = 20


class SafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader without aliases and with a nesting limit."""

    def __init__(self, stream: str, label: str = "<yaml>") -> None:
        super().__init__(stream)
        self._label = label
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:  # noqa: D102 (PyYAML hook)
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _refused(
                self._label,
                mark,
                "YAML aliases are not allowed (anchors '&' and aliases '*'); write each value out in full",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _refused(self._label, mark, f"nested more than {MAX_DEPTH} levels deep; flatten the file")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _where(label: str, mark: Any) -> str:
    return f"{label}:{mark.line + 1}:{mark.column + 1}" if mark is not None else f"{label}:1:1"


def _refused(label: str, mark: Any, message: str) -> InputFileError:
    return _located(_where(label, mark), message)


def _located(where: str, message: str) -> InputFileError:
    """One-line error; ``problem`` keeps the location apart for callers that collect problems."""
    error = InputFileError(f"{where}: {message}")
    error.problem = Problem(where, "", message)  # type: ignore[attr-defined]
    return error


def read_text_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "spec") -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes, else :class:`InputFileError`."""
    info = _regular_file_stat(path, what)
    if info.st_size > max_bytes:
        raise _file_error(
            path, f"{what} file is {info.st_size:,} bytes; the limit is {max_bytes:,}. Is it the right file?"
        )
    try:
        with open(path, "rb") as handle:
            payload = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _file_error(path, f"cannot read the {what} file ({exc.strerror or exc})") from None
    if len(payload) > max_bytes:
        raise _file_error(path, f"{what} file is larger than the limit of {max_bytes:,} bytes")
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(path, f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8") from None


def _file_error(path: Path, message: str) -> InputFileError:
    error = InputFileError(f"{path}: {message}")
    error.problem = Problem(f"{path}:1:1", "", message)  # type: ignore[attr-defined]
    return error


def _regular_file_stat(path: Path, what: str) -> os.stat_result:
    """``stat`` of the file a path finally points to; refuses loops, dangling links, folders, devices."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        dangling = os.path.islink(path)
        hint = "is a link to a file that does not exist" if dangling else "does not exist"
        raise _file_error(path, f"{what} file {hint}; check the path") from None
    except OSError as exc:
        raise _file_error(path, f"cannot open the {what} file ({exc.strerror or exc}); a link loop?") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, pipe or socket)"
        raise _file_error(path, f"{what} file is {kind}; give a YAML file")
    return info


def parse_yaml(text: str, label: str) -> tuple[yaml.Node | None, Any]:
    """Parse one YAML document: its node tree (for line numbers) and its Python value.

    Raises :class:`InputFileError` located at ``label:line:col`` for syntax errors, aliases and
    excessive nesting.
    """
    try:
        loader = SafeLoader(text, label)
    except yaml.reader.ReaderError as exc:  # a control character such as ESC or BEL in the text
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        message = f"control character {chr(exc.character)!r} is not allowed in YAML; remove it"
        raise _located(f"{label}:{line}:{column}", message) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _refused(label, mark, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _refused(label, None, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return node, data


def load_yaml_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "spec") -> Any:
    """Read and parse a YAML file with the checks above; returns the Python value."""
    path = Path(path)
    return parse_yaml(read_text_file(path, max_bytes=max_bytes, what=what), str(path))[1]
