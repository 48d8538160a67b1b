"""Removing archived matches from Redis, and remembering, in a few bytes, that they were.

Only finished matches are removed (a Lua script checks the status in the same step as it deletes
the match's keys), and only once their tournament, if any, has recorded their result (a match
of a tournament that has not is left for a later run). The leaderboard's samples (`lb:*`,
`pb:*`) are never touched: the boards stay as they were.

What was removed is remembered by archive run, not by match: match ids are time-sortable
(arena.store.matches.new_match_id), so each run records the highest id it removed and when
(`{P}:archived`, one member per run). A match that no longer exists and whose id is not above
a run's boundary was archived by the first such run: the API answers 410 with that date. (An id
nobody ever had, made up below a boundary, is answered the same way.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from redis.asyncio import Redis

from arena.store.compaction import FINISHED, VOTE_PARTS
from arena.store.keys import Keys
from arena.store.matches import first_id_at

_MATCH_ID = re.compile(r"^[0-9a-hjkmnp-tv-z]{16}$")

# KEYS: the match's own keys, the record first. Deletes them unless the match is not finished.
_PRUNE = """
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled' then
  return 0
end
redis.call('DEL', unpack(KEYS))
return 1
"""


def cutoff_id(before: datetime) -> str:
    """The lowest id a match created at `before` or later can have."""
    return first_id_at(int(before.timestamp() * 1000))


class Retention:
    """Which finished matches are older than a date; removing them; the archive runs."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._prune = redis.register_script(_PRUNE)

    async def finished_before(self, before: datetime) -> list[str]:
        """The ids of finished matches created before `before`, oldest first."""
        found: set[str] = set()
        for status in FINISHED:
            ids = await self.redis.zrangebylex(
                self.keys.status(status), "-", "(" + cutoff_id(before)
            )
            found.update(str(i) for i in ids)
        return sorted(found)

    def _keys_of(self, match_id: str, turns: int) -> list[str]:
        k = self.keys
        keys = [k.match(match_id), k.events(match_id), k.packed(match_id), k.lease(match_id),
                k.cancel(match_id), k.deliveries(match_id), k.ballots(match_id),
                k.ballot_ips(match_id)]  # fmt: skip
        for turn in range(turns):
            keys += [k.votes(match_id, part, turn) for part in VOTE_PARTS]
        return keys

    async def unrecorded_by_tournament(self, match_id: str) -> bool:
        """True while the match's tournament has not recorded its result."""
        tournament = await self.redis.hget(self.keys.match_tournament, match_id)
        if tournament is None:
            return False
        results = self.keys.tournament(str(tournament), "results")
        return not await self.redis.hexists(results, match_id)

    async def remove(self, match_id: str, turns: int, personas: Iterable[str]) -> bool:
        """Delete a finished match's keys (`turns`: its total turns) and its entries in every
        index (`personas`: its two seats'); False (nothing removed) if it is not finished."""
        k = self.keys
        if not await self._prune(keys=self._keys_of(match_id, turns)):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(k.matches, match_id)
            for status in k.all_statuses():
                pipe.zrem(status, match_id)
            for persona in set(personas):
                pipe.zrem(k.persona(persona), match_id)
            pipe.hdel(k.match_tournament, match_id)
            pipe.zrem(k.compact_due, match_id)
            pipe.zrem(k.voted, match_id)
            pipe.zrem(k.voted_at, match_id)
            await pipe.execute()
        return True

    async def forget_index_entries(self, match_ids: Iterable[str]) -> None:
        """Index entries of matches whose record is gone (a run that stopped half-way)."""
        ids = list(match_ids)
        if not ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.matches, *ids)
            for status in self.keys.all_statuses():
                pipe.zrem(status, *ids)
            pipe.zrem(self.keys.compact_due, *ids)
            await pipe.execute()

    async def record_run(self, through: str, at: datetime) -> None:
        """Remember that matches up to id `through` were archived at `at` (before removing
        them: one that is then not removed still exists, and is served as before)."""
        await self.redis.zadd(self.keys.archived, {f"{through}|{at.isoformat()}": 0})

    async def archived_on(self, match_id: str) -> datetime | None:
        """When the match was archived, if an archive run covered its id."""
        if not _MATCH_ID.match(match_id):
            return None
        found = await self.redis.zrangebylex(self.keys.archived, f"[{match_id}", "+", 0, 1)
        if not found:
            return None
        return datetime.fromisoformat(str(found[0]).partition("|")[2])
