"""The Store facade: the one object the API, the worker and the CLI use to reach Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError

from arena.config import Settings
from arena.domain.events import TERMINAL_TYPES, Event, MatchCancelledEvent, TurnCompleted, Verdict
from arena.domain.records import STATUSES, Calibration, MatchRecord, MatchStatus
from arena.domain.results import SwapTally
from arena.domain.samples import calibration_sample_for, pressure_sample_for, samples_for
from arena.domain.specs import MatchSpec
from arena.store.clients import cluster_state, is_cluster, pooled_client, redacted
from arena.store.compaction import Compaction
from arena.store.hub import Hub, Subscription
from arena.store.judges import JudgeSwaps
from arena.store.keys import Keys
from arena.store.matches import (
    decode_record,
    new_match_id,
    new_record_fields,
    record_updates,
)
from arena.store.packed import PackedCache, PackedMatches
from arena.store.personas import SavedPersonas
from arena.store.queue import RETRY_AFTER_SECONDS, JobQueue
from arena.store.records import Records
from arena.store.retention import Retention
from arena.store.samples import BoardSamples
from arena.store.seats import Seats
from arena.store.server import EmbeddedServer
from arena.store.streams import CoalescingSink, EventLog, decode_entry
from arena.store.tournaments import Tournaments
from arena.store.types import QueueFull, StoreError

log = logging.getLogger(__name__)

CANCEL_FLAG_TTL = 24 * 3600

# KEYS: record, events. ARGV: allowed statuses (space separated), event JSON or '', then record
# field/value pairs. Returns {previous status or '', 1 if applied else 0}.
_TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'', 0} end
if not string.find(' ' .. ARGV[1] .. ' ', ' ' .. status .. ' ', 1, true) then
  return {status, 0}
end
if ARGV[2] ~= '' then redis.call('XADD', KEYS[2], '*', 'e', ARGV[2]) end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
return {status, 1}
"""


class StoreCounters(BaseModel):
    """Totals for metrics: matches per status, and turns, tokens and judge failures so far."""

    matches: dict[MatchStatus, int]
    turns: int
    tokens_in: int
    tokens_out: int
    judge_failures: int
    jobs_reclaimed: int = 0  # jobs taken over from a worker that stopped heartbeating
    delivery_failures: int = 0  # deliveries whose handling raised outside the engine
    jobs_dead_lettered: int = 0  # jobs given up after settings.max_deliveries


class Store:
    """Matches, their event streams, the job queue and the leaderboard, all in Redis."""

    def __init__(
        self,
        redis: Redis,
        settings: Settings,
        server: EmbeddedServer | None,
        spectator_redis: Redis | None = None,
    ) -> None:
        """`redis` serves the worker and the API; `spectator_redis` (default: the same) serves
        only the hub, so that spectators never wait for, or take, the worker's connections."""
        self.redis, self.settings, self.server = redis, settings, server
        self.spectator_redis = spectator_redis or redis
        self.keys = Keys(settings.key_prefix)
        packed = PackedCache()  # compacted matches, decompressed once for both clients
        self.packed = PackedMatches(redis, self.keys, packed)
        self.events = EventLog(redis, self.keys, self.packed)
        self.records = Records(redis, self.keys, self.packed)
        self.queue = JobQueue(redis, self.keys)
        self.hub = Hub(
            self.spectator_redis,
            self.keys,
            maxsize=settings.spectator_buffer,
            window_bytes=settings.spectator_window_bytes,
            finished_matches=settings.spectator_cache_matches,
            packed=PackedMatches(self.spectator_redis, self.keys, packed),
        )
        self.compaction = Compaction(redis, self.keys)
        self.retention = Retention(redis, self.keys)
        self._transition = redis.register_script(_TRANSITION)
        self.samples = BoardSamples(redis, self.keys)
        self.tournaments = Tournaments(redis, self.keys)
        self.personas = SavedPersonas(redis, self.keys)
        self.judge_swaps = JudgeSwaps(redis, self.keys)
        self.seats = Seats(redis, self.keys)

    @classmethod
    async def connect(cls, settings: Settings) -> Store:
        """REDIS_URL when set, else the embedded redis-server of settings.data_dir."""
        server = None
        if settings.redis_cluster and not settings.redis_url:
            raise StoreError("ARENA_REDIS_CLUSTER=true needs REDIS_URL: any node of the cluster")
        if settings.redis_url:
            url = settings.redis_url
            if not settings.redis_cluster:
                log.info("store: Redis at %s (REDIS_URL)", redacted(url))
        else:
            server = EmbeddedServer(settings.data_dir)
            url = await asyncio.to_thread(server.acquire)
            log.info(
                "store: embedded redis-server (pid %s, %s) at %s, data in %s",
                server.pid,
                "started" if server.started else "shared",
                url,
                server.data_dir,
            )
        cluster = settings.redis_cluster
        redis = pooled_client(
            url,
            size=settings.redis_pool_size,
            timeout=settings.redis_pool_timeout,
            name="arena",
            cluster=cluster,
        )
        spectators = pooled_client(
            url,
            size=settings.spectator_pool_size,
            timeout=settings.redis_pool_timeout,
            name="arena-spectators",
            cluster=cluster,
        )
        store = cls(redis, settings, server, spectators)
        try:
            await store.queue.ensure_group()
            if cluster:
                _, masters = await cluster_state(redis)
                log.info("store: Redis Cluster at %s (%d masters)", redacted(url), masters)
        except (RedisError, RedisClusterException, OSError) as exc:
            await store.close()
            raise StoreError(f"cannot use Redis at {redacted(url)}: {exc}") from exc
        return store

    async def close(self) -> None:
        await self.hub.close()
        await self.redis.aclose()
        if self.spectator_redis is not self.redis:
            await self.spectator_redis.aclose()
        if self.server is not None:
            await asyncio.to_thread(self.server.release)
            self.server = None

    async def cluster_state(self) -> tuple[bool, int] | None:
        """On a Redis Cluster: (CLUSTER INFO says cluster_state:ok, masters); else None."""
        return await cluster_state(self.redis) if is_cluster(self.redis) else None

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    # matches
    async def create_match(self, spec: MatchSpec, seat_token: str | None = None) -> MatchRecord:
        """Store a new match (with its human challenger's seat token, kept as a hash) and queue
        its job; raises QueueFull when the queue is full."""
        match_id = new_match_id()
        fields = new_record_fields(match_id, spec)
        mapping: dict[Any, Any] = fields
        await self.redis.hset(self.keys.match(match_id), mapping=mapping)
        if seat_token is not None:
            await self.seats.create(match_id, seat_token)
        personas = (spec.pro.persona, spec.con.persona)
        ok, queued = await self.queue.enqueue(match_id, personas, self.settings.queue_max)
        if not ok:
            await self.redis.delete(self.keys.match(match_id), self.keys.seat(match_id))
            raise QueueFull(RETRY_AFTER_SECONDS, queued)
        record = decode_record(fields)
        assert record is not None
        return record

    async def get_match(self, match_id: str) -> MatchRecord | None:
        return await self.records.get(match_id)

    async def archived_on(self, match_id: str) -> datetime | None:
        """When an archive run removed this match from Redis (None: it never did)."""
        return await self.retention.archived_on(match_id)

    async def get_matches(self, match_ids: list[str]) -> dict[str, MatchRecord]:
        """The records of these matches (unknown ones left out), in one round trip or two."""
        return {r.id: r for r in await self.records.many(match_ids) if r is not None}

    async def statuses_of(self, match_ids: Iterable[str]) -> dict[str, str | None]:
        """The status of each match (None for an unknown one), in one round trip."""
        return await self.records.statuses(match_ids)

    async def list_matches(
        self,
        status: MatchStatus | None = None,
        limit: int = 20,
        cursor: str | None = None,
        persona: str | None = None,
    ) -> tuple[list[MatchRecord], str | None]:
        """Newest first. `cursor` is the `next_cursor` of the previous page."""
        index = (
            self.keys.persona(persona)
            if persona
            else self.keys.status(status)
            if status
            else self.keys.matches
        )
        return await self.records.page(index, status, max(1, limit), cursor)

    async def request_cancel(self, match_id: str) -> MatchRecord | None:
        """Cancel a queued match at once; ask the worker of a running one to stop."""
        record = await self.get_match(match_id)
        if record is None or record.finished:
            return record
        await self.redis.set(self.keys.cancel(match_id), "1", ex=CANCEL_FLAG_TTL)
        event = MatchCancelledEvent(match_id=match_id, reason="cancelled before it started")
        if await self.transition(match_id, ("queued",), record_updates(event), event):
            await self.finalize(match_id)
        return await self.get_match(match_id)

    async def transition(
        self,
        match_id: str,
        allowed: tuple[str, ...],
        fields: dict[str, str],
        event: Event | None = None,
    ) -> bool:
        """Set `fields` (and append `event`) only if the status is one of `allowed`."""
        k = self.keys
        pairs = [x for item in fields.items() for x in item]
        data = event.model_dump_json(exclude={"id"}) if event is not None else ""
        _, applied = await self._transition(
            keys=[k.match(match_id), k.events(match_id)], args=[" ".join(allowed), data, *pairs]
        )
        return bool(applied)

    async def begin_run(self, match_id: str, worker: str) -> MatchRecord | None:
        """Mark a queued (or orphaned running) match as running by `worker`."""
        fields = {"status": "running", "worker": worker}
        if await self.transition(match_id, ("queued", "running"), fields):
            now = datetime.now(UTC).isoformat()
            await self.redis.hsetnx(self.keys.match(match_id), "started_at", now)
            await self._index(match_id, "running")
        return await self.get_match(match_id)

    async def cancel_requested(self, match_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.cancel(match_id)))

    async def finalize(self, match_id: str) -> MatchRecord | None:
        """Bring the indexes and the leaderboard in line with the record. Idempotent: run after
        every terminal event, and again by a worker that finds a match already finished."""
        record = await self.get_match(match_id)
        if record is None:
            return None
        await self._index(match_id, record.status)
        if record.finished:
            await self.redis.delete(self.keys.cancel(match_id))
            if record.spec.human is not None:
                await self.seats.expire(match_id, CANCEL_FLAG_TTL)
            await self.compaction.schedule(match_id, self.settings.compact_after_seconds)
        if record.status == "completed" and record.metrics is not None:
            await self._record_samples(record)
        return record

    async def _record_samples(self, record: MatchRecord) -> None:
        """What a completed match contributes to the boards (arena.domain.samples)."""
        assert record.metrics is not None
        spec, metrics = record.spec, record.metrics
        await self.judge_swaps.add(record.id, metrics.swap)
        if spec.pressure is not None:
            target = spec.debater(spec.pressure.target)
            if spec.calibration is not None:
                found = calibration_sample_for(record.id, metrics, target.persona, target.model)
                if found is not None:
                    await self.samples.add_calibration(found)
                return
            sample = pressure_sample_for(record.id, metrics, target.persona, target.model, spec)
            if sample is not None:
                await self.samples.add_pressure(sample)
            return
        verdicts = [e for e in await self.read_events(record.id) if isinstance(e, Verdict)]
        played = {"pro": spec.pro.version, "con": spec.con.version}
        await self.samples.add(samples_for(record.id, metrics, verdicts, played))

    async def _index(self, match_id: str, status: MatchStatus) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for other in STATUSES:
                if other != status:
                    pipe.zrem(self.keys.status(other), match_id)
            pipe.zadd(self.keys.status(status), {match_id: 0})
            await pipe.execute()

    # events
    async def read_events(
        self, match_id: str, after: str | None = None, count: int | None = None
    ) -> list[Event]:
        return await self.events.read(match_id, after, count)

    async def read_events_of(self, match_ids: Iterable[str]) -> dict[str, list[Event]]:
        """Every event of each match, read together (one round trip, two with compacted
        matches not yet decompressed on this node)."""
        found = await self.events.many_entries(match_ids)
        return {m: [decode_entry(i, fields) for i, fields in e] for m, e in found.items()}

    def spectate(
        self, match_id: str, after: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[Subscription]:
        """Follow a match on this node's hub: its stored events after `after`, then live ones.
        Raises InvalidEventId for a malformed `after` and MatchNotFound for an unknown match."""
        return self.hub.subscribe(match_id, after)

    def event_sink(
        self, match_id: str, lease: str | None = None, lease_ms: int = 30_000
    ) -> CoalescingSink:
        """The sink run_match writes to. With `lease`, writes stop (LeaseLost) once another
        worker holds the match."""
        return CoalescingSink(
            self.events,
            match_id,
            window=self.settings.token_coalesce_ms / 1000,
            lease=lease,
            lease_ms=lease_ms,
            after_append=self._after_append,
        )

    async def _after_append(self, event: Event) -> None:
        c = self.keys.counters
        if isinstance(event, TurnCompleted):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(c, "turns", 1)
                pipe.hincrby(c, "tokens_in", event.tokens_in)
                pipe.hincrby(c, "tokens_out", event.tokens_out)
                await pipe.execute()
        elif isinstance(event, Verdict):
            failures = sum(not j.scored for j in event.judges)
            if failures:
                await self.redis.hincrby(c, "judge_failures", failures)
        elif event.type in TERMINAL_TYPES:
            await self.finalize(event.match_id)

    # judges' calibrations (arena judge-eval --record)
    async def judge_calibration(self, model: str) -> Calibration | None:
        return await self.samples.calibration(model)

    async def record_judge_calibration(self, calibration: Calibration) -> None:
        await self.samples.record_calibration(calibration)

    async def judge_swap_totals(self) -> dict[str, SwapTally]:
        """Each judge's position swaps summed over every completed match."""
        return await self.judge_swaps.totals()

    async def counters(self) -> StoreCounters:
        async with self.redis.pipeline(transaction=False) as pipe:
            for status in STATUSES:
                pipe.zcard(self.keys.status(status))
            pipe.hgetall(self.keys.counters)
            *sizes, totals = await pipe.execute()
        return StoreCounters(
            matches=dict(zip(STATUSES, (int(n) for n in sizes), strict=True)),
            turns=int(totals.get("turns", 0)),
            tokens_in=int(totals.get("tokens_in", 0)),
            tokens_out=int(totals.get("tokens_out", 0)),
            judge_failures=int(totals.get("judge_failures", 0)),
            jobs_reclaimed=int(totals.get("jobs_reclaimed", 0)),
            delivery_failures=int(totals.get("delivery_failures", 0)),
            jobs_dead_lettered=int(totals.get("jobs_dead_lettered", 0)),
        )
