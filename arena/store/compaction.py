"""Compaction: a finished match rewritten into what is worth keeping, in one atomic step.

A match that ends is put on a due set (`{P}:compact_due`, score = when) by the store's
`finalize`, `compact_after_seconds` later, so that live spectators read it from its stream until
then. A janitor (arena.worker.janitor) takes the matches that are due and, for each:

- reads its record and its stream, and keeps the events that say something the others do not
  (arena.domain.compaction: no token events of completed turns, the last `votes` event of each
  turn);
- writes them, with the record fields too long for a compact hash (spec, metrics), as one
  compressed string (arena.store.packed), and in the same Lua script deletes the stream, turns
  the per-turn record fields into two summary fields (arena.store.matches.compact_record),
  folds the per-turn vote hashes into one ballot per spectator and one entry per IP hash (per
  turn, its voters and its latest label), and drops the job's delivery count. The script
  refuses if anything was appended since the stream was read, so no event is lost; it is
  atomic, so a janitor that dies leaves the match whole, either way, and readable.

Taking matches from the due set pushes them back by RETRY_MS (a Lua script), so several janitors
never compact one match at once, and a match whose janitor died is taken again later.
"""

from __future__ import annotations

import time
from typing import Any, Literal, cast

from redis.asyncio import Redis

from arena.domain.compaction import superseded
from arena.domain.records import MatchStatus
from arena.store.keys import Keys
from arena.store.matches import PACKED, compact_record
from arena.store.packed import pack
from arena.store.streams import decode_entry
from arena.store.types import TERMINAL, entries, text_map

RETRY_MS = 5 * 60_000  # a taken match not compacted by then is taken again
BACKFILL_PAGE = 1000
ATTEMPTS = 3  # reads of a stream that changed while being compacted

Outcome = Literal["compacted", "done", "gone", "live", "moved"]
FINISHED: tuple[MatchStatus, ...] = ("completed", "failed", "cancelled")
# a turn's vote keys (arena.store.votes), folded into the match's ballots by compaction
VOTE_PARTS = ("votes", "vote_ips", "vote_by_ip", "vote_gate", "vote_due")

# KEYS: record, events, packed, deliveries, ballots, ballot_ips, then per turn: votes, vote_ips,
# vote_by_ip, vote_gate, vote_due (VOTE_PARTS). ARGV: id of the last event read ('' for none),
# the packed value, n, then n field/value pairs to set in the record, then the record fields to
# delete.
_COMPACT = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'gone' end
if status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled' then return 'live' end
if redis.call('HEXISTS', KEYS[1], 'packed') == 1 then return 'done' end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local last_id = ''
if #last > 0 then last_id = last[1][1] end
if last_id ~= ARGV[1] then return 'moved' end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[4])
local n = tonumber(ARGV[3])
for i = 4 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n))
-- written again: a hash that was ever a hash table stays one, the short fields left would now
-- fit a listpack (a third of the memory)
local record = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(record))
local turns = (#KEYS - 6) / 5
local voters, ballots, ips, tallies = {}, {}, {}, {}
for t = 0, turns - 1 do
  local k = 7 + 5 * t
  local votes = redis.call('HGETALL', KEYS[k])
  for i = 1, #votes, 2 do
    local ballot = ballots[votes[i]]
    if not ballot then
      ballot = {}
      for j = 1, turns do ballot[j] = '-' end
      ballots[votes[i]] = ballot
      voters[#voters + 1] = votes[i]
    end
    ballot[t + 1] = string.sub(votes[i + 1], 1, 1)
  end
  -- per address: the spectators who first voted from it (vote_ips), its latest label
  -- (vote_by_ip); an address may have either alone
  local counts, latest, order = {}, {}, {}
  local from = redis.call('HGETALL', KEYS[k + 1])
  for i = 1, #from, 2 do
    counts[from[i]] = from[i + 1]
    order[#order + 1] = from[i]
  end
  local by_ip = redis.call('HGETALL', KEYS[k + 2])
  for i = 1, #by_ip, 2 do
    latest[by_ip[i]] = string.sub(by_ip[i + 1], 1, 1)
    if not counts[by_ip[i]] then order[#order + 1] = by_ip[i] end
  end
  for _, ip in ipairs(order) do
    local pair = t .. ':' .. (counts[ip] or '0') .. (latest[ip] or '-')
    if tallies[ip] then
      tallies[ip] = tallies[ip] .. ' ' .. pair
    else
      tallies[ip] = pair
      ips[#ips + 1] = ip
    end
  end
  redis.call('DEL', KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
end
for _, voter in ipairs(voters) do
  redis.call('HSET', KEYS[5], voter, table.concat(ballots[voter]))
end
for _, ip in ipairs(ips) do redis.call('HSET', KEYS[6], ip, tallies[ip]) end
return 'compacted'
"""

# KEYS: due set. ARGV: now (ms), retry (ms), limit, due by (ms). The matches due by then, each
# pushed back to now + `retry`: taken by this caller alone until then.
_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
end
return due
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Compaction:
    """The due set and the compaction of one match (see the module docstring)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._compact = redis.register_script(_COMPACT)
        self._take = redis.register_script(_TAKE)

    async def schedule(self, match_id: str, delay_seconds: float) -> None:
        """Compact the match `delay_seconds` from now (unless it is due already)."""
        due = _now_ms() + int(delay_seconds * 1000)
        await self.redis.zadd(self.keys.compact_due, {match_id: due}, nx=True)

    async def take(self, limit: int, retry_ms: int = RETRY_MS, ahead: float = 0) -> list[str]:
        """Up to `limit` matches due now (or within `ahead` seconds), for this caller alone for
        `retry_ms`."""
        now = _now_ms()
        args = [now, retry_ms, limit, now + int(ahead * 1000)]
        reply: Any = await self._take(keys=[self.keys.compact_due], args=args)
        return [str(match_id) for match_id in reply]

    async def next_due(self) -> float | None:
        """Seconds until the next match is due (0 when one is); None when none is waiting."""
        first = await self.redis.zrange(self.keys.compact_due, 0, 0, withscores=True)
        if not first:
            return None
        return max(0.0, (float(first[0][1]) - _now_ms()) / 1000)

    async def compact(self, match_id: str) -> Outcome:
        """Compact one finished match and take it off the due set. Idempotent: "done" for one
        compacted already, "gone" for one that no longer exists, "live" for one not finished
        (taken off too: its end schedules it again); "moved" when its stream kept changing
        (it stays due)."""
        for _ in range(ATTEMPTS):
            outcome = await self._compact_once(match_id)
            if outcome != "moved":
                await self.redis.zrem(self.keys.compact_due, match_id)
                return outcome
        return "moved"

    async def _compact_once(self, match_id: str) -> Outcome:
        k = self.keys
        fields = text_map(await self.redis.hgetall(k.match(match_id)))
        if not fields:
            return "gone"
        if PACKED in fields:
            return "done"
        if fields.get("status") not in TERMINAL:
            return "live"
        raw = entries(await self.redis.xrange(k.events(match_id), "-", "+"))
        drop = superseded([decode_entry(entry_id, data) for entry_id, data in raw])
        plan = compact_record(fields)
        kept = [entry for i, entry in enumerate(raw) if i not in drop]
        turns = int(fields.get("total_turns") or 0)
        keys = [k.match(match_id), k.events(match_id), k.packed(match_id),
                k.deliveries(match_id), k.ballots(match_id), k.ballot_ips(match_id)]  # fmt: skip
        for turn in range(turns):
            keys += [k.votes(match_id, part, turn) for part in VOTE_PARTS]
        pairs = [x for item in plan.set.items() for x in item]
        head: list[Any] = [raw[-1][0] if raw else "", pack(plan.moved, kept), len(plan.set)]
        outcome: Any = await self._compact(keys=keys, args=[*head, *pairs, *plan.drop])
        return cast(Outcome, str(outcome))

    async def backfill(self) -> int:
        """Once per deployment: put every match that finished before compaction existed on the
        due set. Returns how many were queued (0 once done)."""
        if await self.redis.exists(self.keys.compact_backfill):
            return 0
        queued = 0
        for status in FINISHED:
            start = 0
            while ids := await self.redis.zrange(
                self.keys.status(status), start, start + BACKFILL_PAGE - 1
            ):
                due: dict[Any, Any] = {str(i): 0 for i in ids}
                await self.redis.zadd(self.keys.compact_due, due, nx=True)
                queued += len(ids)
                start += BACKFILL_PAGE
        await self.redis.set(self.keys.compact_backfill, "1")
        return queued
