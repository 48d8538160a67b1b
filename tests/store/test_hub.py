import asyncio

import pytest

from arena.events import Event, MatchCancelledEvent
from arena.store import Store, SubscriberOverflow
from tests.store.helpers import spec, turn_completed, turn_started


async def collect(store: Store, match_id: str, after: str | None = None) -> list[Event]:
    async with store.hub.subscribe(match_id, after) as sub:
        return [event async for event in sub]


async def test_a_subscriber_gets_stored_then_live_events_and_stops_at_the_end(
    store: Store,
) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    async with store.hub.subscribe(record.id) as sub:
        events = aiter(sub)
        assert (await anext(events)).type == "turn_started"
        await sink(turn_completed(record.id, "Arr."))
        assert (await anext(events)).type == "turn_completed"
        await sink(MatchCancelledEvent(match_id=record.id))
        assert (await anext(events)).type == "match_cancelled"
        with pytest.raises(StopAsyncIteration):
            await anext(events)


async def test_subscribers_of_one_match_share_one_feed(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    first = asyncio.create_task(collect(store, record.id))
    second = asyncio.create_task(collect(store, record.id))
    await sink(turn_started(record.id))
    while len(store.hub.feeds.get(record.id, _Nobody).subscribers) < 2:
        await asyncio.sleep(0.01)
    assert len(store.hub.feeds) == 1
    await sink(MatchCancelledEvent(match_id=record.id))
    a, b = await asyncio.wait_for(asyncio.gather(first, second), timeout=5)
    assert [e.id for e in a] == [e.id for e in b]
    assert [e.type for e in a] == ["turn_started", "match_cancelled"]
    assert store.hub.feeds == {}


async def test_a_finished_match_replays_after_the_given_id_and_ends(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    await sink(turn_completed(record.id, "Arr."))
    await sink(MatchCancelledEvent(match_id=record.id))
    everything = await asyncio.wait_for(collect(store, record.id), timeout=5)
    assert [e.type for e in everything] == ["turn_started", "turn_completed", "match_cancelled"]
    rest = await asyncio.wait_for(collect(store, record.id, after=everything[0].id), timeout=5)
    assert [e.id for e in rest] == [e.id for e in everything[1:]]
    assert await asyncio.wait_for(collect(store, record.id, after=everything[-1].id), 5) == []


async def test_a_slow_subscriber_overflows(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    async with store.hub.subscribe(record.id) as sub:
        events = aiter(sub)
        await sink(turn_started(record.id))
        first = await anext(events)
        # the subscriber stops reading while more than its buffer arrives
        for turn in range(store.settings.spectator_buffer + 5):
            await sink(turn_completed(record.id, "x", turn))
        while not sub.overflowed:
            await asyncio.sleep(0.01)
        with pytest.raises(SubscriberOverflow) as caught:
            await anext(events)
    assert caught.value.last_id == first.id


class _Nobody:
    subscribers: tuple[()] = ()
