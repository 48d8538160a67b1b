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
    rows: list[dict[str, object]] = []
    try:
        votes = CrowdVotes(store.redis, store.keys, settings.votes_secret)
        cursor: str | None = None
        while True:  # page by page: the whole set never sits in one reply
            ids, cursor = await votes.voted_page(cursor, 200)
            turns = await voted_turns(store, votes, ids)
            rows += export_rows(turns, min_votes, settings.votes_min_ips)
            if cursor is None:
                return rows
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
    """Write voted turns with a gold label (each address counted once, at least
    ARENA_VOTES_MIN_IPS addresses) as judge-eval JSONL: `arena judge-eval OUT`."""
    settings = cli_deps(ctx).settings()
    rows = asyncio.run(_export(settings, min_votes or settings.votes_min))
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    Console(stderr=True).print(f"wrote {len(rows)} crowd-labelled turns to {out}")
