"""Map geometry: England's upper-tier authorities, regions and outline, and a hex cartogram of them.

The packaged boundaries (``reportgen/data/utla_boundaries.json``, written once by
docs/maintainers/make_boundaries.py from ONS's December 2023 generalised boundaries; source, licence
and attribution in reportgen/data/README_maps.md) hold every area's rings on the British National
Grid as integers in units of ``about.unit_metres`` metres: flat closed lists
``[x0, y0, x1, y1, ..., x0, y0]``, exterior rings anticlockwise, holes clockwise. :func:`load_boundaries`
reads and checks them (the 153 current authorities of reportgen/data/utla_2023.csv, the 9 regions,
England, closed rings inside England's bounding box) and returns each area's rings as tuples of
``(x, y)`` floats in metres; a damaged file is a :class:`~reportgen.core.errors.DataError` naming
the file and what is wrong.

The hex cartogram (``reportgen/data/utla_hexes.csv``: ``area_code,q,r`` on an "odd-r" grid, rows
counted upwards, from Open Innovations' hexmaps) is read by :func:`load_hexes`; :func:`hex_rings`
turns it into one hexagon per authority, so that it is drawn like the boundaries.

:func:`class_paths` groups areas by a class label (a comparison with England, say) into one compound
path per class: the drawing makes one filled path per colour, not one per authority. Only json and
the standard library are used here.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportgen.core.assets import reference_table
from reportgen.core.errors import DataError, InputFileError
from reportgen.core.geography import load_geography
from reportgen.core.readers import read_capped, read_json_capped

BOUNDARIES_FILE = "utla_boundaries.json"
HEXES_FILE = "utla_hexes.csv"
HEX_HEADER = ("area_code", "q", "r")
#: The packaged boundaries are about 200 KB; anything much larger is not this file.
MAX_BYTES = 2_000_000
MAX_HEX_BYTES = 100_000
#: England's extent on the National Grid (metres), with a margin: the Isles of Scilly (west),
#: Lowestoft (east), the Lizard (south), Berwick-upon-Tweed (north).
ENGLAND_BOX = (50_000.0, 0.0, 700_000.0, 700_000.0)
#: Problems listed before the rest are only counted.
MAX_SHOWN = 10

Point = tuple[float, float]
Ring = tuple[Point, ...]


@dataclass(frozen=True)
class Boundaries:
    """Every area's rings (National Grid metres): authorities and regions by code, England's outline."""

    authorities: dict[str, tuple[Ring, ...]] = field(hash=False)
    regions: dict[str, tuple[Ring, ...]] = field(hash=False)
    england: tuple[Ring, ...]
    attribution: str
    licence: str

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of England's outline, metres."""
        xs = [x for ring in self.england for x, _ in ring]
        ys = [y for ring in self.england for _, y in ring]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Hex:
    """One authority's hexagon: grid column ``q`` and row ``r`` (odd-r, rows upwards)."""

    code: str
    q: int
    r: int

    @property
    def centre(self) -> Point:
        """Centre of a pointy-top hexagon of circumradius 1: odd rows are shifted half a hexagon right."""
        return math.sqrt(3) * (self.q + 0.5 * (self.r & 1)), 1.5 * self.r


def _damaged(label: str, problems: Sequence[str]) -> DataError:
    shown = list(problems[:MAX_SHOWN])
    if len(problems) > MAX_SHOWN:
        shown.append(f"... and {len(problems) - MAX_SHOWN} more")
    return DataError(
        f"{label}: the map file is damaged ({'; '.join(shown)}). Reinstall reportgen, or rebuild the file "
        "with docs/maintainers/make_boundaries.py (see reportgen/data/README_maps.md)."
    )


def _rings(value: Any, unit: float, where: str, problems: list[str]) -> tuple[Ring, ...]:
    """A list of flat integer rings as tuples of points in metres; problems are appended."""
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: expected a non-empty list of rings")
        return ()
    west, south, east, north = ENGLAND_BOX
    rings: list[Ring] = []
    for index, flat in enumerate(value):
        here = f"{where} ring {index + 1}"
        if not isinstance(flat, list) or not all(type(v) is int for v in flat):
            problems.append(f"{here}: expected a list of integers")
            continue
        if len(flat) % 2 or len(flat) < 8:
            problems.append(f"{here}: expected an even number of at least 8 coordinates, got {len(flat)}")
            continue
        if flat[:2] != flat[-2:]:
            problems.append(f"{here}: not closed (first point {flat[:2]}, last {flat[-2:]})")
            continue
        ring = tuple((flat[i] * unit, flat[i + 1] * unit) for i in range(0, len(flat), 2))
        if not all(west <= x <= east and south <= y <= north for x, y in ring):
            problems.append(f"{here}: a point lies outside England's bounding box")
            continue
        rings.append(ring)
    return tuple(rings)


def _areas(value: Any, expected: Iterable[str], what: str, unit: float, problems: list[str]) -> dict:
    if not isinstance(value, dict):
        problems.append(f"'{what}' is not an object")
        return {}
    wanted = set(expected)
    if set(value) != wanted:
        missing, extra = sorted(wanted - set(value)), sorted(set(value) - wanted)
        problems.append(
            f"'{what}' should hold the {len(wanted)} current codes; "
            f"missing {missing[:5] or 'none'}, not current {extra[:5] or 'none'}"
        )
    return {code: _rings(rings, unit, code, problems) for code, rings in sorted(value.items()) if code in wanted}


def parse_boundaries(data: Any, label: str) -> Boundaries:
    """Check the decoded boundaries file; :class:`DataError` lists what is wrong."""
    if not isinstance(data, dict):
        raise _damaged(label, ["not a JSON object"])
    about = data.get("about")
    if not isinstance(about, dict):
        raise _damaged(label, ["'about' is missing"])
    value = about.get("unit_metres")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10_000:
        raise _damaged(label, ["'about.unit_metres' is missing or not a positive number up to 10,000"])
    unit = float(value)
    geography = load_geography()
    problems: list[str] = []
    authorities = _areas(
        data.get("authorities"), (a.code for a in geography.authorities), "authorities", unit, problems
    )
    regions = _areas(data.get("regions"), geography.regions, "regions", unit, problems)
    england = _rings(data.get("england"), unit, "england", problems)
    if problems:
        raise _damaged(label, problems)
    return Boundaries(
        authorities=authorities,
        regions=regions,
        england=england,
        attribution=str(about.get("attribution", "")),
        licence=str(about.get("licence", "")),
    )


def load_boundaries(path: Path | None = None) -> Boundaries:
    """The boundaries in ``path``, or the packaged ones (read once) when ``path`` is None."""
    if path is None:
        return _packaged_boundaries()
    return _read_boundaries(path)


@lru_cache(maxsize=1)
def _packaged_boundaries() -> Boundaries:
    return _read_boundaries(reference_table(BOUNDARIES_FILE))


def _read_boundaries(path: Path) -> Boundaries:
    try:
        data = read_json_capped(path, MAX_BYTES)
    except InputFileError as exc:
        raise DataError(f"{exc.message} The map file cannot be used; see reportgen/data/README_maps.md.") from None
    if data is None:
        raise DataError(f"{path}: the map file is missing; reinstall reportgen.")
    return parse_boundaries(data, str(path))


def load_hexes(path: Path | None = None) -> dict[str, Hex]:
    """The hex cartogram (code -> :class:`Hex`, in code order): every current authority once, no two
    in one place; :class:`DataError` otherwise."""
    path = path or reference_table(HEXES_FILE)
    try:
        raw = read_capped(path, MAX_HEX_BYTES)
    except InputFileError as exc:
        raise DataError(f"{exc.message} The hex layout cannot be used.") from None
    if raw is None:
        raise DataError(f"{path}: the hex layout is missing; reinstall reportgen.")
    label = str(path)
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _damaged(label, [f"not a UTF-8 CSV file ({exc})"]) from None
    if not rows or tuple(rows[0]) != HEX_HEADER:
        raise _damaged(label, [f"the header should be {','.join(HEX_HEADER)}"])
    hexes, problems = _hexes(rows[1:])
    current = {a.code for a in load_geography().authorities}
    if set(hexes) != current:
        problems.append(
            f"the layout should hold the {len(current)} current codes; missing "
            f"{sorted(current - set(hexes))[:5] or 'none'}, not current {sorted(set(hexes) - current)[:5] or 'none'}"
        )
    if problems:
        raise _damaged(label, problems)
    return dict(sorted(hexes.items()))


def _hexes(rows: list[list[str]]) -> tuple[dict[str, Hex], list[str]]:
    """The hexes of the rows after the header, and the problems found (a code twice, a place twice)."""
    problems: list[str] = []
    hexes: dict[str, Hex] = {}
    taken: dict[tuple[int, int], str] = {}
    for number, row in enumerate(rows, start=2):
        try:
            code, q, r = row[0], int(row[1]), int(row[2])
        except (IndexError, ValueError):
            problems.append(f"line {number}: expected a code and two whole numbers")
            continue
        if code in hexes:
            problems.append(f"line {number}: {code} is listed twice")
        if (q, r) in taken:
            problems.append(f"line {number}: {code} is in the same place as {taken[(q, r)]}")
        hexes[code] = Hex(code, q, r)
        taken[(q, r)] = code
    return hexes, problems


def hex_rings(hexes: Mapping[str, Hex], size: float = 1.0) -> dict[str, tuple[Ring, ...]]:
    """One closed anticlockwise hexagon (pointy-top, circumradius ``size``) per authority."""
    corners = [(math.cos(math.radians(30 + 60 * k)), math.sin(math.radians(30 + 60 * k))) for k in range(6)]
    out: dict[str, tuple[Ring, ...]] = {}
    for code, hexagon in hexes.items():
        cx, cy = hexagon.centre
        points = [(size * (cx + dx), size * (cy + dy)) for dx, dy in corners]
        out[code] = (tuple([*points, points[0]]),)
    return out


def area_of(rings: Sequence[Ring]) -> float:
    """Area enclosed by ``rings`` (square metres for boundaries): holes, running clockwise, subtract."""
    total = 0.0
    for ring in rings:
        total += sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2
    return total


def centroid_of(rings: Sequence[Ring]) -> Point:
    """The centre of mass of ``rings`` (a marker's place for an area too small to see on a national map)."""
    cx = cy = total = 0.0
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            cross = x0 * y1 - x1 * y0
            total += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
    if total == 0:
        raise DataError("an area with no extent has no centre")
    return cx / (3 * total), cy / (3 * total)


def class_paths(areas: Mapping[str, Sequence[Ring]], classes: Mapping[str, str]) -> dict[str, list[Ring]]:
    """One compound path (a list of rings) per class label: the rings of every area of the class.

    ``classes`` maps area codes to labels; classes come out in the order of their first area in code
    order, and areas without a label are left out. Exterior rings run anticlockwise and holes
    clockwise, so a class path fills correctly under either fill rule, an enclave of the same class
    (Nottingham in Nottinghamshire) included. A code that is not an area is a :class:`DataError`.
    """
    unknown = sorted(set(classes) - set(areas))
    if unknown:
        raise DataError(f"no map area for {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    paths: dict[str, list[Ring]] = {}
    for code in sorted(classes):
        paths.setdefault(classes[code], []).extend(areas[code])
    return paths
