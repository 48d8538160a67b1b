"""What the commands build their parts from: the settings and the models. A command reads them
from its click context, so a test passes fakes with `CliRunner().invoke(app, args, obj=CliDeps(
...))` instead of patching module globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import typer

from arena.config import Settings, get_settings
from arena.models.cache import ModelFactory, Models


@dataclass(frozen=True)
class CliDeps:
    settings: Callable[[], Settings] = get_settings
    models: Callable[[Settings], ModelFactory] = Models


def cli_deps(ctx: typer.Context) -> CliDeps:
    """The dependencies given to the run (CliDeps() when none were: the real ones)."""
    found = ctx.find_object(CliDeps)
    return found if found is not None else CliDeps()
