"""scripts/screenshot.py: the docs' screenshot of a match page, into a path of the test's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, missing
from tests.scripts.runs import run_script

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_screenshot_is_written(tmp_path: Path) -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    out = tmp_path / "match.png"
    run, _ = run_script("screenshot.py", "--out", str(out), timeout=300)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000  # a page, not a blank
    assert str(out) in run.stdout
