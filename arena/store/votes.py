"""Crowd votes in Redis: cast one (one per spectator per turn, capped per IP), rate limits,
tallies, audit counts, and the coalesced `votes` event on the match's stream."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from arena.domain.events import Votes
from arena.domain.votes import VOTE_LABELS, VoteLabel
from arena.store.ballots import (
    BothTallies,
    address_votes,
    ballot_labels,
    both_tallies,
    untorn,
)
from arena.store.keys import Keys
from arena.store.matches import PACKED

# KEYS: record, votes, vote_ips, vote_by_ip, ballots, ballot_ips. ARGV: turn, voter, label, ip
# hash, per-IP cap. Returns {outcome, previous label or '', match status}: outcome ok | no_match |
# no_turn | not_completed | ip_cap. `vote_by_ip` keeps each address's latest label: the gold label
# counts an address once, however many identities it votes with. A compacted match
# (arena.store.compaction) keeps its votes as ballots: one letter per turn per spectator (h, w, s;
# - for none), and per IP hash "<turn>:<voters><letter>" pairs (voters counted as in vote_ips,
# the letter of the address's latest label as in vote_by_ip).
_CAST = """
local total = redis.call('HGET', KEYS[1], 'total_turns')
if not total then return {'no_match', ''} end
local turn = tonumber(ARGV[1])
if turn >= tonumber(total) then return {'no_turn', ''} end
if redis.call('HEXISTS', KEYS[1], 'packed') == 1 then
  local found = false
  for part in string.gmatch(redis.call('HGET', KEYS[1], 'done') or '', '[^,]+') do
    local first, last = string.match(part, '^(%d+)-(%d+)$')
    if not first then first, last = part, part end
    if turn >= tonumber(first) and turn <= tonumber(last) then found = true end
  end
  if not found then return {'not_completed', ''} end
  local ballot = redis.call('HGET', KEYS[5], ARGV[2]) or string.rep('-', tonumber(total))
  local mark = string.sub(ballot, turn + 1, turn + 1)
  local previous = ({h = 'holds', w = 'wavers', s = 'switched'})[mark] or ''
  local letter = string.sub(ARGV[3], 1, 1)
  local new = 0
  if previous == '' then new = 1 end
  local pairs_of_ip, voters, seen = {}, 0, false
  local from = redis.call('HGET', KEYS[6], ARGV[4]) or ''
  for t, n, l in string.gmatch(from, '(%d+):(%d+)([%a%-])') do
    local pair = t .. ':' .. n .. l
    if tonumber(t) == turn then
      voters, seen = tonumber(n), true
      pair = t .. ':' .. (voters + new) .. letter
    end
    pairs_of_ip[#pairs_of_ip + 1] = pair
  end
  if new == 1 and voters >= tonumber(ARGV[5]) then return {'ip_cap', ''} end
  if not seen then pairs_of_ip[#pairs_of_ip + 1] = turn .. ':' .. new .. letter end
  redis.call('HSET', KEYS[6], ARGV[4], table.concat(pairs_of_ip, ' '))
  ballot = string.sub(ballot, 1, turn) .. letter .. string.sub(ballot, turn + 2)
  redis.call('HSET', KEYS[5], ARGV[2], ballot)
  return {'ok', previous, redis.call('HGET', KEYS[1], 'status') or ''}
end
if redis.call('HEXISTS', KEYS[1], 't:' .. ARGV[1]) == 0 then return {'not_completed', ''} end
local previous = redis.call('HGET', KEYS[2], ARGV[2])
if not previous then
  if tonumber(redis.call('HGET', KEYS[3], ARGV[4]) or '0') >= tonumber(ARGV[5]) then
    return {'ip_cap', ''}
  end
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  previous = ''
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[4], ARGV[3])
return {'ok', previous, redis.call('HGET', KEYS[1], 'status') or ''}
"""

# KEYS: per-spectator counter, per-IP counter. ARGV: spectator limit, IP limit, window ms.
# Returns 0, or the ms until the window of the counter over its limit ends.
_RATE = """
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  if n > tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = tonumber(ARGV[3]) end
    return ttl
  end
end
return 0
"""

# KEYS: counter. ARGV: window ms. Counts one more in a window that starts with the first.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS: gate, due. ARGV: gate ms. Returns -1 to send now, else the ms to wait before sending
# the trailing event, or -2 when another node already will.
_GATE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return -1 end
local wait = redis.call('PTTL', KEYS[1])
if wait < 0 then wait = 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', wait + tonumber(ARGV[1])) then return wait end
return -2
"""

# KEYS: record, events, votes, vote_ips. ARGV: event JSON without counts, match id. Appends the
# tally (and how many addresses it comes from) while the match is not over: a `votes` event
# never follows the terminal event. Unfenced (no lease): the API node writes it, never the
# worker; it changes no record field.
_PUBLISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then
  return false
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  local e = last[1][2][2]
  if string.find(e, '"type":"match_completed"', 1, true) or
     string.find(e, '"type":"match_failed"', 1, true) or
     string.find(e, '"type":"match_cancelled"', 1, true) then
    return false
  end
end
local counts = {holds = 0, wavers = 0, switched = 0}
local total = 0
for _, label in ipairs(redis.call('HVALS', KEYS[3])) do
  if counts[label] ~= nil then counts[label] = counts[label] + 1; total = total + 1 end
end
local event = cjson.decode(ARGV[1])
event['counts'] = counts
event['total'] = total
event['addresses'] = redis.call('HLEN', KEYS[4])
return redis.call('XADD', KEYS[2], '*', 'e', cjson.encode(event))
"""

GATE_MS = 1000
RATE_WINDOW_MS = 60_000
TRIES = 3  # reads of a match compacted while it was read (see ballots.untorn)
Outcome = Literal["ok", "no_match", "no_turn", "not_completed", "ip_cap"]


@dataclass(frozen=True)
class Cast:
    outcome: Outcome
    previous: VoteLabel | None = None
    # the match's status when the vote was taken: a finished match sends no more `votes` events
    live: bool = False


@dataclass(frozen=True)
class TurnAudit:
    """One turn's votes as stored: counts by label, distinct voters and distinct IP hashes."""

    counts: dict[VoteLabel, int]
    voters: int
    ips: int


class CrowdVotes:
    """The votes of every match. `publish_later` tasks run on the API node that took a vote."""

    def __init__(self, redis: Redis, keys: Keys, secret: str | bytes | None = None) -> None:
        self.redis, self.keys = redis, keys
        self._global = "{" + keys.prefix + "}"
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._cast = redis.register_script(_CAST)
        self._rate = redis.register_script(_RATE)
        self._count = redis.register_script(_COUNT)
        self._gate = redis.register_script(_GATE)
        self._publish = redis.register_script(_PUBLISH)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def voted_key(self) -> str:
        return f"{self._global}:voted"

    @property
    def changed_key(self) -> str:
        """Voted matches by the time of their latest vote: nodes re-read what changed."""
        return f"{self._global}:voted_at"

    def secret(self) -> bytes:
        """The key of voters' cookies and of address hashes (arena.store.votes_secret)."""
        if self._secret is None:
            raise RuntimeError("these votes were opened without a secret: pass votes_secret()'s")
        return self._secret

    def keyed_hash(self, value: str) -> str:
        """A keyed hash (HMAC-SHA256, truncated) of an IP address: never stored raw."""
        digest = hmac.new(self.secret(), b"ip:" + value.encode(), hashlib.sha256)
        return digest.hexdigest()[:24]

    async def rate_limit(self, voter: str, ip_hash: str, per_minute: int) -> float:
        """0 while within limits, else the seconds until the spectator or IP may vote again."""
        keys = [f"{self._global}:vote_rate:v:{voter}", f"{self._global}:vote_rate:ip:{ip_hash}"]
        wait: Any = await self._rate(keys=keys, args=[per_minute, 10 * per_minute, RATE_WINDOW_MS])
        return int(wait) / 1000

    async def cast(
        self, match_id: str, turn: int, voter: str, label: VoteLabel, ip_hash: str, ip_cap: int
    ) -> Cast:
        k = self.keys
        keys = [
            k.match(match_id),
            k.votes(match_id, "votes", turn),
            k.votes(match_id, "vote_ips", turn),
            k.votes(match_id, "vote_by_ip", turn),
            k.ballots(match_id),
            k.ballot_ips(match_id),
        ]
        reply: Any = await self._cast(keys=keys, args=[turn, voter, label, ip_hash, ip_cap])
        outcome, previous = str(reply[0]), str(reply[1])
        if outcome == "ok":
            now = time.time() * 1000
            await self.redis.zadd(self.voted_key, {match_id: now}, nx=True)
            await self.redis.zadd(self.changed_key, {match_id: now})
        prev = previous if previous in VOTE_LABELS else None
        live = len(reply) > 2 and str(reply[2]) not in ("completed", "failed", "cancelled")
        return Cast(outcome, prev, live)  # type: ignore[arg-type]

    # A match's votes are in its per-turn hashes while it is live, and in its ballots once it
    # is compacted (folded in the same step that sets `packed` on its record): the reads of one
    # match take both, of which one is empty, between two reads of `packed` (a compaction
    # landing between the reads would otherwise count its votes twice); a page of matches
    # reads the ballots of them all, then both of those not compacted.
    async def tallies(self, match_id: str, turns: int) -> dict[int, dict[VoteLabel, int]]:
        """Every turn's tally (turns without votes included, all zero)."""
        return (await self._both_of([(match_id, turns)]))[match_id][0]

    async def ip_tallies(self, match_id: str, turns: int) -> dict[int, dict[VoteLabel, int]]:
        """Every turn's tally with each address counted once (its latest vote)."""
        return (await self._both_of([(match_id, turns)]))[match_id][1]

    async def page_tallies(self, matches: Sequence[tuple[str, int]]) -> dict[str, BothTallies]:
        """For each (match id, turns): its `tallies` and its `ip_tallies`. One round trip reads
        every match's ballots (two hashes each: all a compacted match has), a second the
        per-turn hashes of the others (with their ballots again: one may be compacted in
        between), however many matches."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for match_id, _ in matches:
                pipe.hexists(self.keys.match(match_id), PACKED)
                pipe.hvals(self.keys.ballots(match_id))
                pipe.hvals(self.keys.ballot_ips(match_id))
            first = await pipe.execute()
        found = await self._both_of([m for i, m in enumerate(matches) if not first[3 * i]])
        for i, (match_id, turns) in enumerate(matches):
            if match_id not in found:  # compacted: no per-turn hashes
                ballots = first[3 * i + 1 : 3 * i + 3]
                found[match_id] = both_tallies([[]] * 2 * turns + ballots, turns)
        return found

    async def _both_of(self, matches: Sequence[tuple[str, int]]) -> dict[str, BothTallies]:
        """The tallies of these matches from their per-turn hashes and ballots, in one trip
        (two for a match compacted while it was read: see `untorn`)."""
        found: dict[str, BothTallies] = {}
        todo, tries = list(matches), 0
        while todo:
            tries += 1
            async with self.redis.pipeline(transaction=False) as pipe:
                for match_id, turns in todo:
                    pipe.hexists(self.keys.match(match_id), PACKED)
                    for part in ("votes", "vote_by_ip"):
                        for turn in range(turns):
                            pipe.hvals(self.keys.votes(match_id, part, turn))
                    pipe.hvals(self.keys.ballots(match_id))
                    pipe.hvals(self.keys.ballot_ips(match_id))
                    pipe.hexists(self.keys.match(match_id), PACKED)
                replies = await pipe.execute()
            torn, at = [], 0
            for match_id, turns in todo:
                chunk = untorn(replies[at : at + 2 * turns + 4], last_try=tries == TRIES)
                at += 2 * turns + 4
                if chunk is None:
                    torn.append((match_id, turns))  # compacted now: read again, once
                else:
                    found[match_id] = both_tallies(chunk, turns)
            todo = torn
        return found

    async def new_voter_allowed(self, ip_hash: str, per_hour: int) -> bool:
        """Count a new voter identity for this address; False once it has had `per_hour` in
        the hour (identities are free to mint: the address is what bounds them)."""
        key = f"{self._global}:voter_ids:{ip_hash}"
        n: Any = await self._count(keys=[key], args=[3_600_000])
        return int(n) <= per_hour

    async def mine(self, match_id: str, turns: int, voter: str) -> dict[int, VoteLabel]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for turn in range(turns):
                pipe.hget(self.keys.votes(match_id, "votes", turn), voter)
            pipe.hget(self.keys.ballots(match_id), voter)
            *replies, ballot = await pipe.execute()
        mine = ballot_labels(str(ballot or ""))
        return mine | {t: v for t, v in enumerate(replies) if v in VOTE_LABELS}

    async def audit(self, match_id: str, turns: int) -> dict[int, TurnAudit]:
        """Per turn with votes: counts by label, distinct voters, distinct IP hashes."""
        counts = await self.tallies(match_id, turns)
        read, tries = None, 0
        while read is None:  # twice at most: a match is compacted once
            tries += 1
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hexists(self.keys.match(match_id), PACKED)
                for turn in range(turns):
                    pipe.hlen(self.keys.votes(match_id, "vote_ips", turn))
                pipe.hvals(self.keys.ballot_ips(match_id))
                pipe.hexists(self.keys.match(match_id), PACKED)
                read = untorn(await pipe.execute(), last_try=tries == TRIES)
        *ips, folded = read
        for address in map(str, folded):
            for turn, (voters, _) in address_votes(address).items():
                if turn < turns and voters > 0:
                    ips[turn] += 1
        return {
            t: TurnAudit(c, sum(c.values()), int(ips[t]))
            for t, c in counts.items()
            if any(c.values())
        }

    async def voted_matches(self) -> list[str]:
        return [str(m) for m in await self.redis.zrange(self.voted_key, 0, -1)]

    async def voted_page(self, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Voted matches in the order they were first voted on, the `limit` after the match id
        `after` (None: from the first); and the cursor of the next page (None: the last)."""
        start = 0
        if after is not None:
            rank: Any = await self.redis.zrank(self.voted_key, after)
            if rank is None:
                return [], None
            start = int(rank) + 1
        found = [str(m) for m in await self.redis.zrange(self.voted_key, start, start + limit)]
        page = found[:limit]
        return page, page[-1] if len(found) > limit and page else None

    async def voted_since(
        self, mark: float, limit: int = 1000, start: int = 0
    ) -> list[tuple[str, float]]:
        """Matches whose latest vote is at `mark` (ms) or later, oldest first: `limit` of them
        from the `start`-th."""
        low = "-inf" if math.isinf(mark) else str(mark)
        reply: Any = await self.redis.zrangebyscore(
            self.changed_key, low, "+inf", start=start, num=limit, withscores=True
        )
        return [(str(m), float(s)) for m, s in reply]

    async def announce(self, match_id: str, turn: int) -> None:
        """Send the turn's tally as a `votes` event now, or once within the next second: at
        most one per turn per second, the last one always carrying the latest tally."""
        k = self.keys
        wait: Any = await self._gate(
            keys=[k.votes(match_id, "vote_gate", turn), k.votes(match_id, "vote_due", turn)],
            args=[GATE_MS],
        )
        if int(wait) == -1:
            await self.publish(match_id, turn)
        elif int(wait) >= 0:
            task = asyncio.create_task(self._trailing(match_id, turn, int(wait) / 1000))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _trailing(self, match_id: str, turn: int, wait: float) -> None:
        await asyncio.sleep(wait)
        k = self.keys
        # the due mark goes before the tally is read: a vote after the read schedules another
        await self.redis.delete(k.votes(match_id, "vote_due", turn))
        await self.redis.set(k.votes(match_id, "vote_gate", turn), "1", px=GATE_MS)
        await self.publish(match_id, turn)

    async def publish(self, match_id: str, turn: int) -> str | None:
        """Append the tally as a `votes` event unless the match is over; returns its id."""
        k = self.keys
        data = Votes(match_id=match_id, turn=turn, counts={}, total=0).model_dump_json(
            exclude={"id", "counts", "total", "addresses"}
        )
        reply: Any = await self._publish(
            keys=[k.match(match_id), k.events(match_id), k.votes(match_id, "votes", turn),
                  k.votes(match_id, "vote_ips", turn)],
            args=[data],
        )  # fmt: skip
        return None if reply is None else str(reply)

    async def aclose(self) -> None:
        """Wait for the trailing events still due (each at most a second away)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
