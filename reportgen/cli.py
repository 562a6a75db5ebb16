"""Command-line interface: parse options, call the pipeline, report problems without tracebacks."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import Problem, ReportgenError

MAX_PROBLEMS_SHOWN = 200

SPECS_HELP = "Folder of indicator spec YAML files (default: the packaged catalogue)."
DATA_HELP = "Fingertips CSV export (default: the embedded synthetic demonstration data)."
LAYOUTS_HELP = "Folder of templates, CSS and fonts that override the packaged layouts."


def _print_problems(problems: tuple[Problem, ...] | list[Problem], stream=None) -> None:
    stream = stream or sys.stderr
    for problem in list(problems)[:MAX_PROBLEMS_SHOWN]:
        click.echo(str(problem), file=stream)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        click.echo(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s); fix these first.", file=stream)


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`ReportgenError` into a clear message on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReportgenError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            _print_problems(exc.problems)
            sys.exit(1)

    return wrapper


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
@click.option("--data", type=click.Path(path_type=Path), help="Also check this data file against the specs.")
@click.option(
    "--warnings-ok", is_flag=True, help="Exit 0 when there are warnings (e.g. older area codes) but no errors."
)
@reports_errors
def check(specs: Path | None, data: Path | None, warnings_ok: bool) -> None:
    """Validate the indicator specs and, with --data, a data file against them.

    Every problem is listed as FILE:LINE[:COL]: KEY: MESSAGE. Exit status 0 when clean, 1 when
    anything was reported (errors, or warnings such as area codes outside the geography).

    \b
    Example:
      reportgen check --specs indicator_specs --data fingertips-export.csv
    """
    from .pipeline import check_inputs

    report = check_inputs(specs, data)
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
    from .pipeline import list_areas

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
@click.option("--out", type=click.Path(path_type=Path), required=True, help="CSV file to write.")
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--seed", type=int, default=None, help="Random seed (default: the fixed demo seed).")
@reports_errors
def demo_data(out: Path, specs: Path | None, seed: int | None) -> None:
    """Write the synthetic demonstration dataset in Fingertips CSV format.

    Covers all 153 authorities, the 9 regions and England, every spec with a demo block, five
    periods. The same seed always gives the same bytes. The values are not real.
    """
    from .pipeline import write_demo

    path = write_demo(out, specs, seed)
    click.echo(str(path))


@cli.command()
@click.option(
    "--area", multiple=True, help="Area code (E06000001) or unambiguous name (Hartlepool); give it again for more."
)
@click.option("--all", "all_areas", is_flag=True, help="Build every authority (the national run).")
@click.option("--region", help="Build every authority in this region (code such as E12000001, or name).")
@click.option("--jobs", type=click.IntRange(min=1), help="Areas built at once (default: the number of CPUs).")
@click.option("--force", is_flag=True, help="Rebuild every selected area, even those whose inputs are unchanged.")
@click.option(
    "--previous",
    type=click.Path(path_type=Path, file_okay=False),
    help="Earlier edition folder to compare with (default: the latest earlier edition in --out).",
)
@click.option("--scheduler", callback=_parse_scheduler, help="Dask scheduler address tcp://HOST:PORT to build on.")
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--layouts", type=click.Path(path_type=Path), help=LAYOUTS_HELP)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("output"), show_default=True, help="Output folder."
)
@click.option("--edition", help="Edition label (default: the year the latest data period ends).")
@click.option(
    "--data-date", callback=_parse_date, help="'Data as at' date, YYYY-MM-DD (default: end of the latest period)."
)
@click.option("--author", default=None, help="Author recorded in the PDF metadata.")
@click.option("--palette", help="Colour palette from the layouts' theme.yaml: fingertips (default) or colourblind.")
@click.option(
    "--comparator", type=click.Path(path_type=Path), help="YAML file with a comparator group (name and areas)."
)
@reports_errors
def build(
    area: tuple[str, ...],
    all_areas: bool,
    region: str | None,
    jobs: int | None,
    force: bool,
    previous: Path | None,
    scheduler: str | None,
    data: Path | None,
    specs: Path | None,
    layouts: Path | None,
    out: Path,
    edition: str | None,
    data_date: date | None,
    author: str | None,
    palette: str | None,
    comparator: Path | None,
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
    from .pipeline import BuildOptions, build_profile

    batch = _batch_selection(area, all_areas, region, (jobs, force or None, previous, scheduler))

    options = BuildOptions(
        specs_dir=specs,
        layouts_dir=layouts,
        out_dir=out,
        edition=edition,
        data_date=data_date,
        author=author,
        palette=palette,
        comparator_path=comparator,
    )
    if batch is not None:
        _national_run(batch, data, options, jobs, force, previous, scheduler)
        return
    result = build_profile(area[0], data, options)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    click.echo(str(result.path))


def _batch_selection(area: tuple[str, ...], all_areas: bool, region: str | None, batch_options: tuple):
    """The national run's selection, or None for the single-area build; usage errors exit 2."""
    from .national import Selection

    chosen = [name for name, given in (("--all", all_areas), ("--region", region), ("--area", area)) if given]
    if not chosen:
        raise click.UsageError("Say which areas to build: --area CODE_OR_NAME (repeatable), --region NAME or --all.")
    if len(chosen) > 1:
        raise click.UsageError(f"Use only one of {' and '.join(chosen)}.")
    if len(area) == 1 and not any(option is not None for option in batch_options):
        return None
    return Selection(all=all_areas, region=region, areas=area)


def _national_run(selection, data, options, jobs, force, previous, scheduler) -> None:
    from .national import RunSettings, default_jobs, run_national

    settings = RunSettings(jobs=jobs or default_jobs(), force=force, previous=previous, scheduler=scheduler)
    report = run_national(selection, data, options, settings, progress_stream=sys.stderr)
    click.echo(report.summary())
    sys.exit(1 if report.failed else 0)


def _parse_codes(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value.strip().lower() == "none":
        return ()
    return tuple(code.strip().upper() for code in value.split(",") if code.strip())


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), help=DATA_HELP)
@click.option("--specs", type=click.Path(path_type=Path), help=SPECS_HELP)
@click.option("--area", help="Only this area's rows (code or unambiguous name).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), help="File to write (default: standard output; required for xlsx)."
)
@click.option(
    "--comparator", type=click.Path(path_type=Path), help="YAML file with a comparator group: name and areas."
)
@click.option(
    "--spine-exclude",
    callback=_parse_codes,
    help="Comma-separated area codes left out of the spine ranges (default: E06000053,E09000001; 'none' for none).",
)
@reports_errors
def benchmark(
    data: Path | None,
    specs: Path | None,
    area: str | None,
    fmt: str,
    out: Path | None,
    comparator: Path | None,
    spine_exclude: tuple[str, ...] | None,
) -> None:
    """Write the benchmark table: one row per indicator, area and period.

    Values, 95% and 99.8% confidence limits (from the data or computed by PHE's methods),
    comparisons with England and the region by Fingertips' rules, recent trends, ranks and spine
    statistics, for authorities, regions and England.

    \b
    Example:
      reportgen benchmark --data export.csv --area Hartlepool --format xlsx --out hartlepool.xlsx
    """
    from .output import write_atomic
    from .pipeline import benchmark_bytes, benchmark_rows

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.")
    table = benchmark_rows(area, data, specs, comparator, spine_exclude)
    payload = benchmark_bytes(table, fmt)
    if out is None:
        click.echo(payload.decode("utf-8"), nl=False)
    else:
        write_atomic(out, payload)
        click.echo(str(out))


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
    from .pdfcheck import check_pdf, format_report

    failed = False
    for path in files:
        checks = check_pdf(path)
        click.echo(f"{path}:")
        click.echo(format_report(checks))
        failed = failed or not all(c.passed for c in checks)
    sys.exit(1 if failed else 0)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="reportgen")
