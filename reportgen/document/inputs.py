"""What every area's documents are made from, prepared once per run (by :func:`reportgen.publish.prepare.prepare`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from reportgen.core.errors import DataError, Problem
from reportgen.core.options import BuildOptions
from reportgen.core.periods import parse_period
from reportgen.core.specs import IndicatorSpec
from reportgen.sources.data import INDICATOR_ID, PERIOD, IndicatorData
from reportgen.sources.population import PopulationTable


@dataclass(frozen=True)
class Prepared:
    """The checked inputs of a build: specs, data, the benchmark table, options, edition and date.

    ``warnings`` are the run's own (data file, area names, coverage of England), reported once
    however many areas are built.
    """

    specs: list[IndicatorSpec]
    data: IndicatorData
    table: pd.DataFrame
    options: BuildOptions
    edition: str
    data_date: date
    warnings: tuple[Problem, ...] = ()
    #: The population pyramids (England's and the authorities'): from the population file beside the
    #: data (``reportgen fetch`` writes it), synthetic with demonstration data, else None (no pyramid).
    population: PopulationTable | None = None


@dataclass(frozen=True)
class DocumentFiles:
    """The names of an area's files in its edition folder, as the publish stage names them
    (``reportgen.publish.area.output_names``), so that the brief and the About page can name them
    without the document stage importing publish. Empty: not known (the documents then say
    "the full profile" without a file name)."""

    profile: str = ""
    brief: str = ""
    data: str = ""


def edition_and_date(data: IndicatorData, specs: list[IndicatorSpec], options: BuildOptions) -> tuple[str, date]:
    """Edition label and 'data as at' date: from the options, else from the latest period in the data."""
    keys = {s.data_key for s in specs}
    periods = [parse_period(p) for p in set(data.frame.loc[data.frame[INDICATOR_ID].isin(keys), PERIOD])]
    ends = [p.end for p in periods if p is not None]
    if options.edition and options.data_date:
        return options.edition, options.data_date
    if not ends:
        raise DataError(
            f"None of the {len(specs)} indicators in the specs has data with a recognisable period in {data.path}. "
            "Check that the specs' fingertips_id, sex and age match the file (reportgen check --data FILE)."
        )
    latest = max(ends)
    return options.edition or str(latest.year), options.data_date or latest
