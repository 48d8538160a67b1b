"""scripts/bench_longrun.py at a tiny size: seeds matches through the store's path, serves them
from `arena serve --no-worker` under readers while matches finish, and reports every figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.runs import run_script

pytestmark = pytest.mark.slow

GETS = {
    "leaderboard", "leaderboard by model", "leaderboard all versions", "pressure board",
    "tournament board", "persona page", "judges", "matches list", "match detail",
    "tournament page", "votes export",
}  # fmt: skip


def test_every_public_get_is_measured_at_each_size(tmp_path: Path) -> None:
    run, results = run_script(
        "bench_longrun.py",
        *("--matches", "20,40", "--duration", "2", "--readers", "2", "--rate", "5"),
        json_out=tmp_path / "longrun.json",
        timeout=300,
    )
    assert "| figure | 20 matches | 40 matches |" in run.stdout
    assert [r["matches"] for r in results] == [20, 40]
    for r in results:
        assert r["redis_bytes_per_match_before"] > 0
        assert r["redis_bytes_per_match_after"] is not None
        assert 0 < r["redis_bytes_per_match_after"] < r["redis_bytes_per_match_before"]
        assert r["api_rss_mb_end"] > 10
        assert r["finished_during_load"] > 0
        assert set(r["gets"]) == GETS and set(r["cold"]) == GETS
        assert all(c["status"] == 200 for c in r["cold"].values()), r["cold"]
        assert r["errors"] == {}
        assert all(g["n"] >= 1 and 0 < g["p50_ms"] <= g["max_ms"] for g in r["gets"].values())
