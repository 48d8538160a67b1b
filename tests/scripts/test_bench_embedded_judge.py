"""A tiny run of scripts/bench_embedded_judge.py: one embedded match of one round, its first two
turns judged under the grammar (a verdict costs seconds on the embedded model). Every verdict
must parse, and the report must say so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.runs import load_script

pytestmark = [pytest.mark.embedded, pytest.mark.long]

REPO = Path(__file__).resolve().parents[2]


def test_one_match_gives_no_invalid_verdict_under_the_grammar(tmp_path: Path) -> None:
    out = tmp_path / "judge.json"
    run = subprocess.run(
        [
            sys.executable, str(REPO / "scripts" / "bench_embedded_judge.py"),
            "--matches", "1", "--rounds", "1", "--word-limit", "20",
            "--baseline-matches", "0", "--judge-turns", "2", "--json", str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr

    report = json.loads(out.read_text())
    grammar = report["ways"]["grammar"]
    assert report["matches"] == 1 and report["baseline_matches"] == 0
    assert grammar["verdicts"] == 2 and report["judge_turns"] == 2  # of the match's six turns
    assert grammar["invalid_output"] == 0, grammar["invalid_reasons"]
    assert grammar["seconds_per_verdict_median"] > 0
    assert report["ways"]["no grammar"]["verdicts"] == 0
    assert "invalid" in run.stdout and "grammar" in run.stdout

    # `make bench` reads the same report into its table
    rows = {r.id: r for r in load_script("bench_all.py").judge_rows("judge", report)}
    assert rows["judge.invalid"].value == "0/2" and rows["judge.invalid"].target == "0"
    assert rows["judge.seconds_per_verdict"].value == grammar["seconds_per_verdict_median"]
