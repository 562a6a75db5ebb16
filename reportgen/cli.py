"""Command-line interface: parse options, call the publish stage, report problems without tracebacks."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from reportgen import __version__
from reportgen.core.errors import Problem, ReportgenError, printable

if TYPE_CHECKING:  # the commands import what they use when they run, so that --help stays fast
    from reportgen.core.options import BuildOptions
    from reportgen.publish.national import AreaResult, Selection

MAX_PROBLEMS_SHOWN = 200

SPECS_HELP = "Folder of indicator spec YAML files (default: the packaged catalogue)."
DATA_HELP = (
    "Fingertips CSV export, or a folder of them; repeat to merge several files "
    "(default: the embedded synthetic demonstration data)."
)
LAYOUTS_HELP = "Folder of templates, CSS and fonts that override the packaged layouts."


def _print_problems(problems: tuple[Problem, ...] | list[Problem], stream: IO[str] | None = None) -> None:
    stream = stream or sys.stderr
    for problem in list(problems)[:MAX_PROBLEMS_SHOWN]:
        click.echo(printable(str(problem)), file=stream)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        click.echo(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s); fix these first.", file=stream)


class Terminated(BaseException):
    """SIGTERM, raised as an exception so that ``finally`` blocks remove temporary files."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _sigterm_raises() -> Any:
    """Make SIGTERM raise :class:`Terminated`; returns the previous handler (None off the main thread)."""
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        return None


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`ReportgenError` into a clear message on stderr and exit status 1.

    An interrupt (Ctrl+C, SIGTERM) stops cleanly: temporary files are removed, and the exit
    status is 130 or 143.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = _sigterm_raises()
        try:
            return func(*args, **kwargs)
        except ReportgenError as exc:
            click.echo(f"Error: {printable(exc.message)}", err=True)
            _print_problems(exc.problems)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; no output file was written.", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("Terminated; no output file was written.", err=True)
            sys.exit(143)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _check_edition(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from reportgen.core.files import edition_problem

    if value is not None and (problem := edition_problem(value)):
        raise click.BadParameter(problem)
    return value


MAX_AUTHOR = 200


def _check_author(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The PDF author (document info and XMP metadata): printable text of at most 200 characters."""
    from reportgen.core.errors import printable

    if value is not None and (not value.isprintable() or len(value) > MAX_AUTHOR):
        raise click.BadParameter(
            f"'{printable(value[:60])}{'...' if len(value) > 60 else ''}' must be printable text of at most "
            f"{MAX_AUTHOR} characters, without control characters or line breaks (e.g. 'Public Health Team')"
        )
    return value


SEED_RANGE = click.IntRange(0, 2**32 - 1)
OUT_FOLDER = click.Path(path_type=Path, file_okay=False)
OUT_FILE = click.Path(path_type=Path, dir_okay=False)
COMPARATOR_FILE = click.Path(path_type=Path, dir_okay=False)
NEIGHBOURS_FILE = click.Path(path_type=Path, dir_okay=False)
NEIGHBOURS_HELP = (
    "CSV file of similar authorities, header area_code,neighbour_code, one row per pair, most similar first "
    "(default: the packaged set, DfE's statistical neighbours)."
)
ALLOW_EMPTY_HELP = "Build even when the data have no rows for the area (the profile then shows no values)."


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-31") from None


def _parse_scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    import re

    if value is None:
        return None
    if not re.fullmatch(r"tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}", value.strip()):
        raise click.BadParameter(f"{value!r} is not a scheduler address; use tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return value.strip()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reportgen")
def cli() -> None:
    """Build printable, accessible Health assets profiles for England's upper-tier local authorities."""


@cli.command()
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Also check this data file (or folder of CSV files; repeat to merge several) against the specs.",
)
@click.option(
    "--warnings-ok", is_flag=True, help="Exit 0 when there are warnings (e.g. older area codes) but no errors."
)
@click.option(
    "--metadata",
    type=click.Path(path_type=Path),
    help="Compare the specs with Fingertips' indicator metadata CSV (written by 'reportgen fetch').",
)
@click.option("--neighbours", type=NEIGHBOURS_FILE, help="Also check this similar-authorities CSV file.")
@reports_errors
def check(
    specs: Path | None,
    data: tuple[Path, ...],
    warnings_ok: bool,
    metadata: Path | None = None,
    neighbours: Path | None = None,
) -> None:
    """Validate the indicator specs and, with --data, a data file against them.

    Every problem is listed as FILE:LINE[:COL]: KEY: MESSAGE. Exit status 0 when clean, 1 when
    anything was reported (errors, or warnings such as area codes outside the geography).

    \b
    Example:
      reportgen check --specs indicator_specs --data fingertips-export.csv
    """
    from reportgen.publish.prepare import check_inputs

    report = check_inputs(specs, data or None)
    if metadata is not None:
        from dataclasses import replace

        from reportgen.publish.prepare import check_metadata

        report = replace(report, problems=report.problems + check_metadata(specs, metadata))
    if neighbours is not None:
        from dataclasses import replace

        report = replace(report, problems=report.problems + _neighbour_problems(neighbours))
    _print_problems(report.problems, sys.stdout)
    errors = [p for p in report.problems if p.severity == "error"]
    warnings = [p for p in report.problems if p.severity == "warning"]
    click.echo(
        f"Checked {report.n_specs} spec(s)"
        + (f" and {report.n_rows} data row(s)" if data else "")
        + f": {len(errors)} error(s), {len(warnings)} warning(s)."
    )
    if errors or (warnings and not warnings_ok):
        sys.exit(1)


@cli.command()
@click.option("--region", help="Only authorities in this region (code such as E12000001, or name).")
@click.option("--search", help="Only authorities whose name or code contains this text.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@reports_errors
def areas(region: str | None, search: str | None, fmt: str) -> None:
    """List England's upper-tier local authorities (April 2023 boundaries) and their regions.

    \b
    Example:
      reportgen areas --region "North East" --format csv
    """
    from reportgen.publish.prepare import list_areas

    rows = list_areas(region, search)
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["area_code", "area_name", "region_code", "region_name"])
        writer.writerows([a.code, a.name, a.region_code, a.region_name] for a in rows)
        return
    width = max((len(a.name) for a in rows), default=10)
    click.echo(f"{'Code':<10} {'Name':<{width}} Region")
    for a in rows:
        click.echo(f"{a.code:<10} {a.name:<{width}} {a.region_name}")
    click.echo(f"{len(rows)} authorit{'y' if len(rows) == 1 else 'ies'}.")


@cli.command("demo-data")
@click.option("--out", type=OUT_FILE, required=True, help="CSV file to write.")
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option(
    "--seed", type=SEED_RANGE, default=None, help="Random seed, 0 to 4294967295 (default: the fixed demo seed)."
)
@reports_errors
def demo_data(out: Path, specs: Path | None, seed: int | None) -> None:
    """Write the synthetic demonstration dataset in Fingertips CSV format.

    Covers all 153 authorities, the 9 regions and England, every spec with a demo block, five
    periods. The same seed always gives the same bytes. The values are not real.
    """
    from reportgen.publish.prepare import write_demo

    path = write_demo(out, specs, seed)
    click.echo(str(path))


@cli.command()
@click.option(
    "--area", multiple=True, help="Area code (E06000001) or unambiguous name (Hartlepool); give it again for more."
)
@click.option("--all", "all_areas", is_flag=True, help="Build every authority (the national run).")
@click.option("--region", help="Build every authority in this region (code such as E12000001, or name).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Areas built at once (default: the number of CPUs; at most that, or --jobs-max, and the areas to build).",
)
@click.option(
    "--jobs-max",
    type=click.IntRange(min=1),
    help="Allow --jobs above the number of CPUs, up to this many worker processes.",
)
@click.option(
    "--area-time-limit",
    type=click.FloatRange(min=1, max=86400),
    help="Seconds one area may take in a national run before it fails and the run goes on (default: 300).",
)
@click.option("--force", is_flag=True, help="Rebuild every selected area, even those whose inputs are unchanged.")
@click.option(
    "--previous",
    type=click.Path(path_type=Path, file_okay=False),
    help="Earlier edition folder to compare with (default: the latest earlier edition in --out).",
)
@click.option("--scheduler", callback=_parse_scheduler, help="Dask scheduler address tcp://HOST:PORT to build on.")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="At the end of a national run, check the edition folder as 'reportgen verify' does (exit 1 if it fails).",
)
@click.option("--data", type=click.Path(path_type=Path), multiple=True, help=DATA_HELP)
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--layouts", type=click.Path(path_type=Path), help=LAYOUTS_HELP)
@click.option("--out", type=OUT_FOLDER, default=Path("output"), show_default=True, help="Output folder.")
@click.option(
    "--edition",
    callback=_check_edition,
    help="Edition label, a short slug such as 2024 (default: the year the latest data period ends).",
)
@click.option(
    "--data-date", callback=_parse_date, help="'Data as at' date, YYYY-MM-DD (default: end of the latest period)."
)
@click.option("--author", default=None, callback=_check_author, help="Author recorded in the PDF metadata.")
@click.option("--palette", help="Colour palette from the layouts' theme.yaml: fingertips (default) or colourblind.")
@click.option("--comparator", type=COMPARATOR_FILE, help="YAML file with a comparator group (name and areas).")
@click.option("--neighbours", type=NEIGHBOURS_FILE, help=NEIGHBOURS_HELP)
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP)
@click.option(
    "--brief",
    is_flag=True,
    help="Also write the board brief (at most 2 pages) beside the profile as CODE-NAME-brief.pdf.",
)
@click.option(
    "--html/--no-html",
    default=True,
    show_default=True,
    help="Also write the profile as one accessible web page beside the PDF, as CODE-NAME.html.",
)
@reports_errors
def build(
    area: tuple[str, ...],
    all_areas: bool,
    region: str | None,
    jobs: int | None,
    jobs_max: int | None,
    area_time_limit: float | None,
    force: bool,
    previous: Path | None,
    scheduler: str | None,
    verify: bool,
    data: tuple[Path, ...],
    specs: Path | None,
    layouts: Path | None,
    out: Path,
    edition: str | None,
    data_date: date | None,
    author: str | None,
    palette: str | None,
    comparator: Path | None,
    allow_empty: bool,
    brief: bool = False,
    html: bool = True,
    neighbours: Path | None = None,
) -> None:
    """Build the Health assets profile PDF of one authority and print its path, or many at once.

    With --all, --region or several --area options this is the national run: areas build in
    parallel into OUT/EDITION/, only those whose inputs changed since the last run (see
    manifest.json), with the "Find your area" page index.html, profiles.zip, changes.csv and
    run.json. Exit status 1 if any area failed.

    \b
    Examples:
      reportgen build --area Hartlepool --data fingertips-export.csv
      reportgen build --all --data fingertips-export.csv --jobs 4
    """
    from reportgen.core.options import BuildOptions
    from reportgen.publish.build import build_profile

    batch = _batch_selection(
        area, all_areas, region, (jobs, force or None, previous, scheduler, jobs_max, area_time_limit)
    )
    if neighbours is not None:  # checked before any slow work; exit 1 with FILE:LINE: ... when invalid
        for warning in _neighbour_problems(neighbours, strict=True):
            click.echo(str(warning), err=True)

    options = BuildOptions(
        specs_dir=specs,
        layouts_dir=layouts,
        out_dir=out,
        edition=edition,
        data_date=data_date,
        author=author,
        palette=palette,
        comparator_path=comparator,
        neighbours_path=neighbours,
        allow_empty=allow_empty,
        brief=brief,
        html=html,
    )
    if batch is not None:
        _national_run(
            batch, data or None, options, (jobs, force, previous, scheduler), verify, (jobs_max, area_time_limit)
        )
        return
    result = build_profile(area[0], data or None, options)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    click.echo(str(result.path))
    if result.brief_path is not None:
        click.echo(str(result.brief_path))


def _neighbour_problems(path: Path, strict: bool = False) -> tuple[Problem, ...]:
    """The warnings of a similar-authorities file; its errors too, unless ``strict`` (then they are raised)."""
    from reportgen.core.errors import InputFileError
    from reportgen.core.geography import load_geography
    from reportgen.core.neighbours import load_neighbours

    try:
        return load_neighbours(path, load_geography()).warnings
    except InputFileError as exc:
        if strict:
            raise
        return exc.problems or (Problem("", "", exc.message),)


def _batch_selection(
    area: tuple[str, ...], all_areas: bool, region: str | None, batch_options: tuple[object, ...]
) -> Selection | None:
    """The national run's selection, or None for the single-area build; usage errors exit 2."""
    from reportgen.publish.national import Selection

    chosen = [name for name, given in (("--all", all_areas), ("--region", region), ("--area", area)) if given]
    if not chosen:
        raise click.UsageError("Say which areas to build: --area CODE_OR_NAME (repeatable), --region NAME or --all.")
    if len(chosen) > 1:
        raise click.UsageError(f"Use only one of {' and '.join(chosen)}.")
    if len(area) == 1 and not any(option is not None for option in batch_options):
        return None
    return Selection(all=all_areas, region=region, areas=area)


def _national_run(
    selection: Selection,
    data: tuple[Path, ...] | None,
    options: BuildOptions,
    settings: tuple[int | None, bool, Path | None, str | None],
    verify: bool = True,
    limits: tuple[int | None, float | None] = (None, None),
) -> None:
    from reportgen.publish.national import DEFAULT_AREA_TIME_LIMIT, RunSettings, run_national

    jobs, force, previous, scheduler = settings
    jobs_max, time_limit = limits
    run = RunSettings(
        jobs=jobs,  # None: one per CPU; capped at the CPUs (or --jobs-max) and the areas to build
        force=force,
        previous=previous,
        scheduler=scheduler,
        verify=verify,
        jobs_max=jobs_max,
        area_time_limit=time_limit or DEFAULT_AREA_TIME_LIMIT,
    )
    with AreaProgress() as progress:
        report = run_national(selection, data, options, run, on_progress=progress.update, on_note=_note)
    click.echo(report.summary())
    sys.exit(1 if report.failed or report.problems else 0)


def _note(text: str) -> None:
    click.echo(printable(f"note: {text}"), err=True)


class AreaProgress:
    """The national run's progress on stderr: a bar with counts and ETA on a terminal, one line per area otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.failed = 0

    def __enter__(self) -> AreaProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def update(self, result: AreaResult, name: str, done: int, total: int) -> None:
        self.failed += bool(result.error)
        if not self.tty:
            state = f"FAILED: {result.error}" if result.error else f"built in {result.seconds:.1f} s"
            click.echo(printable(f"[{done}/{total}] {result.code} {name}: {state}"), err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Building", file=sys.stderr, show_eta=True, show_pos=True)
            self.bar.__enter__()
        self.bar.label = f"Building ({self.failed} failed)" if self.failed else "Building"
        self.bar.update(1)


def _parse_codes(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return ()
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), multiple=True, help=DATA_HELP)
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--area", help="Only this area's rows (code or unambiguous name).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option("--out", type=OUT_FILE, help="File to write (default: standard output; required for xlsx).")
@click.option("--comparator", type=COMPARATOR_FILE, help="YAML file with a comparator group: name and areas.")
@click.option(
    "--spine-exclude",
    callback=_parse_codes,
    help="Comma-separated area codes left out of the spine ranges (default: E06000053,E09000001; 'none' for none).",
)
@click.option("--allow-empty", is_flag=True, help="With --area: no error when the data have no rows for the area.")
@reports_errors
def benchmark(
    data: tuple[Path, ...],
    specs: Path | None,
    area: str | None,
    fmt: str,
    out: Path | None,
    comparator: Path | None,
    spine_exclude: tuple[str, ...] | None,
    allow_empty: bool,
) -> None:
    """Write the benchmark table: one row per indicator, area and period.

    Values, 95% and 99.8% confidence limits (from the data or computed by PHE's methods),
    comparisons with England and the region by Fingertips' rules, recent trends, ranks and spine
    statistics, for authorities, regions and England.

    \b
    Example:
      reportgen benchmark --data export.csv --area Hartlepool --format xlsx --out hartlepool.xlsx
    """
    from reportgen.core.files import write_atomic
    from reportgen.publish.prepare import BenchmarkRequest, benchmark_rows, check_output_file
    from reportgen.publish.tables import benchmark_bytes

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.")
    if out is not None:
        check_output_file(out)
    request = BenchmarkRequest(data or None, specs, area, comparator, spine_exclude, allow_empty)
    table, specs_used, warnings = benchmark_rows(request)
    payload = benchmark_bytes(table, fmt, {s.id: s.decimals for s in specs_used})
    for problem in warnings:
        click.echo(str(problem), err=True)
    if out is None:
        click.echo(payload.decode("utf-8"), nl=False)
    else:
        write_atomic(out, payload)
        click.echo(str(out))


@cli.command("verify")
@click.argument("edition_folder", type=click.Path(path_type=Path, file_okay=False))
@reports_errors
def verify_command(edition_folder: Path) -> None:
    """Check that an edition folder is exactly what its manifest says was published.

    Every file manifest.json lists must be a regular file in the folder (not a link) with the listed
    SHA-256, and every PDF must embed the provenance of its own area; profiles.zip must hold exactly
    the listed PDFs and index.html must link exactly the listed files. Exit status 0 when it holds;
    1 with one line per problem otherwise. 'reportgen build' runs the same check at the end of
    every national run.

    \b
    Example:
      reportgen verify output/2024
    """
    from reportgen.publish.verify import verify_edition

    problems = verify_edition(edition_folder)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(
            f"{len(problems)} problem(s): rebuild the edition with 'reportgen build' (--force rebuilds every area) "
            "or restore the published copy.",
            err=True,
        )
        sys.exit(1)
    click.echo(
        printable(f"{edition_folder}: verified: the listed files, profiles.zip and index.html are as published.")
    )


@cli.command("check-pdf")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@reports_errors
def check_pdf_command(files: tuple[Path, ...]) -> None:
    """Check built profiles for accessibility essentials (PDF/UA tagging, language, title, alt text, fonts).

    Prints one PASS or FAIL line per check; exit status 1 if any check fails.

    \b
    Example:
      reportgen check-pdf output/2024/E06000001-hartlepool.pdf
    """
    from reportgen.document.pdfcheck import check_pdf, format_report

    failed = False
    for path in files:
        checks = check_pdf(path)
        click.echo(f"{path}:")
        click.echo(format_report(checks))
        failed = failed or not all(c.passed for c in checks)
    sys.exit(1 if failed else 0)


def _base_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An http(s) address without a user name or password (refused, never repeated: see docs/security.md)."""
    from reportgen.sources.fingertips_api import base_url_problem

    problem = base_url_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value.rstrip("/")


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A number of seconds: more than 0, at most a week (``nan`` and ``inf`` are refused)."""
    if not 0 < value <= 7 * 24 * 3600:
        raise click.BadParameter(f"{value:g} is not a number of seconds from more than 0 to 604800 (a week).")
    return value


class _Progress:
    """A progress bar on a terminal, plain lines otherwise (both on stderr)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def advance(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            if done < total:
                click.echo(printable(f"Fetching {done + 1} of {total} ..."), err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Fetching", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.__exit__(None, None, None)

    def message(self, text: str) -> None:
        click.echo(("\n" if self.bar is not None else "") + printable(text), err=True)


@cli.command("fetch")
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("data/fingertips.csv"),
    show_default=True,
    help="Snapshot CSV to write (plus OUT.metadata.csv and OUT.manifest.json).",
)
@click.option(
    "--base-url",
    default="https://fingertips.phe.org.uk/api",
    show_default=True,
    callback=_base_url,
    help="Fingertips API address (a mirror, or a local server for tests).",
)
@click.option(
    "--els-base-url",
    default="https://raw.githubusercontent.com/ONSdigital/explore-local-statistics-data/main",
    show_default=True,
    callback=_base_url,
    help="ONS Explore Local Statistics files, one folder per dataset ({base}/{slug}/{slug}.csv and .json).",
)
@click.option(
    "--area-type",
    type=click.IntRange(min=1),
    default=502,
    show_default=True,
    help="Fingertips area type of the authorities (502 from Apr 2023; 402, 302, 202, 102 older).",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="HTTP cache and resumable downloads (default: ~/.cache/reportgen).",
)
@click.option(
    "--timeout",
    "request_timeout",
    type=float,
    default=900,
    show_default=True,
    callback=_seconds,
    help="Seconds one request may take, all its attempts and waits included (a stalled server is stopped).",
)
@click.option(
    "--deadline",
    type=float,
    default=3600,
    show_default=True,
    callback=_seconds,
    help="Seconds the whole fetch may take.",
)
@reports_errors
def fetch_command(
    specs: Path | None,
    out: Path,
    base_url: str,
    area_type: int,
    cache_dir: Path | None,
    request_timeout: float = 900,
    deadline: float = 3600,
    els_base_url: str = "https://raw.githubusercontent.com/ONSdigital/explore-local-statistics-data/main",
) -> None:
    """Download the latest published data for every spec from Fingertips and ONS Explore Local Statistics.

    Writes one Fingertips-format CSV (build with --data OUT), the indicators' metadata and a
    manifest (requests, retrieval time, SHA-256, rows and latest period per indicator). Nothing is
    written unless every download succeeded; a rerun resumes and reuses unchanged responses.

    \b
    Example:
      reportgen fetch --out data/fingertips.csv
      reportgen build --area Hartlepool --data data/fingertips.csv
    """
    from reportgen.publish.prepare import fetch_snapshot
    from reportgen.sources.fingertips_api import FetchOptions, default_cache_dir

    progress = _Progress()
    options = FetchOptions(
        base_url=base_url,
        els_base_url=els_base_url,
        area_type=area_type,
        cache_dir=cache_dir or default_cache_dir(),
        request_timeout=request_timeout,
        deadline=deadline,
        progress=progress.message,
        advance=progress.advance,
    )
    result = fetch_snapshot(specs, out, options)
    for line in result.warnings:
        click.echo(printable(f"warning: {line}"), err=True)
    click.echo(
        printable(
            f"Wrote {result.csv_path} ({result.rows} rows; {result.downloaded} download(s), "
            f"{result.from_cache} unchanged from the cache), {result.metadata_path.name} and "
            f"{result.manifest_path.name}."
        )
    )


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="reportgen")
    except SystemExit as exc:
        _exit_without_teardown(exc)


def _exit_without_teardown(exc: SystemExit) -> None:
    """Exit with the command's status, skipping the interpreter's teardown.

    After a build the process holds millions of objects (data, statistics, fonts, documents) that
    Python would free one by one, about 0.6 s after the work is done. Exit handlers still run
    (WeasyPrint's temporary font folders are removed, logging is flushed) and the output streams
    are flushed; with other (non-daemon) threads still running, Python exits normally.
    """
    import atexit
    import os
    import threading

    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others or run_exit_handlers is None:
        raise exc
    code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code or 0)
