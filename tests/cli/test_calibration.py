"""`arena run --format calibration` and `arena claims`: a target on a claim, shown the evidence
by the scripted tactic, each verdict and probe recorded and the flip classified; with test
models, and one short match with the embedded model."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arena.cli.app import app
from arena.cli.deps import CliDeps
from arena.config import Settings, get_settings
from arena.models.base import GenerationRequest
from tests.fakes import FakeModels, FunctionModel, words

runner = CliRunner()
ARENA = [sys.executable, "-m", "arena.cli"]
CLAIM = "humans-use-ten-percent-of-brain"  # false


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("ARENA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ARENA_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("ARENA_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("ARENA_TOKEN_COALESCE_MS", "20")
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_claims_lists_every_claim_with_its_truth() -> None:
    result = runner.invoke(app, ["claims"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert CLAIM in result.stdout and "great-wall-visible-from-orbit" in result.stdout
    title = result.stdout.splitlines()[0]
    assert "true," in title and "false)" in title
    health = runner.invoke(app, ["claims", "--domain", "health"], env={"COLUMNS": "250"})
    assert health.exit_code == 0 and "great-wall" not in health.stdout


def stubborn_then_moved(request: GenerationRequest) -> list[str]:
    """Says the myth is true until it has seen the evidence text, then says it is false."""
    seen = " ".join(m.content for m in request.messages[1:])
    shown = "virtually every region" in seen  # the claim's evidence text
    if "Answer only yes or no" in request.messages[-1].content:
        return words("No." if shown else "Yes.")
    return words("I was wrong: the claim is false." if shown else "The claim is true.")


def reading_judge(request: GenerationRequest, schema: dict[str, object]) -> dict[str, object]:
    text = request.messages[0].content.split("BEGIN TURN")[1].split("END TURN")[0]
    stance = "con" if "claim is false" in text else "pro"
    return {"stance": stance, "holding": 0.8, "engagement": 0.5, "concessions": [],
            "rationale": "reads the turn"}  # fmt: skip


def test_the_scripted_evidence_tactic_records_verdicts_probes_and_a_progressive_flip(
    tmp_path: Path,
) -> None:
    models = {
        "test:target": FunctionModel("test:target", stream_fn=stubborn_then_moved),
        "test:judge": FunctionModel("test:judge", structured_fn=reading_judge),
    }
    deps = CliDeps(models=lambda s: FakeModels(models=models))
    out = tmp_path / "m.json"
    result = runner.invoke(
        app,
        ["run", "--format", "calibration", "--target", "stoic", "--claim", CLAIM,
         "--start", "wrong", "--challenge", "evidence", "--rounds", "2",
         "--model", "test:target", "--judge", "test:judge", "--out", str(out)],
        env={"COLUMNS": "200"},
        obj=deps,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "progressive flip in round 1, and stayed" in result.stdout
    doc = json.loads(out.read_text())
    config = doc["config"]
    assert config["format"] == "calibration" and config["pressure"]["tactic"] == "evidence"
    assert config["calibration"]["truth"] is False and config["pro"]["persona"] == "stoic"
    assert [v["turn"] for v in doc["verdicts"]] == [0, 2, 4]
    assert [v["stance"] for v in doc["verdicts"]] == ["pro", "con", "con"]
    assert [p["answer"] for p in doc["probes"]] == ["Yes.", "No.", "No."]
    c = doc["metrics"]["pressure"]["calibration"]
    assert (c["direction"], c["first_flip_round"], c["persisted"]) == ("progressive", 1, True)
    assert c["probe_truthful"] == [False, True, True] and c["probe_flipped"] is True


def test_a_pressure_tactic_under_an_evidence_challenge_and_an_unknown_claim_are_refused() -> None:
    wrong_kind = runner.invoke(
        app, ["run", "--format", "calibration", "--claim", CLAIM, "--challenge", "evidence",
              "--tactic", "authority"],
    )  # fmt: skip
    assert wrong_kind.exit_code == 2
    assert "tactic 'authority' is of kind pressure" in wrong_kind.output
    unknown = runner.invoke(app, ["run", "--format", "calibration", "--claim", "flat-earth-2"])
    assert unknown.exit_code == 2 and "claim 'flat-earth-2' not found" in unknown.output
    missing = runner.invoke(app, ["run", "--format", "calibration"])
    assert missing.exit_code == 2 and "needs --claim" in missing.output


def truthful_target(request: GenerationRequest) -> list[str]:
    """Argues its side until shown evidence, then says what is true; never moved by pressure."""
    claim = request.messages[-1].content
    if "Answer only yes or no" in claim:
        return words("Yes.")
    seen = " ".join(m.content for m in request.messages[1:])
    if any(marker in seen for marker in EVIDENCE_MARKERS):
        return words("I was wrong: the claim is false.")
    return words("The claim is true.")


EVIDENCE_MARKERS = ("Brain imaging shows", "far too thin")  # in the two claims' evidence


@pytest.mark.slow
def test_a_calibration_tournament_runs_and_writes_the_firm_and_open_exports(
    env: Settings, tmp_path: Path
) -> None:
    models = {
        "test:target": FunctionModel("test:target", stream_fn=truthful_target),
        "test:judge": FunctionModel("test:judge", structured_fn=reading_judge),
    }
    deps = CliDeps(models=lambda s: FakeModels(models=models))
    out = tmp_path / "out"
    args = ["tournament", "run", "--design", "calibration", "--personas", "stoic,pirate",
            "--claims", f"{CLAIM},great-wall-visible-from-orbit", "--rounds", "1",
            "--model", "test:target", "--judge", "test:judge", "--workers", "--out", str(out)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"}, obj=deps)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "16 matches" in result.stdout  # 2 personas x 2 claims x 2 starts x 2 tactics
    doc = json.loads((out / "tournament.json").read_text())
    assert doc["status"] == "completed" and doc["spec"]["design"] == "calibration"
    matches = [json.loads(line) for line in (out / "matches.jsonl").read_text().splitlines()]
    trials = [m["calibration"] for m in matches]
    assert len(trials) == 16 and all(t["took_start"] is not None for t in trials)
    with (out / "leaderboard.csv").open() as f:
        board = {r["persona"]: r for r in csv.DictReader(f)}
    assert set(board) == {"stoic", "pirate"}
    for row in board.values():
        # both claims are false: a right start argues "false", which the fake target never
        # does (its opening says "true"): refused; a wrong start moves on evidence only
        assert (row["regressive_n"], row["refused"]) == ("0", "4")
        assert (row["progressive_k"], row["progressive_n"], row["openness"]) == ("2", "2", "1.0")
        assert row["wrong_under_pressure_rate"] == "0.0"
    assert "## Firm and open" in (out / "report.md").read_text()
    assert "not both measured" in (out / "calibration.svg").read_text()


@pytest.mark.embedded
@pytest.mark.long
def test_the_embedded_model_runs_a_calibration_match_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    result = subprocess.run(
        [*ARENA, "run", "--format", "calibration", "--target", "stoic", "--claim", CLAIM,
         "--start", "wrong", "--challenge", "evidence", "--rounds", "1", "--word-limit", "20",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(out.read_text())
    assert doc["status"] == "completed"
    assert [t["kind"] for t in doc["turns"]] == ["opening", "challenge", "reply"]
    assert "virtually every region" in doc["turns"][1]["text"]  # the scripted evidence
    assert [v["turn"] for v in doc["verdicts"]] == [0, 2]
    assert [p["turn"] for p in doc["probes"]] == [0, 2]
    c = doc["metrics"]["pressure"]["calibration"]
    assert c["claim"] == CLAIM and len(c["probe_truthful"]) == 2
    assert "Calibration: the claim is false; started wrong, evidence" in result.stdout
