"""A small run of scripts/bench_fanout.py: 200 spectators joining one node fast, and the bare
baseline after it. Every spectator must connect, get every event of the match in order and be
closed with 1000; this is the regression test of the spectator path under a crowd."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPECTATORS = 200


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "the load client needs node and npm (apt-get install nodejs npm)"
        if os.environ.get("ARENA_REQUIRE_PREREQS") == "1":
            pytest.fail(f"{reason} (ARENA_REQUIRE_PREREQS=1: prerequisites are required)")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("bench") / "fanout.json"
    run = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "bench_fanout.py"),
            "--spectators", str(SPECTATORS), "--rate", "1000",
            "--rounds", "1", "--word-limit", "30", "--token-rate", "100",
            "--timeout", "40", "--json", str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    assert "events/s/core" in run.stdout  # the table
    doc: dict[str, Any] = json.loads(out.read_text())
    return {r["target"]: r for r in doc["results"]}


@pytest.mark.parametrize("target", ["arena", "baseline"])
def test_every_spectator_gets_every_event(report: dict[str, Any], target: str) -> None:
    r = report[target]
    assert r["expected"] > 10
    assert r["connected"] == SPECTATORS, r["close_codes"]
    assert r["abnormal"] == 0, (r["close_codes"], r["reasons"], r["errors"])
    assert r["close_codes"] == {"1000": SPECTATORS}
    assert r["events_per_spectator"]["min"] == r["expected"]
    assert r["events_per_spectator"]["max"] == r["expected"]
    assert r["got_all_events"] == SPECTATORS
    assert r["out_of_order"] == 0
    assert r["held_open"] == 0


@pytest.mark.parametrize("target", ["arena", "baseline"])
def test_live_lag_and_cost_are_measured(report: dict[str, Any], target: str) -> None:
    r = report[target]
    lag = r["lag_ms"]
    # the spectators were all in within 0.2 s, long before the match's end: most events are live
    assert lag["count"] > SPECTATORS * r["expected"] // 2
    assert 0 <= lag["p50"] <= lag["p99"] <= lag["max"] < 10_000
    assert r["server"]["cpu_s"] > 0
    assert r["server"]["rss_mb"] > 10
    assert r["events_per_s_per_core"] > 0


def test_the_match_ran_cleanly(report: dict[str, Any]) -> None:
    arena = report["arena"]
    assert arena["match_status"] == "completed", arena["match_error"]
    assert arena["server_tracebacks"] == 0
    assert arena["server_too_many_connections"] == 0
    assert set(arena["server"]["processes"]) == {"arena serve 0", "redis-server"}
