"""Benchmark script: ``python -m benchmarks.bench`` (or ``make bench``) writes ``BENCHMARKS.md``.

It measures, on the demonstration data, each stage of one profile, the layout floor, warm
per-profile times over authorities of every region, PDF sizes, memory, cold starts, the national
build (``--quick`` skips it), a 1,000,000-row data file, fetch memory and the national run from a
``fetch`` snapshot of both publishers (``benchmarks/fetch_bench.py``; ``--quick`` skips it, ``--only
fetch-national`` runs it alone), and compares each with the targets of issues 11 and 18. Shared
machines are noisy, so figures are recorded here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024
KIB = 1024
REPRODUCE = (
    "make install && make bench            # or: .venv/bin/python -m benchmarks.bench\n"
    ".venv/bin/python -m benchmarks.bench --quick   # without the national builds\n"
    ".venv/bin/python -m benchmarks.bench --only fetch-national   # only the national run from a fetch snapshot"
)


@dataclass
class Run:
    """One timed subprocess: wall seconds, exit code and its own peak resident memory."""

    seconds: float
    code: int
    max_rss_mib: float
    output: str = ""


@dataclass
class Report:
    """Markdown sections collected during the run."""

    sections: list[str] = field(default_factory=list)

    def add(self, title: str, target: str, verdict: str, lines: Sequence[str]) -> None:
        body = "\n".join(lines)
        self.sections.append(f"## {title}\n\nTarget: {target}. **{verdict}**\n\n{body}\n")
        print(f"[bench] {title}: {verdict}", flush=True)


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "missed")


# --- timing helpers --------------------------------------------------------------------------


class Stopwatch:
    """Named intervals, in the order they were measured: wall-clock and this process's CPU seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


# A small launcher so each command's peak RSS is its own: a child forked straight from this large
# process would inherit this process's high-water mark (Linux carries ru_maxrss across exec).
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as handle:
    json.dump({"seconds": seconds, "code": os.waitstatus_to_exitcode(status), "max_rss_kib": usage.ru_maxrss}, handle)
"""


def run_timed(args: Sequence[str], timeout: float = 3600) -> Run:
    """Run a command: its wall time (from its start to its exit), exit code, own peak RSS and output."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        result, log = Path(tmp) / "run.json", Path(tmp) / "output.txt"
        with log.open("wb") as output:
            subprocess.run(
                [sys.executable, "-c", LAUNCHER, str(result), *args],
                stdout=output, stderr=subprocess.STDOUT, timeout=timeout, check=False,
            )  # fmt: skip
        text = log.read_text(encoding="utf-8", errors="replace")
        try:
            record = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return Run(float("nan"), -1, float("nan"), text)
    return Run(record["seconds"], record["code"], record["max_rss_kib"] * KIB / MIB, text)


def reportgen_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reportgen", *args]


def current_rss_mib() -> float:
    """This process's resident set size now (Linux ``/proc``), or its peak where that is unavailable."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB / MIB


# --- the machine -----------------------------------------------------------------------------


def machine_lines() -> list[str]:
    from importlib.metadata import version

    cpu = _cpu_model()
    ram = _total_ram_gib()
    lines = [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; RAM {ram}",
        f"- Python {platform.python_version()} on {platform.platform()}",
    ]
    for package in ("weasyprint", "matplotlib", "pandas", "pydyf"):
        lines.append(f"- {package} {version(package)}")
    lines.append(f"- HarfBuzz font subsetting (libharfbuzz-subset) used by WeasyPrint: {_subsetter()}")
    lines.append(f"- load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return lines


def _subsetter() -> str:
    from reportgen.document.render import font_subsetter

    found = font_subsetter()
    return "yes" if found == "harfbuzz" else f"no, {found} (install libharfbuzz-subset0)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _total_ram_gib() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return f"{pages * size / 1024**3:.1f} GiB"
    except (ValueError, OSError):
        return "unknown"


# --- one profile, stage by stage -------------------------------------------------------------


def profile_stages(area_text: str, csv_path: Path, options) -> tuple[Stopwatch, str, list[Path], int]:
    """Time each stage of one profile in this process, mirroring ``reportgen.publish.build.build_profile``.

    Returns the stage times, the profile's HTML, the layouts search path and the PDF size.
    This is the one place to adapt when ``reportgen.publish.area.render_area`` changes shape.
    """
    from reportgen.core.memory import rare_collections
    from reportgen.publish import prepare as p

    with rare_collections():  # the garbage collector's settings of build_profile
        return _profile_stages(p, area_text, csv_path, options)


def _profile_stages(p, area_text: str, csv_path: Path, options) -> tuple[Stopwatch, str, list[Path], int]:
    from reportgen import __version__
    from reportgen.core.assets import default_layouts_dir
    from reportgen.core.options import DEFAULT_AUTHOR
    from reportgen.document.charts import draw_charts
    from reportgen.document.compose import ProfileInputs, plan_profile
    from reportgen.document.context import profile_context
    from reportgen.document.inputs import Prepared, edition_and_date
    from reportgen.document.provenance import area_provenance
    from reportgen.document.render import html_to_pdf, layout_search_path, make_environment, render_html
    from reportgen.document.theme import load_theme
    from reportgen.document.view import load_wording

    clock = Stopwatch()
    with clock("load (specs, data, area)"):
        specs = p.read_specs(options.specs_dir)
        data = p.read_data(csv_path, specs)
        area = p.resolve_area(area_text, data)
    with clock("statistics (benchmark table)"):
        table = p.compute_benchmark(data, specs)
    with clock("compose (theme, provenance, plan)"):
        edition, data_date = edition_and_date(data, specs, options)
        prepared = Prepared(specs, data, table, options, edition, data_date)
        search_path = layout_search_path(options.layouts_dir, default_layouts_dir())
        theme = load_theme(search_path, options.palette)
        provenance = area_provenance(prepared, area)  # as make_document: with inputs_sha256
        inputs = ProfileInputs(
            area=area, specs=tuple(specs), table=table, theme=theme, edition=edition, data_date=data_date,
            author=DEFAULT_AUTHOR, synthetic=data.synthetic, version=__version__,
            data_label=Path(data.path).name, provenance=provenance, wording=load_wording(search_path),
        )  # fmt: skip
        plan = plan_profile(inputs)
    with clock("charts"):
        images = draw_charts(plan.spines, plan.trends, theme, plan.bars)
    with clock("HTML (templates)"):
        html = render_html(make_environment(search_path), "profile.html.j2", profile_context(plan, images))
    engine: dict[str, float] = {}
    with clock("WeasyPrint (layout + PDF writing)"):
        pdf, _ = html_to_pdf(html, search_path, created=data_date, timings=engine)
    clock.seconds["- of which layout (render)"] = engine["layout"]
    clock.seconds["- of which PDF writing (write_pdf)"] = engine["pdf"]
    return clock, html, search_path, len(pdf)


# --- the layout floor ------------------------------------------------------------------------

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.IGNORECASE | re.DOTALL)
_ATTR = r'\b{}\s*=\s*"([^"]*)"'


def layout_floor_html(html: str) -> tuple[str, int]:
    """The same HTML with every chart (``data:`` image or inline ``<svg>``) replaced by an empty box.

    The box keeps the chart's class and its size: the element's ``style`` when it sets one, else
    the SVG's own ``width``/``height``. Returns the new HTML and how many charts were replaced.
    """
    count = 0

    def replace_img(match: re.Match) -> str:
        nonlocal count
        tag = match.group(0)
        src = _attr(tag, "src")
        if not src.startswith("data:image/"):
            return tag
        count += 1
        return _box(tag, _svg_from_data_uri(src))

    def replace_svg(match: re.Match) -> str:
        nonlocal count
        count += 1
        return _box(match.group(0), match.group(0))

    html = _IMG.sub(replace_img, html)
    html = _SVG.sub(replace_svg, html)
    return html, count


def _attr(tag: str, name: str) -> str:
    found = re.search(_ATTR.format(name), tag.split(">", 1)[0], re.IGNORECASE)
    return found.group(1) if found else ""


def _svg_from_data_uri(src: str) -> str:
    head, _, payload = src.partition(",")
    if not head.startswith("data:image/svg+xml"):
        return ""
    return base64.b64decode(payload).decode("utf-8", "replace") if ";base64" in head else payload


def _box(tag: str, svg: str) -> str:
    style = _attr(tag, "style")
    if "width" not in style or "height" not in style:
        root = re.search(r"<svg\b[^>]*>", svg, re.IGNORECASE)
        root_tag = root.group(0) if root else ""
        style = f"width: {_attr(root_tag, 'width') or '0'}; height: {_attr(root_tag, 'height') or '0'}; {style}"
    return f'<div class="{_attr(tag, "class")}" style="display: block; {style}"></div>'


@dataclass
class Floor:
    """The full profile against its layout floor, medians over alternating warm runs."""

    full: float
    full_cpu: float
    floor: float
    floor_cpu: float
    charts: int
    split: dict[str, float]


def measure_floor(area_text: str, csv_path: Path, html: str, search_path: list[Path], runs: int) -> Floor:
    """Alternate the whole profile (``render_area``: charts, HTML, PDF) and WeasyPrint on its floor HTML."""
    from datetime import date

    from reportgen.core.memory import rare_collections
    from reportgen.core.options import BuildOptions
    from reportgen.document.render import html_to_pdf
    from reportgen.publish.area import render_area
    from reportgen.publish.prepare import prepare, resolve_area

    prepared = prepare(csv_path, BuildOptions(out_dir=csv_path.parent / "floor"))
    area = resolve_area(area_text, prepared.data)
    floor, charts = layout_floor_html(html)
    clock = Stopwatch()
    full, floor_times, full_cpu, floor_cpu = [], [], [], []
    split: dict[str, float] = {}
    for run in range(runs):
        with clock(f"full {run}"):
            render_area(prepared, area)
        with clock(f"floor {run}"), rare_collections():  # as a build renders
            html_to_pdf(floor, search_path, created=date(2024, 1, 1), timings=split)
        full.append(clock.seconds[f"full {run}"])
        full_cpu.append(clock.cpu[f"full {run}"])
        floor_times.append(clock.seconds[f"floor {run}"])
        floor_cpu.append(clock.cpu[f"floor {run}"])
    median = statistics.median
    return Floor(median(full), median(full_cpu), median(floor_times), median(floor_cpu), charts, split)


# --- many authorities, warm ------------------------------------------------------------------


def pick_areas(count: int) -> list:
    """``count`` authorities, round-robin over the regions so every region appears."""
    from reportgen.core.geography import load_geography

    by_region: dict[str, list] = {}
    for area in sorted(load_geography().authorities, key=lambda a: (a.region_code, a.name)):
        by_region.setdefault(area.region_code, []).append(area)
    queues = [list(v) for _, v in sorted(by_region.items())]
    chosen: list = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(len(queue) // 2))
    return chosen


WORKER = "from benchmarks.bench import worker_main; worker_main()"


def worker_main(argv: list[str] | None = None) -> None:
    """A batch worker: ``JOB_PICKLE OUT_DIR RESULT_JSON CODE...``; builds the first area as a warm-up, then each.

    It is set up as a national run's worker is: it receives its job (specs, data and benchmark
    table cut to what its areas read, :func:`reportgen.publish.national.job_for`) instead of loading the
    data, and releases memory after each area (:func:`reportgen.core.memory.release_memory`, timed
    with the build). Writes, per area: name, wall seconds, CPU seconds, PDF bytes and RSS after it (MiB).
    """
    import json
    import pickle

    from reportgen.core.geography import load_geography
    from reportgen.core.memory import release_memory
    from reportgen.publish import national
    from reportgen.publish.area import render_area

    job_path, _out_dir, result, *codes = argv if argv is not None else sys.argv[1:]
    job = pickle.loads(Path(job_path).read_bytes())  # written by warm_profiles just before
    national._init_worker(job)
    geography = load_geography()
    areas = [geography.resolve(code) for code in codes]
    render_area(job.prepared, areas[0])  # warm-up: imports, fonts, caches
    release_memory()
    rows = [_timed_build(area, job) for area in areas]
    largest = areas[max(range(len(rows)), key=lambda i: rows[i][3])]
    again = _timed_build(largest, job)  # memory growth: the largest area once more
    Path(result).write_text(json.dumps({"rows": rows, "again": again}), encoding="utf-8")


def _timed_build(area, job) -> list:
    from reportgen.core.memory import release_memory
    from reportgen.publish.area import render_area

    clock = Stopwatch()
    with clock("build"):
        built = render_area(job.prepared, area)
        release_memory()
    size = len(built.files[built.profile_name])
    return [area.name, clock.seconds["build"], clock.cpu["build"], size, current_rss_mib()]


def warm_profiles(csv_path: Path, tmp: Path, areas: list) -> tuple[dict, Run]:
    """Build the areas in one fresh worker process; its results (see :func:`worker_main`) and the run.

    The job is prepared here, as a national run's parent does, and handed over as a pickle.
    """
    import json
    import pickle

    from reportgen.core.options import BuildOptions
    from reportgen.publish import national
    from reportgen.publish.prepare import prepare

    job = national.Job(prepare(csv_path, BuildOptions(out_dir=tmp / "warm")), {})
    job_path = tmp / "worker-job.pickle"
    job_path.write_bytes(pickle.dumps(national.job_for(job, areas)))
    result = tmp / "worker.json"
    run = run_timed([sys.executable, "-c", WORKER, str(job_path), str(tmp / "warm"), str(result),
                     *(a.code for a in areas)])  # fmt: skip
    if run.code != 0:
        raise SystemExit(f"benchmark worker failed:\n{run.output[-2000:]}")
    return json.loads(result.read_text(encoding="utf-8")), run


# --- sections --------------------------------------------------------------------------------


def section_stages(report: Report, csv_path: Path, area: str, out_dir: Path) -> tuple[str, list[Path]]:
    from reportgen.core.options import BuildOptions

    options = BuildOptions(out_dir=out_dir)
    profile_stages(area, csv_path, options)  # warm-up: imports, fonts, caches
    clock, html, search_path, size = profile_stages(area, csv_path, options)
    startup = statistics.median(run_timed([sys.executable, "-c", IMPORTS]).seconds for _ in range(3))
    lines = ["| stage | wall s | CPU s |", "|---|---:|---:|",
             f"| start-up and imports (fresh process, median of 3) | {startup:.2f} | |"]  # fmt: skip
    for name, value in clock.seconds.items():
        cpu = clock.cpu.get(name)
        lines.append(f"| {name} | {value:.2f} | {'' if cpu is None else f'{cpu:.2f}'} |")
    total = sum(v for k, v in clock.seconds.items() if not k.startswith("-"))
    lines.append(f"| **total in a warm process** | **{total:.2f}** | {sum(clock.cpu.values()):.2f} |")
    lines.append(
        f"\nArea {area}, warm (second build in this process); PDF {size / KIB:,.0f} KiB. CPU is this "
        "process's CPU time: wall minus CPU is mostly time spent waiting for the shared cores."
    )
    report.add("Stages of one profile", "no target per stage (see the other sections)", "recorded", lines)
    return html, search_path


IMPORTS = "import reportgen.publish.build, reportgen.document.charts, weasyprint, matplotlib.figure"


def section_floor(report: Report, area: str, csv_path: Path, html: str, search_path: list[Path]) -> None:
    result = measure_floor(area, csv_path, html, search_path, runs=3)
    ratio = result.full / result.floor
    lines = [
        f"- area {area}; charts replaced by empty boxes of the same size: {result.charts}",
        f"- layout floor (WeasyPrint on the boxed HTML, median of 3): **{result.floor:.2f} s** wall, "
        f"{result.floor_cpu:.2f} s CPU (last run: layout {result.split.get('layout', 0):.2f} s, "
        f"PDF writing {result.split.get('pdf', 0):.2f} s)",
        f"- full profile (`render_area`: compose, charts, HTML, layout, PDF; median of 3, alternating with "
        f"the floor): **{result.full:.2f} s** wall, {result.full_cpu:.2f} s CPU",
        f"- ratio full profile / layout floor: **{ratio:.2f}** (CPU: {result.full_cpu / result.floor_cpu:.2f})",
    ]
    report.add("Layout floor", "full profile at most 1.3 x its layout floor", verdict(ratio <= 1.3), lines)


def section_warm(report: Report, worker: dict) -> None:
    warm = worker["rows"]
    times = [row[1] for row in warm]
    sizes = [row[3] for row in warm]
    lines = ["| authority | wall s | CPU s | PDF KiB | RSS after (MiB) |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {sec:.2f} | {cpu:.2f} | {size / KIB:,.0f} | {rss:,.0f} |"
              for name, sec, cpu, size, rss in warm]  # fmt: skip
    lines.append(f"\nMedian **{statistics.median(times):.2f} s**, maximum {max(times):.2f} s over {len(warm)} "
                 "authorities, built one after another in one fresh worker process after one warm-up build "
                 "(data and statistics loaded once, as a batch worker does).")  # fmt: skip
    report.add("Per-profile time, warm", "median at most 3 s", verdict(statistics.median(times) <= 3), lines)
    kib = [size / KIB for size in sizes]
    size_lines = [f"- median **{statistics.median(kib):,.0f} KiB**, maximum {max(kib):,.0f} KiB ({len(kib)} PDFs)"]
    report.add("PDF size", "median at most 600 KB", verdict(statistics.median(sizes) <= 600_000), size_lines)


def section_memory(report: Report, worker: dict, run: Run, national_note: str) -> None:
    rss = [row[4] for row in worker["rows"]]
    again = worker["again"]
    growth = again[4] - max(rss)
    flat = growth <= GROWTH_MIB
    lines = [
        f"- the worker above (a fresh process building {len(rss) + 2} profiles, sent its job and releasing "
        "memory after each area as a national worker does): peak RSS "
        f"**{run.max_rss_mib:,.0f} MiB** (its own `ru_maxrss`, read with `os.wait4`)",
        f"- RSS after each profile: {', '.join(f'{r:,.0f}' for r in rss)} MiB",
        f"- the largest profile ({again[0]}) built once more at the end: RSS {again[4]:,.0f} MiB, "
        f"{growth:+.0f} MiB against the highest RSS before: " + ("flat" if flat else "grows")
        + f" (flat means at most {GROWTH_MIB} MiB)",
        f"- national build: {national_note}",
    ]  # fmt: skip
    ok = run.max_rss_mib * MIB <= 350e6 and flat
    report.add("Memory per worker", "at most 350 MB, flat across the areas", verdict(ok), lines)


GROWTH_MIB = 20


def section_profile(report: Report, area_text: str, csv_path: Path) -> None:
    """cProfile of one warm ``render_area``: where the time goes, by package (own time)."""
    import cProfile
    import pstats

    from reportgen.core.options import BuildOptions
    from reportgen.publish.area import render_area
    from reportgen.publish.prepare import prepare, resolve_area

    prepared = prepare(csv_path, BuildOptions(out_dir=csv_path.parent / "profiled"))
    area = resolve_area(area_text, prepared.data)
    render_area(prepared, area)  # warm-up
    profiler = cProfile.Profile()
    profiler.runcall(render_area, prepared, area)
    groups: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        group = _code_group(filename, function)
        groups[group] = groups.get(group, 0.0) + own
    total = sum(groups.values())
    lines = ["| code (own time) | share |", "|---|---:|"]
    top = sorted(groups.items(), key=lambda item: -item[1])[:PROFILE_ROWS]
    lines += [f"| {name} | {seconds / total:.0%} |" for name, seconds in top]
    lines.append(
        f"\nArea {area_text}, one warm build under cProfile ({total:.1f} s with the profiler's overhead). "
        "`weasyprint/layout` and `weasyprint/css` are the layout floor's work; `weasyprint/svg` and "
        "`tinycss2` (parsing each SVG node's `style`) are drawing the charts into the PDF; `matplotlib` "
        "is drawing the charts; `pydyf` and `zlib` write the PDF."
    )
    report.add("Where the time goes", "what the remaining time is spent on", "recorded", lines)


PROFILE_ROWS = 14
TWIN_TARGET_S = 0.3  # issue 17: building an area's HTML twin costs at most this
TWIN_RUNS = 5


def section_twin(report: Report, csv_path: Path, area_text: str) -> float:
    """The HTML twin of one profile, from its prepared document model (``render_twin``): median of runs."""
    from reportgen.core.options import BuildOptions
    from reportgen.document.build import TwinLink, make_document, render_twin
    from reportgen.publish.area import output_names
    from reportgen.publish.prepare import prepare, resolve_area

    prepared = prepare(csv_path, BuildOptions(out_dir=csv_path.parent / "twin"))
    area = resolve_area(area_text, prepared.data)
    document = make_document(prepared, area)
    names = output_names(prepared.edition, area)
    links = (TwinLink(names.profile, "pdf_link", 450_000), TwinLink(names.brief, "brief_link", 140_000))
    page = render_twin(document, links)  # warm-up: the web templates compiled
    clock = Stopwatch()
    for run in range(TWIN_RUNS):
        with clock(f"run {run}"):
            render_twin(document, links)
    median = statistics.median(clock.seconds.values())
    cpu = statistics.median(clock.cpu.values())
    lines = [
        f"- area {area_text}: `render_twin` (inline SVG charts, templates, escaping) from a prepared document, "
        f"median of {TWIN_RUNS}: **{median:.3f} s** wall, {cpu:.3f} s CPU; page {len(page) / KIB:,.0f} KiB",
    ]
    report.add("HTML twin", f"at most {TWIN_TARGET_S} s per area", verdict(median <= TWIN_TARGET_S), lines)
    return median


def _code_group(filename: str, function: str) -> str:
    """``weasyprint/<part>``, ``reportgen/<module>``, another package, or a built-in's name."""
    if filename == "~":
        name = function.strip("<>").removeprefix("built-in method ").removeprefix("method ")
        return f"built-in {name.split(' of ')[0]}"
    parts = Path(filename).parts
    for anchor in ("site-packages", "reportgen"):
        if anchor in parts:
            rest = parts[parts.index(anchor) + (1 if anchor == "site-packages" else 0) :]
            if rest and rest[0] in ("weasyprint", "reportgen") and len(rest) > 1:
                return f"{rest[0]}/{Path(rest[1]).stem}"
            return Path(rest[0]).stem if rest else anchor
    return "Python standard library" if "python3" in filename else Path(filename).name


def section_cold(report: Report, csv_path: Path, area: str, out_dir: Path) -> None:
    builds = [run_timed(reportgen_command("build", "--area", area, "--data", str(csv_path), "--out", str(out_dir)))
              for _ in range(3)]  # fmt: skip
    helps = [run_timed(reportgen_command("--help")) for _ in range(5)]
    script = shutil.which("reportgen", path=str(Path(sys.executable).parent))
    entry = [run_timed([script, "--help"]) for _ in range(5)] if script else []
    build = statistics.median(r.seconds for r in builds)
    help_s = statistics.median(r.seconds for r in (entry or helps))
    ok = all(r.code == 0 for r in builds + helps)
    lines = [
        f"- `reportgen build --area {area}` in a fresh process, median of 3: **{build:.2f} s**, "
        f"peak RSS {max(r.max_rss_mib for r in builds):,.0f} MiB" + ("" if ok else " (a run failed)"),
        f"- `reportgen --help`, median of 5: **{help_s:.3f} s**"
        + (f" (`python -m reportgen --help`: {statistics.median(r.seconds for r in helps):.3f} s)" if entry else ""),
    ]
    report.add("Cold start", "build at most 5 s; --help under 0.3 s", verdict(ok and build <= 5 and help_s < 0.3),
               lines)  # fmt: skip


def section_national(report: Report, csv_path: Path, tmp: Path, quick: bool) -> str:
    title, target = "National build, --jobs 2", "at most 5 min; no-op rerun at most 3 s; one-area change at most 30 s"
    if quick:
        report.add(title, target, "not measured", ["Skipped: `--quick`."])
        return "not measured (--quick)"
    usage = run_timed(reportgen_command("build", "--help")).output
    if "--all" not in usage:
        report.add(title, target, "not measured", ["not measured: build --all not available"])
        return "not measured: build --all not available"
    out = tmp / "national"
    command = ["build", "--all", "--jobs", "2", "--data", str(csv_path), "--out", str(out)]
    first = run_timed(reportgen_command(*command))
    noop = run_timed(reportgen_command(*command))
    csv_path.write_text(_change_one_value(csv_path.read_text(encoding="utf-8")), encoding="utf-8")
    one = run_timed(reportgen_command(*command))  # the same file, with one authority's value edited
    runs = {"full build": first, "no-op rerun": noop, "one-area change": one}
    lines = [f"- {name}: **{r.seconds:.1f} s** (exit {r.code})" for name, r in runs.items()]
    lines.append(f"- command: `reportgen {' '.join(command)}`")
    ok = all(r.code == 0 for r in runs.values()) and first.seconds <= 300 and noop.seconds <= 3 and one.seconds <= 30
    report.add(title, target, verdict(ok), lines)
    return _worker_memory_note(out)


def _change_one_value(text: str) -> str:
    """The CSV with the Value of the first Hartlepool row changed by 1 %; every other line is kept as is."""
    import csv

    lines = text.splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    area, value = header.index("Area Code"), header.index("Value")
    for index, line in enumerate(lines[1:], start=1):
        cells = next(csv.reader([line]))
        if len(cells) == len(header) and cells[area] == "E06000001" and cells[value]:
            cells[value] = f"{float(cells[value]) * 1.01:.6g}"
            lines[index] = _csv_line(cells)
            break
    return "".join(lines)


def _csv_line(cells: list[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def _worker_memory_note(out: Path) -> str:
    import json

    for run_json in sorted(out.glob("*/run.json")):
        try:
            record = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found = {k: v for k, v in record.items() if "rss" in k.lower() or "memory" in k.lower()}
        if found:
            return f"from {run_json.name}: {json.dumps(found)[:600]}"
    return "run.json records no per-worker memory; see the figures above"


def section_large(report: Report, tmp: Path, rows: int) -> None:
    path, source = write_large(tmp / "large.csv", rows)
    check = run_timed(reportgen_command("check", "--data", str(path)))
    bench = run_timed(reportgen_command("benchmark", "--data", str(path), "--out", str(tmp / "large-bench.csv")))
    lines = [
        f"- file: {rows:,} rows, {path.stat().st_size / MIB:,.0f} MiB, written by {source}",
        f"- `reportgen check --data FILE`: {check.seconds:.1f} s, peak RSS {check.max_rss_mib:,.0f} MiB "
        f"(exit {check.code}; 0 means no problems were found)",
        f"- `reportgen benchmark --data FILE --out OUT`: {bench.seconds:.1f} s, peak RSS {bench.max_rss_mib:,.0f} MiB "
        f"(exit {bench.code})",
        "- peak RSS is each subprocess's own maximum resident set size (`os.wait4` rusage)",
    ]
    report.add("1,000,000-row data file", "recorded (no numeric target in the issue)", "recorded", lines)


def section_fetch_memory(report: Report, tmp: Path) -> None:
    """`reportgen fetch` of a 100 MB response from a local server: its own peak RSS (issue 16, item 7)."""
    import csv
    import http.server
    import io
    import threading
    from urllib.parse import parse_qs, urlsplit

    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs

    spec = next(
        s for s in load_specs(default_specs_dir()) if s.fingertips_id and not s.derive and not s.fingertips_area_type
    )
    specs = tmp / "fetch-specs"
    specs.mkdir(exist_ok=True)
    shutil.copy(spec.path, specs / Path(spec.path).name)

    def csv_bytes(rows: list[list[object]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode("utf-8")

    header = csv_bytes([(
        "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,Category Type,"
        "Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,Lower CI 99.8 limit,Upper CI 99.8 limit,"
        "Count,Denominator,Value note,Recent Trend,Compared to England value or percentiles,"
        "Compared to Region value or percentiles,Time period Sortable,New data,Compared to goal"
    ).split(",")])  # fmt: skip
    block = csv_bytes([
        [spec.fingertips_id, spec.name, "E12000001", "North East region", f"E06{area:06d}", f"Area {area}", "UA",
         "Persons", "All ages", "", "", year, area % 97 + 0.5, 1.5, 2.5, 1.0, 3.0, area * 7, area * 1000, "", "",
         "Similar", "Similar", f"{year}0000", "", ""]
        for area in range(1, 154) for year in range(2010, 2024)
    ])  # fmt: skip
    sizes = {"small": 1_000_000, "large": 100_000_000}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        size = sizes["large"]

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            ids = parse_qs(parts.query).get("indicator_ids", [""])[0].split(",")
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            if "metadata" in parts.path:
                body = csv_bytes([["Indicator ID", "Indicator", "Unit", "Value type", "Polarity"]])
                body += csv_bytes([[i, spec.name, spec.unit, "", ""] for i in ids])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            copies = -(-Handler.size // len(block))
            self.send_header("Content-Length", str(len(header) + copies * len(block)))
            self.end_headers()
            self.wfile.write(header)
            for _ in range(copies):
                self.wfile.write(block)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/api"
    runs: dict[str, Run] = {}
    try:
        for name, size in sizes.items():
            Handler.size = size
            out = tmp / f"fetch-{name}" / "fingertips.csv"
            runs[name] = run_timed(reportgen_command(
                "fetch", "--specs", str(specs), "--out", str(out), "--base-url", base_url,
                "--cache-dir", str(tmp / f"fetch-cache-{name}"),
            ))  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    small, large = runs["small"], runs["large"]
    growth = (large.max_rss_mib - small.max_rss_mib) * MIB
    ok = large.code == 0 and small.code == 0 and growth <= 2 * sizes["large"]
    lines = [
        f"- `reportgen fetch` of one {sizes['large'] / 1e6:,.0f} MB response (plus a small metadata response) from a "
        f"local 127.0.0.1 server: {large.seconds:.1f} s, peak RSS **{large.max_rss_mib:,.0f} MiB** (exit {large.code})",
        f"- the same fetch of a {sizes['small'] / 1e6:,.0f} MB response: {small.seconds:.1f} s, peak RSS "
        f"{small.max_rss_mib:,.0f} MiB (exit {small.code}): the constant part",
        f"- growth with the response: {growth / MIB:+,.0f} MiB for {(sizes['large'] - sizes['small']) / MIB:,.0f} MiB "
        "more data (bodies are streamed to the cache folder and parsed from there)",
        "- peak RSS is each subprocess's own maximum resident set size (`os.wait4` rusage)",
    ]
    if not ok:
        lines.append(f"- output of the large fetch: {large.output[-600:]!r}")
    report.add("fetch memory", "peak RSS at most 2 x the largest response plus a constant", verdict(ok), lines)


def write_large(path: Path, rows: int) -> tuple[Path, str]:
    """Write the large file with ``benchmarks.bench_data`` when present, else with this module's generator."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__package__}.bench_data") is None:  # added by the data work (issue 11)
        return _write_large_file(path, rows), "benchmarks.bench (demo data repeated over synthetic indicator ids)"
    write_large_file = importlib.import_module(f"{__package__}.bench_data").write_large_file
    return Path(write_large_file(path, rows)), "benchmarks.bench_data.write_large_file"


def _write_large_file(path: Path, rows: int) -> Path:
    """A valid Fingertips CSV of ``rows`` data rows: the demo data repeated under new indicator ids."""
    import csv
    import io

    from reportgen.core.geography import load_geography
    from reportgen.publish.prepare import read_specs
    from reportgen.stats.demo import DEFAULT_SEED, demo_csv_text, generate_demo_frame

    specs = read_specs(None)
    text = demo_csv_text(generate_demo_frame(specs, load_geography(), DEFAULT_SEED))
    header, *body = list(csv.reader(io.StringIO(text)))
    column = header.index("Indicator ID")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for index in range(rows):
            copy, row = divmod(index, len(body))
            cells = list(body[row])
            cells[column] = _synthetic_id(cells[column], copy)
            writer.writerow(cells)
    return path


def _synthetic_id(indicator_id: str, copy: int) -> str:
    if copy == 0:
        return indicator_id
    return str(int(indicator_id) + 1_000_000 * copy) if indicator_id.isdigit() else f"{indicator_id}_{copy}"


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run every measurement and write the report (``--out``, default ``BENCHMARKS.md``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the national build")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--area", default="E06000001", help="area of the per-stage profile (default Hartlepool)")
    parser.add_argument("--areas", type=int, default=10, help="authorities for the warm per-profile time")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large data file")
    parser.add_argument(
        "--only",
        choices=["fetch-national"],
        help="run this section alone and write it into --out in place of its previous version",
    )
    args = parser.parse_args(argv)
    if args.only == "fetch-national":
        from benchmarks.fetch_bench import run_alone

        run_alone(args.out)
        return
    started = time.perf_counter()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as name:
        tmp = Path(name)
        run_sections(report, args, tmp)
    args.out.write_text(render_report(report, args, time.perf_counter() - started), encoding="utf-8")
    print(f"[bench] wrote {args.out}")


def run_sections(report: Report, args: argparse.Namespace, tmp: Path) -> None:
    from reportgen.publish.prepare import write_demo

    csv_path = write_demo(tmp / "demo.csv", None, None)
    html, search_path = section_stages(report, csv_path, args.area, tmp / "stages")
    section_floor(report, args.area, csv_path, html, search_path)
    results, worker_run = warm_profiles(csv_path, tmp, pick_areas(args.areas))
    section_warm(report, results)
    section_profile(report, args.area, csv_path)
    section_twin(report, csv_path, args.area)
    national_note = section_national(report, csv_path, tmp, args.quick)
    section_memory(report, results, worker_run, national_note)
    section_cold(report, csv_path, args.area, tmp / "cold")
    section_large(report, tmp, args.rows)
    section_fetch_memory(report, tmp)
    if not args.quick:
        from benchmarks.fetch_bench import section_fetch_national

        section_fetch_national(report, tmp, run_timed, reportgen_command)


def render_report(report: Report, args: argparse.Namespace, seconds: float) -> str:
    command = "python -m benchmarks.bench" + (" --quick" if args.quick else "")
    head = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (`make bench`) on the demonstration data in {seconds / 60:.1f} min. Targets are "
        "those of issue 11, for a 2-core machine. Times are wall-clock seconds; on a shared, loaded machine "
        "they vary by tens of percent from run to run.",
        "",
        "## Machine",
        "",
        *machine_lines(),
        "",
        "## Reproduce",
        "",
        "```sh",
        REPRODUCE,
        "```",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(report.sections) + ENGINE_NOTES


ENGINE_NOTES = """
## PDF engine settings (measured, issue 11)

See "PDF engine" in docs/maintainers/decisions.md: one `FontConfiguration` per process and layouts folder
is kept; the other WeasyPrint levers were measured and left out.
"""


if __name__ == "__main__":
    main()
