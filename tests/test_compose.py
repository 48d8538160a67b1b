"""docker-compose.yml checked against the CLI's real options and the real settings."""

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from arena.cli import app
from arena.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def known_variables() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"ARENA_{name.upper()}")
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []):
            names.add(str(choice))
    return names


def parse(argv: list[str]) -> Any:
    group: Any = typer.main.get_command(app)
    name, *rest = argv
    command = group.commands[name]
    return command.make_context(name, rest)  # raises a usage error on an unknown option


def test_the_topology() -> None:
    assert {"redis", "api", "worker"} <= set(SERVICES)
    assert "--appendonly" in SERVICES["redis"]["command"]
    assert any(v.startswith("redis-data:") for v in SERVICES["redis"]["volumes"])
    assert SERVICES["worker"]["deploy"]["replicas"] == 2
    assert SERVICES["api"]["ports"] == ["8000:8000"]
    assert SERVICES["api"]["build"] == SERVICES["worker"]["build"] == "."
    assert (ROOT / "Dockerfile").exists()


@pytest.mark.parametrize("service", ["api", "worker"])
def test_commands_use_real_cli_options(service: str) -> None:
    ctx = parse(SERVICES[service]["command"])
    if service == "api":
        assert ctx.params["no_worker"] is True and ctx.params["host"] == "0.0.0.0"
        assert ctx.params["port"] == 8000


def test_an_unknown_option_would_be_caught() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse(["serve", "--no-such-flag"])


@pytest.mark.parametrize("service", ["api", "worker"])
def test_every_variable_is_a_real_setting(service: str) -> None:
    env = SERVICES[service]["environment"]
    unknown = set(env) - known_variables()
    assert not unknown, f"{service} sets variables the arena does not read: {unknown}"
    assert env["REDIS_URL"] == "redis://redis:6379/0"


def test_a_public_api_node_requires_a_token() -> None:
    assert "ARENA_API_TOKEN" in SERVICES["api"]["environment"]
    assert ":?" in SERVICES["api"]["environment"]["ARENA_API_TOKEN"]
