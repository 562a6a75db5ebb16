"""Large valid Fingertips CSV files for measuring the data reader's speed and memory.

``python -m benchmarks.bench_data OUT.csv ROWS`` writes a file of ROWS data rows: the synthetic
demonstration data repeated under synthetic indicator ids (the first copy keeps the real ids, so
the packaged specs find their indicators).
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

#: Synthetic copies add this multiple of the copy number to each indicator id.
ID_OFFSET = 10_000_000


def _demo_rows() -> tuple[list[str], list[list[str]]]:
    from reportgen.core.assets import default_specs_dir
    from reportgen.core.geography import load_geography
    from reportgen.core.specs import load_specs
    from reportgen.stats.demo import DEFAULT_SEED, demo_csv_text, generate_demo_frame

    specs = load_specs(default_specs_dir())
    text = demo_csv_text(generate_demo_frame(specs, load_geography(), DEFAULT_SEED))
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _synthetic_id(indicator_id: str, copy: int) -> str:
    if indicator_id.isdigit():
        return str(int(indicator_id) + copy * ID_OFFSET)
    return f"{indicator_id}_copy{copy}"


def write_large_file(path: Path | str, rows: int) -> Path:
    """Write a valid Fingertips CSV of exactly ``rows`` data rows to ``path`` and return the path."""
    path = Path(path)
    header, demo = _demo_rows()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        written = 0
        copy = 0
        while written < rows:
            for row in demo[: rows - written]:
                if copy:
                    row = [_synthetic_id(row[0], copy), *row[1:]]
                writer.writerow(row)
            written += min(len(demo), rows - written)
            copy += 1
    return path


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: write the file and print its path."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("rows", type=int)
    args = parser.parse_args(argv)
    print(write_large_file(args.out, args.rows))


if __name__ == "__main__":
    main()
