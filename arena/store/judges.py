"""Each judge's position-swap checks (arena.domain.results.SwapTally), summed over every
completed match, for GET /api/judges. A match's tallies are added once: its id joins a set in
the same script, so finalizing a match again (after every terminal event, and on recovery) adds
nothing. The set is bounded: an id is kept for COUNTED_DAYS (a match is finalized again within
minutes, never days later), and older ids are dropped as new ones come."""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from arena.domain.results import SwapTally
from arena.store.keys import Keys
from arena.store.types import text_map

FIELDS = ("pairs", "inconsistent", "unscored")
COUNTED_DAYS = 7

# KEYS: totals hash, counted zset (id -> ms). ARGV: match id, now ms, horizon ms, then judge,
# pairs, inconsistent, unscored, ...
_ADD = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
if redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1]) == 0 then return 0 end
for i = 4, #ARGV, 4 do
  redis.call('HINCRBY', KEYS[1], 'pairs:' .. ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[1], 'inconsistent:' .. ARGV[i], ARGV[i + 2])
  redis.call('HINCRBY', KEYS[1], 'unscored:' .. ARGV[i], ARGV[i + 3])
end
return 1
"""


class JudgeSwaps:
    """Per judge: swapped turns scored both ways, the inconsistent ones, and the unscored."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._add = redis.register_script(_ADD)

    async def add(self, match_id: str, tallies: Sequence[SwapTally]) -> bool:
        """Count a completed match's tallies; False when it was counted before."""
        if not tallies:
            return False
        now = int(time.time() * 1000)
        args: list[str | int] = [match_id, now, now - COUNTED_DAYS * 86_400_000]
        for t in tallies:
            args += [t.judge, t.pairs, t.inconsistent, t.unscored]
        keys = [self.keys.judge_swaps, self.keys.judge_swaps_counted]
        return bool(await self._add(keys=keys, args=args))

    async def totals(self) -> dict[str, SwapTally]:
        raw = text_map(await self.redis.hgetall(self.keys.judge_swaps))
        out: dict[str, SwapTally] = {}
        for field, value in raw.items():
            kind, _, judge = field.partition(":")
            if kind in FIELDS and judge:
                tally = out.setdefault(judge, SwapTally(judge=judge))
                setattr(tally, kind, int(value))
        return out
