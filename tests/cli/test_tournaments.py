"""`arena tournament run|plan` end to end: a fast OpenAI-compatible model on loopback, the
embedded Redis of the test session, in-process workers."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from arena.cli.app import app
from arena.config import Settings, get_settings
from arena.store import EmbeddedServer
from arena.store.keys import Keys
from tests.fake_llm import FakeLLM
from tests.polling import wait_until

runner = CliRunner()
MODEL = "openai-compatible:fast"
ARGS = ["--personas", "pirate,stoic,cynic", "--motions", "four-day-week,remote-work",
        "--rounds", "1", "--model", MODEL, "--judge", MODEL, "--word-limit", "20",
        "--concurrency", "4"]  # fmt: skip


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM(words=12, token_delay=0.0) as server:
        yield server


@pytest.fixture
def env(settings: Settings, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("ARENA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ARENA_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("ARENA_COMPATIBLE_BASE_URL", llm.url)
    monkeypatch.setenv("ARENA_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("ARENA_RECLAIM_IDLE_SECONDS", "1")
    monkeypatch.setenv("ARENA_TOKEN_COALESCE_MS", "20")
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_plan_prints_the_schedule_and_an_estimate(env: Settings) -> None:
    result = runner.invoke(app, ["tournament", "plan", *ARGS])
    assert result.exit_code == 0, result.output
    assert "round-robin: 12 matches" in result.stdout
    assert "12 matches, 72 turns" in result.stdout and "unknown price" in result.stdout


def test_an_unknown_persona_is_named(env: Settings) -> None:
    result = runner.invoke(app, ["tournament", "plan", "--personas", "pirat,stoic",
                                 "--motions", "four-day-week", "--model", MODEL])  # fmt: skip
    assert result.exit_code == 2 and "persona 'pirat' not found" in result.output


def test_a_spec_over_a_cap_is_named_in_one_line(env: Settings) -> None:
    many = ",".join(f"p{i}" for i in range(201))
    result = runner.invoke(app, ["tournament", "plan", "--personas", many,
                                 "--motions", "four-day-week", "--model", MODEL])  # fmt: skip
    assert result.exit_code == 2
    assert "personas: List should have at most 200 items" in result.output
    assert "p200" not in result.output  # the names are not echoed back
    result = runner.invoke(app, ["tournament", "plan", "--personas", many[: many.index(",p150")],
                                 "--motions", "m1,m2", "--model", MODEL])  # fmt: skip
    assert result.exit_code == 2 and "44,700 matches; the limit is 20,000" in result.output


@pytest.mark.slow
def test_run_plays_a_round_robin_and_writes_its_data(env: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["tournament", "run", *ARGS, "--workers", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["status"] == "completed" and len(doc["schedule"]) == 12
    assert all(s["match"] for s in doc["schedule"])
    matches = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    assert len(matches) == 12 and {m["status"] for m in matches} == {"completed"}
    sides = Counter(m["pro"] for m in matches) + Counter(m["con"] for m in matches)
    assert sides == {"pirate": 8, "stoic": 8, "cynic": 8}
    assert Counter(m["pro"] for m in matches) == {"pirate": 4, "stoic": 4, "cynic": 4}
    with (out / "turns.csv").open() as f:
        turns = list(csv.DictReader(f))
    assert len(turns) == 72
    assert list(turns[0]) == ["tournament", "match", "motion", "side", "persona", "opponent",
                              "model", "judge", "turn", "kind", "stance", "holding",
                              "engagement", "concessions", "tokens", "scored", "role", "words",
                              "hedges", "author"]  # fmt: skip
    assert {t["author"] for t in turns} == {"model"}
    assert {t["scored"] for t in turns} == {"true"} and {t["holding"] for t in turns} == {"0.8"}
    assert {t["kind"] for t in turns} == {"opening", "rebuttal", "closing"}
    assert all(int(t["tokens"]) > 0 for t in turns)
    with (out / "leaderboard.csv").open() as f:
        board = list(csv.DictReader(f))
    assert sorted(r["persona"] for r in board) == ["cynic", "pirate", "stoic"]
    for row in board:
        assert float(row["ci_low"]) <= float(row["adjusted_holding"]) <= float(row["ci_high"])
        assert row["matches"] == "8" and row["held_firmer_elo"]
    report = (out / "report.md").read_text()
    assert "![Adjusted holding" in report and "![Mean holding" in report
    assert "no recorded calibration" in report and "uncalibrated" in report
    assert (out / "forest.svg").read_text().count("<circle") == 3
    heat = (out / "heatmap.svg").read_text()
    assert heat.count("<rect") == 9 and heat.count(">0.80<") == 6  # the diagonal is empty

    again = runner.invoke(app, ["tournament", "run", *ARGS, "--workers", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "continuing" in again.stdout
    rerun = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    assert {m["match"] for m in rerun} == {m["match"] for m in matches}  # nothing re-played


@pytest.mark.slow
def test_a_budget_stops_scheduling_new_matches(env: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [*ARGS[:-1], "1", "--budget-tokens", "1", "--workers", "--out", str(out)]
    result = runner.invoke(app, ["tournament", "run", *args])
    assert result.exit_code == 1, result.output
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["status"] == "budget_spent"
    assert doc["progress"]["done"] == 1 and doc["progress"]["tokens"] > 1
    assert sum(1 for s in doc["schedule"] if s["match"]) == 1
    assert len((out / "matches.jsonl").read_text().splitlines()) == 1


@pytest.mark.slow
def test_a_killed_run_resumes_without_replaying_completed_matches(
    env: Settings, llm: FakeLLM, tmp_path: Path
) -> None:
    prefix = env.key_prefix
    proc_env = {**os.environ, "COLUMNS": "120"}
    out = tmp_path / "out"
    log = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "tournament", "run", *ARGS, "--workers",
         "--concurrency", "2", "--out", str(out)],
        env=proc_env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    client = redis.Redis.from_url(_redis_url(env))
    keys = Keys(prefix)
    try:
        def three_done() -> set[str]:  # another process's progress: no event to await
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            done = _completed(client, keys)
            return done if len(done) >= 3 else set()

        done = wait_until(three_done, timeout=180, message="3 matches did not complete")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        client.close()
        log.close()
    assert not out.exists()  # killed: nothing written
    result = runner.invoke(app, ["tournament", "run", *ARGS, "--workers", "--out", str(out)])
    assert result.exit_code == 0, result.output
    matches = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    completed = [m for m in matches if m["status"] == "completed"]
    assert len(completed) == 12 and len({m["slot"] for m in completed}) == 12
    assert done <= {m["match"] for m in completed}  # finished before the kill: kept, not replayed


def _completed(client: redis.Redis, keys: Keys) -> set[str]:
    ids = client.zrange(keys.tournaments, 0, -1)
    if not ids:
        return set()
    results = client.hgetall(keys.tournament(ids[0].decode(), "results"))
    return {k.decode() for k, v in results.items() if b'"completed"' in v}


@pytest.mark.slow
def test_ctrl_c_stops_scheduling_and_writes_what_is_done(env: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "arena.cli", "tournament", "run", *ARGS, "--workers",
         "--concurrency", "1", "--out", str(out)],
        env={**os.environ, "COLUMNS": "120"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    client = redis.Redis.from_url(_redis_url(env))
    try:
        def one_done() -> set[str]:  # another process's progress: no event to await
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            return _completed(client, Keys(env.key_prefix))

        wait_until(one_done, timeout=180, message="no match completed")
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
        client.close()
    assert proc.returncode == 1, output
    assert "stopping: no new matches" in output and "run the same command again" in output
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["status"] == "running" and 1 <= doc["progress"]["done"] < 12


def _redis_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    server = EmbeddedServer(settings.data_dir)
    url = server.acquire()
    server.release()
    return url


@pytest.mark.slow
def test_swiss_rounds_follow_the_standings_and_a_gauntlet_compares_to_the_control(
    env: Settings, tmp_path: Path
) -> None:
    common = ["--motions", "ai-art", "--rounds", "1", "--model", MODEL, "--judge", MODEL,
              "--word-limit", "20", "--concurrency", "4", "--workers"]  # fmt: skip
    swiss = tmp_path / "swiss"
    result = runner.invoke(app, ["tournament", "run", "--design", "swiss", "--swiss-rounds", "2",
                                 "--personas", "pirate,stoic,cynic,kantian", *common,
                                 "--out", str(swiss)])  # fmt: skip
    assert result.exit_code == 0, result.output
    schedule = json.loads((swiss / "tournament.json").read_text())["schedule"]
    assert [s["round"] for s in schedule] == [1] * 4 + [2] * 4
    pairs = [{frozenset((s["pro"], s["con"])) for s in schedule if s["round"] == r} for r in (1, 2)]
    assert len(pairs[0]) == len(pairs[1]) == 2 and not pairs[0] & pairs[1]

    gauntlet = tmp_path / "gauntlet"
    args = ["--design", "gauntlet", "--personas", "pirate,stoic", *common, "--out", str(gauntlet)]
    result = runner.invoke(app, ["tournament", "run", *args])
    assert result.exit_code == 0, result.output
    with (gauntlet / "leaderboard.csv").open() as f:
        board = {r["persona"]: r for r in csv.DictReader(f)}
    assert set(board) == {"pirate", "stoic", "assistant"}
    assert float(board["pirate"]["vs_control"]) == 0.0  # the fake judge scores everyone 0.8
    assert board["assistant"]["vs_control"] == ""
    assert "vs control" in (gauntlet / "report.md").read_text()


PRESSURE = ["--format", "pressure", "--tactics", "disagree,escalate", "--personas", "stoic",
            "--motions", "four-day-week", "--rounds", "2", "--model", MODEL, "--judge", MODEL,
            "--word-limit", "20", "--concurrency", "4"]  # fmt: skip


def test_plan_of_a_pressure_tournament(env: Settings) -> None:
    result = runner.invoke(app, ["tournament", "plan", *PRESSURE])
    assert result.exit_code == 0, result.output
    assert "pressure: 4 matches" in result.stdout and "4 matches, 20 turns" in result.stdout
    bad = runner.invoke(app, ["tournament", "plan", *PRESSURE[:3], "nope", *PRESSURE[4:]])
    assert bad.exit_code == 2 and "nope" in bad.output


@pytest.mark.slow
def test_run_plays_a_pressure_tournament_and_writes_its_leaderboard(
    env: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["tournament", "run", *PRESSURE, "--workers", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["status"] == "completed" and doc["spec"]["format"] == "pressure"
    assert Counter((s["tactic"], s["target"]) for s in doc["schedule"]) == {
        (t, side): 1 for t in ("disagree", "escalate") for side in ("pro", "con")
    }
    matches = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    assert {m["status"] for m in matches} == {"completed"} and len(matches) == 4
    assert all(m["pressure"]["persona"] == "stoic" for m in matches)
    assert {m["tactic"] for m in matches} == {"disagree", "escalate"}
    with (out / "turns.csv").open() as f:
        turns = list(csv.DictReader(f))
    assert len(turns) == 4 * 5  # opening + 2 x (challenge, reply)
    roles = Counter((t["role"], t["persona"]) for t in turns)
    assert roles == {("target", "stoic"): 12, ("challenger", "disagree"): 4,
                     ("challenger", "escalate"): 4}  # fmt: skip
    with (out / "leaderboard.csv").open() as f:
        board = {(r["persona"], r["tactic"]): r for r in csv.DictReader(f)}
    assert set(board) == {("stoic", "disagree"), ("stoic", "escalate")}
    for row in board.values():  # the fake judge finds every response on the target's side
        # SYCON ToF counts the opening and both replies: 3 of 3
        assert row["n"] == "2" and row["flips"] == "0" and float(row["mean_tof"]) == 3.0
    report = (out / "report.md").read_text()
    assert "## Pressure leaderboard" in report and "| stoic | escalate | 2 |" in report
    heat = (out / "heatmap.svg").read_text()
    assert heat.count("<rect") == 2 and heat.count(">1.00<") == 2
    assert not (out / "forest.svg").exists()
