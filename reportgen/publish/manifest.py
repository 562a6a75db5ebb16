"""The edition folder's records, read as untrusted input: ``manifest.json``, ``run.json``, ``specs.json``.

Anyone with write access to a published folder can replace these files, so they are read through
:mod:`reportgen.core.readers` (regular files only, no links, no FIFOs, size- and depth-capped)
and validated by the pydantic models below. A manifest entry names only files that reportgen
itself writes (``<ONS code>-<slug>.pdf``, ``-brief.pdf``, ``.html``, ``-data.csv``, the code being the
entry's own); a listed file that is a link, folder, FIFO or device makes the whole manifest
corrupt. A corrupt manifest is never used: the run warns, rebuilds its areas, and nothing it
lists is read, zipped or linked.

An area's files count as up to date (:func:`is_up_to_date`) only when each is a regular file
with its recorded SHA-256 and, for a PDF, the provenance embedded in it names the area and the
inputs hash of this run; an HTML twin must be a whole page (it parses, its elements close, it
ends with ``</html>``) whose ``reportgen-area`` and ``reportgen-inputs-sha256`` meta tags say the same.

The models ignore keys they do not know; a key that reportgen starts to read must be added here.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel, ValidationError, field_validator

from reportgen.core.errors import InputFileError
from reportgen.core.files import edition_problem, is_ons_code
from reportgen.core.readers import (
    MAX_JSON_DEPTH,
    parse_json,
    read_capped,
    read_json_capped,
    validation_summary,
)
from reportgen.document.pdfcheck import embedded_provenance

MANIFEST_FILE = "manifest.json"
RUN_FILE = "run.json"
SPECS_FILE = "specs.json"
#: Size limits of the records (each is a few kilobytes for a national edition).
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_RUN_BYTES = 16 * 1024 * 1024
MAX_SPECS_BYTES = 16 * 1024 * 1024
#: Size limit of one published PDF or CSV read to check it (a profile is about 150 KB).
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
#: The suffixes of an area's files, as reportgen.publish.area.output_names makes them.
OUTPUT_SUFFIXES = (".pdf", "-brief.pdf", ".html", "-data.csv")  # "-brief" is part of the slug in the pattern below
SLUG_LIMIT = 60
#: ``<ONS code>-<slug><suffix>``: the only names a manifest may list (reportgen.publish.area.output_names).
OUTPUT_NAME = re.compile(r"(?P<code>[EWSN]\d{8})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)(?P<suffix>\.pdf|\.html|-data\.csv)")

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ShortText = Annotated[str, Field(max_length=500)]


def is_output_name(name: object, area_code: str | None = None) -> bool:
    """Whether ``name`` is one of reportgen's own output names (of ``area_code``'s files, if given)."""
    if not isinstance(name, str):
        return False
    match = OUTPUT_NAME.fullmatch(name)
    if match is None:
        return False
    slug = match["slug"].removesuffix("-brief") if match["suffix"] == ".pdf" else match["slug"]
    if len(slug) > SLUG_LIMIT:
        return False
    return area_code is None or match["code"] == area_code


class ManifestEntry(BaseModel):
    """One authority in the manifest: its name and region, its inputs hash and its files' SHA-256."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    area_name: ShortText = ""
    region_code: Annotated[str, Field(max_length=20)] | None = None
    region_name: ShortText | None = None
    inputs_sha256: Sha256
    files: dict[str, Sha256]


class Manifest(BaseModel):
    """``manifest.json``: per authority (by ONS code), what was written for it."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    areas: dict[str, ManifestEntry] = Field(default_factory=dict)

    @field_validator("areas")
    @classmethod
    def _names_are_outputs(cls, areas: dict[str, ManifestEntry]) -> dict[str, ManifestEntry]:
        for code, entry in areas.items():
            if not is_ons_code(code):
                raise ValueError("an area key is not an ONS area code")
            for name in entry.files:
                if not is_output_name(name, code):
                    raise ValueError(f"{code} lists a file that reportgen does not write ({name[:60]!r})")
            if len(entry.files) > len(OUTPUT_SUFFIXES):
                raise ValueError(f"{code} lists more than {len(OUTPUT_SUFFIXES)} files")
        return areas

    def as_dict(self) -> dict[str, Any]:
        """The manifest as the national run keeps and writes it."""
        return self.model_dump()


@dataclass(frozen=True)
class ManifestRead:
    """The manifest of an edition folder: the validated one, or an empty one and why the file was not used."""

    manifest: Manifest = field(default_factory=Manifest)
    problem: str | None = None  # set when the file exists but was treated as corrupt


def parse_manifest(data: bytes, label: str | Path) -> Manifest:
    """``manifest.json``'s bytes as a :class:`Manifest`; anything else is an :class:`InputFileError`."""
    return _validated(Manifest, parse_json(data, label), label)


def read_manifest(folder: Path) -> ManifestRead:
    """The edition's manifest; absent is empty, and corrupt is empty with a warning (everything then rebuilds)."""
    path = folder / MANIFEST_FILE
    try:
        data = read_capped(path, MAX_MANIFEST_BYTES)
        if data is None:
            return ManifestRead()
        manifest = parse_manifest(data, path)
        _check_listed_files(folder, manifest)
    except InputFileError as exc:
        reason = exc.message.rstrip(".")
        return ManifestRead(problem=f"{reason}. Treated as corrupt: not used, and its areas are rebuilt.")
    return ManifestRead(manifest)


def _check_listed_files(folder: Path, manifest: Manifest) -> None:
    """A listed file that exists must be a regular file in the folder itself: not a link, folder, FIFO or device."""
    for entry in manifest.areas.values():
        for name in entry.files:
            try:
                mode = os.lstat(folder / name).st_mode
            except FileNotFoundError:
                continue  # missing: that area is rebuilt
            except OSError as exc:
                reason = exc.strerror or exc
                raise InputFileError(
                    f"{folder / MANIFEST_FILE}: lists {name}, which cannot be read ({reason})."
                ) from None
            if not stat.S_ISREG(mode):
                raise InputFileError(f"{folder / MANIFEST_FILE}: lists {name}, which is not a regular file.")


#: Files already checked in this process, by their state and what they were checked against: a
#: national run checks every unchanged file when it plans and again when it verifies the folder.
#: A file's state (device, inode, size, modification and change times) changes whenever it is
#: written or replaced, so a file changed in between is checked again.
_CHECKED: dict[tuple[object, ...], str | None] = {}
MAX_CHECKED = 4096


def forget_checks() -> None:
    """Start a run with no remembered checks: files are remembered from its plan to its verification only."""
    _CHECKED.clear()


def listed_file_problem(folder: Path, area_code: str, name: str, sha256: str, inputs_sha256: str) -> str | None:
    """Why a file the manifest lists for ``area_code`` is not what was published, or ``None`` when it is.

    The file must be one of the area's output names, a regular file (not a link) in ``folder`` with
    the listed SHA-256, and a PDF must embed provenance naming ``area_code`` and ``inputs_sha256``.
    """
    if not is_output_name(name, area_code):
        return f"is not an output name of {area_code}"
    try:
        info = os.lstat(folder / name)
    except OSError:
        return _check_listed_file(folder, area_code, name, sha256, inputs_sha256)
    state = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_mode)
    key = (str(folder / name), state, area_code, sha256, inputs_sha256)
    if key not in _CHECKED:
        if len(_CHECKED) >= MAX_CHECKED:
            _CHECKED.clear()
        _CHECKED[key] = _check_listed_file(folder, area_code, name, sha256, inputs_sha256)
    return _CHECKED[key]


def _check_listed_file(folder: Path, area_code: str, name: str, sha256: str, inputs_sha256: str) -> str | None:
    try:
        data = read_capped(folder / name, MAX_OUTPUT_BYTES)
    except InputFileError as exc:
        return exc.message.removeprefix(f"{folder / name}: ").rstrip(".")
    if data is None:
        return "is missing"
    if hashlib.sha256(data).hexdigest() != sha256:
        return "does not have the SHA-256 the manifest lists"
    if name.endswith(".html"):
        return twin_problem(data, area_code, inputs_sha256)
    if name.endswith(".pdf"):
        record = embedded_provenance(data)
        if record is None:
            return "has no readable embedded provenance (provenance.json)"
        if record.get("area_code") != area_code:
            return f"embeds the provenance of another area ({str(record.get('area_code'))[:20]!r}, not {area_code})"
        if record.get("inputs_sha256") != inputs_sha256:
            return "embeds provenance with an inputs hash other than the manifest's"
    return None


#: The elements an HTML twin has once each, in this order: each opens and closes exactly once.
TWIN_FRAME = ("html", "head", "body", "main")
_TWIN_META = re.compile(r'<meta name="(reportgen-[a-z0-9-]+)" content="([^"<>]*)"\s*/?>')


def _frame_problem(text: str) -> str | None:
    """Why the page's frame (:data:`TWIN_FRAME`) is not whole: each element opened and closed once,
    nested in order. Regular expressions over the text, so a 1 MB page is checked in milliseconds;
    the SHA-256 the manifest lists already guards every byte in between."""
    last_open, first_close = -1, len(text)
    for tag in TWIN_FRAME:
        opens = [m.start() for m in re.finditer(rf"<{tag}[\s>]", text)]
        closes = [m.start() for m in re.finditer(rf"</{tag}>", text)]
        if len(opens) != 1 or len(closes) != 1:
            return f"<{tag}> is opened {len(opens)} and closed {len(closes)} time(s), not once each"
        if not last_open < opens[0] or not closes[0] < first_close or closes[0] < opens[0]:
            return f"<{tag}> is not nested inside the elements before it"
        if tag != "head":  # head closes before body opens; the others nest
            last_open, first_close = opens[0], closes[0]
    return None


def twin_problem(data: bytes, area_code: str, inputs_sha256: str) -> str | None:
    """Why ``data`` is not a whole HTML twin of ``area_code`` built from ``inputs_sha256``, or ``None``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    if not text.startswith("<!DOCTYPE html>") or text.rstrip()[-7:].lower() != "</html>":
        return "is not a whole HTML page (it must start with <!DOCTYPE html> and end with </html>)"
    if problem := _frame_problem(text):
        return f"is not a whole HTML page ({problem})"
    head = text[: text.find("</head>")]
    meta = {m.group(1): html.unescape(m.group(2)) for m in _TWIN_META.finditer(head)}
    if meta.get("reportgen-area") != area_code:
        return f"is the page of another area ({meta.get('reportgen-area', 'none')[:20]!r}, not {area_code})"
    if meta.get("reportgen-inputs-sha256") != inputs_sha256:
        return "names an inputs hash other than the manifest's"
    return None


def is_up_to_date(folder: Path, area_code: str, entry: Mapping[str, Any] | None, digest: str) -> bool:
    """The recorded inputs hash is ``digest`` and every recorded file is as published (:func:`listed_file_problem`)."""
    if not entry or entry.get("inputs_sha256") != digest or not entry.get("files"):
        return False
    files: Mapping[str, str] = entry["files"]
    return all(listed_file_problem(folder, area_code, name, sha, digest) is None for name, sha in files.items())


# --------------------------------------------------------------------------- run.json and specs.json


class RunRecord(BaseModel):
    """What reportgen reads of an edition's ``run.json``: the edition label (a valid slug) and its lists."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    edition: str  # an edition label: checked below
    previous_edition: Annotated[str, Field(max_length=100)] | None = None
    status: Annotated[str, Field(max_length=20)] = ""
    built: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)

    @field_validator("edition")
    @classmethod
    def _edition_slug(cls, value: str) -> str:
        if edition_problem(value) is not None:
            raise ValueError("not an edition label (up to 32 letters, digits, '.', '_' or '-', such as 2024)")
        return value


class SpecDigestEntry(BaseModel):
    """One indicator in ``specs.json``: its name, the keys that define it and their SHA-256."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    name: Annotated[str, Field(max_length=1000)]
    keys: dict[str, JsonValue] = Field(default_factory=dict)
    sha256: Sha256


class SpecsDigest(RootModel[dict[str, SpecDigestEntry]]):
    """``specs.json``: per indicator id, its :class:`SpecDigestEntry`."""

    model_config = ConfigDict(strict=True, frozen=True)


def parse_run_record(data: bytes, label: str | Path) -> RunRecord:
    """``run.json``'s bytes as a :class:`RunRecord`; anything else is an :class:`InputFileError`."""
    return _validated(RunRecord, parse_json(data, label), label)


def parse_specs_digest(data: bytes, label: str | Path) -> dict[str, dict[str, Any]]:
    """``specs.json``'s bytes as a plain dict of indicator -> digest; anything else is an :class:`InputFileError`."""
    return _validated(SpecsDigest, parse_json(data, label), label).model_dump()


def read_run_record(folder: Path) -> RunRecord | None:
    """An edition folder's ``run.json``, or ``None`` when it has none; unusable is an :class:`InputFileError`."""
    path = folder / RUN_FILE
    data = read_capped(path, MAX_RUN_BYTES)
    return None if data is None else parse_run_record(data, path)


def read_specs_digest(folder: Path) -> dict[str, dict[str, Any]]:
    """An edition folder's ``specs.json`` (empty when it has none); unusable is an :class:`InputFileError`."""
    path = folder / SPECS_FILE
    raw = read_json_capped(path, MAX_SPECS_BYTES, MAX_JSON_DEPTH)
    return {} if raw is None else _validated(SpecsDigest, raw, path).model_dump()


Model = TypeVar("Model", bound=BaseModel)


def _validated(model: type[Model], raw: Any, label: str | Path) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InputFileError(f"{label}: not what reportgen writes there ({validation_summary(exc)}).") from None
