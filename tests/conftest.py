"""Shared fixtures: paths to the validation vectors, spec factories, a demo dataset."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reportgen.core.assets import default_specs_dir

PROJECT = Path(__file__).resolve().parents[1]
VALIDATION = Path(os.environ.get("REPORTGEN_VALIDATION_DIR", PROJECT / "tests" / "data" / "validation"))


@pytest.fixture(scope="session")
def validation_dir() -> Path:
    """The independent test vectors (tests/data/validation); tests fail if they are missing."""
    if not VALIDATION.is_dir():
        pytest.fail(f"validation vectors not found at {VALIDATION}; set REPORTGEN_VALIDATION_DIR")
    return VALIDATION


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged catalogue."""
    target = tmp_path / "specs"
    shutil.copytree(default_specs_dir(), target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return target


VALID_SPEC = {
    "id": "sample_indicator",
    "fingertips_id": 99999,
    "name": "Sample indicator",
    "short_name": "Sample",
    "domain": "Economy",
    "definition": "A definition.",
    "rationale": "A rationale.",
    "source": "A source",
    "unit": "%",
    "decimals": 1,
    "value_type": "proportion",
    "multiplier": 100,
    "polarity": "high_is_good",
    "comparison": "ci95",
    "sex": "Persons",
    "age": "16+ yrs",
}


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write one spec YAML (valid unless overridden) into a fresh folder and return the folder."""
    folder = tmp_path / "one_spec"
    folder.mkdir()

    def _write(text: str | None = None, name: str = "sample_indicator", **overrides) -> Path:
        if text is None:
            data = {**VALID_SPEC, **overrides}
            data = {k: v for k, v in data.items() if v is not None}
            text = yaml.safe_dump(data, sort_keys=False)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        return folder

    return _write


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory) -> Path:
    """The demonstration dataset written once per test session."""
    from reportgen.publish.prepare import write_demo

    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    return write_demo(path, None, None)
