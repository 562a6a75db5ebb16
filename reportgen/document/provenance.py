"""What a profile was made from: versions and hashes of its data, specs and layouts.

The record is embedded in every PDF (``provenance.json``) and its ``inputs_sha256`` (the hash of
everything one area's profile depends on) lets a national run rebuild only the areas whose inputs
changed. Nothing here describes the whole data file, so an area whose inputs did not change gets
the same bytes however the rest of the file changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import RenderError
from reportgen.core.geography import Area
from reportgen.core.options import DEFAULT_AUTHOR, EMBEDDED_DEMO_LABEL
from reportgen.document.charts import chart_engine_version
from reportgen.document.inputs import Prepared
from reportgen.document.render import layout_search_path, pdf_engine_version
from reportgen.document.theme import check_size
from reportgen.stats.fingerprint import DependencyHashes, inputs_sha256

HASH_CHUNK = 1024 * 1024
#: File hashes already computed in this process, by path and state: provenance is made for every
#: area of a national run, and the specs and layouts (fonts included) do not change between areas.
_FILE_HASHES: dict[tuple[str, int, int, int], bytes] = {}
MAX_FILE_HASHES = 1024


def area_provenance(prepared: Prepared, area: Area, changes: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The provenance record of one area's profile, with ``inputs_sha256``: the hash of what it depends on."""
    record = provenance_record(prepared, area)
    return {**record, "inputs_sha256": inputs_sha256(prepared.table, area, record, _settings(prepared, changes))}


def area_provenances(
    prepared: Prepared, areas: list[Area], changes: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, dict[str, str]]:
    """:func:`area_provenance` of many areas, by area code, with the shared work done once.

    The edition, layouts and specs hashes are the same for every area, and the table is sorted
    and its rows hashed once (:class:`reportgen.stats.fingerprint.DependencyHashes`); the records
    are identical to :func:`area_provenance`'s. A national run's plan uses this for every authority.
    """
    if not areas:
        return {}
    shared = provenance_record(prepared, areas[0])
    hashes = DependencyHashes(prepared.table)
    records = {}
    for area in areas:
        record = {**shared, "area_code": area.code, "area_name": area.name}
        settings = _settings(prepared, changes.get(area.code))
        records[area.code] = {**record, "inputs_sha256": hashes.sha256(area, record, settings)}
    return records


def _settings(prepared: Prepared, changes: Mapping[str, Any] | None) -> dict[str, Any]:
    options = prepared.options
    # The files asked for are part of the inputs: a rerun with --no-html or --no-brief rebuilds.
    outputs = {"brief": options.brief, "data_csv": options.data_csv, "html": options.html}
    return {
        "author": options.author or DEFAULT_AUTHOR,
        "palette": options.palette,
        "changes": changes,
        "outputs": outputs,
        # the population pyramid's file (every profile draws England's pyramid): a new one rebuilds all
        **({"population": prepared.population.sha256 or prepared.population.label} if prepared.population else {}),
    }


def provenance_record(prepared: Prepared, area: Area) -> dict[str, str]:
    """What a profile was made from: generator version and hashes of data, specs and layouts."""
    data = prepared.data
    search_path = layout_search_path(prepared.options.layouts_dir, default_layouts_dir())
    return {
        "generator": f"reportgen {__version__}",
        "weasyprint": pdf_engine_version(),
        "matplotlib": chart_engine_version(),
        "area_code": area.code,
        "area_name": area.name,
        "edition": prepared.edition,
        "data_date": prepared.data_date.isoformat(),
        "data_file": data_label(data.path),
        "synthetic_data": "yes" if data.synthetic else "no",
        "specs_sha256": _hash_files([(Path(s.path).name, Path(s.path)) for s in prepared.specs]),
        "layouts_sha256": _hash_files(_layout_files(search_path)),
    }


def data_label(path: str | Path) -> str:
    """How a profile names its data: the file name, or the label of the embedded demonstration data."""
    return str(path) if str(path) == EMBEDDED_DEMO_LABEL else Path(path).name


def _hash_files(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + _file_sha256(path))
    return digest.hexdigest()


def _file_sha256(path: Path) -> bytes:
    """SHA-256 of a file read in 1 MiB chunks, so a large file does not fill memory.

    Remembered per process by path, inode, size and modification time, so an edited file is read again.
    """
    info = path.stat()
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
        if len(_FILE_HASHES) >= MAX_FILE_HASHES:
            _FILE_HASHES.clear()
        _FILE_HASHES[key] = digest.digest()
    return _FILE_HASHES[key]


def _layout_files(search_path: list[Path]) -> list[tuple[str, Path]]:
    """The effective layout files: for each relative path, the first folder that has it.

    Links are not followed into other folders; links leading outside the layouts folder, FIFOs and
    devices are skipped; a file over its size limit (see :func:`reportgen.document.theme.size_limit`)
    is an error.
    """
    chosen: dict[str, Path] = {}
    for directory in search_path:
        for relative, path in _walk_layouts(directory):
            chosen.setdefault(relative, path)
    return list(chosen.items())


def _walk_layouts(directory: Path) -> Iterator[tuple[str, Path]]:
    def refuse(exc: OSError) -> None:
        raise RenderError(f"{exc.filename}: cannot read this layouts folder ({exc.strerror}).")

    for root, dirs, names in os.walk(directory, onerror=refuse):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            relative = (Path(root) / name).relative_to(directory).as_posix()
            if relative.endswith(".py"):
                continue
            path = _regular_layout_file(directory, Path(root) / name)
            if path is not None:
                yield relative, path


def _regular_layout_file(directory: Path, path: Path) -> Path | None:
    """``path`` resolved if it is a regular file inside ``directory``, else ``None``; too large is an error."""
    try:
        resolved = path.resolve()
        info = resolved.stat()
    except (OSError, RuntimeError):
        return None
    if not stat.S_ISREG(info.st_mode) or not resolved.is_relative_to(directory.resolve()):
        return None
    check_size(path, info.st_size)
    return resolved
