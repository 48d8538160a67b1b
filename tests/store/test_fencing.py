"""What a worker may write: nothing once its sink is closed, each event once even when the
client retries an append whose reply was lost, and nothing that reaches Redis after a later write
of its lease (a stale write, delivered late)."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from arena.domain.events import Event
from arena.store import LeaseLost, Store
from arena.store.streams import CoalescingSink, EventLog
from tests.polling import eventually
from tests.store.helpers import spec, token, turn_completed, turn_started


async def test_a_closed_sink_writes_nothing_more(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id, lease="a:1", lease_ms=10_000)
    await sink(turn_started(record.id))
    await sink(token(record.id, "Arr"))  # buffered, its timer pending
    await sink.aclose()
    with pytest.raises(LeaseLost):
        await sink(token(record.id, " matey"))
    # an open sink buffers a token now: once its timer has written it, the closed sink's timer,
    # started earlier with the same window, has fired too
    other = await store.create_match(spec())
    witness = store.event_sink(other.id, lease="b:1", lease_ms=10_000)
    await witness(turn_started(other.id))
    await witness(token(other.id, "Yo"))

    async def witness_flushed() -> bool:
        return any(e.type == "token" for e in await store.read_events(other.id))

    await eventually(witness_flushed, timeout=10, message="the open sink's timer never wrote")
    await witness.aclose()
    assert [e.type for e in await store.read_events(record.id)] == ["turn_started"]


async def test_a_retried_append_is_stored_once(store: Store) -> None:
    record = await store.create_match(spec())
    event = turn_started(record.id)
    first = await store.events.append(record.id, event, "w:1", 10_000, number=1)
    # the same write again, as redis-py retries a command whose reply a Redis restart cut off
    again = await store.events.append(record.id, event, "w:1", 10_000, number=1)
    assert again == first
    later = await store.events.append(record.id, token(record.id, "Arr"), "w:1", 10_000, 2)
    assert later != first
    assert [e.id for e in await store.read_events(record.id)] == [first, later]


async def test_a_write_that_arrives_after_a_later_one_is_refused(store: Store) -> None:
    record = await store.create_match(spec())
    first = await store.events.append(record.id, turn_started(record.id), "w:1", 10_000, 1)
    later = await store.events.append(record.id, token(record.id, "Arr"), "w:1", 10_000, 3)
    with pytest.raises(LeaseLost):  # sent before `later`, delivered after it
        await store.events.append(record.id, token(record.id, " matey"), "w:1", 10_000, 2)
    assert [e.id for e in await store.read_events(record.id)] == [first, later]


class CutOff(EventLog):
    """An event log whose first `arrive` appends reach Redis; the others are sent but held back
    (the connection dropped), kept in `held` to be delivered later."""

    def __init__(self, log: EventLog, arrive: int) -> None:
        super().__init__(log.redis, log.keys)
        self.log, self.arrive = log, arrive
        self.held: list[tuple[Event, int | None]] = []

    async def append(
        self,
        match_id: str,
        event: Event,
        lease: str | None = None,
        lease_ms: int = 30_000,
        number: int | None = None,
    ) -> str:
        if self.arrive > 0:
            self.arrive -= 1
            return await self.log.append(match_id, event, lease, lease_ms, number)
        self.held.append((event, number))
        raise RedisConnectionError("Connection closed by server.")


async def test_a_new_attempt_fences_off_what_an_earlier_one_sends_late(store: Store) -> None:
    record = await store.create_match(spec())
    cut_off = CutOff(store.events, arrive=1)
    earlier = CoalescingSink(cut_off, record.id, window=0.05, lease="w:1", lease_ms=10_000)
    await earlier(turn_started(record.id))
    with pytest.raises(RedisConnectionError):
        await earlier(turn_completed(record.id, "Arr"))  # sent; it arrives after the retry read
    await earlier.aclose()
    retry = store.event_sink(record.id, lease="w:1", lease_ms=10_000)
    await retry.fence()
    assert [e.type for e in await store.read_events(record.id)] == ["turn_started"]
    (late, number) = cut_off.held[0]
    with pytest.raises(LeaseLost):
        await store.events.append(record.id, late, "w:1", 10_000, number)
    await retry(token(record.id, "Ahoy"))
    await retry.flush()
    assert [e.type for e in await store.read_events(record.id)] == ["turn_started", "token"]


async def test_a_stalled_worker_writes_nothing_once_another_took_the_match_over(
    store: Store,
) -> None:
    record = await store.create_match(spec())
    lease = store.keys.lease(record.id)
    assert await store.queue.acquire_lease(record.id, "w1:1", 10_000)
    stalled = store.event_sink(record.id, lease="w1:1", lease_ms=10_000)
    await stalled.fence()
    await stalled(turn_started(record.id))
    # w1 stalls: its lease expires, w2 takes the match over, reads it and writes
    await store.redis.delete(lease)
    assert await store.queue.acquire_lease(record.id, "w2:1", 10_000)
    taker = store.event_sink(record.id, lease="w2:1", lease_ms=10_000)
    await taker.fence()
    await taker(turn_completed(record.id, "Arr"))
    # w2 stalls in turn; w1 wakes up and its heartbeat finds the lease free: it takes it again
    await store.redis.delete(lease)
    assert await store.queue.extend_lease(record.id, "w1:1", 10_000)
    with pytest.raises(LeaseLost):  # but what it would write comes from a stale view
        await stalled(turn_completed(record.id, "Arr"))
    assert [e.type for e in await store.read_events(record.id)] == [
        "turn_started",
        "turn_completed",
    ]
