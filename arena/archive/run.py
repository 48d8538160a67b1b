"""Archiving: finished matches created before a date, written as Parquet (with a dataset card)
and, with `prune`, removed from Redis once the files are durable.

Used by `arena archive` and, with ARENA_RETENTION_DAYS, by the worker's janitor once a day.
Running and queued matches are never touched; a tournament's match is removed only once the
tournament has recorded its result; the leaderboard's samples stay. Removal is remembered per
run (arena.store.retention), so a removed match's URL answers 410 with the run's date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from arena.archive.card import CardStats, card
from arena.archive.tables import TABLES, ArchivedMatch, Row, match_rows
from arena.archive.writer import ParquetTables, fsync_path
from arena.domain.records import MatchRecord
from arena.store import Store
from arena.store.tournaments import Tournaments
from arena.store.votes import CrowdVotes

log = logging.getLogger(__name__)

BATCH = 200  # matches per row group: bounds the memory an archive of any size takes
Progress = Callable[[str, int, int], None]  # phase ("archive", "remove"), done, total


@dataclass
class ArchiveReport:
    """What a run did: matches archived (written), removed, left in Redis, and the files."""

    before: datetime
    archived: int = 0
    removed: int = 0
    kept: list[str] = field(default_factory=list)  # of tournaments that have not recorded them
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Removal:
    match_id: str
    total_turns: int
    personas: tuple[str, str]


async def read_match(store: Store, votes: CrowdVotes, record: MatchRecord) -> ArchivedMatch:
    """A finished match as the archive keeps it."""
    match_id = record.id
    events = await store.read_events(match_id)
    audit = await votes.audit(match_id, record.total_turns)
    tournament = await Tournaments(store.redis, store.keys).tournament_of(match_id)
    return ArchivedMatch(record, events, audit, tournament)


async def archive(
    store: Store,
    before: datetime,
    out: Path | None,
    *,
    prune: bool,
    progress: Progress | None = None,
) -> ArchiveReport:
    """Archive the finished matches created before `before` into `out` (None: write nothing,
    only with `prune`), then, with `prune`, remove them from Redis."""
    if out is None and not prune:
        raise ValueError("nothing to do: give an output folder, or prune")
    report, now = ArchiveReport(before), datetime.now(UTC)
    ids = await store.retention.finished_before(before)
    if not ids:
        return report
    votes = CrowdVotes(store.redis, store.keys)
    tables = None if out is None else await asyncio.to_thread(ParquetTables, out)
    found = _Found()
    try:
        for start in range(0, len(ids), BATCH):
            batch = await _read(store, votes, ids[start : start + BATCH], found)
            if tables is not None:
                await asyncio.to_thread(tables.add, batch)
            if progress is not None:
                progress("archive", min(len(ids), start + BATCH), len(ids))
        if tables is not None and out is not None:
            report.files = await asyncio.to_thread(tables.close)
            tables = None
            text = card(found.stats, before, now)
            report.files.append(await asyncio.to_thread(_write_card, out, text))
    finally:
        if tables is not None:
            await asyncio.to_thread(tables.abort)
    report.archived = found.stats.rows["matches"]
    if prune:
        await store.retention.forget_index_entries(found.gone)
        await _remove(store, found.removals, now, report, progress)
    return report


@dataclass
class _Found:
    """What the reading found: counts for the card, matches to remove, records gone."""

    stats: CardStats = field(default_factory=CardStats)
    removals: list[_Removal] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)


async def _read(
    store: Store, votes: CrowdVotes, ids: list[str], found: _Found
) -> dict[str, list[Row]]:
    """The rows of a batch of matches, by table."""
    batch: dict[str, list[Row]] = {name: [] for name in TABLES}
    for match_id in ids:
        record = await store.get_match(match_id)
        if record is None:  # removed by a run that stopped half-way: its index entries remain
            found.gone.append(match_id)
            continue
        if not record.finished:
            continue
        match = await read_match(store, votes, record)
        rows = match_rows(match)
        found.stats.add(match, rows)
        for name, table in rows.items():
            batch[name] += table
        personas = (record.spec.pro.persona, record.spec.con.persona)
        found.removals.append(_Removal(match_id, record.total_turns, personas))
    return batch


def _write_card(out: Path, text: str) -> Path:
    path = out / "README.md"
    path.write_text(text, "utf-8")
    fsync_path(path)
    fsync_path(out)
    return path


async def _remove(
    store: Store,
    removals: list[_Removal],
    now: datetime,
    report: ArchiveReport,
    progress: Progress | None,
) -> None:
    retention = store.retention
    doomed = []
    for removal in removals:
        if await retention.unrecorded_by_tournament(removal.match_id):
            report.kept.append(removal.match_id)
        else:
            doomed.append(removal)
    if not doomed:
        return
    # the boundary first: a match that is then not removed still exists and is served as before
    await retention.record_run(max(r.match_id for r in doomed), now)
    for i, removal in enumerate(doomed, 1):
        if await retention.remove(removal.match_id, removal.total_turns, removal.personas):
            report.removed += 1
        if progress is not None and (i % BATCH == 0 or i == len(doomed)):
            progress("remove", i, len(doomed))
    log.info("archive: removed %d matches created before %s", report.removed, report.before)
