"""`arena personas import` and `arena personas export` against the test's Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from arena.cli.app import app
from arena.config import Settings, get_settings
from arena.domain.personas import Persona
from arena.personas import cards, png
from arena.personas.library import load_library
from tests.engine_helpers import PERSONAS
from tests.personas.test_cards import V2

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ARENA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ARENA_KEY_PREFIX", settings.key_prefix)
    monkeypatch.setenv("ARENA_PERSONAS_DIR", str(PERSONAS))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_a_card_and_a_modelfile_then_export_them(tmp_path: Path) -> None:
    card = tmp_path / "marcus.json"
    card.write_text(json.dumps(V2))
    modelfile = tmp_path / "mario.Modelfile"
    modelfile.write_text('FROM llama3\nSYSTEM """You are Mario, a plumber with opinions."""\n')
    result = runner.invoke(app, ["personas", "import", str(card), str(modelfile)])
    assert result.exit_code == 0, result.output
    assert "marcus.json -> marcus-the-stoic (card-v2, ready)" in result.output
    assert "mario.Modelfile -> mario (modelfile, draft)" in result.output
    assert "to fill in: beliefs" in result.output
    out = tmp_path / "marcus.png"
    exported = runner.invoke(
        app,
        [
            "personas",
            "export",
            "marcus-the-stoic",
            "--format",
            "card-v3",
            "--png",
            "--out",
            str(out),
        ],
    )
    assert exported.exit_code == 0, exported.output
    again = cards.read_file(out.name, out.read_bytes())
    assert again.origin == "card-v3" and again.fields["name"] == "Marcus the Stoic"


def test_export_a_file_persona_as_yaml_to_stdout() -> None:
    result = runner.invoke(app, ["personas", "export", "pirate", "--format", "yaml"])
    assert result.exit_code == 0, result.output
    assert Persona.model_validate(yaml.safe_load(result.stdout)) == load_library(PERSONAS).persona(
        "pirate"
    )


def test_a_bad_file_fails_the_batch_naming_it(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(V2))
    bad = tmp_path / "bad.png"
    bad.write_bytes(png.minimal())
    result = runner.invoke(app, ["personas", "import", str(good), str(bad)])
    assert result.exit_code == 2
    assert "bad.png: a PNG without a character card" in result.output
    unknown = runner.invoke(app, ["personas", "export", "marcus-the-stoic"])
    assert unknown.exit_code == 2 and "not found" in unknown.output
