"""Writing output files safely: inside the output folder, atomically, never leaving temporary files.

A file is written through a temporary file ``.reportgen-<name>.<pid>.<random>.tmp`` in the same
folder, then renamed. The temporary file can be created before slow work starts
(:func:`reserve`), which also proves the folder is writable. Temporary files of processes that
no longer run (a build killed with SIGKILL) are removed the next time the same output is written.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportgen.core.errors import OutputError

TEMP_PREFIX = ".reportgen-"
TEMP_SUFFIX = ".tmp"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def check_inside(path: Path, root: Path) -> Path:
    """``path`` resolved, after checking it lies inside ``root`` (resolved); else :class:`OutputError`."""
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise OutputError(
            f"Refusing to write {path}: it is outside the output folder {root}. "
            "Output names come from area codes and the edition; check them."
        )
    return resolved


def check_folder(folder: Path) -> Path:
    """Check, without creating anything, that ``folder`` exists or can be created, and can be written.

    Run before slow work so that a bad ``--out`` fails at once.
    """
    existing = folder
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == folder else f"cannot be created: {existing} is a file"
        raise OutputError(f"Output folder {folder} {where}; give a folder with --out.")
    if not existing.exists():
        raise OutputError(f"Output folder {folder} cannot be created: {existing} is a broken link.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write to the output folder {folder}: permission denied. Choose another --out.")
    return folder


def ensure_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) and check it can be written, before any slow work starts."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"Output folder {folder} is a file; give a folder with --out.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(folder, exc, "create the folder") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write to the output folder {folder}: permission denied. Choose another --out.")
    return folder


def _write_error(path: Path, exc: OSError, doing: str = "write") -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"The disk is full: could not write {path}. Free some space and try again.")
    if exc.errno == errno.EDQUOT:
        return OutputError(f"Disk quota exceeded: could not write {path}. Free some space and try again.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"Cannot {doing} {path}: permission denied. Choose another output location.")
    if exc.errno == errno.ENOTDIR:
        return OutputError(f"Cannot {doing} {path}: part of the path is a file, not a folder.")
    reason = exc.strerror or str(exc)
    return OutputError(f"Cannot {doing} {path}: {reason}.")


def _temp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{TEMP_PREFIX}{name}.") + r"(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files for ``path`` left by processes that are no longer running."""
    pattern = _temp_pattern(path.name)
    removed: list[Path] = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not _process_alive(int(match.group(1))) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _write_all(fd: int, write: Callable[[BinaryIO], object]) -> None:
    """Fill ``fd`` through ``write``, flush it to disk and close it."""
    with os.fdopen(fd, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class Reservation:
    """An output file being written: its final path and the open temporary file."""

    path: Path
    temp: Path
    fd: int

    def commit(self, payload: bytes) -> Path:
        """Write ``payload`` and rename the temporary file to the final path."""
        return self.commit_from(lambda handle: handle.write(payload))

    def commit_from(self, write: Callable[[BinaryIO], object]) -> Path:
        """Let ``write`` fill the temporary file (streaming), then rename it to the final path."""
        try:
            fd, self.fd = self.fd, -1
            _write_all(fd, write)
            os.chmod(self.temp, 0o644)
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None
        except BaseException:
            self.discard()
            raise
        return self.path

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Close and remove the temporary file (safe to call more than once; nothing after a commit)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.temp.unlink(missing_ok=True)


def reserve(path: Path, root: Path | None = None) -> Reservation:
    """Check ``path`` (inside ``root`` if given), create its folder and its temporary file.

    Raises :class:`OutputError` with a clear message when the file cannot be written.
    """
    if root is not None:
        check_inside(path, root)
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: a folder of that name exists.")
    ensure_folder(path.parent)
    remove_stale_temps(path)
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as exc:
        raise _write_error(path, exc) from None
    return Reservation(path, Path(temp), fd)


def write_atomic(path: Path, payload: bytes, root: Path | None = None) -> Path:
    """Write ``payload`` to ``path`` through a temporary file in the same folder and a rename."""
    return reserve(path, root).commit(payload)


#: ONS area codes (E06000001, W06000001, ...): the only area text that may become part of a file name.
ONS_CODE_PATTERN = re.compile(r"[EWSN]\d{8}")
#: Edition labels: a short slug, so an edition can never name another folder.
EDITION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def is_ons_code(code: str) -> bool:
    """Whether ``code`` is an ONS area code: E, W, S or N and eight digits."""
    return isinstance(code, str) and ONS_CODE_PATTERN.fullmatch(code) is not None


def edition_problem(label: str) -> str | None:
    """Why ``label`` cannot be an edition label, or ``None`` when it can."""
    if EDITION_PATTERN.fullmatch(label) is None or label in (".", ".."):
        return (
            f"{label!r} is not a valid edition label; use up to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 2024 or 2024-refresh)"
        )
    return None
