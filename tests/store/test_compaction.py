"""Compaction: a finished match reads the same before and after, in a fraction of the memory."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arena.config import Settings
from arena.crowd import turns as crowd_turns
from arena.crowd.turns import voted_turns
from arena.domain.events import (
    Event,
    MatchFailed,
    MatchStarted,
    Token,
    TurnRestarted,
    Votes,
)
from arena.domain.tournaments import Slot
from arena.domain.transcript import fold
from arena.store import Store
from arena.store.feed import BLOCK_MS, PAGE
from arena.store.hub import Hub, event_key
from arena.store.votes import CrowdVotes
from arena.tournaments.results import match_result
from arena.worker.janitor import Janitor
from tests.polling import eventually
from tests.store.helpers import spec, token, turn_completed, turn_started
from tests.store.realpath import match_memory, play_real_path
from tests.store.test_leaderboard import verdict

TARGET_BYTES = 8 * 1024
MEASURED = 5  # matches, each with other texts


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """A store whose sink writes each token as its own entry (as a busy stream would, chunk by
    chunk) and whose matches are due for compaction as soon as they end."""
    store = await Store.connect(
        settings.model_copy(update={"token_coalesce_ms": 0, "compact_after_seconds": 0})
    )
    try:
        yield store
    finally:
        await store.close()


async def eventful_match(store: Store) -> str:
    """A match with a reply started over, spectators' tallies (two of one turn), and a last
    turn cut off by a failure."""
    record = await store.create_match(spec())
    match_id, votes = record.id, CrowdVotes(store.redis, store.keys)
    sink = store.event_sink(match_id)
    await sink(MatchStarted(match_id=match_id, spec=record.spec, total_turns=6))
    await sink(turn_started(match_id, 0))
    for text in ("Arr, ", "I"):
        await sink(token(match_id, text))
    await sink(TurnRestarted(match_id=match_id, turn=0, reason="the provider failed"))
    for text in ("Ahoy", " mates"):
        await sink(token(match_id, text))
    await sink(turn_completed(match_id, "Ahoy mates", 0))
    await sink(verdict(match_id, 0, 0.8))
    for voter in ("v1", "v2"):
        assert (await votes.cast(match_id, 0, voter, "holds", f"ip-{voter}", 5)).outcome == "ok"
        assert await votes.publish(match_id, 0)
    await sink(turn_started(match_id, 1))
    await sink(token(match_id, "Nein.", 1))
    await sink(turn_completed(match_id, "Nein.", 1))
    await sink(verdict(match_id, 1, 0.4))
    assert (await votes.cast(match_id, 1, "v1", "switched", "ip-v1", 5)).outcome == "ok"
    assert await votes.publish(match_id, 1)
    await sink(turn_started(match_id, 2))
    for text in ("I shall", " not"):
        await sink(token(match_id, text, 2))
    await sink(MatchFailed(match_id=match_id, error="the provider gave up", turn=2))
    return match_id


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


async def test_a_compacted_match_folds_into_the_same_transcript(store: Store) -> None:
    match_id = await eventful_match(store)
    events, record = await store.read_events(match_id), await store.get_match(match_id)
    assert await store.compaction.compact(match_id) == "compacted"
    kept = await store.read_events(match_id)
    assert fold(kept) == fold(events)
    assert await store.get_match(match_id) == record
    # only the tokens of completed turns and the tallies a later one repeats are gone
    assert types(kept) == [
        "match_started", "turn_started", "turn_restarted", "turn_completed", "verdict",
        "votes", "turn_started", "turn_completed", "verdict", "votes", "turn_started",
        "token", "token", "match_failed",
    ]  # fmt: skip
    assert all(e in events for e in kept)  # the same events, ids and all
    last_votes = [e for e in kept if isinstance(e, Votes)]
    assert [(v.turn, v.total) for v in last_votes] == [(0, 2), (1, 1)]
    assert fold(kept).turns[2].text == "I shall not"  # the cut-off turn keeps its text
    assert not await store.redis.exists(store.keys.events(match_id))
    # compacting again, or a worker finding the match, changes nothing
    assert await store.compaction.compact(match_id) == "done"
    assert (await store.begin_run(match_id, "w2")) == record
    await store.finalize(match_id)
    assert await store.read_events(match_id) == kept


async def test_a_cursor_resumes_at_the_next_kept_event_without_gap_or_duplicate(
    store: Store,
) -> None:
    match_id = await play_real_path(store)
    events = await store.read_events(match_id)
    assert await store.compaction.compact(match_id) == "compacted"
    kept = await store.read_events(match_id)
    dropped = [e for e in events if e not in kept]
    assert dropped and all(isinstance(e, Token) for e in dropped)
    for cursor in events:
        assert cursor.id is not None
        after = [e for e in kept if event_key(e.id or "") > event_key(cursor.id)]
        assert await store.read_events(match_id, after=cursor.id) == after
        assert await store.read_events(match_id, after=cursor.id, count=2) == after[:2]


async def test_a_finished_one_round_match_fits_in_8_kb(store: Store) -> None:
    before, after = [], []
    for seed in range(MEASURED):
        match_id = await play_real_path(store, seed=seed)
        before.append(sum((await match_memory(store, match_id)).values()))
        assert await store.compaction.compact(match_id) == "compacted"
        keys = await match_memory(store, match_id)
        assert sorted(k.rsplit("}", 1)[1] for k in keys) == ["", ":packed"]  # record, packed
        after.append(sum(keys.values()))
    print(
        f"\n{MEASURED} one-round matches, MEMORY USAGE of their keys: before compaction "
        f"{statistics.fmean(before):.0f} bytes on average ({min(before)}-{max(before)}), "
        f"after {statistics.fmean(after):.0f} ({min(after)}-{max(after)})"
    )
    assert min(before) > 40_000  # the shape the issue measured (55 KB)
    assert max(after) <= TARGET_BYTES


class RacingRedis:
    """The spectators' client, compacting the match once the feed has read its first page."""

    def __init__(self, store: Store, match_id: str) -> None:
        self.store, self.match_id, self.raced = store, match_id, False
        self._redis = store.spectator_redis

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    def pipeline(self, transaction: bool = True) -> Any:
        return _RacingPipeline(self, self._redis.pipeline(transaction=transaction))


class _RacingPipeline:
    def __init__(self, racing: RacingRedis, pipe: Any) -> None:
        self.racing, self.pipe = racing, pipe

    async def __aenter__(self) -> _RacingPipeline:
        await self.pipe.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.pipe.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipe, name)

    async def execute(self) -> list[Any]:
        replies: list[Any] = await self.pipe.execute()
        if not self.racing.raced:
            self.racing.raced = True
            outcome = await self.racing.store.compaction.compact(self.racing.match_id)
            assert outcome == "compacted"
        return replies


async def test_a_feed_reading_pages_when_compaction_replaced_the_stream_reads_on(
    store: Store,
) -> None:
    record = await store.create_match(spec())
    match_id, sink = record.id, store.event_sink(record.id)
    for turn in range(2):
        await sink(turn_started(match_id, turn))
        for i in range(PAGE // 2 + 10):
            await sink(token(match_id, f" w{i}", turn))
        await sink(turn_completed(match_id, "".join(f" w{i}" for i in range(PAGE // 2 + 10)), turn))
    await sink(MatchFailed(match_id=match_id, error="ended here"))
    events = await store.read_events(match_id)
    redis = RacingRedis(store, match_id)
    hub = Hub(redis, store.keys, maxsize=50)  # type: ignore[arg-type]
    try:
        async with hub.subscribe(match_id) as sub:
            got = await asyncio.wait_for(_all(sub), 5)
    finally:
        await hub.close()
    assert redis.raced
    # the first page from the stream, the rest from the packed key: no gap, no duplicate
    assert got[:PAGE] == events[:PAGE]
    assert [e.id for e in got] == sorted({e.id or "" for e in got}, key=event_key)
    assert got[-1].type == "match_failed"
    assert fold(got) == fold(events)


async def _all(sub: Any) -> list[Event]:
    return [event async for event in sub]


class EndingRedis:
    """The spectators' client: before the feed's first blocking read, the match ends and is
    compacted (as a janitor with no grace period could, while a feed is between two reads)."""

    def __init__(self, store: Store, end: Any) -> None:
        self._redis, self.end, self.ended = store.spectator_redis, end, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)

    async def xread(self, *args: Any, **kwargs: Any) -> Any:
        if not self.ended:
            self.ended = True
            await self.end()
        return await self._redis.xread(*args, **kwargs)


async def test_a_feed_between_two_reads_when_its_match_was_compacted_reads_the_rest(
    store: Store,
) -> None:
    record = await store.create_match(spec())
    match_id, sink = record.id, store.event_sink(record.id)
    await sink(turn_started(match_id, 0))

    async def end() -> None:
        await sink(token(match_id, "Arr"))
        await sink(turn_completed(match_id, "Arr", 0))
        await sink(MatchFailed(match_id=match_id, error="ended here"))
        assert await store.compaction.compact(match_id) == "compacted"

    redis = EndingRedis(store, end)
    hub = Hub(redis, store.keys, maxsize=50)  # type: ignore[arg-type]
    try:
        async with hub.subscribe(match_id) as sub:
            # the stream is gone: the feed finds the rest in the packed key after its read
            got = await asyncio.wait_for(_all(sub), BLOCK_MS / 1000 + 5)
    finally:
        await hub.close()
    assert redis.ended
    assert types(got) == ["turn_started", "turn_completed", "match_failed"]


async def test_votes_are_folded_and_counted_as_before(store: Store) -> None:
    match_id = await eventful_match(store)
    votes = CrowdVotes(store.redis, store.keys)
    before = (await votes.tallies(match_id, 6), await votes.audit(match_id, 6),
              await votes.mine(match_id, 6, "v1"), await votes.ip_tallies(match_id, 6))  # fmt: skip
    assert await store.compaction.compact(match_id) == "compacted"
    after = (await votes.tallies(match_id, 6), await votes.audit(match_id, 6),
             await votes.mine(match_id, 6, "v1"), await votes.ip_tallies(match_id, 6))  # fmt: skip
    assert after == before
    assert before[2] == {0: "holds", 1: "switched"}
    vote_keys = [k async for k in store.redis.scan_iter(match=f"*{{{match_id}}}:vote*")]
    assert vote_keys == []
    # spectators still vote on a compacted match: one vote each, a new one replacing it
    cast = await votes.cast(match_id, 0, "v1", "wavers", "ip-v1", 5)
    assert (cast.outcome, cast.previous, cast.live) == ("ok", "holds", False)
    assert (await votes.cast(match_id, 1, "v3", "holds", "ip-v1", 2)).outcome == "ok"
    assert (await votes.cast(match_id, 1, "v4", "holds", "ip-v1", 2)).outcome == "ip_cap"
    assert (await votes.cast(match_id, 2, "v1", "holds", "ip-v1", 5)).outcome == "not_completed"
    assert await votes.mine(match_id, 6, "v1") == {0: "wavers", 1: "switched"}
    audit = await votes.audit(match_id, 6)
    assert audit[0].counts == {"holds": 1, "wavers": 1, "switched": 0}
    assert (audit[1].voters, audit[1].ips) == (2, 1)  # v1 and v3, both from ip-v1
    # each address counted once, with its latest label: ip-v1 now says wavers on turn 0
    by_ip = await votes.ip_tallies(match_id, 6)
    assert by_ip[0] == {"holds": 1, "wavers": 1, "switched": 0}
    assert by_ip[1] == {"holds": 1, "wavers": 0, "switched": 0}
    assert await votes.publish(match_id, 0) is None  # no `votes` event after the end


async def test_janitors_compact_each_due_match_once(store: Store, settings: Settings) -> None:
    matches = [await eventful_match(store) for _ in range(6)]
    others = [await Store.connect(store.settings) for _ in range(2)]
    try:
        janitors = [Janitor(s, s.settings, f"j{i}") for i, s in enumerate([store, *others])]
        done = await asyncio.gather(*(j.compact_due() for j in janitors))
    finally:
        for other in others:
            await other.close()
    assert sum(done) == len(matches)
    assert await store.redis.zcard(store.keys.compact_due) == 0
    for match_id in matches:
        assert await store.redis.exists(store.keys.packed(match_id))


async def test_a_match_taken_by_a_janitor_that_died_stays_readable_and_is_taken_again(
    store: Store,
) -> None:
    match_id = await eventful_match(store)
    events = await store.read_events(match_id)
    assert await store.compaction.take(10, retry_ms=50) == [match_id]
    assert await store.compaction.take(10) == []  # taken: no other janitor gets it meanwhile
    assert await store.read_events(match_id) == events  # the janitor died: nothing changed
    next_due = await store.compaction.next_due()
    assert next_due is not None and next_due <= 0.05
    # taken again once due: an empty take until then
    taken = await eventually(lambda: store.compaction.take(10), timeout=5,
                             message="the match was never due again")
    assert taken == [match_id]
    assert await store.compaction.compact(match_id) == "compacted"


async def test_matches_finished_before_compaction_existed_are_compacted_once(
    store: Store,
) -> None:
    matches = [await eventful_match(store) for _ in range(3)]
    await store.redis.delete(store.keys.compact_due)  # as if they finished before the upgrade
    janitor = Janitor(store, store.settings, "j")
    assert await janitor.compact_due() == 0
    assert await store.compaction.backfill() == 3
    assert await store.compaction.backfill() == 0
    assert await janitor.compact_due() == 3
    running = await store.create_match(spec())
    await store.redis.zadd(store.keys.compact_due, {running.id: 0})
    assert await janitor.compact_due() == 0
    assert await store.compaction.compact(running.id) == "live"
    assert all([await store.redis.exists(store.keys.packed(m)) for m in matches])


async def test_tournament_results_and_crowd_turns_read_a_compacted_match_as_before(
    store: Store,
) -> None:
    match_id = await play_real_path(store)
    votes = CrowdVotes(store.redis, store.keys)
    await votes.cast(match_id, 1, "a", "holds", "ip-a", 5)

    async def read() -> tuple[Any, ...]:
        crowd_turns._judged.clear()  # the per-node cache of finished matches: read again
        record = await store.get_match(match_id)
        assert record is not None
        slot = Slot(index=0, motion=record.spec.motion, pro="pirate", con="kantian")
        result = match_result("t", slot, record, await store.read_events(match_id))
        return result, await voted_turns(store, votes, [match_id])

    before = await read()
    assert await store.compaction.compact(match_id) == "compacted"
    assert await read() == before
    assert before[0].pro_holding is not None and len(before[1]) == 1
