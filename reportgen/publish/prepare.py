"""Prepare a build once: specs, data, checks and the benchmark table, for one area or all of them.

Every build (``build --area``, ``build --all``, the Dask path, ``make bench``) starts here, so the
same checks and warnings apply to one area and to the national run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from reportgen.core.assets import default_specs_dir
from reportgen.core.errors import DataError, OutputError, Problem, SpecError
from reportgen.core.files import check_folder, edition_problem, is_ons_code
from reportgen.core.geography import Area, area_kind, load_geography
from reportgen.core.options import EMBEDDED_DEMO_LABEL, BuildOptions
from reportgen.core.specs import IndicatorSpec, load_specs
from reportgen.core.yamlsafe import load_yaml_file
from reportgen.document.inputs import Prepared, edition_and_date
from reportgen.sources.data import (
    AREA_CODE,
    AREA_NAME,
    LINE,
    PARENT_CODE,
    SYNTHETIC_MARK,
    IndicatorData,
    check_against_specs,
    load_data_files,
    parse_indicator_csv,
)
from reportgen.sources.derive import derive_series
from reportgen.sources.population import PopulationTable, population_path, read_population_file
from reportgen.stats.benchmark import BenchmarkOptions, ComparatorGroup, area_name_warnings, benchmark_table
from reportgen.stats.coverage import coverage_messages
from reportgen.stats.demo import DEFAULT_SEED, demo_csv_text, demo_population, generate_demo_frame, write_demo_data
from reportgen.stats.distribution import DEFAULT_SPINE_EXCLUSIONS

if TYPE_CHECKING:  # the Fingertips client (requests) is imported by the command that uses it
    from reportgen.sources.fingertips_api import FetchOptions, FetchResult

#: ``--data`` as given: none (the embedded demonstration data), or a file, or files and folders to merge.
DataPaths = Path | Sequence[Path] | None


@dataclass(frozen=True)
class CheckReport:
    """What ``reportgen check`` found."""

    n_specs: int
    n_rows: int
    problems: tuple[Problem, ...]


def prepare(data_paths: DataPaths, options: BuildOptions) -> Prepared:
    """Everything a build shares, checked: specs, data, the benchmark table, edition and date.

    Raises a :class:`~reportgen.core.errors.ReportgenError` with a clear message on bad input;
    the run's own warnings (data file, official names, coverage of England) are in ``warnings``.
    """
    if options.edition is not None:
        check_edition(options.edition)
    check_folder(options.out_dir)
    comparator = load_comparator(options.comparator_path) if options.comparator_path else None
    specs = read_specs(options.specs_dir)
    data = read_data(data_paths, specs)
    table = compute_benchmark(data, specs, comparator)
    edition, data_date = edition_and_date(data, specs, options)
    names = area_name_warnings(data.frame, data.path, load_geography())
    warnings = (*data.warnings, *names, *coverage_problems(table))
    population = read_population(data_paths, data)
    return Prepared(specs, data, table, options, edition, data_date, tuple(dict.fromkeys(warnings)), population)


def read_population(data_paths: DataPaths, data: IndicatorData) -> PopulationTable | None:
    """The population pyramids of a build: the population file beside a ``--data`` file (written by
    ``reportgen fetch``), synthetic pyramids with demonstration data, else None (no pyramid is drawn)."""
    given = [] if not data_paths else [data_paths] if isinstance(data_paths, Path) else list(data_paths)
    for path in given:
        candidate = population_path(Path(path))
        if Path(path).is_file() and candidate.is_file():
            return read_population_file(candidate, SYNTHETIC_MARK)
    if data.synthetic:
        return demo_population(load_geography(), DEFAULT_SEED)
    return None


def check_area(prepared: Prepared, area: Area) -> None:
    """Refuse to build an empty profile: the data must have rows of the area (unless ``allow_empty``)."""
    if not prepared.options.allow_empty:
        require_area_rows(area, prepared.data, prepared.table)


def require_area_rows(area: Area, data: IndicatorData, table: pd.DataFrame) -> None:
    """The data must have rows of the area for the specs; else :class:`DataError` saying what they cover."""
    if table.empty or (table["area_code"] == area.code).any():
        return  # an empty table is reported by edition_and_date, with its own hint
    raise DataError(
        f"{data.path} has no rows for {area.name} ({area.code}) in the specs' indicators: "
        f"{describe_coverage(data, area)}. Check --area and --data, or pass --allow-empty "
        "to build a profile without the area's values."
    )


def read_specs(specs_dir: Path | None) -> list[IndicatorSpec]:
    """Load the packaged catalogue or the given folder."""
    return load_specs(specs_dir or default_specs_dir())


def read_data(data_paths: DataPaths, specs: list[IndicatorSpec]) -> IndicatorData:
    """Load data files, or generate the embedded demonstration data when none is given."""
    geography = load_geography()
    if not data_paths:
        text = demo_csv_text(generate_demo_frame(specs, geography, DEFAULT_SEED))
        data = parse_indicator_csv(io.StringIO(text), EMBEDDED_DEMO_LABEL, geography)
        data = dataclasses.replace(data, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
        return derive_series(data, specs)
    return derive_series(without_invalid_area_codes(load_data_files(data_paths, geography)), specs)


def without_invalid_area_codes(data: IndicatorData) -> IndicatorData:
    """Skip rows whose ``Area Code`` is not an ONS code, with one warning naming the lines.

    Area codes become file names, so anything else (``../x``, ``/tmp/x``) never goes further.
    """
    codes = data.frame[AREA_CODE].astype(str)
    bad = ~codes.map({c: is_ons_code(c) for c in codes.unique()})
    if not bad.any():
        return data
    lines = data.frame.loc[bad, LINE].tolist()
    shown = ", ".join(str(n) for n in lines[:10]) + (" ..." if len(lines) > 10 else "")
    warning = Problem(
        f"{data.path}:{lines[0]}",
        "Area Code",
        f"{len(lines)} row(s) skipped (lines {shown}): {codes[bad].iloc[0]!r} is not an ONS area code "
        "(a letter E, W, S or N followed by 8 digits, e.g. E06000001)",
        "warning",
    )
    frame = data.frame[~bad].reset_index(drop=True)
    return dataclasses.replace(data, frame=frame, warnings=(*data.warnings, warning))


def check_inputs(specs_dir: Path | None, data_paths: DataPaths) -> CheckReport:
    """Validate specs (raising on spec errors) and optionally data files against them."""
    specs = read_specs(specs_dir)
    if not data_paths:
        return CheckReport(len(specs), 0, ())
    data = derive_series(without_invalid_area_codes(load_data_files(data_paths, load_geography())), specs)
    problems = list(data.warnings) + check_against_specs(data, specs)
    return CheckReport(len(specs), len(data.frame), tuple(problems))


def fetch_snapshot(specs_dir: Path | None, out: Path, options: FetchOptions) -> FetchResult:
    """Fetch every Fingertips series the specs need (``reportgen fetch``)."""
    from reportgen.sources.fingertips_api import els_specs, fetch

    specs = read_specs(specs_dir)
    # The population pyramid comes from ELS too: fetched whenever ELS is (the packaged catalogue's case).
    return fetch(specs, out, options, with_population=bool(els_specs(specs)))


def check_metadata(specs_dir: Path | None, metadata_path: Path) -> tuple[Problem, ...]:
    """Warnings where a spec differs from Fingertips' indicator metadata (``check --metadata``)."""
    from reportgen.sources.fingertips_api import metadata_warnings, read_metadata_file

    lines = metadata_warnings(read_specs(specs_dir), read_metadata_file(metadata_path))
    return tuple(Problem("", "", line, "warning") for line in lines)


def list_areas(region: str | None, search: str | None) -> list[Area]:
    """Current authorities, optionally filtered by region and by text in the name or code."""
    geography = load_geography()
    rows = geography.in_region(region) if region else list(geography.authorities)
    if search:
        needle = search.casefold()
        rows = [a for a in rows if needle in a.name.casefold() or needle in a.code.casefold()]
    return sorted(rows, key=lambda a: (a.region_code, a.name))


def write_demo(out: Path, specs_dir: Path | None, seed: int | None) -> Path:
    """Write the demonstration dataset for the catalogue's specs."""
    check_output_file(out)
    specs = read_specs(specs_dir)
    if not any(s.demo for s in specs):
        raise SpecError("None of the specs has a 'demo' block, so there is no demonstration data to generate.")
    return write_demo_data(out, specs, load_geography(), DEFAULT_SEED if seed is None else seed)


def resolve_area(area_text: str, data: IndicatorData) -> Area:
    """Resolve ``--area`` against the geography plus any authorities known only from the data."""
    geography = load_geography()
    frame = data.frame
    codes = frame[AREA_CODE]
    local = frame[codes.map({c: area_kind(c) in ("UTLA", "Other") for c in codes.unique()})]
    pairs = local[[AREA_CODE, AREA_NAME, PARENT_CODE]].drop_duplicates(AREA_CODE)
    extra = [
        Area(code, name, parent if parent.startswith("E12") else "", geography.regions.get(parent, ""), True)
        for code, name, parent in pairs.itertuples(index=False)
        if geography.lookup(code) is None
    ]
    return geography.resolve(area_text, extra)


def check_edition(edition: str) -> str:
    """The edition label, if it is a short slug; else :class:`OutputError` (it names a folder)."""
    problem = edition_problem(edition)
    if problem:
        raise OutputError(f"--edition: {problem}.")
    return edition


def check_output_file(path: Path) -> Path:
    """Check, before slow work, that ``path`` can be written as a file (its folder is created)."""
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder; give a file name.")
    check_folder(path.parent)
    return path


def describe_coverage(data: IndicatorData, area: Area) -> str:
    """What a data file covers, e.g. 'it covers 12 authorities in North East; none is Hartlepool'."""
    geography = load_geography()
    codes = sorted({c for c in data.frame[AREA_CODE].unique() if area_kind(c) in ("UTLA", "Other")})
    if not codes:
        kinds = sorted({area_kind(c) for c in data.frame[AREA_CODE].unique()} - {"UTLA", "Other"})
        held = " and ".join(k.lower() if k == "Region" else k for k in kinds) or "no"
        return f"it holds only {held} rows, no authorities"
    regions = sorted({a.region_name for c in codes if (a := geography.lookup(c)) is not None and a.region_name})
    where = f" in {regions[0]}" if len(regions) == 1 else (f" in {len(regions)} regions" if regions else "")
    return f"it covers {len(codes)} authorit{'y' if len(codes) == 1 else 'ies'}{where}; none is {area.name}"


def coverage_problems(table: pd.DataFrame) -> tuple[Problem, ...]:
    """Warnings when the data cover only part of England (ranks and ranges are among those areas)."""
    return tuple(Problem("", "", message, "warning") for message in coverage_messages(table))


def load_comparator(path: Path) -> ComparatorGroup:
    """Read a comparator group YAML file: ``name`` and a list of ``areas`` (ONS codes)."""
    raw = load_yaml_file(path, max_bytes=100_000, what="comparator")
    if not isinstance(raw, dict) or set(raw) != {"name", "areas"}:
        raise DataError(
            f"{path}: a comparator group needs exactly two keys, 'name' (text) and 'areas' (a list of area codes)."
        )
    name, areas = raw["name"], raw["areas"]
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise DataError(f"{path}: name: must be non-empty text of at most 200 characters.")
    if not isinstance(areas, list) or not areas or not all(isinstance(a, str) for a in areas):
        raise DataError(f"{path}: areas: must be a non-empty list of area codes such as E06000001.")
    codes = tuple(a.strip().upper() for a in areas)
    bad = [c for c in codes if not is_ons_code(c)]
    if bad:
        raise DataError(f"{path}: areas: {bad[0]!r} is not an ONS area code such as E06000001.")
    return ComparatorGroup(name.strip(), codes)


def compute_benchmark(
    data: IndicatorData,
    specs: list[IndicatorSpec],
    comparator: ComparatorGroup | None = None,
    spine_exclusions: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The benchmark table for every spec, area and period of a loaded data file."""
    if comparator is not None:
        unknown = sorted(set(comparator.areas) - set(data.frame[AREA_CODE]))
        if unknown:
            raise DataError(
                f"Comparator group {comparator.name!r}: {', '.join(unknown)} not found in {data.path}. "
                "Check the area codes in the comparator file."
            )
    options = BenchmarkOptions(
        spine_exclusions=DEFAULT_SPINE_EXCLUSIONS if spine_exclusions is None else spine_exclusions,
        comparator=comparator,
    )
    return benchmark_table(data, specs, load_geography(), options)


@dataclass(frozen=True)
class BenchmarkRequest:
    """What ``reportgen benchmark`` asks for."""

    data_paths: DataPaths = None
    specs_dir: Path | None = None
    area_text: str | None = None
    comparator_path: Path | None = None
    spine_exclusions: tuple[str, ...] | None = None
    allow_empty: bool = False


def benchmark_rows(request: BenchmarkRequest) -> tuple[pd.DataFrame, list[IndicatorSpec], tuple[Problem, ...]]:
    """The benchmark table of the data (only one area's rows with ``area_text``), the specs and warnings."""
    comparator = load_comparator(request.comparator_path) if request.comparator_path else None
    specs = read_specs(request.specs_dir)
    data = read_data(request.data_paths, specs)
    area = resolve_area(request.area_text, data) if request.area_text else None
    table = compute_benchmark(data, specs, comparator, request.spine_exclusions)
    warnings = coverage_problems(table)
    if area is not None:
        if not request.allow_empty:
            require_area_rows(area, data, table)
        table = table[table["area_code"] == area.code].reset_index(drop=True)
    return table, specs, warnings
