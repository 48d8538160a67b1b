"""What a worker may write: nothing once its sink is closed, and each event once even when the
client retries an append whose reply was lost."""

import asyncio

import pytest

from arena.store import LeaseLost, Store
from tests.store.helpers import spec, token, turn_started


async def test_a_closed_sink_writes_nothing_more(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id, lease="a:1", lease_ms=10_000)
    await sink(turn_started(record.id))
    await sink(token(record.id, "Arr"))  # buffered, its timer pending
    await sink.aclose()
    with pytest.raises(LeaseLost):
        await sink(token(record.id, " matey"))
    await asyncio.sleep(store.settings.token_coalesce_ms / 1000 * 2)  # the timer's window passes
    assert [e.type for e in await store.read_events(record.id)] == ["turn_started"]


async def test_a_retried_append_is_stored_once(store: Store) -> None:
    record = await store.create_match(spec())
    event = turn_started(record.id)
    first = await store.events.append(record.id, event, "w:1", 10_000, write_id="w:1:1")
    # the same write again, as redis-py retries a command whose reply a Redis restart cut off
    again = await store.events.append(record.id, event, "w:1", 10_000, write_id="w:1:1")
    assert again == first
    later = await store.events.append(record.id, token(record.id, "Arr"), "w:1", 10_000, "w:1:2")
    assert later != first
    assert [e.id for e in await store.read_events(record.id)] == [first, later]
