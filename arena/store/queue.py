"""The job queue (a stream read through the consumer group `workers`), per-match leases, the
delivery count of each job and the dead-letter stream.

Delivery is at least once: a job stays pending until the worker that runs it XACKs it when the
match is over. While it runs, the worker re-claims its own entry every heartbeat (XCLAIM JUSTID,
which resets the entry's idle time without counting a delivery) and refreshes the lease. A worker
that dies stops both: after reclaim_idle_seconds its entry is idle enough to be claimed again
(`reclaim`) and its lease has expired, so another worker takes the job over. The lease, checked
by every append, makes sure that a worker that was only slow, not dead, can no longer write to
the match.

Deliveries are counted per match rather than read from XPENDING: a graceful hand-back (SIGTERM)
gives its delivery back, and a completed turn resets the count, so only deliveries that make no
progress add up. The worker compares the count with settings.max_deliveries and moves a job that
keeps failing to the dead-letter stream (`dead_letter`), acknowledging it in the same step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from arena.store.keys import GROUP, Keys
from arena.store.types import entries

RETRY_AFTER_SECONDS = 15

# KEYS: status:queued, matches, queue, persona:<pro>, persona:<con>. ARGV: queue_max, match id.
_ENQUEUE = """
local queued = redis.call('ZCARD', KEYS[1])
if queued >= tonumber(ARGV[1]) then return {0, queued} end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
redis.call('ZADD', KEYS[5], 0, ARGV[2])
redis.call('XADD', KEYS[3], '*', 'match', ARGV[2])
return {1, queued + 1}
"""

# refresh the lease, or take it again if it expired while nobody else took it (a stall)
_EXTEND = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS: record, deliveries. ARGV: TTL of the count in seconds. Counts one more delivery of the
# match's job, or restarts the count at 1 when turns were completed since the last one.
# Returns {deliveries, completed turns}, or {0, 0} when the match has no record.
_COUNT_DELIVERY = """
local fields = redis.call('HKEYS', KEYS[1])
if #fields == 0 then return {0, 0} end
local done = 0
for _, field in ipairs(fields) do
  if string.sub(field, 1, 2) == 't:' then done = done + 1 end
end
local n = 1
if redis.call('HGET', KEYS[2], 'turns') == tostring(done) then
  n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0') + 1
else
  redis.call('HDEL', KEYS[2], 'error')
end
redis.call('HSET', KEYS[2], 'n', n, 'turns', done)
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {n, done}
"""

# KEYS: deliveries. A delivery handed back on shutdown did not fail: it does not count.
_UNCOUNT_DELIVERY = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n > 0 then redis.call('HSET', KEYS[1], 'n', n - 1) end
return n
"""

DELIVERY_COUNT_TTL = 7 * 24 * 3600
DEAD_LETTER_MAXLEN = 10_000

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Job:
    entry_id: str
    match_id: str


@dataclass(frozen=True)
class DeadLetter:
    """A job given up after too many deliveries."""

    id: str
    match_id: str
    entry_id: str
    deliveries: int
    error: str
    worker: str


def _jobs(reply: Any) -> list[Job]:
    return [Job(eid, fields["match"]) for eid, fields in entries(reply) if "match" in fields]


class JobQueue:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._enqueue = redis.register_script(_ENQUEUE)
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)
        self._count_delivery = redis.register_script(_COUNT_DELIVERY)
        self._uncount_delivery = redis.register_script(_UNCOUNT_DELIVERY)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.queue, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(
        self, match_id: str, personas: tuple[str, str], queue_max: int
    ) -> tuple[bool, int]:
        """Index the match as queued and add its job, unless `queue_max` matches are queued
        already. Returns (added, number queued)."""
        k = self.keys
        ok, queued = await self._enqueue(
            keys=[
                k.status("queued"),
                k.matches,
                k.queue,
                k.persona(personas[0]),
                k.persona(personas[1]),
            ],
            args=[queue_max, match_id],
        )
        return bool(ok), int(queued)

    async def claim(self, consumer: str, count: int, block_ms: int) -> list[Job]:
        """New jobs, waiting up to block_ms for one."""
        reply = await self.redis.xreadgroup(
            GROUP, consumer, {self.keys.queue: ">"}, count=count, block=block_ms
        )
        return _jobs(reply)

    async def reclaim(self, consumer: str, count: int, min_idle_ms: int) -> list[Job]:
        """Up to `count` jobs whose worker stopped heartbeating, taken over. XPENDING IDLE finds
        them wherever they are in the pending list (XAUTOCLAIM only looks at 10 x count entries
        per call); XCLAIM with the same min idle time takes only those still idle, so two workers
        never both get one."""
        if count <= 0:
            return []
        idle = await self.redis.xpending_range(
            self.keys.queue, GROUP, "-", "+", count, idle=min_idle_ms
        )
        if not idle:
            return []
        ids: list[Any] = [entry["message_id"] for entry in idle]
        reply = await self.redis.xclaim(self.keys.queue, GROUP, consumer, min_idle_ms, ids)
        jobs = _jobs(reply)
        if jobs:
            await self.redis.hincrby(self.keys.counters, "jobs_reclaimed", len(jobs))
        return jobs

    async def touch(self, consumer: str, entry_id: str) -> None:
        """Reset the idle time of a job this worker is running (JUSTID: no delivery count)."""
        await self.redis.xclaim(self.keys.queue, GROUP, consumer, 0, [entry_id], justid=True)

    async def hand_back(self, consumer: str, job: Job, idle_ms: int) -> None:
        """Mark a job as idle for `idle_ms` so another worker reclaims it without waiting."""
        await self.redis.xclaim(
            self.keys.queue, GROUP, consumer, 0, [job.entry_id], idle=idle_ms, justid=True
        )

    async def ack(self, job: Job) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.queue, GROUP, job.entry_id)
            pipe.xdel(self.keys.queue, job.entry_id)
            await pipe.execute()
        await self.redis.delete(self.keys.deliveries(job.match_id))

    # delivery count and dead letters
    async def count_delivery(self, match_id: str) -> int:
        """Count a delivery of the match's job; returns the deliveries since the match last
        completed a turn (this one included), or 0 if the match has no record."""
        n, _turns = await self._count_delivery(
            keys=[self.keys.match(match_id), self.keys.deliveries(match_id)],
            args=[DELIVERY_COUNT_TTL],
        )
        return int(n)

    async def uncount_delivery(self, match_id: str) -> None:
        """Give back a counted delivery that was interrupted (a graceful shutdown), not failed."""
        await self._uncount_delivery(keys=[self.keys.deliveries(match_id)])

    async def record_failure(self, match_id: str, error: str) -> None:
        """Remember why this delivery of the match's job failed (for the dead letter)."""
        await self.redis.hset(self.keys.deliveries(match_id), "error", error)
        await self.redis.hincrby(self.keys.counters, "delivery_failures", 1)

    async def last_error(self, match_id: str) -> str | None:
        error = await self.redis.hget(self.keys.deliveries(match_id), "error")
        return None if error is None else str(error)

    async def dead_letter(self, job: Job, deliveries: int, error: str, worker: str) -> None:
        """Move a job that keeps failing to the dead-letter stream and acknowledge it, in one
        transaction (the queue, the dead letters and the counters share a hash slot)."""
        fields: dict[Any, Any] = {
            "match": job.match_id,
            "entry": job.entry_id,
            "deliveries": deliveries,
            "error": error,
            "worker": worker,
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.keys.dead, fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True)
            pipe.hincrby(self.keys.counters, "jobs_dead_lettered", 1)
            pipe.xack(self.keys.queue, GROUP, job.entry_id)
            pipe.xdel(self.keys.queue, job.entry_id)
            await pipe.execute()
        await self.redis.delete(self.keys.deliveries(job.match_id))

    async def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first."""
        reply = await self.redis.xrevrange(self.keys.dead, "+", "-", count=count)
        return [
            DeadLetter(
                id=eid,
                match_id=f["match"],
                entry_id=f.get("entry", ""),
                deliveries=int(f.get("deliveries", 0)),
                error=f.get("error", ""),
                worker=f.get("worker", ""),
            )
            for eid, f in entries(reply)
        ]

    async def pending(self) -> int:
        info = await self.redis.xpending(self.keys.queue, GROUP)
        return int(info["pending"])

    # leases
    async def acquire_lease(self, match_id: str, token: str, ttl_ms: int) -> bool:
        """Take the lease if nobody holds it, or refresh it if `token` holds it already (a
        worker that retries a job after a store error keeps its token)."""
        return await self.extend_lease(match_id, token, ttl_ms)

    async def extend_lease(self, match_id: str, token: str, ttl_ms: int) -> bool:
        return bool(await self._extend(keys=[self.keys.lease(match_id)], args=[token, ttl_ms]))

    async def release_lease(self, match_id: str, token: str) -> None:
        await self._release(keys=[self.keys.lease(match_id)], args=[token])
