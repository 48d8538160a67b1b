"""`arena votes export`: the crowd-labelled turns as judge-eval rows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arena.cli.deps import cli_deps
from arena.config import Settings

votes_app = typer.Typer(help="Spectators' votes on turns: crowd labels for judge-eval.")


async def _export(settings: Settings, min_votes: int) -> list[dict[str, object]]:
    from arena.crowd.export import export_rows
    from arena.crowd.turns import voted_turns
    from arena.store import Store
    from arena.store.votes import CrowdVotes

    store = await Store.connect(settings)
    try:
        votes = CrowdVotes(store.redis, store.keys, settings.votes_secret)
        return export_rows(await voted_turns(store, votes), min_votes)
    finally:
        await store.close()


@votes_app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSONL file to write")],
    min_votes: Annotated[
        int | None, typer.Option(min=1, help="votes a turn needs (default ARENA_VOTES_MIN)")
    ] = None,
) -> None:
    """Write voted turns with a crowd majority as judge-eval JSONL: `arena judge-eval OUT`."""
    settings = cli_deps(ctx).settings()
    rows = asyncio.run(_export(settings, min_votes or settings.votes_min))
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    Console(stderr=True).print(f"wrote {len(rows)} crowd-labelled turns to {out}")
