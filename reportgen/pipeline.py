"""Orchestration: specs and data in, checked tables and PDF profiles out. Data flows one way."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import json
import os
import re
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import __version__
from .assets import default_layouts_dir, default_specs_dir
from .charts import chart_engine_version, draw_charts
from .compose import ProfileInputs, plan_profile
from .context import profile_context
from .data import (
    AREA_CODE,
    AREA_NAME,
    INDICATOR_ID,
    LINE,
    PARENT_CODE,
    PERIOD,
    IndicatorData,
    check_against_specs,
    load_data_files,
    parse_indicator_csv,
)
from .demo import DEFAULT_SEED, demo_csv_text, generate_demo_frame, write_demo_data
from .derive import derive_series
from .errors import DataError, OutputError, Problem, RenderError, SpecError
from .fingerprint import DependencyHashes, inputs_sha256
from .geography import Area, area_kind, load_geography
from .output import check_folder, edition_problem, is_ons_code, neutralise_text, reserve, workbook_bytes
from .periods import parse_period
from .render import PdfAttachment, html_to_pdf, layout_search_path, make_environment, pdf_engine_version, render_html
from .specs import IndicatorSpec, load_specs
from .stats.benchmark import BenchmarkOptions, ComparatorGroup, area_name_warnings, benchmark_table
from .stats.coverage import coverage_messages
from .stats.distribution import DEFAULT_SPINE_EXCLUSIONS
from .theme import check_size, load_theme
from .view import load_wording
from .yamlsafe import load_yaml_file

if TYPE_CHECKING:  # the Fingertips client (requests) is imported by the commands that use it
    from .sources.fingertips_api import FetchOptions, FetchResult

EMBEDDED_DEMO_LABEL = "<embedded demonstration data>"
DEFAULT_AUTHOR = "reportgen"


@dataclass(frozen=True)
class CheckReport:
    """What ``reportgen check`` found."""

    n_specs: int
    n_rows: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class BuildOptions:
    """Options of a profile build; ``None`` means the packaged default."""

    specs_dir: Path | None = None
    layouts_dir: Path | None = None
    out_dir: Path = Path("output")
    edition: str | None = None
    data_date: date | None = None
    author: str | None = None
    palette: str | None = None
    comparator_path: Path | None = None
    allow_empty: bool = False
    brief: bool = False  # also write the board brief beside the full profile


@dataclass(frozen=True)
class BuildResult:
    """A written profile and the warnings raised while building it."""

    path: Path
    area: Area
    warnings: tuple[Problem, ...] = field(default=())
    brief_path: Path | None = None


def read_specs(specs_dir: Path | None) -> list[IndicatorSpec]:
    """Load the packaged catalogue or the given folder."""
    return load_specs(specs_dir or default_specs_dir())


def read_data(data_path: Path | None, specs: list[IndicatorSpec]) -> IndicatorData:
    """Load a data file, or generate the embedded demonstration data when none is given."""
    geography = load_geography()
    if not data_path:  # None or no --data at all
        text = demo_csv_text(generate_demo_frame(specs, geography, DEFAULT_SEED))
        data = parse_indicator_csv(io.StringIO(text), EMBEDDED_DEMO_LABEL, geography)
        data = dataclasses.replace(data, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
        return derive_series(data, specs)
    return derive_series(without_invalid_area_codes(load_data_files(data_path, geography)), specs)


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


def check_inputs(specs_dir: Path | None, data_path: Path | None) -> CheckReport:
    """Validate specs (raising on spec errors) and optionally a data file against them."""
    specs = read_specs(specs_dir)
    if not data_path:  # None or no --data at all
        return CheckReport(len(specs), 0, ())
    data = derive_series(without_invalid_area_codes(load_data_files(data_path, load_geography())), specs)
    problems = list(data.warnings) + check_against_specs(data, specs)
    return CheckReport(len(specs), len(data.frame), tuple(problems))


def fetch_snapshot(specs_dir: Path | None, out: Path, options: FetchOptions) -> FetchResult:
    """Fetch every Fingertips series the specs need (``reportgen fetch``)."""
    from .sources.fingertips_api import fetch

    return fetch(read_specs(specs_dir), out, options)


def check_metadata(specs_dir: Path | None, metadata_path: Path) -> tuple[Problem, ...]:
    """Warnings where a spec differs from Fingertips' indicator metadata (``check --metadata``)."""
    from .sources.fingertips_api import metadata_warnings, read_metadata_file

    specs = read_specs(specs_dir)
    lines = metadata_warnings(specs, read_metadata_file(metadata_path))
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


def slugify(text: str, limit: int = 60) -> str:
    """File-name slug: lower-case words joined by hyphens, at most ``limit`` characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:limit].rstrip("-") or "area"


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


def edition_and_date(data: IndicatorData, specs: list[IndicatorSpec], options: BuildOptions) -> tuple[str, date]:
    """Edition label and 'data as at' date: from the options, else from the latest period in the data."""
    keys = {s.data_key for s in specs}
    periods = [parse_period(p) for p in set(data.frame.loc[data.frame[INDICATOR_ID].isin(keys), PERIOD])]
    ends = [p.end for p in periods if p is not None]
    if not ends and not (options.edition and options.data_date):
        raise DataError(
            f"None of the {len(specs)} indicators in the specs has data with a recognisable period in {data.path}. "
            "Check that the specs' fingertips_id, sex and age match the file (reportgen check --data FILE)."
        )
    latest = max(ends) if ends else options.data_date
    return options.edition or str(latest.year), options.data_date or latest


#: Python's cyclic garbage collector thresholds while inputs are loaded and documents built. The
#: default (700, 10, 10) rescans the young objects every 700 allocations, and a document creates
#: millions of objects that live until it is written (its boxes), so the collector took about a
#: quarter of a profile's CPU time. Reference cycles are still collected, less often; outputs
#: are unchanged (a national worker also collects after each area, see reportgen.national).
BUILD_GC_THRESHOLDS = (100_000, 100, 1_000)
_GC_LOCK = threading.Lock()
_GC_STATE: dict[str, object] = {"depth": 0, "saved": None}


@contextmanager
def rare_collections():
    """Collect garbage less often inside this block (nested and threaded uses restore once, at the end)."""
    with _GC_LOCK:
        if _GC_STATE["depth"] == 0:
            _GC_STATE["saved"] = gc.get_threshold()
            gc.set_threshold(*BUILD_GC_THRESHOLDS)
        _GC_STATE["depth"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_STATE["depth"] -= 1
            if _GC_STATE["depth"] == 0:
                gc.set_threshold(*_GC_STATE["saved"])


def build_profile(area_text: str, data_path: Path | None, options: BuildOptions) -> BuildResult:
    """Build one authority's profile: data -> statistics -> charts -> HTML -> PDF, written atomically."""
    from .render import preload_engine

    preload_engine()  # WeasyPrint imports in the background while the data load
    with rare_collections():
        return _build_profile(area_text, data_path, options)


def _build_profile(area_text: str, data_path: Path | None, options: BuildOptions) -> BuildResult:
    if options.edition is not None:
        check_edition(options.edition)
    check_folder(options.out_dir)
    comparator = load_comparator(options.comparator_path) if options.comparator_path else None
    specs = read_specs(options.specs_dir)
    data = read_data(data_path, specs)
    area = resolve_area(area_text, data)
    table = compute_benchmark(data, specs, comparator)
    if not options.allow_empty:
        require_area_rows(area, data, table)
    names = area_name_warnings(data.frame, data.path, load_geography())
    result = build_area_outputs(area, specs, data, table, options)
    return dataclasses.replace(result, warnings=(*result.warnings, *names, *coverage_problems(table)))


def check_edition(edition: str) -> str:
    """The edition label, if it is a short slug; else :class:`OutputError` (it names a folder)."""
    problem = edition_problem(edition)
    if problem:
        raise OutputError(f"--edition: {problem}.")
    return edition


def output_path(out_dir: Path, edition: str, area: Area) -> Path:
    """``<out>/<edition>/<code>-<slug>.pdf``, from validated parts only."""
    check_edition(edition)
    if not is_ons_code(area.code):
        raise OutputError(f"Area code {area.code!r} is not an ONS area code, so it cannot name an output file.")
    return out_dir / edition / f"{area.code}-{slugify(area.name)}.pdf"


def require_area_rows(area: Area, data: IndicatorData, table: pd.DataFrame) -> None:
    """Refuse to build an empty profile: the data must have rows of the area for the specs."""
    if table.empty or (table["area_code"] == area.code).any():
        return  # an empty table is reported by edition_and_date, with its own hint
    raise DataError(
        f"{data.path} has no rows for {area.name} ({area.code}) in the specs' indicators: "
        f"{describe_coverage(data, area)}. Check --area and --data, or pass --allow-empty "
        "to build a profile without the area's values."
    )


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


@dataclass(frozen=True)
class ProfileDocument:
    """One area's document model: the template context every writer (full profile, brief) renders."""

    area: Area
    edition: str
    data_date: date
    search_path: list[Path]
    context: dict
    attachments: tuple[PdfAttachment, ...]
    identifier: str


def make_document(
    area: Area,
    specs: list[IndicatorSpec],
    data: IndicatorData,
    table: pd.DataFrame,
    options: BuildOptions,
    changes: dict | None = None,
) -> ProfileDocument:
    """Statistics to document model: plan, charts and every text of one area's profile."""
    edition, data_date = edition_and_date(data, specs, options)
    search_path = layout_search_path(options.layouts_dir, default_layouts_dir())
    theme = load_theme(search_path, options.palette)
    provenance = area_provenance(area, specs, data, table, options, changes)
    inputs = ProfileInputs(
        area=area,
        specs=tuple(specs),
        table=table,
        theme=theme,
        edition=edition,
        data_date=data_date,
        author=options.author or DEFAULT_AUTHOR,
        synthetic=data.synthetic,
        version=__version__,
        data_label=Path(data.path).name if data.path != EMBEDDED_DEMO_LABEL else data.path,
        provenance=provenance,
        wording=load_wording(search_path),
        changes=changes,
    )
    plan = plan_profile(inputs)
    images = draw_charts(plan.spines, plan.trends, theme, plan.bars)
    area_rows = table[table["area_code"] == area.code]
    attachments = (
        PdfAttachment(
            f"{area.code}-benchmark.csv",
            benchmark_bytes(area_rows, "csv"),
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
    return ProfileDocument(area, edition, data_date, search_path, context, attachments, identifier)


def render_document(document: ProfileDocument, template: str) -> tuple[bytes, list[Problem]]:
    """Document model to PDF bytes: render one template (full profile or brief) with WeasyPrint."""
    html = render_html(make_environment(document.search_path), template, document.context)
    identifier = hashlib.sha256(f"{document.identifier}|{template}".encode()).hexdigest()[:32].encode("ascii")
    if template == PROFILE_TEMPLATE:
        identifier = document.identifier.encode("ascii")
    pdf, log = html_to_pdf(
        html,
        document.search_path,
        created=document.data_date,
        attachments=document.attachments,
        identifier=identifier,
    )
    return pdf, [Problem("", "layouts", f"refused to fetch {url}", "warning") for url in log.blocked]


PROFILE_TEMPLATE = "profile.html.j2"
BRIEF_TEMPLATE = "brief.html.j2"


def build_area_outputs(
    area: Area,
    specs: list[IndicatorSpec],
    data: IndicatorData,
    table: pd.DataFrame,
    options: BuildOptions,
    changes: dict | None = None,
) -> BuildResult:
    """One area's outputs from a computed benchmark table: the full profile and, with
    ``options.brief``, the board brief beside it (``<code>-<slug>-brief.pdf``).

    The output files are reserved (folder created, temporary file opened) before rendering, so an
    unwritable output fails at once; temporary files are removed on every failure.
    """
    edition, _ = edition_and_date(data, specs, options)
    path = output_path(options.out_dir, edition, area)
    brief_path = path.with_name(f"{path.stem}-brief.pdf") if options.brief else None
    with reserve(path, options.out_dir) as reservation, rare_collections():
        document = make_document(area, specs, data, table, options, changes)
        pdf, warnings = render_document(document, PROFILE_TEMPLATE)
        if brief_path is not None:
            with reserve(brief_path, options.out_dir) as brief_reservation:
                brief_pdf, brief_warnings = render_document(document, BRIEF_TEMPLATE)
                brief_reservation.commit(brief_pdf)
            warnings += brief_warnings
        reservation.commit(pdf)
    return BuildResult(path, area, tuple(data.warnings) + tuple(dict.fromkeys(warnings)), brief_path)


def render_profile(
    area: Area, specs: list[IndicatorSpec], data: IndicatorData, table: pd.DataFrame, options: BuildOptions
) -> BuildResult:
    """Render one area's profile from a computed benchmark table and write the PDF (see build_area_outputs)."""
    return build_area_outputs(area, specs, data, table, options)


HASH_CHUNK = 1024 * 1024


def _hash_files(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + _file_sha256(path))
    return digest.hexdigest()


#: File hashes already computed in this process, by path and state: provenance is made for every
#: area of a national run, and the specs and layouts (fonts included) do not change between areas.
_FILE_HASHES: dict[tuple, bytes] = {}
MAX_FILE_HASHES = 1024


def _file_sha256(path: Path) -> bytes:
    """SHA-256 of a file read in 1 MiB chunks, so a large file does not fill memory.

    Remembered per process by path, inode, size and modification time, so an edited file is read again.
    """
    info = path.stat()
    key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
        if len(_FILE_HASHES) >= MAX_FILE_HASHES:
            _FILE_HASHES.clear()
        _FILE_HASHES[key] = digest.digest()
    return _FILE_HASHES[key]


def _layout_files(search_path: list[Path]) -> list[tuple[str, Path]]:
    """The effective layout files: for each relative path, the first folder that has it.

    Links are not followed into other folders; links leading outside the layouts folder, FIFOs and
    devices are skipped; a file over its size limit (see :func:`reportgen.theme.size_limit`) is an error.
    """
    chosen: dict[str, Path] = {}
    for directory in search_path:
        for relative, path in _walk_layouts(directory):
            chosen.setdefault(relative, path)
    return list(chosen.items())


def _walk_layouts(directory: Path):
    def refuse(exc: OSError) -> None:
        raise RenderError(f"{exc.filename}: cannot read this layouts folder ({exc.strerror}).")

    for root, dirs, names in os.walk(directory, onerror=refuse):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            relative = (Path(root) / name).relative_to(directory).as_posix()
            if relative.endswith(".py"):
                continue
            path = _regular_layout_file(directory, Path(root) / name)
            if path is not None:
                yield relative, path


def _regular_layout_file(directory: Path, path: Path) -> Path | None:
    """``path`` resolved if it is a regular file inside ``directory``, else ``None``; too large is an error."""
    try:
        resolved = path.resolve()
        info = resolved.stat()
    except (OSError, RuntimeError):
        return None
    if not stat.S_ISREG(info.st_mode) or not resolved.is_relative_to(directory.resolve()):
        return None
    check_size(path, info.st_size)
    return resolved


def provenance_record(
    area: Area, data: IndicatorData, specs: list[IndicatorSpec], search_path: list[Path], edition: str, data_date: date
) -> dict[str, str]:
    """What a profile was made from: generator version and hashes of data, specs and layouts."""
    return {
        "generator": f"reportgen {__version__}",
        "weasyprint": pdf_engine_version(),
        "matplotlib": chart_engine_version(),
        "area_code": area.code,
        "area_name": area.name,
        "edition": edition,
        "data_date": data_date.isoformat(),
        "data_file": Path(data.path).name if data.path != EMBEDDED_DEMO_LABEL else data.path,
        "synthetic_data": "yes" if data.synthetic else "no",
        "specs_sha256": _hash_files([(Path(s.path).name, Path(s.path)) for s in specs]),
        "layouts_sha256": _hash_files(_layout_files(search_path)),
    }


def area_provenance(
    area: Area,
    specs: list[IndicatorSpec],
    data: IndicatorData,
    table: pd.DataFrame,
    options: BuildOptions,
    changes: dict | None = None,
) -> dict[str, str]:
    """The provenance record of one area's profile, with ``inputs_sha256``: the hash of what it depends on.

    Nothing here describes the whole data file, so an area whose inputs did not change gets the
    same bytes however the rest of the file changed (incremental national runs rely on this).
    """
    edition, data_date = edition_and_date(data, specs, options)
    search_path = layout_search_path(options.layouts_dir, default_layouts_dir())
    record = provenance_record(area, data, specs, search_path, edition, data_date)
    settings = {"author": options.author or DEFAULT_AUTHOR, "palette": options.palette, "changes": changes}
    return {**record, "inputs_sha256": inputs_sha256(table, area, record, settings)}


def area_provenances(
    areas: list[Area],
    specs: list[IndicatorSpec],
    data: IndicatorData,
    table: pd.DataFrame,
    options: BuildOptions,
    changes: dict[str, dict | None],
) -> dict[str, dict[str, str]]:
    """:func:`area_provenance` of many areas, by area code, with the shared work done once.

    The edition, layouts and specs hashes are the same for every area, and the table is sorted
    and its rows hashed once (:class:`reportgen.fingerprint.DependencyHashes`); the records are
    identical to :func:`area_provenance`'s. A national run's plan uses this for every authority.
    """
    if not areas:
        return {}
    edition, data_date = edition_and_date(data, specs, options)
    search_path = layout_search_path(options.layouts_dir, default_layouts_dir())
    shared = provenance_record(areas[0], data, specs, search_path, edition, data_date)
    hashes = DependencyHashes(table)
    records = {}
    for area in areas:
        record = {**shared, "area_code": area.code, "area_name": area.name}
        settings = {
            "author": options.author or DEFAULT_AUTHOR,
            "palette": options.palette,
            "changes": changes.get(area.code),
        }
        records[area.code] = {**record, "inputs_sha256": hashes.sha256(area, record, settings)}
    return records


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


def benchmark_rows(
    area_text: str | None,
    data_path: Path | None,
    specs_dir: Path | None,
    comparator_path: Path | None = None,
    spine_exclusions: tuple[str, ...] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """The benchmark table of a data file, optionally only one area's rows."""
    return _benchmark(area_text, data_path, specs_dir, comparator_path, spine_exclusions, allow_empty)[0]


def benchmark_payload(
    fmt: str,
    area_text: str | None,
    data_path: Path | None,
    specs_dir: Path | None,
    comparator_path: Path | None = None,
    spine_exclusions: tuple[str, ...] | None = None,
    allow_empty: bool = False,
) -> tuple[bytes, tuple[Problem, ...]]:
    """The benchmark table serialised as ``fmt`` (the spreadsheet rounds to each spec's decimals),
    and warnings about the data's coverage of England."""
    table, specs, warnings = _benchmark(area_text, data_path, specs_dir, comparator_path, spine_exclusions, allow_empty)
    return benchmark_bytes(table, fmt, {s.id: s.decimals for s in specs}), warnings


def _benchmark(area_text, data_path, specs_dir, comparator_path, spine_exclusions, allow_empty):
    comparator = load_comparator(comparator_path) if comparator_path else None
    specs = read_specs(specs_dir)
    data = read_data(data_path, specs)
    area = resolve_area(area_text, data) if area_text else None
    table = compute_benchmark(data, specs, comparator, spine_exclusions)
    warnings = coverage_problems(table)
    if area is not None:
        if not allow_empty:
            require_area_rows(area, data, table)
        table = table[table["area_code"] == area.code].reset_index(drop=True)
    return table, specs, warnings


def _json_value(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def benchmark_bytes(table: pd.DataFrame, fmt: str, decimals: dict[str, int] | None = None) -> bytes:
    """Serialise the benchmark table as CSV, JSON (records) or XLSX.

    Text that a spreadsheet would run as a formula is neutralised in CSV and XLSX; the XLSX is
    rounded to ``decimals`` (spec id -> decimal places) and laid out for reading.
    """
    if fmt == "csv":
        return neutralised(table, one_newline=True).to_csv(index=False, lineterminator="\n").encode("utf-8")
    if fmt == "json":
        records = [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
        return (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "xlsx":
        return workbook_bytes(table, decimals or {})
    raise ValueError(f"unknown format {fmt!r}")


def neutralised(table: pd.DataFrame, one_newline: bool = False) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot run as spreadsheet formulas; numbers unchanged.

    With ``one_newline``, carriage returns in text become newlines, which the CSV writer quotes
    (a bare carriage return would otherwise split the row for some readers).
    """

    def clean(value: object) -> object:
        value = neutralise_text(value)
        if one_newline and isinstance(value, str):
            return value.replace("\r\n", "\n").replace("\r", "\n")
        return value

    text_columns = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    changed = {}
    for column in text_columns:  # each distinct text once: most columns need no change at all
        values = table[column]
        fixes = {v: fixed for v in pd.unique(values) if isinstance(v, str) and (fixed := clean(v)) != v}
        if fixes:
            changed[column] = values.map(lambda v, fixes=fixes: fixes.get(v, v) if isinstance(v, str) else v)
    return table.assign(**changed)


def check_output_file(path: Path) -> Path:
    """Check, before slow work, that ``path`` can be written as a file (its folder is created)."""
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder; give a file name.")
    check_folder(path.parent)
    return path
