"""The population pyramid (issue 18, item 7): ELS ``population-by-age-and-sex`` read, fetched, drawn.

The fixture tests/data/els/population-by-age-and-sex/ has the real JSON and a CSV constructed in
the published layout (the published CSV is absent from the repository snapshot; see its README).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pypdfium2
import pytest
from test_fetch_els import options, server, specs_dir, written  # noqa: F401  (server, specs_dir: fixtures)

from reportgen.cli import cli
from reportgen.core.geography import ENGLAND_CODE, load_geography
from reportgen.core.options import BuildOptions
from reportgen.core.specs import load_specs
from reportgen.document.build import make_document, render_twin
from reportgen.document.context import pyramid_context
from reportgen.document.theme import load_theme
from reportgen.document.twin import svg_of
from reportgen.document.view import load_wording
from reportgen.publish.prepare import prepare, read_population, resolve_area
from reportgen.sources.data import SYNTHETIC_MARK
from reportgen.sources.fingertips_api import FetchError, fetch
from reportgen.sources.population import (
    AGE_BANDS,
    PopulationError,
    age_band,
    els_population_text,
    population_path,
    read_population_file,
    sex_of,
    tidy_csv_text,
)
from reportgen.stats.demo import demo_population

FIXTURE = Path(__file__).parent / "data" / "els" / "population-by-age-and-sex" / "population-by-age-and-sex.csv"
LAYOUTS = Path(__file__).resolve().parents[1] / "layouts"
UPPER_TIER = {"E06000001", "E06000010", "E06000047", "E06000053", "E09000030", "E10000016"}


def fixture_text() -> str:
    return FIXTURE.read_text(encoding="utf-8-sig")


def published_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture_text())))


# --- reading age bands, sexes and the published file ------------------------------------------------


@pytest.mark.parametrize(
    ("label", "band"),
    [
        ("0-4", "0-4"),
        ("0 to 4", "0-4"),
        ("00-04", "0-4"),
        ("Aged 0 to 4", "0-4"),
        ("0–4", "0-4"),
        ("5-9 years", "5-9"),
        ("80 to 84", "80-84"),
        ("85+", "85+"),
        ("85 and over", "85+"),
        ("Aged 85 and over", "85+"),
        ("aged 85+", "85+"),
        ("85 plus", "85+"),
        ("All ages", None),
    ],
)
def test_age_labels_are_read_in_every_form(label, band):
    assert age_band(label) == band


@pytest.mark.parametrize("label", ["0-5", "85-89", "90+", "Under 16", "", "65 and over"])
def test_unknown_age_labels_are_refused(label):
    with pytest.raises(ValueError, match="five-year bands"):
        age_band(label)


def test_sexes():
    assert [sex_of(s) for s in ("female", "Female", "Males", "M", "all", "Persons")] == [
        "Female",
        "Female",
        "Male",
        "Male",
        None,
        None,
    ]
    with pytest.raises(ValueError, match="not Female, Male or All"):
        sex_of("Other")


def test_the_published_layout_keeps_england_and_upper_tier_rows_of_the_latest_period():
    found = els_population_text(fixture_text(), "pop.csv", load_geography())
    table = found.table
    assert set(table.pyramids) == {ENGLAND_CODE, *UPPER_TIER}  # Tower Hamlets: a "Local Authority District" row
    assert table.period == "mid-2024"
    rows = published_rows()
    districts = sum(r["areacd"] == "E07000008" for r in rows)
    regions = sum(r["areacd"].startswith("E12") for r in rows)
    assert found.ignored["Local Authority District"] == districts  # Cambridge: never summed into a county
    assert found.ignored["Region"] == regions
    assert len(found.missing) == 153 - len(UPPER_TIER)
    for code, pyramid in table.pyramids.items():
        assert sum(pyramid.female) + sum(pyramid.male) == pytest.approx(100, abs=0.05), code
        published = {
            (r["sex"], r["age"]): float(r["observation"])
            for r in rows
            if r["areacd"] == code and r["period"] == "2024-06-30"
        }
        assert pyramid.female == tuple(published[("female", b)] for b in AGE_BANDS)
        assert pyramid.male == tuple(published[("male", b)] for b in AGE_BANDS)


def replace_line(text: str, number: int, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "".join(lines)


def set_field(text: str, number: int, column: str, value: str) -> str:
    """``text`` with one field of line ``number`` (the published CSV's column ``column``) replaced."""
    lines = text.splitlines(keepends=True)
    header = lines[0].strip().split(",")
    cells = next(csv.reader([lines[number - 1]]))
    cells[header.index(column)] = value
    lines[number - 1] = ",".join(cells) + "\n"
    return "".join(lines)


def line_of(text: str, *needles: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if all(n in line for n in needles))


def test_a_row_with_an_unknown_age_is_refused_with_its_line():
    text = fixture_text()
    number = line_of(text, "E06000001", "2024-06-30", ",male,85+,")
    bad = replace_line(text, number, ",85+,", ",90+,")
    with pytest.raises(PopulationError, match=rf"pop.csv:{number}: age '90\+' is not one of the five-year bands"):
        els_population_text(bad, "pop.csv", load_geography())


def test_an_unknown_sex_and_a_bad_number_are_refused_with_their_lines():
    text = fixture_text()
    number = line_of(text, "E10000016", "2024-06-30", ",female,0-4,")
    with pytest.raises(PopulationError, match=rf"pop.csv:{number}: sex 'unknown'"):
        els_population_text(replace_line(text, number, ",female,", ",unknown,"), "pop.csv", load_geography())
    bad = set_field(text, number, "observation", "lots")
    with pytest.raises(PopulationError, match=rf"pop.csv:{number}: observation: 'lots' is not a number"):
        els_population_text(bad, "pop.csv", load_geography())


def test_values_that_do_not_add_up_to_100_are_refused():
    text = fixture_text()
    number = line_of(text, "E06000047", "2024-06-30", ",male,40-44,")
    value = next(csv.reader([text.splitlines()[number - 1]]))[7]
    bad = set_field(text, number, "observation", f"{float(value) + 5:.2f}")
    with pytest.raises(PopulationError, match=r"E06000047 add up to 105.0, not 100"):
        els_population_text(bad, "pop.csv", load_geography())


def test_a_file_without_the_age_column_is_not_read():
    text = fixture_text().replace(",age,", ",ages,", 1)
    with pytest.raises(PopulationError, match=r"pop.csv:1: .*column\(s\) age missing"):
        els_population_text(text, "pop.csv", load_geography())


# --- the tidy file ----------------------------------------------------------------------------------


def test_the_tidy_file_round_trips(tmp_path):
    table = els_population_text(fixture_text(), "pop.csv", load_geography()).table
    path = tmp_path / "snap.csv.population.csv"
    path.write_text(tidy_csv_text(table), encoding="utf-8")
    again = read_population_file(path)
    assert again.pyramids == table.pyramids and not again.synthetic
    assert again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",Male,85+,", ",Male,Aged 90 and over,", r"age_band: age 'Aged 90 and over'"),
        (",Male,85+,", ",Persons,85+,", r"sex, age_band: totals are not part"),
        (",Male,85+,", ",Other,85+,", r"sex: sex 'Other'"),
    ],
)
def test_a_bad_tidy_file_names_file_line_and_column(tmp_path, old, new, message):
    table = els_population_text(fixture_text(), "pop.csv", load_geography()).table
    text = tidy_csv_text(table)
    number = line_of(text, "E06000001", old)
    path = tmp_path / "snap.csv.population.csv"
    path.write_text(replace_line(text, number, old, new), encoding="utf-8")
    with pytest.raises(PopulationError, match=rf"{re.escape(str(path))}:{number}: {message}"):
        read_population_file(path)


# --- fetch, then build --------------------------------------------------------------------------------


def test_fetch_writes_the_population_file_then_build_draws_the_pyramid(server, specs_dir, tmp_path, runner):  # noqa: F811
    out = tmp_path / "snap" / "snapshot.csv"
    args = ["fetch", "--specs", str(specs_dir), "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    args += ["--base-url", f"{server.base}/api", "--els-base-url", f"{server.base}/els"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    slug = "/els/population-by-age-and-sex/population-by-age-and-sex"
    assert f"{slug}.csv" in server.log and f"{slug}.json" in server.log
    tidy = population_path(out)
    manifest = json.loads((out.parent / "snapshot.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["population_file"] == tidy.name
    assert manifest["population_sha256"] == hashlib.sha256(tidy.read_bytes()).hexdigest()
    assert manifest["population_period"] == "mid-2024" and manifest["population_areas"] == 1 + len(UPPER_TIER)
    assert manifest["population_source"]["label"] == "Population by age and sex"  # from the real JSON
    published = hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert {r["url"]: r["sha256"] for r in manifest["requests"]}[f"{server.base}{slug}.csv"] == published
    rows = list(csv.DictReader(tidy.open(encoding="utf-8")))
    assert {r["area_code"] for r in rows} == {ENGLAND_CODE, *UPPER_TIER}
    assert len(rows) == 36 * (1 + len(UPPER_TIER))
    built = runner.invoke(
        cli,
        ["build", "--area", "Hartlepool", "--specs", str(specs_dir), "--data", str(out), "--out", str(tmp_path / "o")],
    )
    assert built.exit_code == 0, built.output
    (pdf,) = (tmp_path / "o").rglob("E06000001-*.pdf")
    text = " ".join(pdf_text(pdf).split())
    assert "Population by age and sex, Hartlepool and England, mid-2024" in text
    assert "Source: Office for National Statistics, mid-year population estimates (mid-2024)" in text
    check = runner.invoke(cli, ["check-pdf", str(pdf)])
    assert check.exit_code == 0, check.output


def test_a_failed_population_download_writes_nothing(server, specs_dir, tmp_path):  # noqa: F811
    server.faults["/els/population-by-age-and-sex/population-by-age-and-sex.csv"] = "404"
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match="population-by-age-and-sex.csv: HTTP 404"):
        fetch(load_specs(specs_dir), out, options(server, tmp_path), with_population=True)
    assert written(out) == []


def test_a_bad_population_row_stops_the_fetch_naming_its_line(server, specs_dir, tmp_path):  # noqa: F811
    path = "/els/population-by-age-and-sex/population-by-age-and-sex.csv"
    text = fixture_text()
    number = line_of(text, "E06000010", "2024-06-30", ",male,20-24,")
    server.files[path] = ("\ufeff" + replace_line(text, number, ",20-24,", ",20-29,")).encode("utf-8")
    out = tmp_path / "snapshot.csv"
    with pytest.raises(FetchError, match=rf"population-by-age-and-sex.csv:{number}: age '20-29'"):
        fetch(load_specs(specs_dir), out, options(server, tmp_path), with_population=True)
    assert written(out) == []


def test_without_the_population_the_fetch_removes_an_older_file(server, specs_dir, tmp_path):  # noqa: F811
    out = tmp_path / "snapshot.csv"
    fetch(load_specs(specs_dir), out, options(server, tmp_path), with_population=True)
    assert population_path(out).is_file()
    fetch(load_specs(specs_dir), out, options(server, tmp_path))
    assert not population_path(out).exists()
    assert "population_file" not in json.loads((tmp_path / "snapshot.csv.manifest.json").read_text())


# --- the document -------------------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


@pytest.fixture(scope="module")
def demo_document(tmp_path_factory):
    prepared = prepare(None, BuildOptions(out_dir=tmp_path_factory.mktemp("pyramid")))
    return prepared, make_document(prepared, resolve_area("E06000001", prepared.data))


def test_the_demonstration_data_have_a_synthetic_pyramid(demo_document):
    prepared, document = demo_document
    assert prepared.population is not None and prepared.population.synthetic
    pyramid = document.context["pyramid"]
    assert pyramid["synthetic"] and "Synthetic demonstration data" in pyramid["source"]
    assert demo_population(load_geography()).pyramids == prepared.population.pyramids  # deterministic
    assert len(prepared.population.pyramids) == 154
    assert len({p.female for p in prepared.population.pyramids.values()}) == 154  # each area its own shape
    older = [p.share(13) for p in prepared.population.pyramids.values()]
    assert 5 < min(older) < 18.6 < max(older) < 35  # plausible shares aged 65 and over, around England's


def test_the_svg_has_36_bars_and_england_as_one_outline(demo_document):
    _, document = demo_document
    svg = svg_of(document.context["pyramid"]["image"].src)
    bars = re.search(r'<g class="area-bars"[^>]*>(.*?)</g>', svg)
    assert bars is not None and bars.group(1).count("<rect ") == 36
    outline = re.findall(r'<path class="england-outline" d="([^"]+)"', svg)
    assert len(outline) == 1 and outline[0].count("M") == 2  # one stepped line each side
    assert outline[0].count("V") == 2 * len(AGE_BANDS)
    assert "<title>" in svg and len(svg) < 12_000


def test_the_alt_text_and_table_give_the_data(demo_document):
    prepared, document = demo_document
    pyramid = document.context["pyramid"]
    mine, england = prepared.population.of("E06000001"), prepared.population.england
    alt = pyramid["image"].alt
    for number in (mine.share(0, 2), mine.share(13), england.share(0, 2), england.share(13)):
        assert f"{number:.1f}%" in alt
    assert alt.startswith("Population pyramid of Hartlepool")
    assert [r["band"] for r in pyramid["rows"]][0] == "85+" and len(pyramid["rows"]) == 18
    youngest = pyramid["rows"][-1]["values"]
    assert youngest == [f"{v:.1f}" for v in (mine.male[0], mine.female[0], england.male[0], england.female[0])]


def test_the_html_twin_shows_the_chart_and_a_table(demo_document):
    _, document = demo_document
    page = render_twin(document).decode("utf-8")
    start = page.index('<div class="pyramid">')
    section = page[start : page.index("</table>", start)]
    assert 'role="img" aria-labelledby="pyramid-title pyramid-desc"' in section
    assert "<caption>Percentage of the total population in each age band, Hartlepool and England" in section
    assert section.count('<th scope="row">') == 18


def test_no_population_means_no_pyramid(tmp_path, demo_document):
    prepared, _ = demo_document
    real = type(prepared.data)("export.csv", prepared.data.frame, (), False, "")
    assert read_population([tmp_path / "export.csv"], real) is None
    search = [LAYOUTS]
    area = resolve_area("E06000001", prepared.data)
    assert pyramid_context(None, area, load_theme(search, None), load_wording(search)) is None
    table = els_population_text(fixture_text(), "pop.csv", load_geography()).table
    leeds = resolve_area("E08000035", prepared.data)  # not in the file: no pyramid, no error
    assert pyramid_context(table, leeds, load_theme(search, None), load_wording(search)) is None


def test_a_bad_population_file_stops_the_build_with_file_and_line(demo_csv, tmp_path, runner):
    data = tmp_path / "demo.csv"
    data.write_bytes(demo_csv.read_bytes())
    text = tidy_csv_text(demo_population(load_geography()), note=SYNTHETIC_MARK)
    number = line_of(text, "E06000001", ",Female,10-14,")
    population_path(data).write_text(replace_line(text, number, ",10-14,", ",10-15,"), encoding="utf-8")
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--data", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert f"{population_path(data)}:{number}: age_band: age '10-15'" in result.output
    assert "Traceback" not in result.output
