"""One area's document: statistics to a document model (plan, charts, every text), then to PDF bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reportgen import __version__
from reportgen.core.assets import default_layouts_dir
from reportgen.core.errors import Problem, RenderError, escape_bidi
from reportgen.core.export import table_csv
from reportgen.core.geography import Area
from reportgen.core.options import DEFAULT_AUTHOR
from reportgen.document.charts import draw_charts
from reportgen.document.compose import ProfileInputs, plan_profile
from reportgen.document.context import locator_map_context, profile_context, pyramid_context
from reportgen.document.inputs import DocumentFiles, Prepared
from reportgen.document.provenance import area_provenance, data_label
from reportgen.document.publication import legend_for, publication_context, results_shown
from reportgen.document.render import (
    PageLimitError,
    PdfAttachment,
    html_to_pdf,
    layout_search_path,
    make_environment,
    render_html,
)
from reportgen.document.theme import load_theme
from reportgen.document.twin import twin_context
from reportgen.document.view import load_wording

PROFILE_TEMPLATE = "profile.html.j2"
BRIEF_TEMPLATE = "brief.html.j2"
#: Most pages of each document (docs/profile.md promises them); a longer one fails its area.
MAX_PAGES = {PROFILE_TEMPLATE: 24, BRIEF_TEMPLATE: 2}
DOCUMENT_NAMES = {PROFILE_TEMPLATE: "profile", BRIEF_TEMPLATE: "board brief"}
#: The HTML twin: the profile as one accessible, self-contained web page (see reportgen.document.twin).
TWIN_TEMPLATE = "twin.html.j2"


@dataclass(frozen=True)
class ProfileDocument:
    """One area's document model: the template context every writer (full profile, brief) renders."""

    area: Area
    edition: str
    data_date: date
    search_path: list[Path]
    context: dict[str, Any]
    attachments: tuple[PdfAttachment, ...]
    identifier: str


def make_document(
    prepared: Prepared,
    area: Area,
    changes: Mapping[str, Any] | None = None,
    files: DocumentFiles | None = None,
) -> ProfileDocument:
    """Statistics to document model: plan, charts and every text of one area's profile.

    ``files`` are the names of the area's files (from the publish stage), which the brief and the
    publisher block name.
    """
    options, table = prepared.options, prepared.table
    search_path = layout_search_path(options.layouts_dir, default_layouts_dir())
    theme = load_theme(search_path, options.palette)
    provenance = area_provenance(prepared, area, changes)
    inputs = ProfileInputs(
        area=area,
        specs=tuple(prepared.specs),
        table=table,
        theme=theme,
        edition=prepared.edition,
        data_date=prepared.data_date,
        author=options.author or DEFAULT_AUTHOR,
        synthetic=prepared.data.synthetic,
        version=__version__,
        data_label=data_label(prepared.data.path),
        provenance=provenance,
        wording=load_wording(search_path),
        changes=dict(changes) if changes is not None else None,
    )
    plan = plan_profile(inputs)
    images = draw_charts(plan.spines, plan.trends, theme, plan.bars)
    attachments = (
        PdfAttachment(
            f"{area.code}-benchmark.csv",
            table_csv(table[table["area_code"] == area.code]),
            f"Benchmark table rows for {area.name}: every number in this profile",
        ),
        PdfAttachment(
            "provenance.json",
            (json.dumps(provenance, indent=1, sort_keys=True) + "\n").encode("utf-8"),
            "Generator version and SHA-256 hashes of the data, specs and layouts",
            "Source",
        ),
    )
    identifier = provenance["inputs_sha256"][:32]
    context = profile_context(plan, images)
    context["pyramid"] = pyramid_context(prepared.population, area, theme, inputs.wording)
    context["locator_map"] = locator_map_context(area, theme, inputs.wording)
    context.update(
        publication_context(
            theme,
            inputs.wording,
            area=area,
            edition=prepared.edition,
            data_date=prepared.data_date,
            files=files or DocumentFiles(),
            version=__version__,
        )
    )
    counts = context.get("glance", {}).get("counts", ())  # page 1's count badges, also in the brief
    shown = results_shown(context["indicators"], (c.get("badge") for c in counts if isinstance(c, dict)))
    context["brief_legend"] = legend_for(context["legend"], shown)  # the brief's key: only its results
    return ProfileDocument(area, prepared.edition, prepared.data_date, search_path, context, attachments, identifier)


def render_document(document: ProfileDocument, template: str) -> tuple[bytes, list[Problem]]:
    """Document model to PDF bytes: render one template (full profile or brief) with WeasyPrint.

    Bidirectional control characters are shown as escapes (``\\u202e``) throughout the HTML (data,
    specs, wording and labels alike), so no text prints reversed. A document longer than its
    :data:`MAX_PAGES` is a :class:`RenderError` naming the area.
    """
    html = escape_bidi(render_html(make_environment(document.search_path), template, document.context))
    identifier = document.identifier
    if template != PROFILE_TEMPLATE:
        identifier = hashlib.sha256(f"{document.identifier}|{template}".encode()).hexdigest()[:32]
    try:
        pdf, log = html_to_pdf(
            html,
            document.search_path,
            created=document.data_date,
            attachments=document.attachments,
            identifier=identifier.encode("ascii"),
            max_pages=MAX_PAGES.get(template),
        )
    except PageLimitError as exc:
        area = document.area
        raise RenderError(
            f"{area.name} ({area.code}): the {DOCUMENT_NAMES.get(template, template)} would have {exc.pages} "
            f"pages, more than the {exc.limit} allowed, so it is not written; shorten long text in the data "
            "(value notes, names) or in the layouts."
        ) from None
    return pdf, [Problem("", "layouts", f"refused to fetch {url}", "warning") for url in log.blocked]


@dataclass(frozen=True)
class TwinLink:
    """A file the HTML twin links to, beside it in the edition folder: the PDF profile or the brief."""

    href: str  # a file name, relative to the page
    kind: str  # wording key of the link text in the ``twin`` section: pdf_link or brief_link
    size: int  # bytes


def render_twin(document: ProfileDocument, links: tuple[TwinLink, ...] = ()) -> bytes:
    """Document model to the HTML twin's bytes: the profile's sections as one accessible web page.

    The same context as the PDF, in the ``web`` medium (charts as inline SVG, layout images as
    ``data:`` URIs), with links to ``links`` (relative names). The same model gives the same bytes.
    """
    context = twin_context(document.context, {"files": [_link_view(document, link) for link in links]})
    html = escape_bidi(render_html(make_environment(document.search_path, "web"), TWIN_TEMPLATE, context))
    return html.encode("utf-8")


def _link_view(document: ProfileDocument, link: TwinLink) -> dict[str, str]:
    twin = document.context["wording"]["twin"]
    size = f"{link.size / 1024:,.0f} KB" if link.size >= 1024 else f"{link.size} bytes"
    kind = "PDF" if link.href.endswith(".pdf") else link.href.rsplit(".", 1)[-1].upper()
    return {
        "href": link.href,
        "label": twin[link.kind],
        "size": twin["file_size"].replace("{kind}", kind).replace("{size}", size),
    }
