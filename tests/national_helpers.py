"""Small inputs for national-run tests: three specs and their demonstration data (fast profiles)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from reportgen.core.assets import default_specs_dir
from reportgen.publish.prepare import write_demo

SMALL_SPECS = ("employment_rate", "life_expectancy_female", "library_walk")
# Two authorities of the North East and one of Yorkshire and the Humber.
HARTLEPOOL, MIDDLESBROUGH, HULL = "E06000001", "E06000002", "E06000010"


def small_inputs(folder: Path) -> tuple[Path, Path]:
    """A folder with three specs and the demonstration data for them."""
    specs = folder / "specs"
    specs.mkdir(parents=True)
    for name in SMALL_SPECS:
        shutil.copy(default_specs_dir() / f"{name}.yaml", specs / f"{name}.yaml")
    return specs, write_demo(folder / "demo.csv", specs, None)


def change_value(source: Path, target: Path, area_code: str, period: str, delta: float) -> None:
    """Copy a data file, adding ``delta`` to one authority's employment rate in one period."""
    text = source.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    code, when, value = header.index("Area Code"), header.index("Time period"), header.index("Value")
    hits = 0
    for row in rows[1:]:
        if row[0] == "92313" and row[code] == area_code and row[when] == period:
            row[value] = repr(float(row[value]) + delta)
            hits += 1
    assert hits == 1, f"expected one row to change, changed {hits}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    target.write_text(out.getvalue(), encoding="utf-8")


def edition_files(folder: Path) -> dict[str, bytes]:
    """Every PDF and data CSV of an edition folder, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".pdf", ".csv")}


def build_small_edition(root: Path) -> Path:
    """An edition folder of Hartlepool and Hull written by a real national run of the small inputs."""
    from click.testing import CliRunner

    from reportgen.cli import cli

    specs, data = small_inputs(root / "inputs")
    args = ["build", "--area", HARTLEPOOL, "--area", HULL, "--jobs", "1", "--specs", str(specs), "--data", str(data)]
    result = CliRunner().invoke(cli, [*args, "--out", str(root / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root / "out" / "2024"


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
