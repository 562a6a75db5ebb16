"""Specs, the theme and comparator files: non-finite numbers, text caps, YAML bombs and odd files."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import VALID_SPEC

from reportgen.cli import cli
from reportgen.core import errors
from reportgen.core.assets import default_layouts_dir
from reportgen.document.theme import load_theme

ALIAS_BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
)


def load_yaml_file(path: Path):
    from reportgen.core.yamlsafe import load_yaml_file as load

    return load(path)


def spec_text(**overrides) -> str:
    return yaml.safe_dump({**VALID_SPEC, **overrides}, sort_keys=False)


def line_of(text: str, key: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(f"{key}:"))


def check(runner, folder: Path):
    result = runner.invoke(cli, ["check", "--specs", str(folder)])
    assert "Traceback" not in result.output
    return result


# --- 3. Non-finite and absurd numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (".inf", "must be a finite number (not .inf or .nan) (got inf)"),
        ("-.inf", "must be a finite number (not .inf or .nan) (got -inf)"),
        (".nan", "must be a finite number (not .inf or .nan) (got nan)"),
        ("0", "must be greater than 0 (got 0)"),
        ("-1", "must be greater than 0 (got -1)"),
        ("1.0e+12", "must be at most 1000000 (got 1000000000000.0)"),
    ],
)
def test_multiplier_must_be_finite_and_sensible(runner, write_spec, raw, message):
    text = spec_text(value_type="crude_rate").replace("multiplier: 100", f"multiplier: {raw}")
    folder = write_spec(text)
    result = check(runner, folder)
    assert result.exit_code == 1
    path = folder / "sample_indicator.yaml"
    assert f"{path}:{line_of(text, 'multiplier')}:13: multiplier: {message}" in result.stderr


def test_proportion_multiplier_rule_is_kept(runner, write_spec):
    folder = write_spec(multiplier=10)
    result = check(runner, folder)
    assert result.exit_code == 1
    assert "multiplier: a proportion needs multiplier 1, 100 (percentage) or 1000" in result.stderr


@pytest.mark.parametrize("key", ["england", "spread", "trend", "size", "sd", "deprivation"])
def test_non_finite_demo_parameters_are_refused(runner, write_spec, key):
    demo = {"england": 50.0, "spread": 3.0, "trend": 0.1, "size": 500.0, "sd": 2.0, "deprivation": 0.5}
    text = spec_text(demo=demo).replace(f"  {key}: ", f"  {key}: .nan #", 1)
    folder = write_spec(text)
    result = check(runner, folder)
    assert result.exit_code == 1
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if row.startswith(f"  {key}:"))
    path = folder / "sample_indicator.yaml"
    assert f"{path}:{line}:{len(key) + 5}: demo.{key}: must be a finite number (not .inf or .nan)" in result.stderr


@pytest.mark.parametrize(
    ("key", "limit"),
    [("name", 200), ("short_name", 60), ("definition", 2000), ("rationale", 2000), ("source", 2000), ("caveats", 2000)],
)
def test_text_fields_are_capped(runner, write_spec, key, limit):
    folder = write_spec(spec_text(**{key: "x" * (limit + 1)}))
    result = check(runner, folder)
    assert result.exit_code == 1
    text = (folder / "sample_indicator.yaml").read_text(encoding="utf-8")
    where = f"{folder / 'sample_indicator.yaml'}:{line_of(text, key)}:{len(key) + 3}"
    assert f"{where}: {key}: must be at most {limit} characters (got {limit + 1:,})\n" in result.stderr
    assert "x" * 100 not in result.stderr  # the long text is not echoed back


def test_text_at_the_cap_is_accepted(runner, write_spec):
    folder = write_spec(spec_text(name="n" * 200, definition="d" * 2000, short_name="s" * 60))
    assert check(runner, folder).exit_code == 0


# --- 7. YAML bombs and file caps ------------------------------------------------------------------


def test_alias_bomb_in_a_spec_is_refused_with_its_location(runner, write_spec):
    folder = write_spec(ALIAS_BOMB + "\n" + spec_text())
    result = check(runner, folder)
    assert result.exit_code == 1
    path = folder / "sample_indicator.yaml"
    assert f"{path}:2:10: YAML aliases are not allowed (anchors '&' and aliases '*')" in result.stderr


def test_alias_bomb_in_the_theme_is_refused(tmp_path):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "theme.yaml").write_text(ALIAS_BOMB + "\n", encoding="utf-8")
    with pytest.raises(errors.InputFileError, match=r"theme\.yaml:2:10: YAML aliases are not allowed"):
        load_theme([layouts, default_layouts_dir()])


def test_theme_still_loads():
    assert load_theme([default_layouts_dir()]).palette.name == "fingertips"


def test_alias_bomb_is_refused_quickly_and_in_little_memory(tmp_path):
    """Run in a child limited to 300 MB of memory: the old loader expanded the bomb until MemoryError."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(ALIAS_BOMB.splitlines()[:1] + [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 20)
    ]) + "\n", encoding="utf-8")  # fmt: skip
    code = f"from reportgen.core.yamlsafe import load_yaml_file\nload_yaml_file({str(bomb)!r})"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory
    )
    assert result.returncode == 1
    assert f"InputFileError: {bomb}:2:10: YAML aliases are not allowed" in result.stderr


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


def test_deep_nesting_is_refused(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    with pytest.raises(errors.InputFileError, match=r"deep\.yaml:1:\d+: nested more than 20 levels deep"):
        load_yaml_file(deep)


def test_files_over_the_cap_are_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * 1_000_000)
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read whole"))
    with pytest.raises(errors.InputFileError) as caught:
        load_yaml_file(big)
    assert caught.value.message == (
        f"{big}: spec file is 1,000,005 bytes; the limit is 1,000,000. Is it the right file?"
    )


def test_spec_file_over_its_cap(runner, write_spec):
    folder = write_spec(spec_text() + "#" * 100_001 + "\n")
    result = check(runner, folder)
    assert result.exit_code == 1
    assert f"{folder / 'sample_indicator.yaml'}:1:1: spec file is 100," in result.stderr
    assert "the limit is 100,000" in result.stderr


# --- 5. Odd spec files: links, folders, devices ---------------------------------------------------


def test_odd_spec_files_are_each_reported(runner, write_spec, tmp_path):
    folder = write_spec()
    (folder / "loop_a.yaml").symlink_to(folder / "loop_b.yaml")
    (folder / "loop_b.yaml").symlink_to(folder / "loop_a.yaml")
    (folder / "dangling.yaml").symlink_to(folder / "nowhere.yaml")
    (folder / "folder.yaml").mkdir()
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(spec_text(id="outside", fingertips_id=1), encoding="utf-8")
    (folder / "outside.yaml").symlink_to(outside)
    result = check(runner, folder)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"{folder / 'dangling.yaml'}:1:1: spec file is a link to a file that does not exist; check the path" in lines
    assert f"{folder / 'folder.yaml'}:1:1: spec file is a folder; give a YAML file" in lines
    assert (
        f"{folder / 'loop_a.yaml'}:1:1: cannot open the spec file (Too many levels of symbolic links); a link loop?"
        in lines
    )
    assert (
        f"{folder / 'outside.yaml'}:1:1: is a link to {outside}, outside the specs folder; copy the file into the folder"
        in lines
    )


def test_link_to_a_device_is_never_read(write_spec, tmp_path):
    """In a child process with limited memory and time: reading /dev/zero would never end."""
    folder = write_spec()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    code = f"from reportgen.cli import main; import sys; sys.argv = ['reportgen', 'check', '--specs', {str(folder)!r}]; main()"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, preexec_fn=_limit_memory
    )
    assert result.returncode == 1
    assert f"{folder / 'zero.yaml'}:1:1: is a link to /dev/zero, outside the specs folder" in result.stderr


def test_device_inside_the_folder_is_not_a_regular_file(tmp_path):
    with pytest.raises(errors.InputFileError, match="spec file is not a regular file"):
        load_yaml_file(Path("/dev/zero"))


def test_comparator_loader_uses_the_safe_reader(tmp_path):
    from reportgen.publish.prepare import load_comparator

    group = tmp_path / "group.yaml"
    group.write_text("name: &n x\nareas: [E06000001]\nother: *n\n", encoding="utf-8")
    with pytest.raises(errors.InputFileError, match=r"group\.yaml:3:8: YAML aliases are not allowed"):
        load_comparator(group)
    group.write_text("name: Neighbours\nareas: [e06000001, E06000002]\n", encoding="utf-8")
    assert load_comparator(group).areas == ("E06000001", "E06000002")
