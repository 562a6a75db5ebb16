"""The printable profile: structure, numbers, accessibility, attachments, determinism and size."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest

from reportgen.cli import cli
from reportgen.core import formatting as fmt
from reportgen.core.specs import DOMAINS
from reportgen.document.pdfcheck import check_pdf
from reportgen.publish.prepare import compute_benchmark, read_data, read_specs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(demo_csv, tmp_path_factory):
    """The demo profile of Hartlepool, built once through the CLI."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("profile")
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--area",
            "Hartlepool",
            "--data",
            str(demo_csv),
            "--out",
            str(out),
            "--author",
            "Public Health Intelligence",
        ],
    )
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def pages(built) -> list[str]:
    document = pdfium.PdfDocument(str(built))
    texts = [page.get_textpage().get_text_range() for page in document]
    document.close()
    return texts


@pytest.fixture(scope="module")
def area_table(demo_csv):
    specs = read_specs(None)
    table = compute_benchmark(read_data(demo_csv, specs), specs)
    return specs, table[table["area_code"] == "E06000001"]


def latest_rows(specs, table):
    rows = {}
    for spec in specs:
        mine = table[table["indicator_id"] == spec.id]
        rows[spec.id] = mine.iloc[-1]
    return rows


def test_every_domain_and_indicator_is_present(pages, area_table):
    specs, _ = area_table
    text = "\n".join(pages)
    for domain in DOMAINS:
        assert domain in text
    for spec in specs:
        assert spec.short_name in text, spec.id
    assert "At a glance" in pages[0] and "Summary of indicators" in pages[1] and "Economy" in pages[2]
    assert any("About this profile" in page for page in pages[-2:])


def test_every_domain_has_a_bookmark_with_its_first_indicator_below(built):
    """Domains flow (issue 17 item 6): a domain may start mid-page, but never so low that its first
    indicator (at least 97 mm tall) could not follow it on the same page."""
    with pikepdf.open(built) as pdf:
        with pdf.open_outline() as outline:
            titles = {item.title: item for item in outline.root[0].children}
            for domain in DOMAINS:
                assert domain in titles, f"no bookmark for {domain}"
                target = titles[domain].destination
                page = target[0] if isinstance(target, pikepdf.Array) else None
                assert page is not None
                top = float(target[3]) if len(target) > 3 else None
                assert top is None or top > 300, f"{domain} starts too low on its page ({top:.0f} pt from the foot)"


def test_numbers_in_the_text_equal_the_benchmark_table(pages, area_table):
    specs, table = area_table
    rows = latest_rows(specs, table)
    summary = pages[1]
    domain_text = "\n".join(pages[2:])
    for spec in specs:
        row = rows[spec.id]
        value = fmt.number(row["value"], spec.decimals)
        england = fmt.number(row["england_value"], spec.decimals)
        assert value in summary and england in summary, spec.id
        headline = fmt.with_unit(row["value"], spec.decimals, spec.unit)
        ci = fmt.interval(row["lower_ci_95"], row["upper_ci_95"], spec.decimals)
        said = f"{headline} (95% CI {ci}) in" if ci else f"{headline} in"  # no interval: none shown (issue 17)
        assert f"{said} {row['period']}" in domain_text.replace("\r\n", " ").replace("\n", " "), spec.id


def test_page_one_counts_and_messages_come_from_the_table(pages, area_table):
    """Counts add up to the catalogue, one named bucket each (issue 17); a worst quintile is listed with
    the areas to develop; strengths lead page 1 (ranked in reportgen/document/strengths.py)."""
    specs, table = area_table
    rows = latest_rows(specs, table)
    labels = [str(r["compared_to_england"]) for r in rows.values()]
    has_value = [not fmt.is_missing(r["value"]) for r in rows.values()]
    buckets = {
        "better": sum(lab.startswith("Better") for lab in labels),
        "similar": labels.count("Similar"),
        "worse": sum(lab.startswith("Worse") for lab in labels),
        "no_judgement": sum(lab.startswith(("Higher", "Lower")) for lab in labels),
        "quintiles": sum(lab.endswith("quintile") for lab in labels),
        "not_compared": sum(lab == "Not compared" and v for lab, v in zip(labels, has_value, strict=True)),
        "no_data": has_value.count(False),
    }
    assert sum(buckets.values()) == len(specs)
    shown = [n for k, n in buckets.items() if k in ("better", "similar", "worse") or n]
    first = pages[0].replace("\r\n", "\n")
    assert " ".join(str(n) for n in [*shown, len(specs)]) + "\n" in first
    develop = [lab for lab in labels if lab.startswith("Worse") or lab == "Worst quintile"]
    flat = first.replace("\n", " ")
    assert flat.index("Strengths to build on") < flat.index("Areas to develop")
    listed = 0
    for spec in specs:
        row = rows[spec.id]
        label = str(row["compared_to_england"])
        start = f"{spec.short_name}: {fmt.with_unit(row['value'], spec.decimals, spec.unit)} in {row['period']}"
        if label in develop:
            listed += start in flat
    assert listed == min(3, len(develop))
    if len(develop) > 3:
        assert f"and {len(develop) - 3} more, see the summary of indicators." in flat


def test_no_missing_value_words_in_the_text(pages):
    text = "\n".join(pages)
    for word in (" nan", "NaN", "None", "<NA>", "undefined"):
        assert word not in text


def test_every_page_says_the_data_are_synthetic(pages):
    assert all("Synthetic demonstration data" in page for page in pages)


def test_check_pdf_passes_on_the_demo_profile(built, runner):
    checks = check_pdf(built)
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    result = runner.invoke(cli, ["check-pdf", str(built)])
    assert result.exit_code == 0 and "FAIL" not in result.stdout


def test_check_pdf_fails_on_an_untagged_pdf(tmp_path, runner):
    import weasyprint

    plain = tmp_path / "untagged.pdf"
    weasyprint.HTML(string="<html lang='en'><title>x</title><h1>Untagged</h1></html>").write_pdf(plain)
    result = runner.invoke(cli, ["check-pdf", str(plain)])
    assert result.exit_code == 1
    assert "FAIL tagged" in result.stdout and "FAIL pdfua-identifier" in result.stdout


def test_metadata(built):
    with pikepdf.open(built) as pdf:
        info = pdf.docinfo
        assert str(info["/Title"]) == "Health assets profile: Hartlepool"
        assert str(info["/Author"]) == "Public Health Intelligence"
        assert "Hartlepool" in str(info["/Subject"]) and "health assets" in str(info["/Keywords"])
        assert str(info["/CreationDate"]).startswith("D:20240331")
        assert str(pdf.Root.Lang) == "en-GB"
        assert all([round(float(v), 1) for v in page.MediaBox] == [0, 0, 595.3, 841.9] for page in pdf.pages)


def test_attachments_hold_the_area_rows_and_provenance(built, area_table, demo_csv):
    specs, table = area_table
    with pikepdf.open(built) as pdf:
        files = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    rows = list(csv.DictReader(io.StringIO(files["E06000001-benchmark.csv"].decode("utf-8"))))
    assert len(rows) == len(table) == len(specs) * 5
    first = rows[0]
    assert first["indicator_id"] == table.iloc[0]["indicator_id"]
    assert float(first["value"]) == pytest.approx(float(table.iloc[0]["value"]), rel=1e-12)
    provenance = json.loads(files["provenance.json"])
    # The record describes this area's inputs, never the whole data file (incremental national runs).
    assert "data_sha256" not in provenance and len(provenance["inputs_sha256"]) == 64
    assert provenance["area_code"] == "E06000001" and provenance["generator"].startswith("reportgen ")
    assert len(provenance["specs_sha256"]) == 64 and len(provenance["layouts_sha256"]) == 64


def test_charts_are_vector_and_the_file_is_small(built):
    assert built.stat().st_size < 1.5 * 1024 * 1024
    with pikepdf.open(built) as pdf:
        for page in pdf.pages:
            for xobject in page.get_images():
                pytest.fail(f"raster image found: {xobject}")


def test_builds_are_byte_identical_in_separate_processes(demo_csv, tmp_path):
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        subprocess.run(
            [
                sys.executable,
                "-m",
                "reportgen",
                "build",
                "--area",
                "E06000047",
                "--data",
                str(demo_csv),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        (pdf,) = out.glob("*/*.pdf")
        digests.append(hashlib.sha256(pdf.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
