"""Writing output files safely: inside the output folder, atomically, never leaving temporary files.

A file is written through a temporary file ``.reportgen-<name>.<pid>.<random>.tmp``, then renamed.
The temporary file is in the same folder, or, for an edition folder, in its work folder
``<out>/.reportgen-work-<edition>/`` beside it (same file system, so the rename stays atomic), so
that the published folder only ever holds whole, published files. The temporary file can be
created before slow work starts (:func:`reserve`), which also proves the folder is writable.
Temporary files of processes that no longer run (a build killed with SIGKILL) are removed the
next time the same output is written, or by :func:`sweep_temporaries`; nothing else is.

Every writer of an edition folder holds its :class:`EditionLock`, a file in the work folder that
is never followed through a link.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reportgen.core.errors import OutputError, ReportgenError, escape_bidi

TEMP_PREFIX = ".reportgen-"
TEMP_SUFFIX = ".tmp"
#: Any of reportgen's temporary files: ``.reportgen-<output name>.<process id>.<random>.tmp``.
ANY_TEMP_PATTERN = re.compile(
    re.escape(TEMP_PREFIX) + r"[A-Za-z0-9._-]+?\.(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX)
)
#: An edition folder's work folder (lock and temporary files) is ``<out>/.reportgen-work-<edition>``.
WORK_PREFIX = ".reportgen-work-"
LOCK_NAME = "run.lock"
#: Where editions written by reportgen before the work folder kept their lock (removed when unused).
LEGACY_LOCK = ".run.lock"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection);
    bidirectional control characters (which would show the cell's text reversed) are shown escaped."""
    if not isinstance(value, str):
        return value
    value = escape_bidi(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def check_inside(path: Path, root: Path) -> Path:
    """``path`` with its folder resolved, after checking it lies inside ``root`` (resolved); else
    :class:`OutputError`.

    The last component is not followed: a file is written by renaming over that name, which
    replaces a link there instead of writing through it, so a link at an output name (a tampered
    edition folder) is replaced by the new file and never written through.
    """
    if path.name in ("", ".", ".."):
        raise OutputError(f"Refusing to write {path}: it does not name a file.")
    resolved_root = root.resolve()
    resolved = path.parent.resolve() / path.name
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
    if pid <= 0:
        return True  # not a process id reportgen writes: keep the file
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False  # gone, or a number no process can have
    except OSError:
        return True
    return True


def remove_stale_temps(path: Path, temp_dir: Path | None = None) -> list[Path]:
    """Remove temporary files for ``path`` (in ``temp_dir``, by default its folder) left by processes
    that are no longer running."""
    pattern = _temp_pattern(path.name)
    removed: list[Path] = []
    try:
        entries = list((temp_dir or path.parent).iterdir())
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


def reserve(path: Path, root: Path | None = None, work: Path | None = None) -> Reservation:
    """Check ``path`` (inside ``root`` if given), create its folder and its temporary file.

    The temporary file is made in ``work`` (an edition's work folder, :func:`work_folder`) when
    given and on the same file system as ``path``, else beside ``path``. Raises
    :class:`OutputError` with a clear message when the file cannot be written.
    """
    if root is not None:
        check_inside(path, root)
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: a folder of that name exists.")
    ensure_folder(path.parent)
    temp_dir = _temp_folder(path.parent, work if work is not None else _locked_work(path.parent))
    remove_stale_temps(path, temp_dir)
    try:
        fd, temp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=temp_dir)
    except OSError as exc:
        raise _write_error(path, exc) from None
    return Reservation(path, Path(temp), fd)


def write_atomic(path: Path, payload: bytes, root: Path | None = None, work: Path | None = None) -> Path:
    """Write ``payload`` to ``path`` through a temporary file (in ``work`` when given) and a rename."""
    return reserve(path, root, work).commit(payload)


# --------------------------------------------------------------------------- work folder and lock


def work_folder(folder: Path) -> Path:
    """The work folder of the edition folder ``folder``: ``<out>/.reportgen-work-<edition>``.

    It holds the edition's lock and the temporary files of its writes, beside the edition folder
    (so on the same file system) but never inside it: the edition folder holds only published files.
    """
    return folder.parent / f"{WORK_PREFIX}{folder.name}"


def ensure_work_folder(work: Path) -> Path:
    """Create the work folder (and its parents); refuse one that is a link or not a folder."""
    try:
        work.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # a file or a link: refused below
    except OSError as exc:
        raise _write_error(work, exc, "create the folder") from None
    try:
        mode = os.lstat(work).st_mode
    except OSError as exc:
        raise _write_error(work, exc, "create the folder") from None
    if not stat.S_ISDIR(mode):
        kind = "a link" if stat.S_ISLNK(mode) else "not a folder"
        raise OutputError(
            f"{work} is {kind}: reportgen keeps an edition's lock and temporary files in this folder and never "
            "follows a link there. Remove it and run again."
        )
    return work


#: The edition folders whose lock this process holds (resolved) and their work folders: every write
#: into one of them puts its temporary file in the work folder, whoever the writer is.
_LOCKED: dict[Path, Path] = {}


def _locked_work(folder: Path) -> Path | None:
    if not _LOCKED:
        return None
    try:
        return _LOCKED.get(folder.resolve())
    except (OSError, RuntimeError):
        return None


def _temp_folder(folder: Path, work: Path | None) -> Path:
    """Where a file of ``folder`` is written first: ``work`` if on the same file system (rename is atomic)."""
    if work is None:
        return folder
    ensure_work_folder(work)
    try:
        same = os.stat(work).st_dev == os.stat(folder).st_dev
    except OSError:
        same = False
    return work if same else folder


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` (not followed) is still the file open as ``fd``."""
    try:
        named, held = os.lstat(path), os.fstat(fd)
    except OSError:
        return False
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class EditionLock:
    """Only one reportgen process writes to an edition folder at a time (the lock goes with the process).

    The lock is ``run.lock`` in the edition's work folder, opened without following a link
    (``O_NOFOLLOW``) or blocking (``O_NONBLOCK``): a link, FIFO, device or folder in its place is an
    error, and nothing outside the output folder is created or opened. Every writer of the edition
    folder takes it: the national run and the one-area build. While it is held, every write of this
    process into the edition folder (:func:`reserve`) makes its temporary file in the work folder.
    The file is removed when the lock is released, and the work folder too when nothing else is
    left in it.
    """

    ATTEMPTS = 5

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.work = work_folder(folder)
        self.path = self.work / LOCK_NAME
        self.fd = -1
        self._key = folder

    def __enter__(self) -> EditionLock:
        for _ in range(self.ATTEMPTS):
            ensure_work_folder(self.work)
            fd = self._open()
            if fd < 0:
                continue  # the work folder was removed by a run that just ended: make it again
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise ReportgenError(
                        f"Another reportgen run is writing to {self.folder}; wait for it to finish."
                    ) from None
                if _same_file(fd, self.path):  # else the lock file was replaced while we waited: again
                    self.fd, fd = fd, -1
                    self._key = self.folder.resolve()
                    _LOCKED[self._key] = self.work
                    return self
            finally:
                if fd >= 0:
                    os.close(fd)
        raise ReportgenError(f"Could not take the lock {self.path}: it keeps being replaced. Run again.")

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            return -1
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise self._not_a_file() from None
            raise _write_error(self.path, exc, "create the lock file") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._not_a_file()
        return fd

    def _not_a_file(self) -> OutputError:
        return OutputError(
            f"The lock file {self.path} is not a regular file (a link, FIFO, device or folder); reportgen "
            "never follows or opens it. Remove it and run again."
        )

    def __exit__(self, *exc: object) -> None:
        if self.fd < 0:
            return
        _LOCKED.pop(self._key, None)
        if _same_file(self.fd, self.path):
            try:
                os.unlink(self.path)  # while still held: a run waiting on this file then retries
            except OSError:
                pass
        os.close(self.fd)
        self.fd = -1
        try:
            os.rmdir(self.work)  # only when empty: temporary files of a live or killed run keep it
        except OSError:
            pass


def sweep_temporaries(folder: Path) -> list[Path]:
    """Remove reportgen's own temporary files in ``folder`` whose process is no longer running.

    Only regular files named exactly ``.reportgen-<name>.<process id>.<random>.tmp`` are removed,
    never links, folders or other names (a user's ``.keep-me.tmp/`` stays), nor the file of a
    process that still runs (a write in progress).
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = ANY_TEMP_PATTERN.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False) or _process_alive(int(match.group(1))):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def sweep_edition(folder: Path) -> int:
    """Before writing to the edition folder ``folder`` (holding its lock): remove the temporary files
    of processes that no longer run from its work folder and (left by earlier versions, which wrote
    them there) from the edition folder, and an earlier version's unused ``.run.lock``; return how
    many files were removed. Nothing else is touched."""
    removed = sweep_temporaries(work_folder(folder)) + sweep_temporaries(folder)
    return len(removed) + remove_legacy_lock(folder)


def remove_legacy_lock(folder: Path) -> bool:
    """Remove the ``.run.lock`` an earlier version left in the edition folder, when it is a regular
    file that no running process holds; never follow or open anything else."""
    path = folder / LEGACY_LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # an earlier version's run is writing now
        if not _same_file(fd, path):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


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
