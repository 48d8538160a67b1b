import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arena.cli.app import app
from arena.cli.deps import CliDeps
from arena.config import get_settings
from tests.fakes import FakeModels, FunctionModel, words

runner = CliRunner()
ARENA = [sys.executable, "-m", "arena.cli"]


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()


def test_personas_table_and_schema() -> None:
    result = runner.invoke(app, ["personas"])
    assert result.exit_code == 0 and "pirate" in result.stdout and "kantian" in result.stdout
    schema = json.loads(runner.invoke(app, ["personas", "schema"]).stdout)
    assert schema["title"] == "Persona" and "system_prompt" in schema["properties"]


def test_motions_table() -> None:
    result = runner.invoke(app, ["motions"])
    assert result.exit_code == 0 and "This house" in result.stdout


def test_an_unknown_persona_is_named(tmp_path: Path) -> None:
    result = subprocess.run([*ARENA, "run", "--pro", "pirat"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "persona 'pirat' not found; known:" in result.stderr


def test_a_missing_key_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run([*ARENA, "run", "--pro-model", "openai:gpt-4o-mini"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2 and "OPENAI_API_KEY is not set" in result.stderr


def test_run_streams_and_writes_the_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = {name: FunctionModel(name) for name in ("test:a", "test:b", "test:judge")}
    deps = CliDeps(models=lambda s: FakeModels(models=models))
    out = tmp_path / "match.json"
    result = runner.invoke(app, ["run", "--pro", "kantian", "--con", "cynic", "--rounds", "1",
                                 "--pro-model", "test:a", "--con-model", "test:b",
                                 "--judge", "test:judge", "--out", str(out)], obj=deps)
    assert result.exit_code == 0, result.output
    assert "I argue FOR the motion" in result.stdout and "verdict on turn 1" in result.stdout
    assert "Position-holding" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["status"] == "completed" and doc["config"]["pro"]["persona"] == "kantian"
    assert len(doc["turns"]) == 6 and len(doc["verdicts"]) == 6
    assert doc["metrics"]["pro"]["mean_holding"] == 0.9


@pytest.mark.embedded
@pytest.mark.long
def test_the_embedded_model_debates_and_ctrl_c_still_writes_the_match(tmp_path: Path) -> None:
    out = tmp_path / "match.json"
    proc = subprocess.Popen(
        [*ARENA, "run", "--rounds", "1", "--word-limit", "20", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # wait until the second turn has been spoken, then press Ctrl-C
        seen.append(line)
        if sum("tokens," in s for s in seen) >= 2:
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=600)
    output = "".join(seen) + rest
    assert "PRO · pirate · opening" in output and "CON · assistant · opening" in output
    assert proc.returncode == 1 and "match cancelled" in output
    doc = json.loads(out.read_text())
    assert doc["status"] == "cancelled"
    assert [t["completed"] for t in doc["turns"]][:2] == [True, True]
    assert doc["turns"][0]["text"].strip()


def test_serve_refuses_a_public_address_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARENA_API_TOKEN"}
    result = subprocess.run([*ARENA, "serve", "--host", "0.0.0.0", "--port", "1"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without ARENA_API_TOKEN" in result.stderr
    assert "--insecure" in result.stderr


MARKUP = "Arr [/x] matey, [bold]shout[/bold] and [red]"


def test_markup_in_model_and_user_text_prints_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def judge(request: object, schema: object) -> dict[str, object]:
        return {"stance": "pro", "holding": 0.9, "engagement": 0.5, "concessions": [MARKUP],
                "rationale": f"It says {MARKUP}"}

    models = {
        "test:a": FunctionModel("test:a", stream_fn=lambda request: words(MARKUP)),
        "test:b": FunctionModel("test:b", stream_fn=lambda request: [MARKUP]),
        "test:judge": FunctionModel("test:judge", structured_fn=judge),
    }
    deps = CliDeps(models=lambda s: FakeModels(models=models))
    result = runner.invoke(app, ["run", "--rounds", "1", "--motion", "Cats [/b] rule [i]",
                                 "--pro-model", "test:a", "--con-model", "test:b",
                                 "--judge", "test:judge"], env={"COLUMNS": "400"}, obj=deps)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(MARKUP) >= 6  # every turn's text, as written
    assert f"It says {MARKUP}" in result.stdout
    assert "Cats [/b] rule [i]" in result.stdout


def test_an_error_naming_user_text_prints_it_literally() -> None:
    result = runner.invoke(app, ["run", "--pro", "[/x]pirat[bold]"])
    assert result.exit_code == 2
    assert "persona '[/x]pirat[bold]' not found" in result.output


def test_the_terminal_shows_a_restarted_turn() -> None:
    from io import StringIO

    from rich.console import Console

    from arena.cli.console import LiveRenderer
    from arena.domain.events import Token, TurnRestarted, TurnStarted

    out = StringIO()
    render = LiveRenderer(Console(file=out, width=200))

    async def play() -> None:
        await render(TurnStarted(match_id="m", turn=0, side="pro", kind="opening",
                                 persona="[/x]", model="test:a"))
        await render(Token(match_id="m", turn=0, text="Cats rule the"))
        await render(TurnRestarted(match_id="m", turn=0, reason="restarted after a provider error",
                                   attempt=2))
        await render(Token(match_id="m", turn=0, text="Dogs drool."))

    asyncio.run(play())
    text = out.getvalue()
    assert "PRO · [/x] · opening" in text
    assert "restarted after a provider error" in text
    assert text.index("restarted after a provider error") < text.index("Dogs drool.")
