import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

import arena.lineup
from arena.config import Settings
from arena.debate import run_match
from arena.events import DebaterSpec, Event, MatchSpec, Token, TurnCompleted
from arena.lineup import build_lineup
from arena.personas import Library, load_library
from arena.store import Store
from arena.worker import Worker, run_worker
from tests.fakes import FunctionModel

TIMEOUT = 20


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> dict[str, FunctionModel]:
    """Every model the lineup asks for is a FunctionModel; tests may put slow ones in first."""
    made: dict[str, FunctionModel] = {}

    def get_model(name: str, settings: Settings) -> FunctionModel:
        return made.setdefault(name, FunctionModel(name))

    monkeypatch.setattr(arena.lineup, "get_model", get_model)
    return made


@pytest.fixture
def library(settings: Settings) -> Library:
    return load_library(settings.personas_dir)


def match_spec(pro: str = "pirate", con: str = "kantian") -> MatchSpec:
    return MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona=pro, model="local:pro"),
        con=DebaterSpec(persona=con, model="local:con"),
        rounds=1,
        judges=["local:judge"],
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
    for kind in ("turn_started", "turn_completed", "verdict"):
        counts = Counter(getattr(e, "turn", None) for e in events if e.type == kind)
        assert counts == Counter(range(turns)), kind
    assert [e.type for e in events].count("match_started") == 1
    for done in (e for e in events if isinstance(e, TurnCompleted)):
        streamed = [e.text for e in events if isinstance(e, Token) and e.turn == done.turn]
        assert "".join(streamed) == done.text


async def test_a_worker_runs_a_queued_match_to_the_end(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec())
    async with running(Worker(store, settings, library, name="w1")):
        events = await until_done(store, record.id)
    assert events[-1].type == "match_completed"
    assert_each_turn_once(events, record.total_turns)
    done = await store.get_match(record.id)
    assert done is not None and done.status == "completed" and done.worker == "w1"
    assert done.turns_done == 6 and done.holding == {"pro": 0.9, "con": 0.9}
    assert done.started_at is not None and done.finished_at is not None
    assert done.metrics is not None and done.metrics.pro.mean_holding == 0.9
    assert await store.queue.pending() == 0
    assert {r.persona for r in await store.leaderboard()} == {"pirate", "kantian"}
    assert (await store.counters()).turns == 6


async def test_a_match_whose_lineup_cannot_be_built_fails_with_the_reason(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec(pro="nobody"))
    async with running(Worker(store, settings, library)):
        events = await until_done(store, record.id)
    assert [e.type for e in events] == ["match_failed"]
    failed = await store.get_match(record.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and "persona 'nobody' not found" in failed.error
    assert await store.queue.pending() == 0


async def test_cancelling_a_running_match_stops_it_within_a_turn(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    models["local:pro"] = FunctionModel("local:pro", delay=0.05)
    record = await store.create_match(match_spec())
    async with running(Worker(store, settings, library)):
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


async def test_a_job_of_a_dead_worker_is_reclaimed_and_resumed_without_duplicates(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    record = await store.create_match(match_spec())
    # the dead worker: claims the job, takes the lease, streams into turn 1 and dies
    (job,) = await store.queue.claim("dead", 1, 100)
    assert job.match_id == record.id
    await store.begin_run(record.id, "dead")
    assert await store.queue.acquire_lease(record.id, "dead:1", 300)
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

    lineup = build_lineup(record.id, record.spec, library, settings)
    with pytest.raises(Crash):
        await run_match(lineup, dying)
    before = await store.read_events(record.id)
    assert any(e.type == "turn_started" and e.turn == 1 for e in before)
    assert not any(e.type == "turn_completed" and e.turn == 1 for e in before)

    # no heartbeat, never acked: after reclaim_idle_seconds another worker takes over
    async with running(Worker(store, settings, library, name="rescuer")):
        events = await until_done(store, record.id)
    assert events[-1].type == "match_completed"
    assert_each_turn_once(await store.read_events(record.id), record.total_turns)
    done = await store.get_match(record.id)
    assert done is not None and done.status == "completed" and done.worker == "rescuer"
    assert await store.queue.pending() == 0


async def test_two_workers_share_the_queue_without_running_a_match_twice(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    ids = [(await store.create_match(match_spec())).id for _ in range(4)]
    async with (
        running(Worker(store, settings, library, name="a")),
        running(Worker(store, settings, library, name="b")),
    ):
        for match_id in ids:
            await until_done(store, match_id)
    for match_id in ids:
        assert_each_turn_once(await store.read_events(match_id), 6)
    assert (await store.counters()).matches["completed"] == 4
    assert await store.queue.pending() == 0


async def test_a_stopped_worker_hands_its_match_to_the_next_one(
    store: Store, settings: Settings, library: Library, models: dict[str, FunctionModel]
) -> None:
    models["local:con"] = FunctionModel("local:con", delay=0.02)
    record = await store.create_match(match_spec())
    async with store.hub.subscribe(record.id) as sub:
        async with running(Worker(store, settings, library, name="first")):
            async for event in sub:
                if event.type == "turn_started" and event.turn == 1:
                    break
    interrupted = await store.get_match(record.id)
    assert interrupted is not None and interrupted.status == "running"
    # handed back as already idle, so the next worker reclaims it without waiting
    (entry,) = await store.redis.xpending_range(store.keys.queue, "workers", "-", "+", 1)
    assert entry["time_since_delivered"] >= settings.reclaim_idle_seconds * 1000
    async with running(Worker(store, settings, library, name="second")):
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
