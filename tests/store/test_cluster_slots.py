"""Every Lua script and every MULTI/EXEC block of the store touches the keys of one hash slot,
so the key schema works on a Redis Cluster (keys.py: a match's keys share `{<match id>}`, the
global keys share `{P}`).

The store runs here through a client that computes the slot of every key a script, a multi-key
command or a transaction is given (redis-py's own CRC16 `key_slot`) and fails on two slots, on a
single server as well as on a cluster: a future script that breaks the rule fails this test even
when no cluster is at hand. The test also fails if the store registers a script it never ran, so
a new script must be added to the exercise below."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot
from redis.commands.core import AsyncScript
from redis.exceptions import RedisClusterException

from arena.config import Settings
from arena.domain.events import MatchCompleted
from arena.domain.results import SwapTally
from arena.domain.specs import DebaterSpec, HumanSeat, MatchSpec, pressure_spec
from arena.personas.library import load_library
from arena.store import Store
from arena.store.clients import cluster_client
from arena.store.keys import Keys
from tests.engine_helpers import PERSONAS
from tests.processes import on_cluster
from tests.store.helpers import board_rows, spec, token, turn_completed, turn_started
from tests.store.test_leaderboard import metrics, verdict
from tests.store.test_personas_store import card

SCRIPTS = ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO")
ALL_KEYS = {"DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SUNION", "SINTER", "SDIFF",
            "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE"}  # fmt: skip
TWO_KEYS = {"RENAME", "RENAMENX", "SMOVE", "LMOVE", "BLMOVE", "RPOPLPUSH", "BRPOPLPUSH", "COPY"}


def human_spec() -> MatchSpec:
    return pressure_spec(
        motion="m", motion_id=None, target=DebaterSpec(persona="stoic", model="local:smollm2"),
        side="con", tactic="disagree", rounds=1, challenger_persona=None, challenger_model=None,
        probe=False, judges=["local:smollm2"], word_limit=20, human=HumanSeat(),
    )  # fmt: skip


class CrossSlot(AssertionError):
    """A script, a multi-key command or a transaction was given keys of two hash slots."""


def _text(value: Any) -> str:
    # errors replaced: a script's arguments may be binary (a compacted match's packed value)
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def command_keys(args: tuple[Any, ...]) -> list[str]:
    """The keys of one command (args[1] for the single-key ones the store sends)."""
    name, rest = _text(args[0]).upper(), [_text(a) for a in args[1:]]
    if name in SCRIPTS:
        return rest[2 : 2 + int(rest[1])]
    if name in ("XREAD", "XREADGROUP"):
        streams = rest[[a.upper() for a in rest].index("STREAMS") + 1 :]
        return streams[: len(streams) // 2]
    if name in ALL_KEYS:
        return rest
    if name in TWO_KEYS:
        return rest[:2]
    if name in ("MSET", "MSETNX"):
        return rest[::2]
    if name in ("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"):
        return [rest[0], *rest[2 : 2 + int(rest[1])]]
    if name in ("MULTI", "EXEC", "DISCARD", "UNWATCH", "PING") or not rest:
        return []
    return rest[:1]


def check_one_slot(what: str, keys: Iterable[str]) -> None:
    slots = {key_slot(k.encode()) for k in keys}
    if len(slots) > 1:
        raise CrossSlot(f"{what} touches keys of {len(slots)} hash slots: {sorted(set(keys))}")


class _Guard:
    """Checks each command's keys; remembers the scripts registered and those run."""

    registered: dict[str, str]
    ran: set[str]

    def guard_init(self) -> None:
        self.registered, self.ran = {}, set()

    def register_script(self, script: str) -> AsyncScript:
        registered = AsyncScript(self, script)  # type: ignore[arg-type]
        self.registered[registered.sha] = script
        return registered

    def check(self, args: tuple[Any, ...]) -> None:
        name = _text(args[0]).upper()
        if name in SCRIPTS:
            self.ran.add(_text(args[1]))
        check_one_slot(name, command_keys(args))


class _GuardedPipeline(Pipeline):
    """A single server's pipeline: a MULTI/EXEC block (and its WATCHed keys) in one slot."""

    guard: _Guard
    watched: list[str]

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        self.guard.check(args)
        if _text(args[0]).upper() == "WATCH":
            self.watched = [*getattr(self, "watched", []), *command_keys(args)]
        return super().execute_command(*args, **kwargs)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if self.is_transaction or self.explicit_transaction:
            keys = [k for c in self.command_stack for k in command_keys(c[0])]
            check_one_slot("a MULTI/EXEC block", [*getattr(self, "watched", []), *keys])
        self.watched = []
        return await super().execute(raise_on_error)


class GuardedRedis(_Guard, Redis):
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.check(args)
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = _GuardedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.guard = self
        return pipe


class GuardedCluster(_Guard, RedisCluster):
    """On a cluster, redis-py's ClusterPipeline refuses a cross-slot transaction by itself."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        self.check(args)
        return await super().execute_command(*args, **kwargs)


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[tuple[Store, _Guard]]:
    """A store on a checking client, on the test's Redis (embedded, REDIS_URL or a cluster)."""
    reference = await Store.connect(settings)  # the app's own path to the server
    client: Any
    try:
        if on_cluster():
            assert settings.redis_url is not None
            client = cluster_client(
                settings.redis_url, size=8, name="slots", client_class=GuardedCluster
            )
        else:
            pool = reference.redis.connection_pool
            client = GuardedRedis.from_pool(
                ConnectionPool(connection_class=pool.connection_class, **pool.connection_kwargs)
            )
        client.guard_init()
        store = Store(client, settings, None)
        try:
            yield store, client
        finally:
            await store.close()
    finally:
        await reference.close()


async def test_every_script_and_transaction_of_a_match_stays_in_one_slot(
    guarded: tuple[Store, _Guard],
) -> None:
    store, guard = guarded
    # a match from the queue to the leaderboard, the way the worker runs it
    record = await store.create_match(spec(pro="stoic", con="pirate"))
    (job,) = await store.queue.claim("w1", 1, 100)
    assert await store.queue.count_delivery(record.id) == 1
    await store.queue.uncount_delivery(record.id)
    assert await store.queue.acquire_lease(record.id, "w1:1", 10_000)
    assert await store.queue.extend_lease(record.id, "w1:1", 10_000)
    await store.begin_run(record.id, "w1")
    sink = store.event_sink(record.id, lease="w1:1", lease_ms=10_000)
    await sink(turn_started(record.id))
    await sink(token(record.id, "Arr"))
    await sink(turn_completed(record.id, "Arr"))
    for turn, holding in ((0, 0.9), (1, 0.6)):
        await sink(verdict(record.id, turn, holding))
    await sink(MatchCompleted(match_id=record.id, metrics=metrics("stoic", "pirate", 0.9, 0.6)))
    await sink.flush()
    await store.queue.release_lease(record.id, "w1:1")
    await store.queue.touch("w1", job.entry_id)
    await store.queue.ack(job)
    assert {r.persona for r in await board_rows(store)} == {"stoic", "pirate"}
    assert await store.samples.save_state("debate", 1, "{}")  # a node's board, for the next
    assert await store.judge_swaps.add(record.id, [SwapTally(judge="j", pairs=2)])  # swaps
    # a job that keeps failing, a cancelled match, the listings and counters
    failing = await store.create_match(spec())
    (bad,) = await store.queue.claim("w1", 1, 100)
    await store.queue.record_failure(failing.id, "boom")
    await store.queue.dead_letter(bad, 5, "boom", "w1")
    cancelled = await store.create_match(spec())
    assert (await store.request_cancel(cancelled.id)).status == "cancelled"  # type: ignore[union-attr]
    assert len((await store.list_matches(limit=10))[0]) == 3
    assert (await store.counters()).turns == 1
    # saved personas: an import is a WATCHed transaction
    await store.personas.import_files([card("Ada")], load_library(PERSONAS))
    # the janitor: the finished match compacted, then removed by an archive run
    await store.compaction.take(10)
    assert await store.compaction.compact(record.id) == "compacted"
    assert (await store.read_events(record.id))[-1].type == "match_completed"
    assert await store.retention.remove(record.id, record.total_turns, ("stoic", "pirate"))
    # a human challenger's seat: a countdown, a send, its poll, the typing gate, the rate limits
    seated = await store.create_match(human_spec(), seat_token="seat-token")
    await store.begin_run(seated.id, "w1")
    await store.seats.open_turn(seated.id, 1, 30)
    assert (await store.seats.submit(seated.id, "Hello.", "key-00001")).outcome == "waiting"
    assert await store.seats.poll(seated.id, 1) == (False, None)
    assert await store.seats.typing(seated.id, 1, 3.0)
    assert await store.seats.hit(store.keys.seat(seated.id, "rate"), 5) == 0
    assert await store.seats.hit(store.keys.seat_ip("abc"), 5) == 0

    never_ran = {sha: text for sha, text in guard.registered.items() if sha not in guard.ran}
    assert not never_ran, f"scripts the store registers but this test never ran: {never_ran}"


async def test_a_script_given_keys_of_two_slots_fails_the_check(
    guarded: tuple[Store, _Guard],
) -> None:
    store, _ = guarded
    keys = Keys("slots")
    two = [keys.events("a"), keys.events("b")]
    assert key_slot(two[0].encode()) != key_slot(two[1].encode())
    script = store.redis.register_script("return #KEYS")
    with pytest.raises((CrossSlot, RedisClusterException)):
        await script(keys=two)
    with pytest.raises((CrossSlot, RedisClusterException)):
        async with store.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.match("a"), "x", "1")
            pipe.hset(keys.match("b"), "x", "1")
            await pipe.execute()
    assert await script(keys=[keys.events("a"), keys.match("a")]) == 2  # one slot: fine
