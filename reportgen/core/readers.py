"""Reading files that reportgen wrote earlier, which anyone with write access may have replaced.

An edition folder (``manifest.json``, ``run.json``, ``specs.json``, ``benchmark.csv``, the
published PDFs and CSVs) and a ``--previous`` folder are read through these functions only: the
file is opened without blocking (``O_NONBLOCK``, so a FIFO cannot hang the run) and without
following a link (``O_NOFOLLOW``), checked with ``fstat`` to be a regular file of at most a given
size before anything is read, and never read beyond that size. JSON must be UTF-8, is parsed with
a nesting limit and is then validated by the caller's pydantic model.

Every refusal is an :class:`~reportgen.core.errors.InputFileError` with one line naming the file
and the reason; the caller decides whether that is a warning ("treated as corrupt") or an error.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from reportgen.core.errors import InputFileError, printable

#: Nesting limit of the JSON files reportgen writes (theirs is at most 4 levels).
MAX_JSON_DEPTH = 20
#: Characters of a key or value quoted in a message.
MAX_QUOTED = 60


def open_regular(path: Path, max_bytes: int, *, follow_links: bool = False) -> BinaryIO | None:
    """``path`` opened for reading after checking it is a regular file of at most ``max_bytes``.

    Returns ``None`` when the file does not exist. Opening never blocks (a FIFO is refused, not
    waited on) and, unless ``follow_links``, a link is refused rather than followed.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_links:
            raise InputFileError(f"{path}: is a link; links are not followed here.") from None
        raise InputFileError(f"{path}: cannot be opened ({exc.strerror or exc}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{path}: is not a regular file ({_kind(info.st_mode)}).")
        if info.st_size > max_bytes:
            raise InputFileError(f"{path}: is {info.st_size:,} bytes, more than the limit of {max_bytes:,}.")
        os.set_blocking(fd, True)  # a regular file: blocking reads are plain reads
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a link"),
    )
    return next((name for test, name in kinds if test(mode)), "a device")


def read_capped(path: Path, max_bytes: int, *, follow_links: bool = False) -> bytes | None:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`open_regular`), or ``None`` if absent."""
    handle = open_regular(path, max_bytes, follow_links=follow_links)
    if handle is None:
        return None
    try:
        with handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if len(data) > max_bytes:  # it grew after it was checked
        raise InputFileError(f"{path}: is more than the limit of {max_bytes:,} bytes.")
    return data


def parse_json(data: bytes, label: str | Path, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``data`` as UTF-8 JSON nested at most ``max_depth`` levels; else :class:`InputFileError`."""
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise InputFileError(f"{label}: nested more than {max_depth} levels deep.") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InputFileError(f"{label}: not valid UTF-8 JSON ({_short(str(exc))}).") from None
    if json_depth(value, max_depth) > max_depth:
        raise InputFileError(f"{label}: nested more than {max_depth} levels deep.")
    return value


def json_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), counted up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json_capped(
    path: Path, max_bytes: int, max_depth: int = MAX_JSON_DEPTH, *, follow_links: bool = False
) -> Any | None:
    """A JSON file checked as :func:`read_capped` and :func:`parse_json` do; ``None`` when absent."""
    data = read_capped(path, max_bytes, follow_links=follow_links)
    return None if data is None else parse_json(data, path, max_depth)


def validation_summary(exc: ValidationError) -> str:
    """A pydantic validation error in one line: the first problem's place and message, and how many more."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(_short(str(part)) for part in first["loc"]) or "top level"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {_short(first['msg'], 4 * MAX_QUOTED)}{more}"


def _short(text: str, limit: int = MAX_QUOTED) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
