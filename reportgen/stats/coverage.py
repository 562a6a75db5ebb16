"""How much of England a data file covers, per indicator and period.

Ranks and spine ranges "in England" need every authority: all nine regions and at least
:data:`FULL_ENGLAND_MIN` authorities (England has had 149 to 153 upper-tier authorities at each
boundary vintage since 2009, counting the Isles of Scilly and the City of London). A file with less
(for example one region's download) is described as such, and ranks read "in this file".
"""

from __future__ import annotations

import pandas as pd

FULL_ENGLAND_MIN = 149
N_REGIONS = 9
ENGLAND = "England"
RANK_IN_ENGLAND = "in England"
RANK_IN_FILE = "in this file"


def describe(n_authorities: int, n_england: int, region_names: list[str]) -> str:
    """e.g. '12 of 153 authorities (North East only)' or '40 of 153 authorities (3 regions: ...)'."""
    names = sorted(n for n in region_names if n)
    if len(names) == 1:
        where = f" ({names[0]} only)"
    elif names:
        where = f" ({len(names)} regions: {', '.join(names)})"
    else:
        where = ""
    return f"{n_authorities} of {n_england} authorities{where}"


def coverage_columns(table: pd.DataFrame, keys: list[str], n_england: int) -> pd.DataFrame:
    """Per ``keys`` group: ``coverage`` ('England' or a description) and ``rank_scope``.

    ``table`` needs ``area_code``, ``area_type`` ('UTLA' for authorities), ``region_code`` and
    ``region_name``; authorities are counted when they have a row, whatever its value.
    """
    local = table.loc[table["area_type"] == "UTLA", [*keys, "area_code", "region_code", "region_name"]]
    n = local.groupby(keys, sort=False)["area_code"].nunique()
    regions = local[local["region_code"] != ""].drop_duplicates([*keys, "region_code"])
    n_regions = regions.groupby(keys, sort=False)["region_code"].size().reindex(n.index, fill_value=0)
    coverage = pd.Series(ENGLAND, index=n.index, dtype=object)
    partial = n.index[(n < FULL_ENGLAND_MIN) | (n_regions < N_REGIONS)]
    if len(partial):
        names = regions.groupby(keys, sort=False)["region_name"].agg(list)
        for key in partial:
            coverage[key] = describe(int(n[key]), n_england, names.get(key, []))
    frame = coverage.rename("coverage").reset_index()
    frame["rank_scope"] = frame["coverage"].map(lambda c: RANK_IN_ENGLAND if c == ENGLAND else RANK_IN_FILE)
    return frame


def coverage_messages(table: pd.DataFrame) -> list[str]:
    """One warning per distinct partial coverage in a benchmark table."""
    if "coverage" not in table:
        return []
    partial = sorted({c for c in table["coverage"].dropna() if c != ENGLAND})
    messages = []
    for text in partial:
        which = ""
        if "indicator_id" in table and table["indicator_id"].nunique() > 1:
            ids = sorted(table.loc[table["coverage"] == text, "indicator_id"].astype(str).unique())
            which = f" for {', '.join(ids[:6])}{f' and {len(ids) - 6} more' if len(ids) > 6 else ''}"
        messages.append(
            f"data cover {text}{which}: ranks and spine ranges are among these authorities, not all of England"
        )
    return messages
