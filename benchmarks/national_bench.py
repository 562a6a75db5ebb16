"""Time the national run: ``python -m benchmarks.national_bench`` (or ``make bench-national``).

Three runs of ``reportgen build --all`` on the demonstration data, in a fresh output folder: the
full build, the no-op rerun (nothing to rebuild), and the rerun after one authority's value
changed (that authority and the others of its region rebuild). Wall times are printed with the
built and unchanged counts from run.json; shared machines are noisy, so figures are recorded,
not asserted.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def change_one_value(source: Path, target: Path, area_code: str = "E06000001") -> None:
    """Copy the data, nudging one authority's employment rate in 2021/22 by 0.0004 points."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    header = rows[0]
    code, period, value = header.index("Area Code"), header.index("Time period"), header.index("Value")
    for row in rows[1:]:
        if row[0] == "92313" and row[code] == area_code and row[period] == "2021/22":
            row[value] = repr(float(row[value]) + 0.0004)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out.getvalue(), encoding="utf-8")


def timed_run(label: str, data: Path, out: Path, jobs: int) -> None:
    command = [sys.executable, "-m", "reportgen", "build", "--all", "--jobs", str(jobs), "--data", str(data)]
    start = time.perf_counter()
    result = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    report = json.loads(next(out.glob("*/run.json")).read_text(encoding="utf-8"))
    print(
        f"{label:<20} {seconds:8.1f} s  exit {result.returncode}  built {len(report['built'])}  "
        f"unchanged {len(report['unchanged'])}  failed {len(report['failed'])}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    from reportgen.publish.prepare import write_demo

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="output folder (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "out"
        data = write_demo(Path(tmp) / "data" / "demo.csv", None, None)
        changed = Path(tmp) / "changed" / "demo.csv"
        change_one_value(data, changed)
        timed_run("full build", data, out, args.jobs)
        timed_run("no-op rerun", data, out, args.jobs)
        timed_run("one-area change", changed, out, args.jobs)


if __name__ == "__main__":
    main()
