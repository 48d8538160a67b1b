import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from arena.domain.events import Event, MatchCancelledEvent
from arena.store import InvalidEventId, Store, SubscriberOverflow
from arena.store.hub import FRAME_OVERHEAD, Frame, Hub, HubClosed, MatchNotFound
from tests.polling import eventually
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
    await eventually(lambda: len(store.hub.feeds.get(record.id, _Nobody).subscribers) == 2,
                     timeout=5, message="the second subscriber never joined the feed")
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
        await eventually(lambda: sub.overflowed, timeout=5, message="the subscriber kept up")
        with pytest.raises(SubscriberOverflow) as caught:
            await anext(events)
    assert caught.value.last_id == first.id


class _Nobody:
    subscribers: tuple[()] = ()


class CountingRedis:
    """The spectators' client with a count of the commands the hub sends through it."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self._redis, name)

    def reads(self) -> int:
        """Commands other than the feed's blocking XREAD, which runs whoever joins."""
        return sum(n for name, n in self.calls.items() if name not in ("xread", "register_script"))


@contextlib.asynccontextmanager
async def counted_hub(store: Store, **options: Any) -> AsyncIterator[tuple[Hub, CountingRedis]]:
    redis = CountingRedis(store.spectator_redis)
    hub = Hub(redis, store.keys, maxsize=options.pop("maxsize", 50), **options)  # type: ignore[arg-type]
    try:
        yield hub, redis
    finally:
        await hub.close()


async def first(hub: Hub, match_id: str, n: int, after: str | None = None) -> list[str]:
    async with hub.subscribe(match_id, after) as sub:
        events = aiter(sub)
        return [(await anext(events)).id or "" for _ in range(n)]


async def test_late_joiners_of_a_followed_match_replay_from_memory(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    for turn in range(20):
        await sink(turn_completed(record.id, "Arr.", turn))
    stored = [e.id for e in await store.read_events(record.id)]
    async with counted_hub(store) as (hub, redis), hub.subscribe(record.id) as watching:
        events = aiter(watching)
        assert [(await anext(events)).id for _ in stored] == stored
        loaded = redis.reads()
        joiners = [
            first(hub, record.id, len(stored) - i, stored[i - 1] if i else None)
            for i in range(len(stored))
        ]
        replays = await asyncio.wait_for(asyncio.gather(*joiners), 5)
        assert replays == [stored[i:] for i in range(len(stored))]
        assert redis.reads() == loaded  # not one command for 20 joiners
        await sink(MatchCancelledEvent(match_id=record.id))
        assert (await anext(events)).type == "match_cancelled"


async def test_a_crowd_replaying_a_finished_match_shares_one_read(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    await sink(MatchCancelledEvent(match_id=record.id))
    async with counted_hub(store) as (hub, redis):
        crowd = await asyncio.wait_for(
            asyncio.gather(*(collect_from(hub, record.id) for _ in range(200))), 5
        )
        assert {tuple(types) for types in crowd} == {("turn_started", "match_cancelled")}
        assert redis.calls["pipeline"] == 1 and redis.reads() == 1
        assert await collect_from(hub, record.id) == ["turn_started", "match_cancelled"]
        assert redis.reads() == 1  # the finished match stays cached
        assert hub.feeds == {}


async def collect_from(hub: Hub, match_id: str, after: str | None = None) -> list[str]:
    async with hub.subscribe(match_id, after) as sub:
        return [event.type async for event in sub]


async def test_events_older_than_the_window_are_read_back_without_gap_or_duplicate(
    store: Store,
) -> None:
    """A window of about five events: joiners from any point, including while the window
    moves, get exactly the events after their `after`."""
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    for turn in range(10):
        await sink(turn_completed(record.id, "x" * 100, turn))
    async with counted_hub(store, window_bytes=5 * (FRAME_OVERHEAD + 400)) as (hub, _):
        async with hub.subscribe(record.id) as watching:
            events = aiter(watching)
            joins = []
            for turn in range(10, 40):
                stored = [e.id or "" for e in await store.read_events(record.id)]
                after = stored[turn // 2]
                joins.append((after, asyncio.create_task(ids_from(hub, record.id, after))))
                await sink(turn_completed(record.id, "x" * 100, turn))
                assert (await anext(events)).id == stored[turn - 10]
            await sink(MatchCancelledEvent(match_id=record.id))
            everything = [e.id for e in await store.read_events(record.id)]
            for after, task in joins:
                assert await asyncio.wait_for(task, 5) == everything[everything.index(after) + 1 :]
        assert hub.finished[record.id].floor is not None  # the window did move
        assert await ids_from(hub, record.id) == everything


async def ids_from(hub: Hub, match_id: str, after: str | None = None) -> list[str | None]:
    async with hub.subscribe(match_id, after) as sub:
        return [event.id async for event in sub]


async def test_a_subscriber_behind_the_window_overflows(store: Store) -> None:
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    async with (
        counted_hub(store, maxsize=1000, window_bytes=4 * (FRAME_OVERHEAD + 400)) as (
            hub,
            _,
        ),
        hub.subscribe(record.id) as sub,
    ):
        events = aiter(sub)
        seen = await anext(events)
        for turn in range(10):
            await sink(turn_completed(record.id, "x" * 100, turn))
        await eventually(lambda: sub.overflowed, timeout=5, message="the subscriber kept up")
        with pytest.raises(SubscriberOverflow) as caught:
            await anext(events)
    assert caught.value.last_id == seen.id


@pytest.mark.parametrize(
    "after", ["18446744073709551616-0", "0-18446744073709551616", "99999999999999999999-1"]
)
async def test_an_after_beyond_what_redis_accepts_is_invalid(store: Store, after: str) -> None:
    record = await store.create_match(spec())
    with pytest.raises(InvalidEventId):
        await collect(store, record.id, after)
    assert await collect_ids_after_max(store, record.id) == []


async def collect_ids_after_max(store: Store, match_id: str) -> list[str]:
    await store.event_sink(match_id)(MatchCancelledEvent(match_id=match_id))
    return [e.id or "" for e in await collect(store, match_id, f"{2**64 - 1}-{2**64 - 1}")]


async def test_an_unknown_match_is_not_found(store: Store) -> None:
    with pytest.raises(MatchNotFound):
        await collect(store, "nope")
    assert store.hub.feeds == {} and not store.hub.finished


async def test_closing_the_hub_ends_its_subscriptions(store: Store) -> None:
    record = await store.create_match(spec())
    await store.event_sink(record.id)(turn_started(record.id))
    async with store.hub.subscribe(record.id) as sub:
        events = aiter(sub)
        await anext(events)
        waiting = asyncio.create_task(anext(events))
        await asyncio.sleep(0)  # a yield, not a wait: the task starts waiting before the close
        await store.hub.close()
        with pytest.raises(HubClosed):
            await asyncio.wait_for(waiting, 5)


async def test_a_pushed_subscriber_gets_each_live_event_once_and_resumes_where_it_was_released(
    store: Store,
) -> None:
    """The feed hands live frames to `deliver`, a batch per read, until it refuses one; that
    batch counts as taken, and `take()` goes on after it: no gap, no duplicate, across push and
    pull."""
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    got: list[str] = []
    batches: list[int] = []

    def deliver(frames: list[Frame]) -> bool:
        got.extend(frame.id for frame in frames)
        batches.append(len(frames))
        return len(batches) != 2  # the second batch "would block"

    async with store.hub.subscribe(record.id) as sub:
        got.extend(frame.id for frame in sub.take(10))
        assert sub.take(10) == [] and not sub.finished
        released = sub.push(deliver)
        assert released is not None
        for turn in range(5):
            before = len(got)
            await sink(turn_completed(record.id, "x", turn))
            # one read each: pushed (or the push released) before the next is written
            await eventually(lambda: len(got) > before or released.done(),  # noqa: B023
                             timeout=5, message=f"event {turn} was never pushed")
        await asyncio.wait_for(released, 5)
        assert batches == [1, 1]  # released at the batch it refused, not after
        pushed = len(got)
        async with contextlib.aclosing(sub.frames()) as frames:
            while len(got) < pushed + 3:
                got.append((await anext(frames)).id)
        again = sub.push(deliver)
        assert again is not None
        await sink(MatchCancelledEvent(match_id=record.id))
        await asyncio.wait_for(again, 5)  # released after the terminal event
        assert sub.finished and sub.push(deliver) is None
    assert got == [e.id for e in await store.read_events(record.id)]


async def test_the_events_of_one_read_reach_a_pushed_subscriber_as_one_batch(
    store: Store,
) -> None:
    """Events written while the feed is busy come out of one XREAD together, and go to each
    caught-up subscriber in one call: one socket write however many there are."""
    record = await store.create_match(spec())
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    batches: list[list[str]] = []

    def deliver(frames: list[Frame]) -> bool:
        batches.append([frame.id for frame in frames])
        return True

    async with store.hub.subscribe(record.id) as sub:
        start = [frame.id for frame in sub.take(10)]
        released = sub.push(deliver)
        assert released is not None
        # four entries in one script: a blocked XREAD is served once it has run
        await store.redis.eval(
            "for i = 1, #ARGV do redis.call('XADD', KEYS[1], '*', 'e', ARGV[i]) end",
            1,
            store.keys.events(record.id),
            *[
                turn_completed(record.id, "x", turn).model_dump_json(exclude={"id"})
                for turn in range(4)
            ],
        )
        await sink(MatchCancelledEvent(match_id=record.id))
        await asyncio.wait_for(released, 5)
    ids = [e.id for e in await store.read_events(record.id)]
    assert start + [i for batch in batches for i in batch] == ids
    scripted = ids[len(start) : len(start) + 4]
    # the four come in one batch (with the terminal event too when the feed read after it)
    assert any(batch[:4] == scripted or batch == scripted for batch in batches), batches
    assert len(batches) <= 2
