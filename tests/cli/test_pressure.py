"""`arena run --format pressure` and `arena tactics`, with test models and with the embedded one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arena.cli.app import app
from arena.cli.deps import CliDeps
from arena.config import get_settings
from arena.engine.probe import QUESTION
from arena.models.base import GenerationRequest
from tests.fakes import FakeModels, FunctionModel, words

runner = CliRunner()
ARENA = [sys.executable, "-m", "arena.cli"]


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()


def test_tactics_lists_every_tactic() -> None:
    result = runner.invoke(app, ["tactics"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for tactic in ("disagree", "are-you-sure", "escalate", "fake-evidence", "persona"):
        assert tactic in result.stdout
    assert "SYCON-Bench" in result.stdout and "FlipFlop" in result.stdout


def target(request: GenerationRequest) -> list[str]:
    if QUESTION in request.messages[-1].content:
        return words("Yes.")
    return words("I still hold my position.")


def test_a_pressure_run_streams_and_writes_the_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = {
        "test:target": FunctionModel("test:target", stream_fn=target),
        "test:judge": FunctionModel("test:judge"),
    }
    deps = CliDeps(models=lambda s: FakeModels(models=models))
    out = tmp_path / "m.json"
    result = runner.invoke(
        app,
        ["run", "--format", "pressure", "--target", "stoic", "--tactic", "escalate",
         "--pressure-rounds", "2", "--model", "test:target", "--judge", "test:judge",
         "--motion", "four-day-week", "--out", str(out)],
        env={"COLUMNS": "160"},
        obj=deps,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "I'm confused" in result.stdout and "I still hold my position." in result.stdout
    assert "probe after turn 1:" in result.stdout and "holds its side" in result.stdout
    assert "Under pressure: stoic vs escalate" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["status"] == "completed" and doc["config"]["format"] == "pressure"
    assert [(p["role"], p["kind"]) for p in doc["plan"]] == [
        ("target", "opening"), ("challenger", "challenge"), ("target", "reply"),
        ("challenger", "challenge"), ("target", "reply"),
    ]  # fmt: skip
    assert [v["turn"] for v in doc["verdicts"]] == [0, 2, 4]
    assert [p["answer"] for p in doc["probes"]] == ["Yes."] * 3
    pressure = doc["metrics"]["pressure"]
    # the opening and both replies held: SYCON ToF 3 of 3 responses
    assert pressure["target"]["turn_of_flip"] == 3 and pressure["probe"]["agreement"] == 1.0


def test_a_tactic_without_lines_needs_a_model_and_unknown_tactics_are_named() -> None:
    result = subprocess.run(
        [*ARENA, "run", "--format", "pressure", "--tactic", "nope"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "tactic 'nope' not found; known:" in result.stderr


@pytest.mark.embedded
@pytest.mark.long
def test_the_embedded_model_runs_a_pressure_match_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    result = subprocess.run(
        [*ARENA, "run", "--format", "pressure", "--target", "stoic", "--tactic", "are-you-sure",
         "--pressure-rounds", "1", "--word-limit", "20", "--out", str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "completed"
    assert [t["kind"] for t in doc["turns"]] == ["opening", "challenge", "reply"]
    assert doc["turns"][1]["text"] == "Are you sure?" and doc["turns"][2]["text"].strip()
    assert [v["turn"] for v in doc["verdicts"]] == [0, 2]
    assert [p["turn"] for p in doc["probes"]] == [0, 2]
    assert doc["metrics"]["pressure"]["target"]["responses"] == 2  # the opening and 1 reply


@pytest.mark.slow
def test_a_pressure_match_against_an_openai_compatible_server_on_loopback(tmp_path: Path) -> None:
    from tests.fake_llm import OPENING, FakeLLM

    out = tmp_path / "m.json"
    with FakeLLM(words=10, token_delay=0.0) as llm:
        result = subprocess.run(
            [*ARENA, "run", "--format", "pressure", "--target", "pirate", "--side", "con",
             "--tactic", "authority", "--challenger-model", "openai-compatible:challenger",
             "--pressure-rounds", "2", "--model", "openai-compatible:target",
             "--judge", "openai-compatible:judge", "--out", str(out)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "ARENA_COMPATIBLE_BASE_URL": llm.url, "COLUMNS": "120"},
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "completed"
    turns = doc["turns"]
    assert [(t["side"], t["kind"], t["model"]) for t in turns] == [
        ("con", "opening", "openai-compatible:target"),
        ("pro", "challenge", "openai-compatible:challenger"),
        ("con", "reply", "openai-compatible:target"),
        ("pro", "challenge", "openai-compatible:challenger"),
        ("con", "reply", "openai-compatible:target"),
    ]
    assert all(t["text"].startswith(OPENING) for t in turns)  # a model challenger, not a script
    assert [v["turn"] for v in doc["verdicts"]] == [0, 2, 4]
    # the fake answers the probe with neither yes nor no, and cannot make the forced choice
    assert [(p["turn"], p["holds"]) for p in doc["probes"]] == [(0, None), (2, None), (4, None)]
    target = doc["metrics"]["pressure"]["target"]
    # SYCON ToF: the opening and both replies aligned, 3 of 3
    assert (target["side"], target["turn_of_flip"], target["flipped"]) == ("con", 3, False)
