"""What one area's profile depends on, as a single SHA-256: the basis of incremental national runs.

A profile shows its own rows of the benchmark table (values, comparisons, trends, ranks and
spine statistics are columns of those rows), England's rows, and the rows of its region and of
the region's authorities (the compare-areas charts). Anything else in the PDF comes from the
provenance record (generator and engine versions, specs and layouts hashes, edition, data date,
data file name) and the build settings. Hashing exactly these, and never the whole data file,
means a profile that is not rebuilt is byte-identical to what a full rebuild would write.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from .geography import ENGLAND_CODE, Area


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
    rows = dependency_rows(table, area).sort_values(["indicator_id", "area_code", "period"], kind="stable")
    # Row hashes with pandas' fixed key: exact (every bit of every value) and fast.
    digest.update(json.dumps([str(c) for c in rows.columns]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    meta = {"record": record, "settings": settings, "area": [area.code, area.name, area.region_code]}
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()
