"""scripts/bench_crowd.py at a small size: both ways of computing the judges' agreement with the
crowd agree, and each figure is there."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.runs import run_script


def test_the_crowd_benchmark_times_both_ways(tmp_path: Path) -> None:
    run, found = run_script("bench_crowd.py", "--matches", "300", "--votes", "20",
                            json_out=tmp_path / "crowd.json")  # fmt: skip
    assert 300 <= found["voted_turns"] <= 1200
    assert found["per_vote_ms_all_turns"] > 0 and found["per_vote_ms_sums"] > 0
    assert found["sums_build_ms"] > 0
    assert "a vote costs" in run.stdout
