"""The published-folder invariant, as one function: :func:`verify_edition`.

``reportgen build`` checks it at the end of every national run (unless ``--no-verify``) and
``reportgen verify EDITION_FOLDER`` checks it for operators and the CI of publishing sites. An
edition folder is as published when:

- ``manifest.json`` is there and valid (:mod:`reportgen.publish.manifest`);
- every file it lists exists, is a regular file directly inside the folder (not a link), has the
  listed SHA-256, every listed PDF embeds the provenance of its own area (area code and inputs
  hash), and every listed HTML twin is a whole page (it parses, its elements close, it ends with
  ``</html>``) naming its own area and inputs hash;
- ``profiles.zip`` unpacks into one folder named after the edition (``2024/``): its ``README.txt``,
  then exactly the listed files, in name order, each with the listed content;
- ``index.html`` links every listed file (the HTML twins: see :data:`INDEX_MAY_OMIT`) and no
  other file: besides them it may link only
  ``profiles.zip``, ``changes.csv``, earlier editions' pages (``../2023/index.html``), anchors in
  the page or in a listed file (``#main``, ``<listed>.html#about``) and ``http:``, ``https:`` or
  ``mailto:`` addresses that a council's layouts add; never a ``javascript:`` URL, another path or a
  file the manifest does not list.

Every file is read as :mod:`reportgen.core.readers` reads: regular files only, no links, no FIFOs,
size-capped.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from reportgen.core.errors import InputFileError, Problem
from reportgen.core.readers import open_regular, read_capped
from reportgen.publish.manifest import (
    MANIFEST_FILE,
    MAX_MANIFEST_BYTES,
    MAX_OUTPUT_BYTES,
    Manifest,
    listed_file_problem,
    parse_manifest,
)
from reportgen.publish.site import CHANGES_FILE, INDEX_FILE, README_FILE, ZIP_FILE, is_edition_link, zip_prefix

#: Size limits of the page and the zip read to check them.
MAX_INDEX_BYTES = 32 * 1024 * 1024
MAX_ZIP_BYTES = 8 * 1024 * 1024 * 1024
#: Schemes of addresses elsewhere that the page may link (a council's own site, an email address).
OUTSIDE_SCHEMES = ("http", "https", "mailto")
#: Suffixes of listed files that index.html may leave unlinked: none, now that the page lists the HTML
#: twins (``<code>-<slug>.html``) first for each area.
INDEX_MAY_OMIT: tuple[str, ...] = ()
#: How many names a problem quotes.
MAX_NAMED = 3
CHUNK = 1024 * 1024


def verify_edition(folder: Path) -> list[Problem]:
    """Where the edition folder breaks the published-folder invariant (see the module); empty when it holds."""
    if not _is_folder(folder):
        return [Problem(str(folder), "", "is not a folder; give an edition folder such as output/2024")]
    path = folder / MANIFEST_FILE
    try:
        data = read_capped(path, MAX_MANIFEST_BYTES)
        if data is None:
            return [Problem(str(path), "", "is missing, so nothing in this folder can be verified")]
        manifest = parse_manifest(data, path)
    except InputFileError as exc:
        return [Problem("", "", exc.message)]
    listed = {name: sha for entry in manifest.areas.values() for name, sha in entry.files.items()}
    zipped = {zip_prefix(folder.name) + name: sha for name, sha in listed.items()}
    problems = _listed_problems(folder, manifest) + _zip_problems(folder / ZIP_FILE, zipped)
    return problems + _index_problems(folder, listed)


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _listed_problems(folder: Path, manifest: Manifest) -> list[Problem]:
    problems = []
    for code, entry in sorted(manifest.areas.items()):
        for name, sha in sorted(entry.files.items()):
            problem = listed_file_problem(folder, code, name, sha, entry.inputs_sha256)
            if problem is not None:
                problems.append(Problem(str(folder / name), "", f"{problem} (listed in {MANIFEST_FILE} for {code})"))
    return problems


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(name[:60]) for name in names[:MAX_NAMED])
    return f"{shown} and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else shown


# --------------------------------------------------------------------------- profiles.zip


def _zip_problems(path: Path, pdfs: dict[str, str]) -> list[Problem]:
    """profiles.zip holds its README and exactly the listed files (name in the zip -> SHA-256), in name
    order, with their content."""
    try:
        handle = open_regular(path, MAX_ZIP_BYTES)
    except InputFileError as exc:
        return [Problem("", "", exc.message)]
    if handle is None:
        return [Problem(str(path), "", "is missing")]
    try:
        with handle, zipfile.ZipFile(handle) as archive:
            return _zip_content_problems(path, archive, pdfs)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return [Problem(str(path), "", f"is not a readable zip file ({str(exc)[:200]})")]


def _zip_content_problems(path: Path, archive: zipfile.ZipFile, pdfs: dict[str, str]) -> list[Problem]:
    members = archive.infolist()
    readme = [m for m in members[:1] if m.filename.endswith("/" + README_FILE) or m.filename == README_FILE]
    members = members[len(readme) :]
    names = [member.filename for member in members]
    if not readme:
        return [Problem(str(path), "", f"lacks its {README_FILE}")]
    if names != sorted(pdfs):
        extra = sorted(set(names) - set(pdfs))
        missing = sorted(set(pdfs) - set(names))
        parts = [f"holds {_names(extra)}, which the manifest does not list"] if extra else []
        parts += [f"lacks {_names(missing)}"] if missing else []
        parts = parts or ["holds the listed PDFs in another order or more than once"]
        return [Problem(str(path), "", "; ".join(parts))]
    problems = []
    for member in members:
        if _member_sha256(archive, member) != pdfs[member.filename]:
            problems.append(Problem(str(path), "", f"its {member.filename} differs from the listed file"))
    return problems


def _member_sha256(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> str | None:
    """The SHA-256 of a member's content, or ``None`` when it is larger than a published file may be."""
    if member.file_size > MAX_OUTPUT_BYTES:
        return None
    digest, size = hashlib.sha256(), 0
    with archive.open(member) as stream:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > MAX_OUTPUT_BYTES:
                return None
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- index.html


class _Links(HTMLParser):
    """Every ``href`` and ``src`` in a page, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value or "" for key, value in attrs if key in ("href", "src")]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def page_links(page: bytes) -> list[str]:
    """The ``href`` and ``src`` values of an HTML page, in order."""
    parser = _Links()
    parser.feed(page.decode("utf-8", errors="replace"))
    parser.close()
    return parser.links


def _index_problems(folder: Path, listed: dict[str, str]) -> list[Problem]:
    """index.html links every listed file, and otherwise only the zip, anchors and web addresses."""
    path = folder / INDEX_FILE
    try:
        page = read_capped(path, MAX_INDEX_BYTES)
    except InputFileError as exc:
        return [Problem("", "", exc.message)]
    if page is None:
        return [Problem(str(path), "", "is missing")]
    links = page_links(page)
    unlisted = sorted({link for link in links if link.split("#")[0] not in listed and not _allowed_elsewhere(link)})
    unlinked = sorted(name for name in set(listed) - set(links) if not name.endswith(INDEX_MAY_OMIT))
    problems = []
    if unlisted:
        problems.append(Problem(str(path), "", f"links {_names(unlisted)}, which the manifest does not list"))
    if unlinked:
        problems.append(Problem(str(path), "", f"does not link {_names(unlinked)}, which the manifest lists"))
    return problems


def _allowed_elsewhere(link: str) -> bool:
    """The zip, an anchor in the page, or an address elsewhere on the web."""
    if link in (ZIP_FILE, CHANGES_FILE) or is_edition_link(link) or (link.startswith("#") and len(link) > 1):
        return True
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in OUTSIDE_SCHEMES and (parts.scheme == "mailto" or bool(parts.netloc))
