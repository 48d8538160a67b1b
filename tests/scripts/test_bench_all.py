"""scripts/bench_all.py (`make bench`): one benchmark at the tiny size becomes the table, in
markdown and JSON, with the machine, the commit, the command and each figure's baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.runs import REPO, load_script, run_script

bench_all = load_script("bench_all.py")


@pytest.mark.slow
def test_the_runner_writes_one_table(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    run_script("bench_all.py", "--size", "tiny", "--only", "longrun", "--out", str(out),
               timeout=400)  # fmt: skip
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["size"] == "tiny"
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["python"]
    assert len(doc["git"]["commit"]) == 40
    [run] = doc["runs"]
    assert run["status"] == "ok", run.get("stderr_tail")
    assert run["command"].startswith(".venv/bin/python scripts/bench_longrun.py --matches 20,40")
    rows = {r["id"]: r for r in run["rows"]}
    rss = rows["longrun.40.api_rss_mb"]
    assert rss["value"] > 0 and rss["baseline_value"] > 0  # beside the smallest size's
    assert rows["longrun.40.get_p99_ms.leaderboard"]["target"] == "<= 100"
    text = out.read_text()
    assert "`longrun.40.get_p99_ms.leaderboard`" in text
    assert doc["machine"]["cpu"] in text and doc["git"]["commit"] in text


def test_a_failing_benchmark_is_listed_with_its_stderr(tmp_path: Path) -> None:
    broken = bench_all.Bench("broken", "bench_all.py", {"tiny": "--size nonsense"},
                             lambda name, doc: [])  # fmt: skip
    result = bench_all.run_one(broken, "tiny", tmp_path)
    assert result["status"] == "failed" and result["returncode"] == 2
    assert any("invalid choice" in line for line in result["stderr_tail"])
    doc = {
        "size": "tiny",
        "date": "d",
        "command": "c",
        "machine": bench_all.machine(),
        "git": bench_all.git_commit(),
        "runs": [result],
        "load_average_at_end": [0, 0, 0],
    }
    assert "| broken | failed |" in bench_all.markdown(doc)


def test_an_unknown_benchmark_is_refused() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_all.py"), "--only", "nope"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and "unknown benchmark nope; known: fanout" in run.stderr
