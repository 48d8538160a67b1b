"""`arena archive`: finished matches created before a date, as Parquet files and a dataset card,
and with --prune removed from Redis once the files are on disk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from arena.cli.deps import cli_deps
from arena.cli.output import console, err, fail
from arena.config import Settings
from arena.errors import ArenaError

if TYPE_CHECKING:
    from arena.archive.run import ArchiveReport

PHASES = {"archive": "writing Parquet", "remove": "removing from Redis"}


def parse_date(value: str) -> datetime:
    """A date (midnight UTC) or an ISO time (UTC unless it names its zone)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2025-01-31") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _archive(settings: Settings, before: datetime, out: Path, prune: bool) -> ArchiveReport:
    from arena.archive.run import archive
    from arena.store import Store

    store = await Store.connect(settings)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def show(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(PHASES.get(phase, phase), total=total)
                progress.update(tasks[phase], completed=done, total=total)

            return await archive(store, before, out, prune=prune, progress=show)
    finally:
        await store.close()


def archive_command(
    ctx: typer.Context,
    before: Annotated[
        str, typer.Option(help="archive finished matches created before this date (UTC)")
    ],
    out: Annotated[Path, typer.Option(help="folder for the Parquet files and README.md")],
    prune: Annotated[
        bool, typer.Option("--prune", help="then remove the archived matches from Redis")
    ] = False,
) -> None:
    """Write finished matches as Parquet (matches, turns, verdicts, probes, votes) with a
    dataset card; with --prune, remove them from Redis once the files are on disk."""
    settings = cli_deps(ctx).settings()
    cutoff = parse_date(before)
    try:
        report = asyncio.run(_archive(settings, cutoff, out, prune))
    except ArenaError as exc:
        raise fail(str(exc)) from exc
    if not report.archived:
        console.print(f"no finished match was created before {cutoff.isoformat()}")
        return
    # paths are not wrapped: they are copied from here
    console.print(f"archived {report.archived} matches to {escape(str(out))}", soft_wrap=True)
    for path in report.files:
        console.print(f"  {escape(path.name)}  {path.stat().st_size:,} bytes")
    if prune:
        console.print(f"removed {report.removed} matches from Redis")
    if report.kept:
        console.print(
            f"kept {len(report.kept)} in Redis: their tournament has not recorded them yet "
            "(run the tournament, or archive again later)"
        )
