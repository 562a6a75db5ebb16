"""What one area's profile depends on, as a single SHA-256: the basis of incremental national runs.

A profile shows its own rows of the benchmark table (values, comparisons, trends, ranks and
spine statistics are columns of those rows), England's rows, and the rows of its region and of
the region's authorities (the compare-areas charts). Anything else in the PDF comes from the
provenance record (generator and engine versions, specs and layouts hashes, edition, data date,
data file name) and the build settings. Two facts of the whole table reach every profile too:
how many authorities it covers (the "N authorities in this file" of partial coverage) and each
indicator's periods (a trend chart's periods are those of the whole table). Hashing exactly these,
and never the whole data file, means a profile that is not rebuilt is byte-identical to what a full
rebuild would write.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from reportgen.core.geography import ENGLAND_CODE, Area

SORT_KEYS = ["indicator_id", "area_code", "period"]


def dependency_rows(table: pd.DataFrame, area: Area) -> pd.DataFrame:
    """The benchmark rows a profile can show: the area's, England's, and its region's (and authorities')."""
    own = table["area_code"] == area.code
    regions = set(table.loc[own, "region_code"].dropna()) | ({area.region_code} if area.region_code else set())
    regions.discard("")
    wanted = own | (table["area_code"] == ENGLAND_CODE)
    if regions:
        wanted |= table["region_code"].isin(regions) | table["area_code"].isin(regions)
    return table[wanted]


def inputs_sha256(table: pd.DataFrame, area: Area, record: dict[str, Any], settings: dict[str, Any]) -> str:
    """SHA-256 of everything one area's outputs depend on.

    ``record`` is the provenance record without this hash; ``settings`` are the other options that
    change the output (author, palette, the "what has changed" rows).
    """
    digest = hashlib.sha256()
    rows = dependency_rows(table, area).sort_values(SORT_KEYS, kind="stable")
    # Row hashes with pandas' fixed key: exact (every bit of every value) and fast.
    digest.update(json.dumps([str(c) for c in rows.columns]).encode("utf-8"))
    digest.update(table_facts(table))
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return _with_meta(digest, area, record, settings)


def table_facts(table: pd.DataFrame) -> bytes:
    """What every profile reads from the whole table: its authority count and each indicator's periods."""
    authorities = int(table.loc[table["area_type"] == "UTLA", "area_code"].nunique()) if len(table) else 0
    periods = {str(k): sorted(map(str, v)) for k, v in table.groupby("indicator_id")["period"].unique().items()}
    return json.dumps({"authorities": authorities, "periods": periods}, sort_keys=True).encode("utf-8")


def _with_meta(digest: hashlib._Hash, area: Area, record: dict[str, Any], settings: dict[str, Any]) -> str:
    meta = {"record": record, "settings": settings, "area": [area.code, area.name, area.region_code]}
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()


class DependencyHashes:
    """:func:`inputs_sha256` of many areas of one table, with the table sorted and hashed once.

    A row's hash depends on that row alone, so the hashes of an area's dependency rows are the
    matching entries of the whole sorted table's row hashes, in the same order: the digests are
    exactly those of :func:`inputs_sha256`, for a small part of its time (a national run's plan
    computes one per authority).
    """

    def __init__(self, table: pd.DataFrame) -> None:
        ordered = table.sort_values(SORT_KEYS, kind="stable")
        self.columns = json.dumps([str(c) for c in table.columns]).encode("utf-8")
        self.facts = table_facts(table)
        self.row_hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
        self.regions = ordered["region_code"].to_numpy()
        self.by_area = ordered.groupby("area_code", sort=False).indices
        self.by_region = ordered.groupby("region_code", sort=False).indices

    def positions(self, area: Area) -> np.ndarray:
        """Positions (in sorted order) of the rows :func:`dependency_rows` selects for ``area``."""
        empty = np.array([], dtype=np.intp)
        own = self.by_area.get(area.code, empty)
        regions = {r for r in pd.unique(self.regions[own]) if isinstance(r, str) and r}
        regions |= {area.region_code} if area.region_code else set()
        parts = [own, self.by_area.get(ENGLAND_CODE, empty)]
        for region in regions:
            parts += [self.by_region.get(region, empty), self.by_area.get(region, empty)]
        return np.unique(np.concatenate(parts))

    def sha256(self, area: Area, record: dict[str, Any], settings: dict[str, Any]) -> str:
        digest = hashlib.sha256()
        digest.update(self.columns)
        digest.update(self.facts)
        digest.update(self.row_hashes[self.positions(area)].tobytes())
        return _with_meta(digest, area, record, settings)
