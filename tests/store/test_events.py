import asyncio

import pytest

from arena.domain.events import MatchStarted, Token, Verdict
from arena.store import InvalidEventId, LeaseLost, Store
from tests.store.helpers import spec, token, turn_completed, turn_started


async def test_events_read_back_in_order_with_ids_and_after(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(MatchStarted(match_id=record.id, spec=record.spec, total_turns=6))
    await sink(turn_started(record.id))
    await sink(turn_completed(record.id, "Arr."))
    events = await store.read_events(record.id)
    assert [e.type for e in events] == ["match_started", "turn_started", "turn_completed"]
    assert all(e.id for e in events)
    first = events[0].id
    assert first is not None
    assert [e.id for e in await store.read_events(record.id, after=first)] == [
        e.id for e in events[1:]
    ]
    assert len(await store.read_events(record.id, count=2)) == 2
    with pytest.raises(InvalidEventId):
        await store.read_events(record.id, after="latest")


async def test_tokens_are_coalesced_into_few_entries_with_the_same_text(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    words = [f" word{i}" for i in range(200)]
    await sink(turn_started(record.id))
    for w in words:
        await sink(token(record.id, w))
    await sink(turn_completed(record.id, "".join(words)))
    tokens = [e for e in await store.read_events(record.id) if isinstance(e, Token)]
    assert 1 <= len(tokens) <= 5
    assert "".join(t.text for t in tokens) == "".join(words)


async def test_a_pause_in_the_stream_flushes_tokens_after_the_window(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    async with store.hub.subscribe(record.id) as sub:
        events = aiter(sub)
        await sink(token(record.id, "Ahoy"))
        await sink(token(record.id, " there"))
        # nothing else is sent: the window timer must write the buffer on its own
        flushed = await asyncio.wait_for(anext(events), timeout=2)
    assert isinstance(flushed, Token) and flushed.text == "Ahoy there"


async def test_tokens_of_different_turns_are_not_merged(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(token(record.id, "a", turn=0))
    await sink(token(record.id, "b", turn=1))
    await sink.flush()
    tokens = [e for e in await store.read_events(record.id) if isinstance(e, Token)]
    assert [(t.turn, t.text) for t in tokens] == [(0, "a"), (1, "b")]


async def test_the_record_follows_the_events(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id, 0))
    await sink(turn_completed(record.id, "For!", 0))
    await sink(turn_completed(record.id, "Against!", 1))
    for turn, holding in ((0, 0.8), (1, 0.4), (2, 0.6)):
        side = "pro" if turn % 2 == 0 else "con"
        await sink(
            Verdict(match_id=record.id, turn=turn, side=side, scored=True, stance=side,
                    holding=holding, engagement=0.5, judges=[])
        )  # fmt: skip
    await sink(
        Verdict(match_id=record.id, turn=3, side="con", scored=False, stance=None,
                holding=None, engagement=None, judges=[])
    )  # fmt: skip
    got = await store.get_match(record.id)
    assert got is not None
    assert got.turns_done == 2
    assert got.holding == {"pro": pytest.approx(0.7), "con": 0.4}
    counters = await store.counters()
    assert counters.turns == 2 and counters.tokens_in == 20


async def test_a_sink_without_the_lease_cannot_write(store: Store) -> None:
    record = await store.create_match(spec())
    assert await store.queue.acquire_lease(record.id, "worker-a:1", 10_000)
    stale = store.event_sink(record.id, lease="worker-b:1")
    with pytest.raises(LeaseLost):
        await stale(turn_started(record.id))
    owner = store.event_sink(record.id, lease="worker-a:1")
    await owner(turn_started(record.id))
    assert [e.type for e in await store.read_events(record.id)] == ["turn_started"]


async def test_a_lease_that_expired_untaken_is_taken_again_by_its_holder(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id, lease="stalled:1", lease_ms=10_000)
    await sink(turn_started(record.id))  # no lease at all yet: nobody else holds the match
    assert await store.redis.get(store.keys.lease(record.id)) == "stalled:1"
    assert not await store.queue.acquire_lease(record.id, "other:1", 10_000)
