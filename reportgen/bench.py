"""Benchmark script: ``python -m reportgen.bench`` (or ``make bench``) times each pipeline stage.

Timings are the best of several runs on the demonstration dataset; peak memory is the process's
maximum resident set size. Shared machines are noisy, so figures are recorded, not asserted.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _best_of(runs: int, func: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Time demo data generation, loading, benchmarking and (unless --no-pdf) a profile build."""
    from .data import parse_indicator_csv
    from .demo import DEFAULT_SEED, demo_csv_text, generate_demo_frame
    from .geography import load_geography
    from .pipeline import BuildOptions, build_profile, compute_benchmark, read_specs

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-pdf", action="store_true", help="skip the profile build")
    parser.add_argument("--area", default="E06000001")
    args = parser.parse_args(argv)

    specs = read_specs(None)
    geography = load_geography()
    text = demo_csv_text(generate_demo_frame(specs, geography, DEFAULT_SEED))
    data = parse_indicator_csv(io.StringIO(text), "demo", geography)
    table = compute_benchmark(data, specs)
    print(f"dataset: {len(data.frame):,} rows, {len(specs)} indicators; benchmark table {len(table):,} rows")
    stages = {
        "generate demo data": lambda: demo_csv_text(generate_demo_frame(specs, geography, DEFAULT_SEED)),
        "load CSV": lambda: parse_indicator_csv(io.StringIO(text), "demo", geography),
        "benchmark table": lambda: compute_benchmark(data, specs),
    }
    for name, func in stages.items():
        best, median = _best_of(args.runs, func)
        print(f"{name:<22} best {best:7.3f} s   median {median:7.3f} s")
    if not args.no_pdf:
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "demo.csv"
            csv_path.write_text(text, encoding="utf-8")
            options = BuildOptions(out_dir=Path(tmp) / "out")
            result = []
            best, median = _best_of(
                max(1, args.runs // 2), lambda: result.append(build_profile(args.area, csv_path, options))
            )
            size = result[-1].path.stat().st_size
            print(f"{'build one profile':<22} best {best:7.3f} s   median {median:7.3f} s   PDF {size / 1024:,.0f} KiB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS)  {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
