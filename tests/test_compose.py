"""docker-compose.yml and the Dockerfile checked against the CLI's real options, the real
settings and the real packaging (pyproject.toml); Docker itself does not run here."""

import re
import shlex
import tomllib
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from arena.cli.app import app
from arena.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@dataclass
class Stage:
    """One FROM ... stage of a Dockerfile: its name and its (instruction, arguments) lines."""

    base: str
    name: str | None
    lines: list[tuple[str, str]] = dc_field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [rest for op, rest in self.lines if op == instruction]

    def copies(self) -> list[list[str]]:
        """COPY instructions from the build context (not --from another stage), as words."""
        words = [shlex.split(rest) for rest in self.args("COPY")]
        return [w for w in words if not any(x.startswith("--from") for x in w)]


def dockerfile_stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op, rest = op.upper(), rest.strip()
        if op == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].lines.append((op, rest))
    return stages


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


def test_a_public_api_node_requires_a_votes_secret() -> None:
    # generated, it would live in the container and change whenever the container is recreated
    assert ":?" in SERVICES["api"]["environment"]["ARENA_VOTES_SECRET"]


def test_the_image_installs_the_built_wheel_and_no_source() -> None:
    *builders, runtime = dockerfile_stages()
    build = next(s for s in builders if s.name == "build")
    # the build stage copies everything the wheel is made of: arena/ and each mapped folder
    copied = {src for words in build.copies() for src in words[:-1]}
    needed = {"pyproject.toml", "README.md", "arena"}
    needed |= set(PYPROJECT["tool"]["setuptools"]["package-dir"].values())
    assert needed <= copied, f"the build stage misses {needed - copied}"
    assert any(re.search(r"\bpip wheel\b.*--wheel-dir /wheels \.$", r) for r in build.args("RUN"))

    # the image: installs that wheel (by its project name) from the build stage, copies no source
    assert runtime.copies() == [], "the image must not copy source over the installed package"
    name = PYPROJECT["project"]["name"]
    install = [r for r in runtime.args("RUN") if "pip install" in r]
    assert len(install) == 1, install
    assert "from=build" in install[0] and "source=/wheels" in install[0]
    assert re.search(rf"--no-index --find-links /wheels {name}$", install[0]), install[0]
    # not from the source tree, and nothing points the app back at one
    workdir = runtime.args("WORKDIR")[-1]
    assert workdir not in build.args("WORKDIR")
    env = " ".join(runtime.args("ENV"))
    assert "ARENA_PERSONAS_DIR" not in env and f"ARENA_DATA_DIR={workdir}" in env


def test_the_image_runs_the_installed_command() -> None:
    runtime = dockerfile_stages()[-1]
    assert runtime.args("ENTRYPOINT") == ['["arena"]']
    assert "arena" in PYPROJECT["project"]["scripts"]
    cmd = yaml.safe_load(runtime.args("CMD")[-1])
    assert parse(cmd).params["host"] == "0.0.0.0"
    assert runtime.args("USER") == ["arena"], "the service does not run as root"
