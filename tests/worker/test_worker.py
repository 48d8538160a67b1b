import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from arena.api.prometheus import ApiMetrics
from arena.config import Settings
from arena.domain.events import Event, Token
from arena.domain.personas import Library
from arena.domain.records import MatchRecord
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.engine.lineup import build_lineup
from arena.engine.match import run_match
from arena.errors import ArenaError
from arena.personas.library import load_library
from arena.store import LeaseLost, Store, StoreError
from arena.store.queue import Job
from arena.worker.worker import Worker, run_worker
from tests.exactly_once import check_exactly_once
from tests.fakes import FakeModels, FunctionModel
from tests.store.helpers import board_rows

TIMEOUT = 20


@pytest.fixture
def models() -> dict[str, FunctionModel]:
    """Every model the lineup asks for is a FunctionModel; tests may put slow ones in first."""
    return {}


@pytest.fixture
def factory(models: dict[str, FunctionModel], settings: Settings) -> FakeModels:
    return FakeModels(settings=settings, models=models)


@pytest.fixture
def library(settings: Settings) -> Library:
    return load_library(settings.personas_dir)


def match_spec(pro: str = "pirate", con: str = "kantian") -> MatchSpec:
    return MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona=pro, model="ollama:pro"),
        con=DebaterSpec(persona=con, model="ollama:con"),
        rounds=1,
        judges=["ollama:judge"],
    )


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)


async def until_done(store: Store, match_id: str) -> list[Event]:
    async def collect() -> list[Event]:
        async with store.hub.subscribe(match_id) as sub:
            return [event async for event in sub]

    return await asyncio.wait_for(collect(), TIMEOUT)


def assert_each_turn_once(events: list[Event], turns: int) -> None:
    check_exactly_once(events, turns, opening="I argue")


async def test_a_worker_runs_a_queued_match_to_the_end(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec())
    async with running(Worker(store, settings, library, factory, name="w1")):
        events = await until_done(store, record.id)
    assert events[-1].type == "match_completed"
    assert_each_turn_once(events, record.total_turns)
    done = await store.get_match(record.id)
    assert done is not None and done.status == "completed" and done.worker == "w1"
    assert done.turns_done == 6 and done.holding == {"pro": 0.9, "con": 0.9}
    assert done.started_at is not None and done.finished_at is not None
    assert done.metrics is not None and done.metrics.pro.mean_holding == 0.9
    assert await store.queue.pending() == 0
    assert {r.persona for r in await board_rows(store)} == {"pirate", "kantian"}
    assert (await store.counters()).turns == 6


async def test_a_match_whose_lineup_cannot_be_built_fails_with_the_reason(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec(pro="nobody"))
    async with running(Worker(store, settings, library, factory)):
        events = await until_done(store, record.id)
    assert [e.type for e in events] == ["match_failed"]
    failed = await store.get_match(record.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and "persona 'nobody' not found" in failed.error
    assert await store.queue.pending() == 0


async def test_cancelling_a_running_match_stops_it_within_a_turn(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    models["ollama:pro"] = FunctionModel("ollama:pro", delay=0.05)
    record = await store.create_match(match_spec())
    async with running(Worker(store, settings, library, factory)):
        async with store.hub.subscribe(record.id) as sub:
            seen = []
            async for event in sub:
                seen.append(event)
                if event.type == "token":
                    await store.request_cancel(record.id)
    assert seen[-1].type == "match_cancelled"
    assert not any(e.type == "turn_completed" and e.turn > 1 for e in seen)
    cancelled = await store.get_match(record.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert await store.queue.pending() == 0


class Crash(Exception):
    pass


async def die_mid_match(
    store: Store, settings: Settings, library: Library, record: MatchRecord, factory: FakeModels
) -> Job:
    """A worker that claims the job, takes the lease, streams into turn 1 and dies (no
    heartbeat, never acked). Returns its job."""
    (job,) = await store.queue.claim("dead", 1, 100)
    assert job.match_id == record.id
    await store.begin_run(record.id, "dead")
    assert await store.queue.acquire_lease(record.id, "dead:1", 300)
    await store.queue.count_delivery(record.id)
    sink = store.event_sink(record.id, lease="dead:1", lease_ms=300)
    state = {"tokens": 0, "dead": False}

    async def dying(event: Event) -> None:
        if state["dead"]:
            return  # a dead process writes nothing more
        if isinstance(event, Token) and event.turn == 1:
            state["tokens"] += 1
            if state["tokens"] == 4:
                state["dead"] = True
                await sink.flush()  # what it had streamed so far reached Redis
                raise Crash
        await sink(event)

    lineup = build_lineup(record.id, record.spec, library, settings, factory)
    with pytest.raises(Crash):
        await run_match(lineup, dying)
    await sink.aclose()
    before = await store.read_events(record.id)
    assert any(e.type == "turn_started" and e.turn == 1 for e in before)
    assert not any(e.type == "turn_completed" and e.turn == 1 for e in before)
    return job


async def test_a_job_of_a_dead_worker_is_reclaimed_and_resumed_without_duplicates(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec())
    await die_mid_match(store, settings, library, record, factory)
    # after reclaim_idle_seconds another worker takes over
    async with running(Worker(store, settings, library, factory, name="rescuer")):
        events = await until_done(store, record.id)
    assert events[-1].type == "match_completed"
    assert_each_turn_once(await store.read_events(record.id), record.total_turns)
    done = await store.get_match(record.id)
    assert done is not None and done.status == "completed" and done.worker == "rescuer"
    assert await store.queue.pending() == 0
    assert (await store.counters()).jobs_reclaimed == 1


async def first_event_after(store: Store, match_id: str, after: str) -> Event:
    async with store.hub.subscribe(match_id, after) as sub:
        async for event in sub:
            return event
    raise AssertionError(f"match {match_id} ended with nothing after {after}")


async def test_a_busy_worker_resumes_an_interrupted_match_within_reclaim_idle_and_a_heartbeat(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    settings = settings.model_copy(update={"worker_concurrency": 1, "reclaim_idle_seconds": 1.0})
    interrupted = await store.create_match(match_spec())
    died_at = time.monotonic()  # the dead worker's job was last touched after this
    await die_mid_match(store, settings, library, interrupted, factory)
    last_id = await store.events.last_id(interrupted.id)
    for name in ("ollama:pro", "ollama:con"):  # the busy match lasts well beyond the reclaim
        models[name] = FunctionModel(name, delay=0.05)
    busy = await store.create_match(match_spec())
    worker = Worker(store, settings, library, factory, name="w")
    async with running(worker), store.hub.subscribe(busy.id) as busy_events:
        async for event in busy_events:
            if event.type == "token":
                break  # the only slot is busy
        await asyncio.wait_for(first_event_after(store, interrupted.id, last_id), TIMEOUT)
        waited = time.monotonic() - died_at
        assert len(worker.running) == 2  # one over its concurrency, to resume
        resumed, other = await store.get_match(interrupted.id), await store.get_match(busy.id)
        assert resumed is not None and resumed.worker == "w"
        assert other is not None and other.status == "running" and other.worker == "w"
        await until_done(store, interrupted.id)
        await until_done(store, busy.id)
    bound = settings.reclaim_idle_seconds + settings.heartbeat_seconds
    assert waited <= bound + 0.5, f"resumed after {waited:.2f}s (bound {bound:.2f}s)"
    assert_each_turn_once(await store.read_events(interrupted.id), interrupted.total_turns)
    assert_each_turn_once(await store.read_events(busy.id), busy.total_turns)


async def test_an_interrupted_match_is_resumed_before_new_ones_are_started(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    settings = settings.model_copy(update={"worker_concurrency": 1})
    interrupted = await store.create_match(match_spec())
    job = await die_mid_match(store, settings, library, interrupted, factory)
    await store.queue.release_lease(interrupted.id, "dead:1")  # as a stopping worker does
    await store.queue.hand_back("dead", job, 60_000)
    waiting = await store.create_match(match_spec())
    async with running(Worker(store, settings, library, factory, name="w")):
        await until_done(store, interrupted.id)
        await until_done(store, waiting.id)
    first, second = await store.get_match(interrupted.id), await store.get_match(waiting.id)
    assert first is not None and second is not None
    assert first.status == second.status == "completed"
    assert first.finished_at is not None and second.started_at is not None
    assert second.started_at >= first.finished_at  # the new one waited for the free slot


async def test_a_job_that_keeps_failing_is_dead_lettered_and_its_match_fails(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    settings = settings.model_copy(update={"max_deliveries": 3})
    record = await store.create_match(match_spec())
    # a poison job: an event no worker can read, so every delivery raises outside the engine
    await store.redis.xadd(store.keys.events(record.id), {"e": "{not an event"})
    async with running(Worker(store, settings, library, factory, name="w")):
        reply = await store.redis.xread({store.keys.dead: "0-0"}, block=TIMEOUT * 1000)
    assert reply, "nothing was dead-lettered"
    failed = await store.get_match(record.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("gave up after 3 deliveries: ValidationError"), failed.error
    (letter,) = await store.queue.dead_letters()
    assert letter.match_id == record.id and letter.deliveries == 3 and letter.worker == "w"
    assert await store.queue.pending() == 0
    counters = await store.counters()
    assert counters.delivery_failures == 3 and counters.jobs_dead_lettered == 1
    assert counters.matches["failed"] == 1 and counters.matches["running"] == 0
    assert b"arena_jobs_dead_lettered_total 1.0" in ApiMetrics().render(counters)


async def test_deliveries_to_workers_that_died_count_toward_the_cap(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    settings = settings.model_copy(update={"max_deliveries": 2})
    record = await store.create_match(match_spec())
    job = await die_mid_match(store, settings, library, record, factory)  # it completed turn 0
    # two more workers took the lease and died before completing a turn
    assert await store.queue.count_delivery(record.id) == 1  # progress since: counting restarts
    assert await store.queue.count_delivery(record.id) == 2
    await store.queue.release_lease(record.id, "dead:1")
    await store.queue.hand_back("dead", job, 60_000)
    async with running(Worker(store, settings, library, factory, name="w")):
        events = await until_done(store, record.id)
    assert events[-1].type == "match_failed"
    assert events[-1].error == (
        "gave up after 2 deliveries: its worker stopped while running it (killed or crashed?)"
    )
    assert [e.type for e in events].count("turn_completed") == 1  # nothing more was run
    assert await store.queue.pending() == 0


async def test_a_worker_that_loses_its_lease_stops_without_writing_or_failing_the_match(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    models["ollama:pro"] = FunctionModel("ollama:pro", delay=0.05)
    record = await store.create_match(match_spec())
    worker = Worker(store, settings, library, factory, name="w")
    async with running(worker), store.hub.subscribe(record.id) as sub:
        async for event in sub:
            if event.type == "token":
                break
        (task,) = worker.running.values()
        await store.redis.set(store.keys.lease(record.id), "thief", px=60_000)
        taken_at = await store.events.last_id(record.id)
        await asyncio.wait_for(task, TIMEOUT)
        assert await store.events.last_id(record.id) == taken_at  # nothing written since
    after = await store.get_match(record.id)
    assert after is not None and after.status == "running"  # not failed: it is the thief's
    assert await store.queue.pending() == 1


async def test_a_worker_carries_on_when_redis_lost_its_queue(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    async with running(Worker(store, settings, library, factory)):
        await store.redis.delete(store.keys.queue)  # a Redis restarted without its data
        record = await store.create_match(match_spec())
        events = await until_done(store, record.id)
    assert events[-1].type == "match_completed"


def test_store_errors_are_not_match_errors() -> None:
    # the engine turns an ArenaError into match_failed; a store error is the worker's to retry
    assert not issubclass(StoreError, ArenaError)
    assert issubclass(LeaseLost, StoreError)


async def test_two_workers_share_the_queue_without_running_a_match_twice(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    ids = [(await store.create_match(match_spec())).id for _ in range(4)]
    async with (
        running(Worker(store, settings, library, factory, name="a")),
        running(Worker(store, settings, library, factory, name="b")),
    ):
        for match_id in ids:
            await until_done(store, match_id)
    for match_id in ids:
        assert_each_turn_once(await store.read_events(match_id), 6)
    assert (await store.counters()).matches["completed"] == 4
    assert await store.queue.pending() == 0


async def test_a_stopped_worker_hands_its_match_to_the_next_one(
    factory: FakeModels,
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    models["ollama:con"] = FunctionModel("ollama:con", delay=0.02)
    record = await store.create_match(match_spec())
    async with store.hub.subscribe(record.id) as sub:
        async with running(Worker(store, settings, library, factory, name="first")):
            async for event in sub:
                if event.type == "turn_started" and event.turn == 1:
                    break
    interrupted = await store.get_match(record.id)
    assert interrupted is not None and interrupted.status == "running"
    # handed back as already idle, so the next worker reclaims it without waiting
    (entry,) = await store.redis.xpending_range(store.keys.queue, "workers", "-", "+", 1)
    assert entry["time_since_delivered"] >= settings.reclaim_idle_seconds * 1000
    async with running(Worker(store, settings, library, factory, name="second")):
        await until_done(store, record.id)
    evs = await store.read_events(record.id)
    assert_each_turn_once(evs, 6)


async def test_run_worker_stops_on_sigterm(
    store: Store, settings: Settings, models: dict[str, FunctionModel]
) -> None:
    worker = asyncio.create_task(run_worker(settings))
    record = await store.create_match(match_spec())
    await until_done(store, record.id)  # the worker is up and working
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(worker, TIMEOUT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
