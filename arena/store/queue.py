"""The job queue (a stream read through the consumer group `workers`) and per-match leases.

Delivery is at least once: a job stays pending until the worker that runs it XACKs it when the
match is over. While it runs, the worker re-claims its own entry every heartbeat (which resets
the entry's idle time) and refreshes the lease. A worker that dies stops both: after
reclaim_idle_seconds its entry is idle enough for XAUTOCLAIM and its lease has expired, so
another worker takes the job over. The lease, checked by every append, makes sure that a worker
that was only slow, not dead, can no longer write to the match.
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

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Job:
    entry_id: str
    match_id: str


def _jobs(reply: Any) -> list[Job]:
    return [Job(eid, fields["match"]) for eid, fields in entries(reply) if "match" in fields]


class JobQueue:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._enqueue = redis.register_script(_ENQUEUE)
        self._extend = redis.register_script(_EXTEND)
        self._release = redis.register_script(_RELEASE)

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
        """Jobs whose worker stopped heartbeating, taken over with XAUTOCLAIM."""
        reply = await self.redis.xautoclaim(
            self.keys.queue, GROUP, consumer, min_idle_ms, start_id="0-0", count=count
        )
        return _jobs(reply[1]) if reply else []

    async def touch(self, consumer: str, entry_id: str) -> None:
        """Reset the idle time of a job this worker is running (JUSTID: no delivery count)."""
        await self.redis.xclaim(self.keys.queue, GROUP, consumer, 0, [entry_id], justid=True)

    async def hand_back(self, consumer: str, entry_id: str, idle_ms: int) -> None:
        """Mark a job as idle for `idle_ms` so another worker reclaims it without waiting."""
        await self.redis.xclaim(
            self.keys.queue, GROUP, consumer, 0, [entry_id], idle=idle_ms, justid=True
        )

    async def ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.queue, GROUP, entry_id)
            pipe.xdel(self.keys.queue, entry_id)
            await pipe.execute()

    async def pending(self) -> int:
        info = await self.redis.xpending(self.keys.queue, GROUP)
        return int(info["pending"])

    # leases
    async def acquire_lease(self, match_id: str, token: str, ttl_ms: int) -> bool:
        return bool(await self.redis.set(self.keys.lease(match_id), token, nx=True, px=ttl_ms))

    async def extend_lease(self, match_id: str, token: str, ttl_ms: int) -> bool:
        return bool(await self._extend(keys=[self.keys.lease(match_id)], args=[token, ttl_ms]))

    async def release_lease(self, match_id: str, token: str) -> None:
        await self._release(keys=[self.keys.lease(match_id)], args=[token])
