"""scripts/bench_probe.py at a tiny size on the embedded model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.runs import run_script

pytestmark = [pytest.mark.embedded, pytest.mark.long]


def test_the_script_times_every_probe(tmp_path: Path) -> None:
    run, doc = run_script(
        "bench_probe.py", "--repeats", "1", json_out=tmp_path / "probe.json", timeout=600
    )
    assert "p(yes) cold" in run.stdout
    assert set(doc["median_ms"]) == {"text", "after", "choice", "cold"}
    assert all(ms > 0 for ms in doc["median_ms"].values())
    assert 0.0 <= doc["p_yes"] <= 1.0
