"""Visual regression: page 1, the summary and one domain page at 70 dpi against reviewed reference images.

The references in tests/visual/ were looked at page by page before they were committed. Updating one
is a deliberate step: run ``REPORTGEN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_visual.py``, look at
every new PNG, and commit them with a message that says what changed in the document and why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops

from reportgen.core.options import BuildOptions
from reportgen.publish.build import build_profile

pytestmark = pytest.mark.slow

REFERENCES = Path(__file__).resolve().parent / "visual"
UPDATE = os.environ.get("REPORTGEN_UPDATE_SNAPSHOTS") == "1"
PAGES = {"hartlepool-page1": 0, "hartlepool-summary": 1, "hartlepool-economy": 2}
MEAN_TOLERANCE = 1.5  # mean absolute difference in grey levels (0-255)
PIXEL_TOLERANCE = 0.004  # share of pixels that may differ by more than a quarter of the range


@pytest.fixture(scope="module")
def rendered(demo_csv, tmp_path_factory) -> dict[str, Image.Image]:
    out = tmp_path_factory.mktemp("visual")
    path = build_profile("Hartlepool", demo_csv, BuildOptions(out_dir=out)).path
    document = pdfium.PdfDocument(str(path))
    images = {name: document[i].render(scale=70 / 72).to_pil().convert("L") for name, i in PAGES.items()}
    document.close()
    return images


def _difference(actual: Image.Image, expected: Image.Image) -> tuple[float, float]:
    diff = ImageChops.difference(actual, expected)
    histogram = diff.histogram()
    total = actual.width * actual.height
    mean = sum(level * n for level, n in enumerate(histogram)) / total
    large = sum(histogram[64:]) / total
    return mean, large


@pytest.mark.parametrize("name", list(PAGES))
def test_page_matches_its_reviewed_reference(rendered, name, tmp_path):
    actual = rendered[name]
    reference = REFERENCES / f"{name}.png"
    if UPDATE:
        REFERENCES.mkdir(exist_ok=True)
        actual.save(reference, optimize=True)
        pytest.skip(f"reference {reference.name} written; review it before committing")
    assert reference.is_file(), f"no reference image {reference}; create it with REPORTGEN_UPDATE_SNAPSHOTS=1"
    expected = Image.open(reference).convert("L")
    assert actual.size == expected.size, f"{name}: page size {actual.size} != reference {expected.size}"
    mean, large = _difference(actual, expected)
    if mean > MEAN_TOLERANCE or large > PIXEL_TOLERANCE:
        ImageChops.difference(actual, expected).save(tmp_path / f"{name}-diff.png")
        actual.save(tmp_path / f"{name}-actual.png")
        pytest.fail(
            f"{name} differs from its reference (mean {mean:.2f} grey levels, {large:.2%} of pixels changed); "
            f"see {tmp_path}. If the change is intended, update the reference deliberately (module docstring)."
        )


def test_a_visible_change_is_caught(rendered):
    """The comparison is sensitive enough: a small shifted block on the page fails it."""
    actual = rendered["hartlepool-summary"]
    changed = actual.copy()
    changed.paste(0, (100, 200, 180, 260))
    mean, large = _difference(changed, actual)
    assert mean > MEAN_TOLERANCE or large > PIXEL_TOLERANCE
