"""Debian's chromium, headless, driven by Playwright: shared by the browser tests.

Where the browser cannot start, the tests fail with the reason: they never pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("REPORTGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launched_chromium() -> Iterator[Any]:
    """Yield a running headless chromium (a Playwright Browser) and close it afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright is not installed ({exc}); run: pip install -e '.[test]'")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found; install Debian's chromium (make test does: apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # noqa: BLE001 - report why the browser cannot start
            pytest.fail(f"chromium at {CHROMIUM} could not start: {exc}")
        yield chromium
        chromium.close()
