"""Retention: finished matches before a date archived as Parquet and removed from Redis, the rest
and the leaderboard left as they were."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arena.archive.card import type_label
from arena.archive.columns import COLUMNS
from arena.archive.run import archive
from arena.archive.tables import PANEL, SCHEMAS, TABLES
from arena.cli.app import app
from arena.cli.deps import CliDeps
from arena.config import REPO_ROOT, Settings
from arena.domain.events import Event, Verdict
from arena.domain.tournaments import Slot
from arena.domain.transcript import fold
from arena.leaderboard.board import Leaderboard
from arena.leaderboard.rows import LeaderboardRow
from arena.store import Store
from arena.store.tournaments import Tournaments
from arena.store.votes import CrowdVotes
from arena.tournaments.results import match_result
from arena.worker.janitor import Janitor
from tests.store.helpers import spec, turn_started
from tests.store.realpath import play_real_path
from tests.store.test_compaction import eventful_match


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """As tests/store/test_compaction.py: one entry per token, matches due at their end."""
    store = await Store.connect(
        settings.model_copy(update={"token_coalesce_ms": 0, "compact_after_seconds": 0})
    )
    try:
        yield store
    finally:
        await store.close()


@dataclass
class History:
    """Matches of every kind, created before `cutoff` unless said otherwise."""

    archived: list[str]  # finished, created before the cutoff, removable
    unrecorded: str  # finished, of a tournament that has not recorded it yet
    running: str
    queued: str
    late: str  # finished, created after the cutoff
    cutoff: datetime
    events: dict[str, list[Event]]


def _created_ms(match_id: str) -> int:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    value = 0
    for char in match_id[:10]:
        value = value * 32 + alphabet.index(char)
    return value


async def history(store: Store) -> History:
    votes = CrowdVotes(store.redis, store.keys)
    compacted = await play_real_path(store, seed=1)
    for voter, label in (("a", "holds"), ("b", "wavers"), ("c", "holds")):
        await votes.cast(compacted, 2, voter, label, f"ip-{voter}", 5)  # type: ignore[arg-type]
    assert await Janitor(store, store.settings, "j").compact_due() == 1
    await votes.cast(compacted, 3, "a", "switched", "ip-a", 5)  # after compaction: a ballot
    stream = await play_real_path(store, seed=2)  # not compacted yet: read from its stream
    failed = await eventful_match(store)
    recorded, unrecorded = await play_real_path(store, seed=3), await play_real_path(store, seed=4)
    tournaments = Tournaments(store.redis, store.keys)
    for slot, match_id in enumerate((recorded, unrecorded)):
        await tournaments.set_match("t1", slot, match_id)
    record = await store.get_match(recorded)
    assert record is not None
    slot = Slot(index=0, motion=record.spec.motion, pro="pirate", con="kantian")
    await tournaments.add_result(
        match_result("t1", slot, record, await store.read_events(recorded))
    )
    running = await store.create_match(spec())
    await store.begin_run(running.id, "w1")
    await store.event_sink(running.id)(turn_started(running.id))
    queued = await store.create_match(spec())
    late = await play_real_path(store, seed=5)
    archived = [compacted, stream, failed, recorded]
    events = {m: await store.read_events(m) for m in [*archived, unrecorded]}
    cutoff = datetime.fromtimestamp(_created_ms(late) / 1000, UTC)
    return History(archived, unrecorded, running.id, queued.id, late, cutoff, events)


async def board(store: Store) -> list[LeaderboardRow]:
    leaderboard = Leaderboard(store.samples)
    try:
        return await leaderboard.rows("persona")
    finally:
        await leaderboard.aclose()


async def own_keys(store: Store, match_id: str) -> list[str]:
    pattern = store.keys.match(match_id).replace("{", "\\{").replace("}", "\\}") + "*"
    return [str(k) async for k in store.redis.scan_iter(match=pattern)]


async def indexed(store: Store, match_id: str) -> list[str]:
    """The indexes that still name the match."""
    k, found = store.keys, []
    for key in [k.matches, *k.all_statuses(), k.persona("pirate"), k.persona("kantian"),
                k.compact_due, k.voted]:  # fmt: skip
        if await store.redis.zscore(key, match_id) is not None:
            found.append(key)
    if await store.redis.hexists(k.match_tournament, match_id):
        found.append(k.match_tournament)
    return found


def read(out: Path, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(out / f"{table}.parquet").to_pylist()
    return rows


async def test_only_finished_matches_before_the_cutoff_are_archived_and_removed(
    store: Store, tmp_path: Path
) -> None:
    h = await history(store)
    rows_before, samples = await board(store), await store.redis.hlen(store.keys.lb_samples)
    out = tmp_path / "archive"
    progress: list[tuple[str, int, int]] = []
    report = await archive(store, h.cutoff, out, prune=True, progress=lambda *p: progress.append(p))
    archived = [*h.archived, h.unrecorded]
    assert (report.archived, report.removed, report.kept) == (5, 4, [h.unrecorded])
    assert progress[-1] == ("remove", 4, 4) and ("archive", 5, 5) in progress
    assert sorted(p.name for p in report.files) == sorted(
        [*(f"{t}.parquet" for t in TABLES), "README.md"]
    )
    # the files hold the matches: every turn's text, every verdict of the panel and each judge
    assert sorted(r["match_id"] for r in read(out, "matches")) == sorted(archived)
    turns, verdicts = read(out, "turns"), read(out, "verdicts")
    for match_id in archived:
        view = fold(h.events[match_id])
        assert [(r["turn"], r["text"], r["completed"]) for r in turns
                if r["match_id"] == match_id] == [
            (t.turn, t.text, t.completed) for t in view.ordered
        ]  # fmt: skip
        expected = [(v.turn, PANEL, v.holding, v.rationale) for v in _verdicts(h.events[match_id])]
        expected += [(v.turn, j.judge, j.holding, j.rationale)
                     for v in _verdicts(h.events[match_id]) for j in v.judges]  # fmt: skip
        got = [(r["turn"], r["judge"], r["holding"], r["rationale"]) for r in verdicts
               if r["match_id"] == match_id]  # fmt: skip
        assert sorted(got, key=repr) == sorted(expected, key=repr)
    tallies = {(r["match_id"], r["turn"]): (r["holds"], r["wavers"], r["switched"], r["voters"])
               for r in read(out, "votes")}  # fmt: skip
    assert tallies[(h.archived[0], 2)] == (2, 1, 0, 3)
    assert tallies[(h.archived[0], 3)] == (0, 0, 1, 1)
    assert tallies[(h.archived[2], 0)] == (2, 0, 0, 2)
    # removed from Redis with every index entry; the rest and the leaderboard as they were
    for match_id in h.archived:
        assert await store.get_match(match_id) is None
        assert await own_keys(store, match_id) == []
        assert await indexed(store, match_id) == []
        assert await store.archived_on(match_id) is not None
    for match_id in (h.unrecorded, h.running, h.queued, h.late):
        assert await store.get_match(match_id) is not None
    assert await store.archived_on(h.late) is None
    assert await store.read_events(h.unrecorded) == h.events[h.unrecorded]
    assert await board(store) == rows_before
    assert await store.redis.hlen(store.keys.lb_samples) == samples
    # archives are never overwritten
    with pytest.raises(Exception, match="already holds an archive"):
        await archive(store, h.cutoff, out, prune=False)


def _verdicts(events: list[Event]) -> list[Verdict]:
    return [e for e in events if isinstance(e, Verdict)]


async def test_the_card_and_the_schemas(store: Store, tmp_path: Path) -> None:
    match_id = await play_real_path(store)
    later = datetime.now(UTC) + timedelta(seconds=1)
    await archive(store, later, tmp_path, prune=False)
    for table in TABLES:
        assert pq.read_schema(tmp_path / f"{table}.parquet").equals(SCHEMAS[table])
    readme = (tmp_path / "README.md").read_text()
    assert 'license_name: "FILL-IN' in readme and "config_name: verdicts" in readme
    assert "- Matches: 1 (1 completed; 1 debate)" in readme
    assert "- Judges: test:judge" in readme
    assert "| `holding` | `float64` |" in readme and "`timestamp[us, UTC]`" in readme
    assert await store.get_match(match_id) is not None  # without --prune nothing is removed


def test_the_command_archives_and_prunes_end_to_end(settings: Settings, tmp_path: Path) -> None:
    quick = settings.model_copy(update={"token_coalesce_ms": 0, "compact_after_seconds": 0})

    async def setup() -> list[str]:
        store = await Store.connect(quick)
        try:
            return [await play_real_path(store, seed=s) for s in range(3)]
        finally:
            await store.close()

    matches = asyncio.run(setup())
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    out = tmp_path / "dataset"
    args = ["archive", "--before", tomorrow, "--out", str(out), "--prune"]
    result = CliRunner().invoke(app, args, obj=CliDeps(settings=lambda: quick))
    assert result.exit_code == 0, result.output
    assert f"archived 3 matches to {out}" in result.stdout
    assert "removed 3 matches from Redis" in result.stdout
    assert sorted(r["match_id"] for r in read(out, "matches")) == sorted(matches)
    again = CliRunner().invoke(
        app, ["archive", "--before", tomorrow, "--out", str(tmp_path / "again")],
        obj=CliDeps(settings=lambda: quick),
    )  # fmt: skip
    assert again.exit_code == 0 and "no finished match was created before" in again.stdout
    bad = CliRunner().invoke(
        app, ["archive", "--before", "last week", "--out", str(out)],
        obj=CliDeps(settings=lambda: quick),
    )  # fmt: skip
    assert bad.exit_code == 2 and "not a date" in bad.output


async def test_the_janitor_runs_retention_once_a_day(store: Store, tmp_path: Path) -> None:
    match_id = await play_real_path(store)
    refusing = store.settings.model_copy(update={"retention_days": 1e-9})
    await Janitor(store, refusing, "j1").retention()  # no archive folder: nothing removed
    assert await store.get_match(match_id) is not None
    await store.redis.delete(store.keys.retention_run)
    keeping = refusing.model_copy(update={"archive_dir": tmp_path})
    await Janitor(store, keeping, "j1").retention()
    assert await store.get_match(match_id) is None
    (run,) = tmp_path.iterdir()
    assert [r["match_id"] for r in read(run, "matches")] == [match_id]
    other = await play_real_path(store, seed=1)
    await Janitor(store, keeping, "j2").retention()  # the day's run is taken
    assert await store.get_match(other) is not None


def test_the_docs_describe_every_column_of_every_table() -> None:
    page = (REPO_ROOT / "docs" / "archive.md").read_text()
    for table in TABLES:
        assert set(COLUMNS[table]) == set(SCHEMAS[table].names)
        for column in SCHEMAS[table]:
            meaning = COLUMNS[table][column.name]
            assert f"| `{column.name}` | `{type_label(column.type)}` | {meaning} |" in page
