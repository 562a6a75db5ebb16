"""The edition's download page ("Find your area"), the per-area data CSVs and the zip of every PDF.

The page is one static, self-contained HTML file (inline CSS and JavaScript, no external
resources), so it works opened from the file system and from any static web server. Without
JavaScript the full list is shown; with it, a search box filters the list as you type. Its
structure, styles and script are the layouts' ``site.html.j2`` and ``static/site.css``, its words
``wording.yaml``'s ``site`` section, rendered on the sandboxed, autoescaping layouts environment.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from reportgen.core.assets import default_layouts_dir
from reportgen.core.formatting import long_date
from reportgen.document.render import layout_search_path, make_environment, render_html
from reportgen.document.view import Wording, load_wording
from reportgen.publish.changes import csv_bytes
from reportgen.publish.manifest import is_output_name

INDEX_FILE = "index.html"
ZIP_FILE = "profiles.zip"
BRIEF_SUFFIX = "-brief.pdf"


def data_csv(rows: pd.DataFrame) -> bytes:
    """An area's benchmark rows as CSV, every text cell neutralised against formula injection."""
    values = rows.astype(object).where(rows.notna(), "")
    return csv_bytes(list(rows.columns), values.itertuples(index=False, name=None))


def data_csv_name(profile_name: str) -> str:
    return profile_name.removesuffix(".pdf") + "-data.csv"


def area_files(entry: dict[str, Any], code: str | None = None) -> tuple[str | None, str | None]:
    """The profile and the brief (when present) among an area's recorded files (its own output names only)."""
    pdfs = sorted(name for name in entry.get("files", {}) if name.endswith(".pdf") and is_output_name(name, code))
    brief = next((n for n in pdfs if n.endswith(BRIEF_SUFFIX)), None)
    profile = next((n for n in pdfs if not n.endswith(BRIEF_SUFFIX)), None)
    return profile, brief


def zip_members(manifest: dict[str, Any]) -> list[str]:
    """The files profiles.zip holds: every recorded PDF (one of its area's output names), in name order."""
    return sorted(
        name
        for code, entry in manifest["areas"].items()
        for name in entry.get("files", {})
        if name.endswith(".pdf") and is_output_name(name, code)
    )


def size_text(n_bytes: int) -> str:
    """File size as people read it: 812 KB, 1.4 MB."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{max(1, round(n_bytes / 1000))} KB"


@dataclass(frozen=True)
class FileLink:
    """One file of an area on the page: where it is, what it is, and its kind and size."""

    href: str
    label: str
    hidden: str  # read by screen readers after the label: "for Hartlepool"
    size: str  # "(PDF, 812 KB)"


@dataclass(frozen=True)
class AreaEntry:
    """One authority on the page: its name, code, the text the search box matches, and its files."""

    name: str
    code: str
    search: str
    links: tuple[FileLink, ...]


@dataclass(frozen=True)
class RegionSection:
    """The authorities of one region, by name."""

    code: str
    name: str
    areas: tuple[AreaEntry, ...]


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
    if not name or not is_output_name(name, code):
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


def _area_entry(folder: Path, code: str, entry: dict[str, Any], wording: Wording) -> AreaEntry:
    name = str(entry.get("area_name", code))
    profile, brief = area_files(entry, code)
    data = data_csv_name(profile) if profile else None
    links = (
        _link(folder, code, profile, "profile_link", "pdf", name, wording),
        _link(folder, code, brief, "brief_link", "pdf", name, wording),
        _link(folder, code, data if data in entry.get("files", {}) else None, "data_link", "csv", name, wording),
    )
    return AreaEntry(name, code, f"{name} {code}".casefold(), tuple(link for link in links if link is not None))


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


SITE_TEMPLATE = "site.html.j2"
#: The search box's status messages, by the name of their data- attribute; {n} and {query} are filled in by
#: the page's script as the list is filtered.
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
) -> bytes:
    """The "Find your area" page of an edition, from the layouts' ``site.html.j2`` and ``wording.yaml``.

    ``search_path`` is the layouts folders (a council's first); by default the packaged layouts.
    """
    folders = list(search_path) if search_path else layout_search_path(None, default_layouts_dir())
    wording = load_wording(folders)
    context = site_context(manifest, folder, edition, data_date, synthetic, wording)
    return render_html(make_environment(folders), SITE_TEMPLATE, context).encode("utf-8")


def site_context(
    manifest: dict[str, Any], folder: Path, edition: str, data_date: date, synthetic: bool, wording: Wording
) -> dict[str, Any]:
    """What the page's template needs: the sentences worded from the layouts, and the regions' files."""
    count = len(manifest["areas"])
    zip_size = size_text((folder / ZIP_FILE).stat().st_size) if (folder / ZIP_FILE).is_file() else ""
    site = functools.partial(wording.text, "site")
    series, date_text = site("series"), long_date(data_date)
    authorities = site("authorities_one" if count == 1 else "authorities_many", n=count)
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
        "status": site("listed_one" if count == 1 else "listed_many", n=count),
        "footer": site("footer", series=series, edition=edition, data_date=date_text),
    }
    return {
        "language": "en-GB",
        "text": text,
        "status_messages": {name: site(key, n="{n}", query="{query}") for name, key in STATUS_MESSAGES.items()},
        "synthetic": synthetic,
        "zip_file": ZIP_FILE,
        "regions": _regions(folder, manifest, wording),
    }
