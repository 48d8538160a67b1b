"""Store blackouts at chosen appends: a worker whose Redis connections all drop right after an
event reached Redis (its reply lost), right before one did (the write lost), or while one is in
flight that reaches Redis only later (a stale write), finishes its match with every turn exactly
once and no gap, in the stream, the REST transcript (its view) and a replay.

Each run is a worker in this process reaching a real redis-server (on TCP, this module's own)
through its own tests/tcp_proxy.py; the checks read Redis directly, and count what was written.
Each drop point runs ten times in each of two blackouts, all twenty runs at once: "brief" cuts
the connections and lets the client reconnect at once (redis-py sends the cut command again: its
write number must mark it as a resend); "outage" keeps Redis unreachable until the worker gives
up on its attempt (the sink breaks; the worker's retry fences off the attempt's writes, then
resumes from the stored events)."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from arena.api.views import fold_match, transcript
from arena.config import Settings
from arena.domain.events import Event
from arena.domain.personas import Library
from arena.domain.records import MatchRecord
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.models.base import GenerationRequest
from arena.personas.library import load_library
from arena.store import Store
from arena.store.server import redis_server_binary
from arena.worker.worker import Worker
from tests.exactly_once import check_exactly_once
from tests.fakes import FakeModels, FunctionModel
from tests.processes import free_port, on_cluster
from tests.tcp_proxy import APPEND_SCRIPT, Append, Lose, RedisProxy, Trigger

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(on_cluster(), reason="a cluster client finds its nodes past any proxy"),
]

PERSONAS = Path(__file__).parents[2] / "personas"  # this checkout's
TIMEOUT = 30.0
RUNS = 10
TURNS = 6
WORDS = "one two three four five six seven eight nine ten eleven twelve".split()
# every turn is exactly one whole reply: a lost batch or a repeated one breaks the match
REPLY = re.compile(r"I argue (FOR|AGAINST) the motion in reply \d+: " + " ".join(WORDS) + r"\.")


def reply(request: GenerationRequest) -> str:
    side = "FOR" if "FOR (PRO)" in request.system else "AGAINST"
    return f"I argue {side} the motion in reply {len(request.messages)}: {' '.join(WORDS)}."


def restarting(request: GenerationRequest) -> list[str]:
    """PRO's model cannot continue a reply: a cut turn restarts (turn_restarted)."""
    return re.split(r"(?= )", reply(request))


def continuing(request: GenerationRequest) -> list[str]:
    """CON's model continues a reply from the text Redis holds (`assistant_prefix`)."""
    whole, prefix = reply(request), request.assistant_prefix
    assert whole.startswith(prefix), f"continued from {prefix!r}, not a prefix of {whole!r}"
    return [p for p in re.split(r"(?= )", whole[len(prefix) :]) if p]


def nth(kind: str, turn: int | None = None, n: int = 1) -> Trigger:
    """The n-th append of an event of `kind` (of `turn`)."""

    def trigger(append: Append, before: list[Append]) -> bool:
        if append.type != kind or (turn is not None and append.turn != turn):
            return False
        return sum(a.type == kind and a.turn == append.turn for a in before) == n - 1

    return trigger


def any_append(append: Append, before: list[Append]) -> bool:
    """The next new append (in an outage: the first write of the worker's next attempt)."""
    return True


@dataclass(frozen=True)
class DropPoint:
    name: str
    triggers: tuple[Trigger, ...]  # a cut at each, in turn
    lose: Lose


# turns 0, 2, 4 are PRO's (a cut turn restarts), 1, 3, 5 CON's (a cut turn continues); a turn
# streams 16 tokens 3 ms apart and the sink writes them every 10 ms: at least 2 token appends
POINTS = [
    DropPoint("after-match_started", (nth("match_started"),), "reply"),
    DropPoint("turn_started-lost", (nth("turn_started", 0),), "write"),
    # and again after the next write (in an outage: the retry's turn_restarted)
    DropPoint("after-first-token-twice", (nth("token", 2, 1), any_append), "reply"),
    DropPoint("mid-batch-lost-restart", (nth("token", 2, 2),), "write"),
    DropPoint("mid-batch-lost-continue", (nth("token", 3, 2),), "write"),
    DropPoint("mid-batch-late", (nth("token", 3, 2),), "late"),
    DropPoint("after-turn_completed", (nth("turn_completed", 2),), "reply"),
    DropPoint("turn_completed-late", (nth("turn_completed", 1),), "late"),
    DropPoint("after-verdict", (nth("verdict", 2),), "reply"),
    DropPoint("after-match_completed", (nth("match_completed"),), "reply"),
]


@dataclass(frozen=True)
class RedisTcp:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


@pytest.fixture(scope="module")
def redis_tcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTcp]:
    """A redis-server of this module on a loopback TCP port, without persistence."""
    folder, port = tmp_path_factory.mktemp("redis-tcp"), free_port()
    with (folder / "redis.log").open("ab") as log:
        proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(folder)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                # loaded now, so that no append is ever answered NOSCRIPT (a second command)
                client.script_load(APPEND_SCRIPT)
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)  # nothing to wait on until it listens
        yield RedisTcp("127.0.0.1", port)
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(PERSONAS)


class AttemptFailed(logging.Handler):
    """Counts the times the worker gave up on an attempt at the match to retry it from Redis."""

    def __init__(self, match_id: str) -> None:
        super().__init__()
        self.match_id = match_id
        self.count = 0
        self._reached: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def emit(self, record: logging.LogRecord) -> None:
        message, args = str(record.msg), record.args
        if message.startswith("match %s: store error") and isinstance(args, tuple):
            if args and args[0] == self.match_id:
                self.count += 1
                self._reached[self.count].set()

    async def reached(self, count: int) -> None:
        await self._reached[count].wait()


@asynccontextmanager
async def attempts_watched(match_id: str) -> AsyncIterator[AttemptFailed]:
    handler, logger = AttemptFailed(match_id), logging.getLogger("arena.worker.worker")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@asynccontextmanager
async def proxied(target: RedisTcp) -> AsyncIterator[RedisProxy]:
    proxy = await RedisProxy(target.host, target.port).start()
    try:
        yield proxy
    finally:
        await proxy.aclose()


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Store]:
    store = await Store.connect(settings)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[None]:
    """Run `worker`; on the way out, let the jobs it runs end by themselves, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
        await asyncio.wait_for(asyncio.gather(*worker.running.values()), TIMEOUT)
    finally:
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)


async def followed(store: Store, match_id: str) -> list[Event]:
    async with store.spectate(match_id) as sub:
        return [event async for event in sub]


def match_spec() -> MatchSpec:
    return MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona="pirate", model="ollama:pro"),
        con=DebaterSpec(persona="kantian", model="ollama:con"),
        rounds=1,
        judges=["ollama:judge"],
    )


def check_stream(events: list[Event]) -> dict[int, str]:
    """Every turn exactly once, each one whole reply, no gap; returns the turn texts."""
    texts = check_exactly_once(events, TURNS, opening="I argue")
    for turn, text in texts.items():
        side = "FOR" if turn % 2 == 0 else "AGAINST"
        assert REPLY.fullmatch(text) and f"I argue {side}" in text, f"turn {turn}: {text!r}"
    assert events[-1].type == "match_completed"
    return texts


def check_transcript(record: MatchRecord, events: list[Event], texts: dict[int, str]) -> None:
    """What GET /api/matches/{id}/transcript answers (arena.api.routes.matches)."""
    body = transcript(record, fold_match(record, events)).model_dump(mode="json")
    assert body["status"] == "completed"
    turns = body["turns"]
    assert [t["turn"] for t in turns] == list(range(TURNS))
    assert all(t["completed"] and t["verdict"] is not None for t in turns)
    assert {t["turn"]: t["text"] for t in turns} == texts


async def one_run(
    target: RedisTcp, library: Library, folder: Path, point: DropPoint, outage: bool
) -> None:
    """One match, its worker behind its own proxy, cut once at `point`; then the checks."""
    direct = Settings(
        _env_file=None,
        redis_url=target.url,
        key_prefix=f"blackout-{uuid.uuid4().hex[:12]}",
        data_dir=folder,
        personas_dir=PERSONAS,
    )
    through_proxy = direct.model_copy(
        update={
            "heartbeat_seconds": 0.5,
            "reclaim_idle_seconds": 2.0,
            "token_coalesce_ms": 10,
            "worker_concurrency": 1,
        }
    )
    models = {
        "ollama:pro": FunctionModel("ollama:pro", stream_fn=restarting, delay=0.003),
        "ollama:con": FunctionModel(
            "ollama:con", stream_fn=continuing, delay=0.003, continues_prefix=True
        ),
    }
    factory = FakeModels(settings=through_proxy, models=models)
    async with proxied(target) as proxy, connected(direct) as store:
        record = await store.create_match(match_spec())
        proxy.arm(point.triggers, point.lose, outage=outage)
        through_proxy = through_proxy.model_copy(update={"redis_url": proxy.url})
        async with attempts_watched(record.id) as failed, connected(through_proxy) as far:
            worker = Worker(far, through_proxy, library, factory, name=f"w-{record.id}")
            async with running(worker):
                follow = asyncio.create_task(followed(store, record.id))
                for n, cut in enumerate(proxy.cuts, 1):
                    await asyncio.wait_for(cut.wait(), TIMEOUT)
                    if outage:  # Redis is gone until the worker gave up on its attempt
                        await asyncio.wait_for(failed.reached(n), TIMEOUT)
                        proxy.restore()
                live = await asyncio.wait_for(follow, TIMEOUT)
        await proxy.deliver_late()  # if no append came after it, the stale write comes now
        assert proxy.errors == []
        if point.lose == "late":
            assert proxy.late_reply == b"$-1\r\n", proxy.late_reply  # refused: nil
        if outage:
            assert proxy.refused > 0 and failed.count == len(point.triggers)
        else:  # the client rode the cut out by itself, sending the cut command again
            assert failed.count == 0, "the worker retried its attempt after a brief cut"
            assert point.lose != "reply" or proxy.resends > 0

        events = await store.read_events(record.id)
        texts = check_stream(events)
        assert [e.id for e in live] == [e.id for e in events]
        done = await store.get_match(record.id)
        assert done is not None and done.status == "completed" and done.turns_done == TURNS
        assert await store.queue.pending() == 0
        check_transcript(done, events, texts)
    async with connected(direct) as fresh:  # a replay from Redis, not from a node's memory
        replayed = await followed(fresh, record.id)
    assert [(e.id, e.type) for e in replayed] == [(e.id, e.type) for e in events]


@pytest.mark.parametrize("point", POINTS, ids=[p.name for p in POINTS])
async def test_a_blackout_at_an_append_loses_and_repeats_nothing(
    redis_tcp: RedisTcp, library: Library, tmp_path: Path, point: DropPoint
) -> None:
    """RUNS brief cuts and RUNS outages at once, each run with its own proxy, worker, store and
    match (an outage waits mostly for the client's retries: the brief runs fill that time)."""
    modes = [outage for outage in (False, True) for _ in range(RUNS)]
    runs = [
        one_run(redis_tcp, library, tmp_path / str(i), point, outage)
        for i, outage in enumerate(modes)
    ]
    results = await asyncio.gather(*runs, return_exceptions=True)
    failed = [
        f"{'outage' if outage else 'brief'} run {i % RUNS}: {result!r}"
        for i, (outage, result) in enumerate(zip(modes, results, strict=True))
        if isinstance(result, BaseException)
    ]
    first = next((r for r in results if isinstance(r, BaseException)), None)
    if failed:
        raise AssertionError(
            f"{len(failed)} of {len(runs)} runs failed\n" + "\n".join(failed)
        ) from first
