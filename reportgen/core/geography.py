"""England's upper-tier local authorities (April 2023 boundaries), their regions, and area lookup."""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from reportgen.core.assets import reference_table
from reportgen.core.errors import AreaError

ENGLAND_CODE = "E92000001"
ENGLAND_NAME = "England"
UTLA_PREFIXES = ("E06", "E08", "E09", "E10")
REGION_PREFIX = "E12"


@dataclass(frozen=True)
class Area:
    """An area: an upper-tier local authority, a region or England."""

    code: str
    name: str
    region_code: str = ""
    region_name: str = ""
    current: bool = True
    short_name: str = ""

    @property
    def display_name(self) -> str:
        """The name used in sentences: 'Bristol' for 'Bristol, City of' (the official name stays in titles)."""
        if self.short_name:
            return self.short_name
        return re.sub(r", (City|County) of$", "", self.name)

    @property
    def in_sentence(self) -> str:
        """The name inside a sentence, with its article where English needs one: 'the Isles of Scilly',
        'the City of London', 'Bristol'."""
        name = self.display_name
        return f"the {name}" if name in ARTICLE_NAMES else name

    @property
    def sentence_start(self) -> str:
        """The name at the start of a sentence or caption: 'The Isles of Scilly', 'Kingston upon Hull'."""
        name = self.in_sentence
        return name[:1].upper() + name[1:]

    @property
    def plural(self) -> bool:
        """Whether the name takes a plural verb as a subject ('the Isles of Scilly have')."""
        return self.display_name in PLURAL_NAMES

    def verb(self, singular: str, plural: str) -> str:
        """The verb form agreeing with the name as a subject: ``area.verb("has", "have")``."""
        return plural if self.plural else singular

    @property
    def kind(self) -> str:
        """``England``, ``Region`` or ``UTLA`` (any other code is ``Other``)."""
        return area_kind(self.code)


#: Display names that take 'the' inside a sentence (ONS names; 'the Wirral' is not ONS's naming).
ARTICLE_NAMES = frozenset({"Isles of Scilly", "City of London"})
#: Display names that are plural as a subject.
PLURAL_NAMES = frozenset({"Isles of Scilly"})


def area_kind(code: str) -> str:
    """Classify an ONS area code as ``England``, ``Region``, ``UTLA`` or ``Other``."""
    if code == ENGLAND_CODE:
        return "England"
    if code.startswith(REGION_PREFIX):
        return "Region"
    if code.startswith(UTLA_PREFIXES):
        return "UTLA"
    return "Other"


def _normalise(text: str) -> str:
    text = text.casefold().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def _read_areas(name: str, current: bool) -> list[Area]:
    with reference_table(name).open(encoding="utf-8", newline="") as handle:
        return [
            Area(
                row["area_code"],
                row["area_name"],
                row["region_code"],
                row["region_name"],
                current,
                (row.get("display_name") or "").strip(),
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class Geography:
    """The reference table of upper-tier local authorities and regions.

    ``authorities`` holds the 153 current UTLAs; ``predecessors`` holds authorities abolished by
    boundary changes since 2009, so that older Fingertips exports still get names and regions.
    """

    authorities: tuple[Area, ...]
    predecessors: tuple[Area, ...] = ()

    @cached_property
    def regions(self) -> dict[str, str]:
        """Region code to name, in code order."""
        pairs = {a.region_code: a.region_name for a in self.authorities}
        return dict(sorted(pairs.items()))

    @cached_property
    def _by_code(self) -> dict[str, Area]:
        return {a.code: a for a in (*self.predecessors, *self.authorities)}

    def lookup(self, code: str) -> Area | None:
        """The area with this code (UTLA, predecessor, region or England), or ``None``."""
        code = code.strip().upper()
        if code in self._by_code:
            return self._by_code[code]
        if code == ENGLAND_CODE:
            return Area(ENGLAND_CODE, ENGLAND_NAME)
        if code in self.regions:
            return Area(code, self.regions[code], code, self.regions[code])
        return None

    def in_region(self, region: str) -> list[Area]:
        """Current authorities of a region given by code or name (case-insensitive)."""
        wanted = _normalise(region)
        for code, name in self.regions.items():
            if wanted in (_normalise(code), _normalise(name)):
                return [a for a in self.authorities if a.region_code == code]
        choices = ", ".join(f"{c} {n}" for c, n in self.regions.items())
        raise AreaError(f"Unknown region {region!r}. Use one of: {choices}.")

    def resolve(self, text: str, extra: Iterable[Area] = ()) -> Area:
        """Find one area by code or unambiguous name, as typed by a user.

        ``extra`` adds areas known only from a data file (e.g. older boundaries).
        Raises :class:`AreaError` with the closest matches when the text is unknown or ambiguous.
        """
        candidates = _unique_by_code([*self.authorities, *extra, *self.predecessors])
        return resolve_area(text, candidates)


def _unique_by_code(areas: Iterable[Area]) -> list[Area]:
    seen: dict[str, Area] = {}
    for area in areas:
        seen.setdefault(area.code, area)
    return list(seen.values())


def resolve_area(text: str, candidates: list[Area]) -> Area:
    """Resolve ``text`` (a code or a name) against ``candidates``; see :meth:`Geography.resolve`."""
    query = text.strip()
    if not query:
        raise AreaError("No area given. Pass an area code such as E06000001 or a name such as Hartlepool.")
    by_code = {a.code.upper(): a for a in candidates}
    if query.upper() in by_code:
        return by_code[query.upper()]
    wanted = _normalise(query)
    exact = [a for a in candidates if _normalise(a.name) == wanted]
    if len([a for a in exact if a.current]) == 1:
        return next(a for a in exact if a.current)
    pattern = re.compile(rf"\b{re.escape(wanted)}\b")
    partial = [a for a in candidates if a.current and pattern.search(_normalise(a.name))]
    if len(partial) == 1 and not exact:
        return partial[0]
    matches = _unique_by_code([*exact, *partial])
    if len(matches) > 1:
        names = "; ".join(_describe(a) for a in matches[:8])
        raise AreaError(f"Area {query!r} is ambiguous: it matches {names}. Give the area code or the full name.")
    if matches:
        return matches[0]
    raise AreaError(f"Unknown area {query!r}. {_suggest(wanted, candidates)}")


def _describe(area: Area) -> str:
    return f"{area.name} ({area.code}{'' if area.current else ', a former authority'})"


def _suggest(wanted: str, candidates: list[Area]) -> str:
    names = {_normalise(a.name): a for a in candidates if a.current}
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.8) or difflib.get_close_matches(
        wanted, list(names), n=3, cutoff=0.6
    )
    if not close:
        return "Run `reportgen areas` to list every authority."
    return "Closest matches: " + "; ".join(f"{names[c].name} ({names[c].code})" for c in close) + "."


@lru_cache(maxsize=1)
def load_geography() -> Geography:
    """Load the packaged reference table (cached)."""
    return Geography(
        tuple(_read_areas("utla_2023.csv", True)),
        tuple(_read_areas("utla_predecessors.csv", False)),
    )
