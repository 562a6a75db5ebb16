"""The documented examples of local indicators (examples/local_indicators/) stay usable.

They were retired from the default catalogue in issue 18 (no open upper-tier series to fetch); a
council that has the figures adds one with ``--specs`` (a folder with the catalogue and the example)
and a second ``--data`` file holding rows under the spec's ``id``.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pypdfium2
import pytest

from reportgen.cli import cli
from reportgen.core.specs import load_specs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "local_indicators"
CATALOGUE = ROOT / "indicator_specs"


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def test_the_examples_pass_check(runner):
    result = runner.invoke(cli, ["check", "--specs", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert f"Checked {len(list(EXAMPLES.glob('*.yaml')))} spec(s): 0 error(s), 0 warning(s)" in result.output


def test_the_examples_are_local_indicators_documented_in_the_readme():
    examples = load_specs(EXAMPLES)
    assert len(examples) >= 4
    catalogue = {s.id for s in load_specs(CATALOGUE)}
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for spec in examples:
        # local data: rows under the spec's own id, nothing to fetch from a publisher
        assert spec.fingertips_id is None and spec.derive is None and spec.els is None
        assert spec.data_key == spec.id
        assert spec.id not in catalogue, f"{spec.id} is both an example and a catalogue indicator"
        assert f"`{spec.id}`" in readme, f"examples/local_indicators/README.md does not describe {spec.id}"
        head = Path(spec.path).read_text(encoding="utf-8").splitlines()[:2]
        assert all(line.startswith("# ") for line in head)
        assert "example" in head[0].lower(), f"{spec.path}: its first comment says it is an example"


@pytest.fixture(scope="module")
def one_example(tmp_path_factory):
    """A specs folder with the catalogue and the volunteering example, and demo data for the example only."""
    tmp = tmp_path_factory.mktemp("examples")
    specs = tmp / "specs"
    shutil.copytree(CATALOGUE, specs, ignore=shutil.ignore_patterns("__*"))
    shutil.copy(EXAMPLES / "volunteering.yaml", specs / "volunteering.yaml")
    only = tmp / "only"
    only.mkdir()
    shutil.copy(EXAMPLES / "volunteering.yaml", only / "volunteering.yaml")
    return tmp, specs, only


@pytest.mark.slow
def test_a_council_adds_an_example_beside_the_catalogue(one_example, demo_csv, runner):
    tmp, specs, only = one_example
    local = tmp / "local.csv"  # the council's own figures, in the Fingertips format (synthetic here)
    made = runner.invoke(cli, ["demo-data", "--specs", str(only), "--out", str(local)])
    assert made.exit_code == 0, made.output
    with local.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["Indicator ID"] for r in rows} == {"volunteering"}
    hartlepool = [r for r in rows if r["Area Code"] == "E06000001" and r["Value"]]
    latest = max(hartlepool, key=lambda r: r["Time period Sortable"])

    args = ["build", "--specs", str(specs), "--data", str(demo_csv), "--data", str(local), "--area", "Hartlepool"]
    built = runner.invoke(cli, [*args, "--no-html", "--out", str(tmp / "out")])
    assert built.exit_code == 0, built.output
    (pdf,) = (tmp / "out").rglob("E06000001-*.pdf")
    text = " ".join(pdf_text(pdf).split())
    assert "Regular formal volunteering" in text
    assert f"{float(latest['Value']):.1f}%" in text
