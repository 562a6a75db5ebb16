"""Orchestration: specs and data in, checked tables and PDF profiles out. Data flows one way."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from . import __version__
from .assets import default_layouts_dir, default_specs_dir
from .charts import chart_engine_version, draw_charts
from .compose import ProfileInputs, plan_profile
from .context import profile_context
from .data import (
    AREA_CODE,
    AREA_NAME,
    INDICATOR_ID,
    PARENT_CODE,
    PERIOD,
    IndicatorData,
    check_against_specs,
    load_indicator_data,
    parse_indicator_csv,
)
from .demo import DEFAULT_SEED, demo_csv_text, generate_demo_frame, write_demo_data
from .errors import DataError, Problem, SpecError
from .fingerprint import inputs_sha256
from .geography import Area, area_kind, load_geography
from .output import write_atomic
from .periods import parse_period
from .render import PdfAttachment, html_to_pdf, layout_search_path, make_environment, pdf_engine_version, render_html
from .specs import IndicatorSpec, load_specs
from .stats.benchmark import BenchmarkOptions, ComparatorGroup, benchmark_table
from .stats.distribution import DEFAULT_SPINE_EXCLUSIONS
from .theme import load_theme

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


@dataclass(frozen=True)
class BuildResult:
    """A written profile and the warnings raised while building it."""

    path: Path
    area: Area
    warnings: tuple[Problem, ...] = field(default=())


def read_specs(specs_dir: Path | None) -> list[IndicatorSpec]:
    """Load the packaged catalogue or the given folder."""
    return load_specs(specs_dir or default_specs_dir())


def read_data(data_path: Path | None, specs: list[IndicatorSpec]) -> IndicatorData:
    """Load a data file, or generate the embedded demonstration data when none is given."""
    geography = load_geography()
    if data_path is None:
        text = demo_csv_text(generate_demo_frame(specs, geography, DEFAULT_SEED))
        data = parse_indicator_csv(io.StringIO(text), EMBEDDED_DEMO_LABEL, geography)
        return dataclasses.replace(data, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    return load_indicator_data(data_path, geography)


def check_inputs(specs_dir: Path | None, data_path: Path | None) -> CheckReport:
    """Validate specs (raising on spec errors) and optionally a data file against them."""
    specs = read_specs(specs_dir)
    if data_path is None:
        return CheckReport(len(specs), 0, ())
    data = load_indicator_data(data_path, load_geography())
    problems = list(data.warnings) + check_against_specs(data, specs)
    return CheckReport(len(specs), len(data.frame), tuple(problems))


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


def build_profile(area_text: str, data_path: Path | None, options: BuildOptions) -> BuildResult:
    """Build one authority's profile: data -> statistics -> charts -> HTML -> PDF, written atomically."""
    specs = read_specs(options.specs_dir)
    data = read_data(data_path, specs)
    area = resolve_area(area_text, data)
    comparator = load_comparator(options.comparator_path) if options.comparator_path else None
    table = compute_benchmark(data, specs, comparator)
    return render_profile(area, specs, data, table, options)


def render_profile(
    area: Area,
    specs: list[IndicatorSpec],
    data: IndicatorData,
    table: pd.DataFrame,
    options: BuildOptions,
    changes: dict | None = None,
) -> BuildResult:
    """Render one area's profile from a computed benchmark table and write the PDF.

    ``changes`` is what has changed since the previous edition (``previous_edition`` and
    ``rows``), or None for a first edition.
    """
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
    )
    plan = plan_profile(inputs)
    images = draw_charts(plan.spines, plan.bars, plan.trends, theme)
    context = profile_context(plan, images)
    context["changes"] = changes
    html = render_html(make_environment(search_path), "profile.html.j2", context)
    area_rows = table[table["area_code"] == area.code]
    attachments = [
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
    ]
    identifier = provenance["inputs_sha256"][:32].encode("ascii")
    pdf, log = html_to_pdf(html, search_path, created=data_date, attachments=attachments, identifier=identifier)
    path = options.out_dir / edition / f"{area.code}-{slugify(area.name)}.pdf"
    write_atomic(path, pdf)
    warnings = [Problem("", "layouts", f"refused to fetch {url}", "warning") for url in log.blocked]
    return BuildResult(path, area, tuple(data.warnings) + tuple(warnings))


def _hash_files(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _layout_files(search_path: list[Path]) -> list[tuple[str, Path]]:
    """The effective layout files: for each relative path, the first folder that has it."""
    chosen: dict[str, Path] = {}
    for directory in search_path:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if path.is_file() and "__pycache__" not in relative and not relative.endswith(".py"):
                chosen.setdefault(relative, path)
    return list(chosen.items())


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


def load_comparator(path: Path) -> ComparatorGroup:
    """Read a comparator group YAML file: ``name`` and a list of ``areas`` (ONS codes)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"Comparator file {path} does not exist.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable YAML file ({exc}).") from None
    if not isinstance(raw, dict) or set(raw) != {"name", "areas"}:
        raise DataError(
            f"{path}: a comparator group needs exactly two keys, 'name' (text) and 'areas' (a list of area codes)."
        )
    name, areas = raw["name"], raw["areas"]
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"{path}: name: must be non-empty text.")
    if not isinstance(areas, list) or not areas or not all(isinstance(a, str) for a in areas):
        raise DataError(f"{path}: areas: must be a non-empty list of area codes such as E06000001.")
    return ComparatorGroup(name.strip(), tuple(a.strip().upper() for a in areas))


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
) -> pd.DataFrame:
    """The benchmark table of a data file, optionally only one area's rows."""
    specs = read_specs(specs_dir)
    data = read_data(data_path, specs)
    comparator = load_comparator(comparator_path) if comparator_path else None
    table = compute_benchmark(data, specs, comparator, spine_exclusions)
    if area_text:
        area = resolve_area(area_text, data)
        table = table[table["area_code"] == area.code].reset_index(drop=True)
    return table


def _json_value(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def benchmark_bytes(table: pd.DataFrame, fmt: str) -> bytes:
    """Serialise the benchmark table as CSV, JSON (records) or XLSX."""
    if fmt == "csv":
        return table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if fmt == "json":
        records = [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
        return (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            table.to_excel(writer, index=False, sheet_name="benchmark")
        return buffer.getvalue()
    raise ValueError(f"unknown format {fmt!r}")
