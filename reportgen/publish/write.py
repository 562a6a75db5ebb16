"""Writing an area's files: the one place where built bytes reach the disk.

Every file goes through a temporary file and a rename (so a reader never sees a partial file) and
must lie inside the output folder. For an edition folder the temporary files are in its work
folder beside it (``work``, :func:`reportgen.core.files.work_folder`), so the edition folder only
ever holds published files, whenever the process dies. An area's files are all reserved before
any is replaced, so an unwritable one (a folder in the way) changes none of them. A single build
reserves its files before the slow rendering starts, so an unwritable output fails at once.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from reportgen.core.files import Reservation, reserve, write_atomic


class AreaReservation:
    """Temporary files opened for an area's outputs; :meth:`commit` writes them, leaving removes the rest."""

    def __init__(self, folder: Path, names: Iterable[str], root: Path, work: Path | None = None) -> None:
        self.reservations: dict[str, Reservation] = {}
        try:
            for name in names:
                self.reservations[name] = reserve(folder / name, root, work)
        except BaseException:
            self.discard()
            raise

    def commit(self, files: Mapping[str, bytes]) -> dict[str, Path]:
        """Write every reserved file from ``files`` (by name); returns name -> path."""
        return {name: reservation.commit(files[name]) for name, reservation in self.reservations.items()}

    def discard(self) -> None:
        for reservation in self.reservations.values():
            reservation.discard()

    def __enter__(self) -> AreaReservation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.discard()


def reserve_area(folder: Path, names: Iterable[str], root: Path, work: Path | None = None) -> AreaReservation:
    """Open the temporary files (in ``work`` if given) of an area's outputs in ``folder``, inside ``root``."""
    return AreaReservation(folder, names, root, work)


def write_area(folder: Path, files: Mapping[str, bytes], root: Path, work: Path | None = None) -> dict[str, str]:
    """Write an area's files atomically into ``folder``; returns name -> SHA-256, in name order.

    Every file is reserved first: when one cannot be written (a folder of its name, no permission)
    none of the area's files is replaced.
    """
    names = sorted(files)
    with reserve_area(folder, names, root, work) as reservation:
        reservation.commit(files)
    return {name: hashlib.sha256(files[name]).hexdigest() for name in names}


def write_file(path: Path, payload: bytes, root: Path | None = None, work: Path | None = None) -> Path:
    """One file written atomically (inside ``root`` when given): an edition's page, tables and reports."""
    return write_atomic(path, payload, root, work)


def write_json(path: Path, payload: Mapping[str, Any], work: Path | None = None) -> None:
    """``payload`` as indented, key-sorted JSON, written atomically."""
    write_atomic(path, (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode("utf-8"), work=work)


#: The deflate level of a zip's compressed members: fixed, so the bytes never depend on a default.
ZIP_LEVEL = 6


def write_zip(
    target: Path,
    folder: Path,
    names: Iterable[str],
    work: Path | None = None,
    *,
    prefix: str = "",
    extra: Mapping[str, bytes] | None = None,
    comment: bytes = b"",
) -> Path:
    """A zip of the named files of ``folder`` in the order given, PDFs stored (they do not compress),
    web pages, CSVs and texts deflated at a fixed level, with fixed timestamps and modes: the same
    files give the same bytes. Streamed, so a national
    edition's hundred megabytes are never in memory at once; missing files are left out.

    Every member is named ``prefix`` + its name (``2024/`` makes the zip unpack into one folder);
    ``extra`` members (name -> bytes, e.g. a README) come first; ``comment`` is the zip's comment."""

    def member(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(prefix + name, date_time=(1980, 1, 1, 0, 0, 0))
        info.create_system, info.external_attr = 3, 0o644 << 16
        if not name.lower().endswith(".pdf"):
            info.compress_type = zipfile.ZIP_DEFLATED  # an HTML twin shrinks to about a tenth
        return info

    def fill(handle: BinaryIO) -> None:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
            archive.comment = comment
            for name, payload in (extra or {}).items():
                archive.writestr(member(name), payload, compresslevel=ZIP_LEVEL)
            for name in names:
                if (folder / name).is_file():
                    archive.writestr(member(name), (folder / name).read_bytes(), compresslevel=ZIP_LEVEL)

    with reserve(target, work=work) as reservation:
        return reservation.commit_from(fill)
