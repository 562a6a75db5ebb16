"""One path from an area to its bytes: :func:`render_area` is what every build runs per area.

It is pure: it reads the prepared inputs and returns the area's files as bytes, writing nothing.
``build --area``, the national run's workers, the Dask tasks and ``make bench`` all call it;
the files are written by :mod:`reportgen.publish.write` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reportgen.core.errors import OutputError, Problem
from reportgen.core.files import is_ons_code
from reportgen.core.geography import Area
from reportgen.core.memory import rare_collections
from reportgen.document.build import (
    BRIEF_TEMPLATE,
    PROFILE_TEMPLATE,
    TwinLink,
    make_document,
    render_document,
    render_twin,
)
from reportgen.document.inputs import DocumentFiles, Prepared
from reportgen.publish.prepare import check_area, check_edition
from reportgen.publish.site import data_csv

BRIEF_SUFFIX = "-brief.pdf"  # the same suffixes as reportgen.publish.site reads
DATA_SUFFIX = "-data.csv"
HTML_SUFFIX = ".html"  # the HTML twin: <code>-<slug>.html beside <code>-<slug>.pdf


@dataclass(frozen=True)
class AreaFiles:
    """One area's outputs: file name -> bytes, the profile first; and the warnings of this area alone."""

    area: Area
    files: dict[str, bytes]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def profile_name(self) -> str:
        return next(iter(self.files))


def render_area(prepared: Prepared, area: Area, changes: Mapping[str, Any] | None = None) -> AreaFiles:
    """The area's profile (and, as the options ask, its board brief, HTML twin and data CSV) as bytes.

    The files are in this order: the PDF profile, the brief, the HTML twin (which links the two
    PDFs beside it), the data CSV.

    Raises a :class:`~reportgen.core.errors.ReportgenError` when the area cannot be built (no
    rows for it without ``allow_empty``, a template error, ...).
    """
    check_area(prepared, area)
    names = output_names(prepared.edition, area)
    with rare_collections():
        document = make_document(prepared, area, changes, DocumentFiles(names.profile, names.brief, names.data))
        profile, warnings = render_document(document, PROFILE_TEMPLATE)
        files = {names.profile: profile}
        if prepared.options.brief:
            brief, brief_warnings = render_document(document, BRIEF_TEMPLATE)
            files[names.brief] = brief
            warnings += brief_warnings
        if prepared.options.html:
            links = [TwinLink(names.profile, "pdf_link", len(profile))]
            if names.brief in files:
                links.append(TwinLink(names.brief, "brief_link", len(files[names.brief])))
            files[names.html] = render_twin(document, tuple(links))
    if prepared.options.data_csv:
        files[names.data] = data_csv(prepared.table[prepared.table["area_code"] == area.code], prepared.specs)
    return AreaFiles(area, files, tuple(dict.fromkeys(warnings)))


@dataclass(frozen=True)
class OutputNames:
    """An area's file names in its edition folder: ``<code>-<slug>.pdf`` and its siblings."""

    profile: str
    brief: str
    data: str
    html: str

    def wanted(self, brief: bool, html: bool) -> list[str]:
        """The names a build writes: the profile, then the brief and the HTML twin if asked for."""
        return [self.profile] + [self.brief] * brief + [self.html] * html


def output_names(edition: str, area: Area) -> OutputNames:
    """File names from validated parts only: the edition is a slug, the code an ONS code."""
    check_edition(edition)
    if not is_ons_code(area.code):
        raise OutputError(f"Area code {area.code!r} is not an ONS area code, so it cannot name an output file.")
    stem = f"{area.code}-{slugify(area.name)}"
    return OutputNames(f"{stem}.pdf", f"{stem}{BRIEF_SUFFIX}", f"{stem}{DATA_SUFFIX}", f"{stem}{HTML_SUFFIX}")


def slugify(text: str, limit: int = 60) -> str:
    """File-name slug: lower-case words joined by hyphens, at most ``limit`` characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:limit].rstrip("-") or "area"
