"""What the documents say about their publication, and the board brief's own key.

The publisher block of the About page and of the brief (who publishes the profile, the contact,
the data's licence and sources, the data date and how to cite it) comes from the layouts'
``theme.yaml`` (``publisher``) and is worded from ``wording.yaml`` (``publisher``, ``brief``). The
file names come from the publish stage as :class:`~reportgen.document.inputs.DocumentFiles`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from reportgen.core import formatting as fmt
from reportgen.core.geography import Area
from reportgen.document.inputs import DocumentFiles
from reportgen.document.models import Theme
from reportgen.document.view import IndicatorView, LegendGroup, Wording

#: A 4-digit year at the start of an edition label (``2024``, ``2025-spring``) is the year cited.
EDITION_YEAR = re.compile(r"(19|20|21)\d\d(?!\d)")


def cited_year(edition: str, data_date: date) -> int:
    """The year of the citation: the edition's own year when its label starts with one, else the data date's."""
    match = EDITION_YEAR.match(edition)
    return int(match.group(0)) if match else data_date.year


def publication_url(theme: Theme, edition: str) -> str:
    """The publication page of this edition (theme.yaml ``publisher.publication_url``, ``{edition}`` filled in)."""
    return theme.publisher.publication_url.replace("{edition}", edition)


def publisher_name(theme: Theme) -> str:
    """The publishing organisation: ``publisher.name``, else the theme's ``organisation``; empty when neither is set."""
    return theme.publisher.name or " ".join(theme.organisation.split())


def publication_context(
    theme: Theme,
    wording: Wording,
    *,
    area: Area,
    edition: str,
    data_date: date,
    files: DocumentFiles,
    version: str,
) -> dict[str, Any]:
    """The template context of the publisher block and of the brief's "About this brief"."""
    publisher = theme.publisher
    name = publisher_name(theme)
    url = publication_url(theme, edition)
    place = url or wording.text("brief", "place_default")
    title = wording.text("document", "title")
    contacts = [c for c in (publisher.contact_email, publisher.contact_url) if c]
    if name and publisher.url:
        who = wording.text("publisher", "published_by_url", name=name, url=publisher.url)
    elif name:
        who = wording.text("publisher", "published_by", name=name)
    else:
        who = wording.text("publisher", "unnamed", version=version)
    licence = ""
    if publisher.licence:
        link = wording.text("publisher", "licence_url", url=publisher.licence_url) if publisher.licence_url else ""
        licence = wording.text("publisher", "licence", licence=publisher.licence, url=link)
    address = url or publisher.url or files.profile
    cite_values = {"title": title, "area": area.name, "edition": edition, "year": cited_year(edition, data_date)}
    if name:
        cite = wording.text("publisher", "cite", publisher=name, address=address, **cite_values)
    else:
        cite = wording.text("publisher", "cite_unnamed", address=address, **cite_values)
    where = {"area": area.in_sentence, "edition": edition, "place": place}  # "the Isles of Scilly"
    return {
        "files": dataclasses.asdict(files),
        "publication_url": url,
        "publisher": {
            "name": name,
            "who": who,
            "contact": (
                wording.text("publisher", "contact", contact=", ".join(contacts))
                if contacts
                else wording.text("publisher", "contact_none")
            ),
            "data_date": wording.text("publisher", "data_date", date=fmt.long_date(data_date), edition=edition),
            "licence": licence,
            "attribution": list(publisher.attribution),
            "cite": " ".join(cite.split()),
        },
        "brief_about": {
            "full_profile": (
                wording.text("brief", "full_profile", file=files.profile, **where)
                if files.profile
                else wording.text("brief", "full_profile_unnamed", **where)
            ),
            "where": wording.text("brief", "where", place=place),
        },
    }


def results_shown(indicators: Iterable[IndicatorView], count_badges: Iterable[Any] = ()) -> set[str]:
    """The wording keys of the results the brief shows: page 1's count badges and each value's badge
    in the summary (an indicator without a value shows "No data", no badge)."""
    keys = {str(getattr(b, "key", "")) for b in count_badges}
    keys.update(ind.badge.key for ind in indicators if ind.has_value)
    keys.discard("")
    return keys


def legend_for(groups: Sequence[LegendGroup], keys: set[str]) -> list[LegendGroup]:
    """The key cut to the results in ``keys``: groups keep their order and titles; empty groups go."""
    kept = []
    for group in groups:
        items = tuple(item for item in group.items if item.key in keys)
        if items:
            kept.append(dataclasses.replace(group, items=items))
    return kept
