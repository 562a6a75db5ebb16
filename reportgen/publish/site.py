"""The edition's download page ("Find your area"), the per-area data CSVs and the zip of every file.

The page is one static, self-contained HTML file (inline CSS and JavaScript, no external
resources), so it works opened from the file system and from any static web server. Without
JavaScript the full list is shown; with it, a search box filters the list as you type, and finds
an authority from the name of a district or town in it ("Harrogate is in North Yorkshire": the
shipped ``reportgen/data/places.csv``, written into the page). Its structure, styles and script
are the layouts' ``site.html.j2`` and ``static/site.css``, its words ``wording.yaml``'s ``site``
section, rendered on the sandboxed, autoescaping layouts environment. Who publishes the edition,
its licence and contact come from the theme's ``publisher`` block.

``profiles.zip`` unpacks into one folder named after the edition (``2024/``), holding a
``README.txt`` and every file the manifest lists. The zip carries a digest of what it holds as its
comment, so a rerun that would write the same zip leaves the file alone (:func:`zip_is_current`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from reportgen.core.assets import default_layouts_dir, reference_table
from reportgen.core.files import edition_problem, neutralise_text
from reportgen.core.formatting import long_date
from reportgen.core.geography import load_geography
from reportgen.core.specs import IndicatorSpec
from reportgen.document.render import layout_search_path, make_environment, render_html
from reportgen.document.theme import load_theme
from reportgen.document.view import Wording, load_wording
from reportgen.publish.manifest import MANIFEST_FILE, is_output_name
from reportgen.publish.tables import (
    COLUMN_GUIDE,
    COMPARISON_COLUMNS,
    DISPLAY_SUFFIX,
    ROUNDED_COLUMNS,
    with_display_labels,
)

INDEX_FILE = "index.html"
ZIP_FILE = "profiles.zip"
README_FILE = "README.txt"
CHANGES_FILE = "changes.csv"
BRIEF_SUFFIX = "-brief.pdf"
HTML_SUFFIX = ".html"
PLACES_FILE = "places.csv"
#: The licence's address when the theme names none (the packaged theme.yaml's, with its name).
DEFAULT_LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
#: The id of the About section in a profile's web page (layouts/about.html.j2).
ABOUT_ANCHOR = "about"
#: How many earlier editions the page links, newest first.
MAX_PREVIOUS = 20
#: The zip's comment: this prefix and the SHA-256 of its members' names and contents.
ZIP_COMMENT_PREFIX = b"reportgen-zip-sha256:"


# --------------------------------------------------------------------------- the per-area data CSV

#: Columns added after ``indicator_id``: what the indicator is and its unit.
NAME_COLUMNS = ("indicator_name", "unit")


def data_columns(table_columns: Iterable[str], names: bool = True) -> list[str]:
    """The columns of a per-area data CSV written from a benchmark table with ``table_columns``: the
    indicator's name and unit after ``indicator_id`` (with ``names``), and after each comparison column
    its display label (``compared_to_england_display``, :func:`reportgen.publish.tables.with_display_labels`)."""
    columns = list(table_columns)
    if names and "indicator_id" in columns:
        at = columns.index("indicator_id") + 1
        columns[at:at] = [c for c in NAME_COLUMNS if c not in columns]
    for column in COMPARISON_COLUMNS:
        if column in columns and column + DISPLAY_SUFFIX not in columns:
            columns.insert(columns.index(column) + 1, column + DISPLAY_SUFFIX)
    return columns


def data_csv(rows: pd.DataFrame, specs: Sequence[IndicatorSpec] = ()) -> bytes:
    """An area's benchmark rows as CSV for people and spreadsheets.

    With the specs, each row names its indicator and unit (after ``indicator_id``) and values on the
    indicator's scale are rounded to the spec's decimal places (``586``, ``66.9``); other numbers are
    written without a spurious ``.0``. Each comparison keeps Fingertips' exact label, followed by the
    label as the profiles word it. Text cells are neutralised against formula injection (a leading
    ``'``); a number is written as a plain number, which a spreadsheet never runs.
    """
    by_id = {spec.id: spec for spec in specs}
    rows = with_display_labels(rows)
    columns = list(rows.columns)
    header = data_columns(columns, names=bool(by_id))
    out = []
    for record in rows.astype(object).itertuples(index=False, name=None):
        values = dict(zip(columns, record, strict=True))
        spec = by_id.get(str(values.get("indicator_id", "")))
        values.setdefault("indicator_name", spec.name if spec else "")
        values.setdefault("unit", spec.unit if spec else "")
        places = spec.decimals if spec is not None else None
        out.append([_cell(values.get(column), places if column in ROUNDED_COLUMNS else None) for column in header])
    return _csv(header, out)


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """CSV (RFC 4180, CRLF) with every text cell neutralised (:func:`reportgen.core.files.neutralise_text`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_text(h) for h in header])
    writer.writerows(
        [cell if isinstance(cell, Number) else neutralise_text("" if cell is None else str(cell)) for cell in row]
        for row in rows
    )
    return buffer.getvalue().encode("utf-8")


def _cell(value: object, places: int | None) -> object:
    """A CSV cell: blank for missing, a number rounded to ``places`` (or without a trailing ``.0``), else text."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value):
        if places is not None:
            return Number(f"{value:.{places}f}")
        return Number(str(int(value)) if value.is_integer() else f"{value:.12g}")
    if isinstance(value, int):
        return Number(str(value))
    return value


class Number(str):
    """A cell that is a number written by :func:`_cell` (never text from the data): not neutralised."""


def data_csv_name(profile_name: str) -> str:
    return profile_name.removesuffix(".pdf") + "-data.csv"


def html_name(profile_name: str) -> str:
    """The name of a profile's accessible web page: ``E06000001-hartlepool.html`` beside its PDF."""
    return profile_name.removesuffix(".pdf") + HTML_SUFFIX


def _own(name: str, code: str | None) -> bool:
    """One of the area's own output names (the manifest's pattern, or a profile's web page)."""
    if name.endswith(HTML_SUFFIX):
        return is_output_name(name.removesuffix(HTML_SUFFIX) + ".pdf", code)
    return is_output_name(name, code)


def area_files(entry: dict[str, Any], code: str | None = None) -> tuple[str | None, str | None]:
    """The profile and the brief (when present) among an area's recorded files (its own output names only)."""
    pdfs = sorted(name for name in entry.get("files", {}) if name.endswith(".pdf") and is_output_name(name, code))
    brief = next((n for n in pdfs if n.endswith(BRIEF_SUFFIX)), None)
    profile = next((n for n in pdfs if not n.endswith(BRIEF_SUFFIX)), None)
    return profile, brief


def zip_members(manifest: dict[str, Any]) -> list[str]:
    """The area files profiles.zip holds: every file the manifest lists for an area (one of its own
    output names), in name order."""
    return sorted(
        name for code, entry in manifest["areas"].items() for name in entry.get("files", {}) if _own(name, code)
    )


def size_text(n_bytes: int) -> str:
    """File size as people read it: 812 KB, 1.4 MB."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{max(1, round(n_bytes / 1000))} KB"


# --------------------------------------------------------------------------- the page's parts


@dataclass(frozen=True)
class FileLink:
    """One file of an area on the page: where it is, what it is, and its kind and size."""

    href: str
    label: str
    hidden: str  # read by screen readers after the label: "for Hartlepool"
    size: str  # "(PDF, 812 KB)"


@dataclass(frozen=True)
class AreaEntry:
    """One authority on the page: its name, code, the names the search box matches, and its files."""

    name: str
    code: str
    search: str  # the official name and the name in sentences (when another), separated by "|"
    places: str  # districts and towns in it, separated by "|"
    links: tuple[FileLink, ...]


@dataclass(frozen=True)
class RegionSection:
    """The authorities of one region, by name."""

    code: str
    name: str
    areas: tuple[AreaEntry, ...]


@dataclass(frozen=True)
class Link:
    """A link of the About section: its address, its text and, for a file, its kind and size."""

    href: str
    label: str
    size: str = ""


@functools.lru_cache(maxsize=1)
def default_licence() -> tuple[str, str]:
    """The data's licence and its address when a theme names none: the packaged theme.yaml's (OGL v3)."""
    block = getattr(load_theme(layout_search_path(None, default_layouts_dir())), "publisher", None)
    name = " ".join(str(getattr(block, "licence", "") or "").split())
    return name, str(getattr(block, "licence_url", "") or "") or DEFAULT_LICENCE_URL


@dataclass(frozen=True)
class PublisherInfo:
    """Who publishes the edition and how to reach them (the theme's ``publisher``; empty when not set)."""

    name: str = ""
    url: str = ""
    email: str = ""
    contact_url: str = ""
    licence: str = field(default_factory=lambda: default_licence()[0])
    licence_url: str = field(default_factory=lambda: default_licence()[1])


def _regular_size(path: Path) -> int | None:
    """The size of ``path`` if it is a regular file (a link is not followed), else ``None``."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _link(
    folder: Path, code: str, name: str | None, label: str, kind: str, area_name: str, wording: Wording
) -> FileLink | None:
    """A link to ``name`` only if it is one of the area's own output names (a plain relative name, never
    ``javascript:`` or ``../``) and a regular file in the edition folder."""
    if not name or not _own(name, code):
        return None
    n_bytes = _regular_size(folder / name)
    if n_bytes is None:
        return None
    size = size_text(n_bytes)
    return FileLink(
        href=name,
        label=wording.text("site", label),
        hidden=wording.text("site", "link_area", area=area_name),
        size=wording.text("site", "file_size", kind=wording.text("site", kind), size=size),
    )


@functools.lru_cache(maxsize=1)
def places_by_area() -> dict[str, tuple[str, ...]]:
    """The shipped districts and towns (``reportgen/data/places.csv``), by the code of the UTLA they are in."""
    found: dict[str, list[str]] = {}
    with reference_table(PLACES_FILE).open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["area_code"], []).append(row["place"])
    return {code: tuple(names) for code, names in found.items()}


def _search_names(code: str, name: str) -> str:
    area = load_geography().lookup(code)
    names = [name] + ([area.display_name] if area is not None and area.display_name != name else [])
    return "|".join(names)


def _area_entry(folder: Path, code: str, entry: dict[str, Any], wording: Wording) -> AreaEntry:
    name = str(entry.get("area_name", code))
    files = entry.get("files", {})
    profile, brief = area_files(entry, code)
    html = html_name(profile) if profile else None
    data = data_csv_name(profile) if profile else None
    links = (
        _link(folder, code, html if html in files else None, "html_link", "html", name, wording),
        _link(folder, code, profile, "pdf_profile_link", "pdf", name, wording),
        _link(folder, code, brief, "brief_link", "pdf", name, wording),
        _link(folder, code, data if data in files else None, "data_link", "csv", name, wording),
    )
    places = "|".join(places_by_area().get(code, ()))
    return AreaEntry(name, code, _search_names(code, name), places, tuple(link for link in links if link is not None))


def _regions(folder: Path, manifest: dict[str, Any], wording: Wording) -> list[RegionSection]:
    """The authorities grouped by region, regions in code order (those without one last), names sorted."""
    grouped: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for code, entry in manifest["areas"].items():
        region = (str(entry.get("region_code") or "Z"), str(entry.get("region_name") or ""))
        grouped.setdefault(region, []).append((code, entry))
    sections = []
    for (region_code, region_name), members in sorted(grouped.items()):
        members.sort(key=lambda pair: (str(pair[1].get("area_name", "")).casefold(), pair[0]))
        areas = tuple(_area_entry(folder, code, entry, wording) for code, entry in members)
        sections.append(RegionSection(region_code, region_name or wording.text("site", "other_areas"), areas))
    return sections


def publisher_info(search_path: Sequence[Path]) -> PublisherInfo:
    """Who publishes the edition, from the theme's ``publisher`` block (else its ``organisation``)."""
    theme = load_theme(search_path)
    block = getattr(theme, "publisher", None)

    def text(key: str) -> str:
        return " ".join(str(getattr(block, key, "") or "").split())

    return PublisherInfo(
        name=text("name") or " ".join(str(getattr(theme, "organisation", "") or "").split()),
        url=text("url"),
        email=text("contact_email"),
        contact_url=text("contact_url"),
        licence=text("licence") or default_licence()[0],
        licence_url=text("licence_url") or default_licence()[1],
    )


def previous_editions(folder: Path) -> list[str]:
    """The other edition folders beside ``folder`` (in the same --out) that hold a manifest and a page,
    newest (highest label) first."""
    try:
        siblings = list(os.scandir(folder.parent))
    except OSError:
        return []
    found = []
    for sibling in siblings:
        if sibling.name == folder.name or edition_problem(sibling.name) is not None:
            continue
        if not sibling.is_dir(follow_symlinks=False):
            continue
        path = Path(sibling.path)
        if _regular_size(path / MANIFEST_FILE) is not None and _regular_size(path / INDEX_FILE) is not None:
            found.append(sibling.name)
    return sorted(found, key=_edition_key, reverse=True)[:MAX_PREVIOUS]


def _edition_key(label: str) -> tuple[Any, ...]:
    """``2024`` after ``2023``, ``2024-refresh`` after ``2024``, ``10`` after ``9``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", label) if part)


def is_edition_link(link: str) -> bool:
    """Whether ``link`` is a link the page makes to an earlier edition's page: ``../2023/index.html``."""
    parts = link.split("/")
    return len(parts) == 3 and parts[0] == ".." and parts[2] == INDEX_FILE and edition_problem(parts[1]) is None


# --------------------------------------------------------------------------- the page

SITE_TEMPLATE = "site.html.j2"
#: The search box's status messages, by the name of their data- attribute; {n}, {query}, {place} and
#: {area} are filled in by the page's script as the list is filtered.
STATUS_MESSAGES = {
    "listed-one": "listed_one",
    "listed-many": "listed_many",
    "matches-none": "matches_none",
    "matches-one": "matches_one",
    "matches-many": "matches_many",
}


def index_html(
    manifest: dict[str, Any],
    folder: Path,
    edition: str,
    data_date: date,
    synthetic: bool,
    *,
    search_path: Sequence[Path] | None = None,
    previous_edition: str | None = None,
) -> bytes:
    """The "Find your area" page of an edition, from the layouts' ``site.html.j2`` and ``wording.yaml``.

    ``search_path`` is the layouts folders (a council's first); by default the packaged layouts.
    ``previous_edition`` names the edition ``changes.csv`` compares with.
    """
    folders = list(search_path) if search_path else layout_search_path(None, default_layouts_dir())
    wording = load_wording(folders)
    publisher = publisher_info(folders)
    context = site_context(manifest, folder, edition, data_date, synthetic, wording, publisher, previous_edition)
    return render_html(make_environment(folders), SITE_TEMPLATE, context).encode("utf-8")


def site_context(
    manifest: dict[str, Any],
    folder: Path,
    edition: str,
    data_date: date,
    synthetic: bool,
    wording: Wording,
    publisher: PublisherInfo | None = None,
    previous_edition: str | None = None,
) -> dict[str, Any]:
    """What the page's template needs: the sentences worded from the layouts, and the regions' files."""
    publisher = publisher or PublisherInfo()
    count = len(manifest["areas"])
    zip_bytes = _regular_size(folder / ZIP_FILE)
    zip_size = size_text(zip_bytes) if zip_bytes is not None else ""
    site = functools.partial(wording.text, "site")
    series, date_text = site("series"), long_date(data_date)
    authorities = site("authorities_one" if count == 1 else "authorities_many", n=count)
    regions = _regions(folder, manifest, wording)
    text = {
        "title": site("title", series=series, edition=edition),
        "series": series,
        "heading": site("heading"),
        "skip_link": site("skip_link"),
        "facts": site("facts", edition=edition, data_date=date_text, authorities=authorities),
        "synthetic_title": site("synthetic_title"),
        "synthetic": site("synthetic"),
        "intro": site("intro"),
        "download_all": site("download_all"),
        "download_all_size": site("download_all_size", size=zip_size),
        "search_label": site("search_label"),
        "search_hint": site("search_hint"),
        "search_places": site("search_places"),
        "status": site("listed_one" if count == 1 else "listed_many", n=count),
        "footer": site("footer", series=series, edition=edition, data_date=date_text),
        "places_credit": site("places_credit"),
        "nav_label": site("nav_label"),
        "nav_about": site("nav_about"),
        "nav_accessibility": site("nav_accessibility"),
    }
    return {
        "language": "en-GB",
        "text": text,
        "status_messages": {name: site(key, n="{n}", query="{query}") for name, key in STATUS_MESSAGES.items()},
        "place_note": site("place_note", place="{place}", area="{area}"),
        "synthetic": synthetic,
        "zip_file": ZIP_FILE if zip_bytes is not None else "",
        "regions": regions,
        "about": _about(folder, edition, date_text, regions, wording, publisher, previous_edition),
        "accessibility": _accessibility(regions, wording, publisher),
    }


def _about(
    folder: Path,
    edition: str,
    date_text: str,
    regions: Sequence[RegionSection],
    wording: Wording,
    publisher: PublisherInfo,
    previous_edition: str | None,
) -> dict[str, Any]:
    """The "About this publication" section: who, licence, data date, method, changes, earlier editions."""
    site = functools.partial(wording.text, "site")
    example = next((area for region in regions for area in region.areas if area.links), None)
    html = next((link for link in example.links if link.href.endswith(HTML_SUFFIX)), None) if example else None
    changes_bytes = _regular_size(folder / CHANGES_FILE)
    changes = None
    if changes_bytes is not None:
        label = site("changes_link", previous=previous_edition) if previous_edition else site("changes_link_unnamed")
        size = site("file_size", kind=site("csv"), size=size_text(changes_bytes))
        changes = Link(CHANGES_FILE, label, size)
    previous = [
        Link(f"../{name}/{INDEX_FILE}", site("previous_link", edition=name)) for name in previous_editions(folder)
    ]
    return {
        "heading": site("about_heading"),
        "publisher": site("publisher", publisher=publisher.name) if publisher.name and not publisher.url else "",
        "publisher_link": Link(publisher.url, publisher.name) if publisher.name and publisher.url else None,
        "publisher_link_text": site("publisher_link"),
        "publisher_none": "" if publisher.name else site("publisher_none"),
        "licence": site("licence"),
        "licence_link": Link(publisher.licence_url, publisher.licence),
        "data_date": site("data_date", data_date=date_text),
        "method": site("method") if html else site("method_pdf"),
        "method_link": Link(f"{html.href}#{ABOUT_ANCHOR}", site("method_link", area=example.name))
        if html and example
        else None,
        "changes": changes,
        "previous_heading": site("previous_heading"),
        "previous": previous,
        "previous_none": site("previous_none"),
        "edition": edition,
    }


def _accessibility(regions: Sequence[RegionSection], wording: Wording, publisher: PublisherInfo) -> dict[str, Any]:
    """The accessibility statement: what is accessible and what is not, and how to ask for another format."""
    site = functools.partial(wording.text, "site")
    has_html = any(link.href.endswith(HTML_SUFFIX) for region in regions for a in region.areas for link in a.links)
    ask, ask_link = site("access_ask_none"), None
    if publisher.email:
        ask, ask_link = site("access_ask_email"), Link(f"mailto:{publisher.email}", publisher.email)
    elif publisher.contact_url:
        ask, ask_link = site("access_ask_url"), Link(publisher.contact_url, publisher.contact_url)
    lines = [site("access_html"), site("access_pdf")] if has_html else [site("access_no_html")]
    return {
        "heading": site("access_heading"),
        "lines": [*lines, site("access_limits")],
        "ask": ask,
        "ask_link": ask_link,
        "ask_say": site("access_ask_say") if ask_link else "",
    }


# --------------------------------------------------------------------------- profiles.zip


def zip_prefix(edition: str) -> str:
    """The one folder profiles.zip unpacks into: ``2024/``."""
    return f"{edition}/"


def readme_text(
    edition: str, data_date: date, wording: Wording, publisher: PublisherInfo, columns: Iterable[str] = ()
) -> bytes:
    """README.txt of profiles.zip: what the files are, their licence, the data date and the publisher."""
    site = functools.partial(wording.text, "site")
    lines = [
        site("readme_title", series=site("series"), edition=edition),
        "",
        site("readme_what"),
        "",
        site("readme_data_date", data_date=long_date(data_date)),
        site("readme_publisher", publisher=publisher.name) if publisher.name else site("publisher_none"),
        site("readme_licence", licence=publisher.licence, licence_url=publisher.licence_url),
        site("readme_page"),
    ]
    added = {c: site(f"readme_column_{c}") for c in NAME_COLUMNS}  # what the indicator is and its unit
    meanings = {**{c: meaning for c, (_, meaning) in COLUMN_GUIDE.items()}, **added}
    guide = [(c, meanings[c]) for c in columns if c in meanings]
    if guide:
        lines += ["", site("readme_columns")] + [f"  {column}: {meaning}" for column, meaning in guide]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def edition_readme(
    edition: str, data_date: date, columns: Iterable[str], search_path: Sequence[Path] | None = None
) -> bytes:
    """README.txt of an edition's profiles.zip, worded by the layouts (:func:`readme_text`)."""
    folders = list(search_path) if search_path else layout_search_path(None, default_layouts_dir())
    return readme_text(edition, data_date, load_wording(folders), publisher_info(folders), columns)


def zip_comment(prefix: str, names: Sequence[str], manifest_sha: Mapping[str, str], readme: bytes) -> bytes:
    """The digest of what the zip holds: the README and each member's name and listed SHA-256."""
    digest = hashlib.sha256(f"{prefix}{README_FILE}\0{hashlib.sha256(readme).hexdigest()}\n".encode())
    for name in names:
        digest.update(f"{prefix}{name}\0{manifest_sha.get(name, '')}\n".encode())
    return ZIP_COMMENT_PREFIX + digest.hexdigest().encode()


def listed_sha256(manifest: dict[str, Any]) -> dict[str, str]:
    """Every listed file's SHA-256, by name."""
    return {name: str(sha) for entry in manifest["areas"].values() for name, sha in entry.get("files", {}).items()}


def zip_is_current(path: Path, folder: Path, prefix: str, names: Sequence[str], comment: bytes) -> bool:
    """Whether the zip at ``path`` already holds exactly what would be written: its comment (the digest of
    its content, :func:`zip_comment`) is ``comment``, its members are the README and ``names`` (under
    ``prefix``) in order, each as large as its file now. A zip that cannot be read, or a different one, is
    not current (and is rewritten)."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return False
        with zipfile.ZipFile(path) as archive:
            if archive.comment != comment:
                return False
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return False
    if [m.filename for m in members] != [prefix + README_FILE, *(prefix + name for name in names)]:
        return False
    return all(_regular_size(folder / name) == m.file_size for m, name in zip(members[1:], names, strict=True))
