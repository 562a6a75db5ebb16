"""CLI behaviour: exit codes, messages on stderr, no partial output on failure."""

from __future__ import annotations

from pathlib import Path

import pikepdf

from reportgen.cli import cli


def test_every_command_has_help_and_is_in_the_readme(runner):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name, command in cli.commands.items():
        assert command.help, name
        assert f"reportgen {name}" in readme, name
        assert runner.invoke(cli, [name, "--help"]).exit_code == 0


def test_check_clean_catalogue(runner):
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("0 error(s), 0 warning(s).")


def test_check_reports_spec_problems(runner, write_spec):
    folder = write_spec(polarity="up")
    result = runner.invoke(cli, ["check", "--specs", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"Error: 1 problem(s) in the indicator specs in {folder}:"
    assert "sample_indicator.yaml:13:11: polarity: 'up' is not allowed" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_area_warnings(runner, validation_dir):
    export = validation_dir / "fingertips" / "jezzaay_mental-health-analysis__suicides__south_east.csv"
    result = runner.invoke(
        cli, ["check", "--specs", str(Path(__file__).parent / "fixtures" / "suicide_specs"), "--data", str(export)]
    )
    assert result.exit_code == 1
    assert "E10000002" in result.stdout and "boundaries before April 2023" in result.stdout
    assert result.stdout.strip().endswith("0 error(s), 1 warning(s).")
    result = runner.invoke(
        cli,
        [
            "check",
            "--specs",
            str(Path(__file__).parent / "fixtures" / "suicide_specs"),
            "--data",
            str(export),
            "--warnings-ok",
        ],
    )
    assert result.exit_code == 0


def test_check_data_against_specs(runner, demo_csv, write_spec):
    result = runner.invoke(cli, ["check", "--data", str(demo_csv)])
    assert result.exit_code == 0, result.output
    folder = write_spec(fingertips_id=12345)
    result = runner.invoke(cli, ["check", "--specs", str(folder), "--data", str(demo_csv)])
    assert result.exit_code == 1
    assert "sample_indicator: indicator missing from the data: no rows have Indicator ID 12345" in result.stdout


def test_build_unknown_area(runner, demo_csv, tmp_path):
    result = runner.invoke(cli, ["build", "--area", "Hartlepol", "--data", str(demo_csv), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == "Error: Unknown area 'Hartlepol'. Closest matches: Hartlepool (E06000001).\n"
    assert not any(tmp_path.iterdir())


def test_build_bad_data_writes_nothing(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Indicator ID,Area Code,Sex,Age,Time period,Value\n92313,E06000001,Persons,16-64 yrs,2023,high\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["build", "--area", "E06000001", "--data", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert f"{bad}:2: Value: 'high' is not a number" in result.stderr
    assert not out.exists()


def test_bad_option_values_exit_2(runner):
    result = runner.invoke(cli, ["build", "--area", "Hartlepool", "--data-date", "31/03/2024"])
    assert result.exit_code == 2 and "use YYYY-MM-DD" in result.stderr
    assert runner.invoke(cli, ["areas", "--format", "xml"]).exit_code == 2


def test_demo_data_command(runner, tmp_path):
    out = tmp_path / "nested" / "demo.csv"
    result = runner.invoke(cli, ["demo-data", "--out", str(out)])
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    assert out.read_text().startswith("Indicator ID,Indicator Name,Parent Code")
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_build_end_to_end(runner, demo_csv, tmp_path):
    result = runner.invoke(cli, ["build", "--area", "hartlepool", "--data", str(demo_csv), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == tmp_path / "2024" / "E06000001-hartlepool.pdf"
    with pikepdf.open(path) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Health assets profile: Hartlepool"


def test_benchmark_formats(runner, demo_csv, tmp_path):
    import csv
    import io
    import json

    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--area", "Hartlepool"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs

    n_specs = len(load_specs(default_specs_dir()))
    assert len(rows) == n_specs * 5 and {r["area_code"] for r in rows} == {"E06000001"}  # five demo periods each
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--area", "E06000001", "--format", "json"])
    records = json.loads(result.stdout)
    assert len(records) == n_specs * 5 and records[0]["fingertips_id"] == 92313 and "recent_trend" in records[0]
    out = tmp_path / "table.xlsx"
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--format", "xlsx"])
    assert result.exit_code == 2 and "--format xlsx needs --out FILE." in result.stderr


def test_benchmark_with_comparator(runner, demo_csv, tmp_path):
    group = tmp_path / "group.yaml"
    group.write_text("name: Neighbours\nareas: [E06000002, E06000003, E06000004, E06000005, E06000009]\n")
    result = runner.invoke(
        cli, ["benchmark", "--data", str(demo_csv), "--area", "E06000001", "--comparator", str(group)]
    )
    assert result.exit_code == 0, result.output
    assert "comparator_name,comparator_value,compared_to_comparator" in result.stdout.splitlines()[0]
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: Neighbours\nareas: [E06000002, E06000099]\n")
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--comparator", str(typo)])
    assert result.exit_code == 1 and "Comparator group 'Neighbours': E06000099 not found in" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("areas: E06000002\n")
    result = runner.invoke(cli, ["benchmark", "--data", str(demo_csv), "--comparator", str(bad)])
    assert result.exit_code == 1
    assert "needs exactly two keys, 'name' (text) and 'areas'" in result.stderr


def test_build_refuses_data_without_any_catalogue_indicator(runner, validation_dir, tmp_path):
    export = validation_dir / "fingertips" / "jezzaay_mental-health-analysis__suicides__east_midlands.csv"
    result = runner.invoke(cli, ["build", "--area", "Derby", "--data", str(export), "--out", str(tmp_path)])
    from reportgen.core.assets import default_specs_dir
    from reportgen.core.specs import load_specs

    n = len(load_specs(default_specs_dir()))
    assert result.exit_code == 1
    assert f"None of the {n} indicators in the specs has data" in result.stderr
    assert "reportgen check --data" in result.stderr
    assert not any(tmp_path.iterdir())
