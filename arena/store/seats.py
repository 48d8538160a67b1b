"""A human challenger's seat in Redis: the hash of its token, each turn's countdown, the text
sent for each turn (at most one, by idempotency key), the typing indicator and rate limits.

A turn is decided once, by whichever comes first: the seat's text (`submit`, from any API node)
or the deadline (`poll`, from the worker, which then writes the fallback mark). Both check and
write in one script, on Redis' clock, so a text that arrives as time runs out is either the
turn or refused, never both (keys arena/store/keys.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis

from arena.domain.events import Typing
from arena.store.keys import Keys

FALLBACK = '{"fallback":true}'

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: seat hash, record hash. ARGV: turn, seconds. The turn's deadline, set once.
_OPEN = (
    _NOW
    + """
redis.call('HSETNX', KEYS[1], 'deadline:' .. ARGV[1], now + tonumber(ARGV[2]) * 1000)
return redis.call('HGET', KEYS[1], 'deadline:' .. ARGV[1])
"""
)

# KEYS: seat hash. ARGV: turn. The turn's value once decided; at its deadline, the fallback.
_POLL = (
    _NOW
    + """
local slot = 'turn:' .. ARGV[1]
local v = redis.call('HGET', KEYS[1], slot)
if v then return v end
local d = tonumber(redis.call('HGET', KEYS[1], 'deadline:' .. ARGV[1]) or '0')
if d > 0 and now >= d then
  redis.call('HSET', KEYS[1], slot, ARGV[2])
  return ARGV[2]
end
return false
"""
)

# KEYS: record hash, seat hash. ARGV: idempotency key, value JSON.
# Returns {outcome, turn}: again (this key was stored, for `turn`), finished (status), waiting
# (no turn of the seat's is due), taken (the turn has its text or its fallback), late (the
# deadline passed; the fallback speaks), ok.
_SUBMIT = (
    _NOW
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'gone', ''} end
local known = redis.call('HGET', KEYS[2], 'key:' .. ARGV[1])
if known then return {'again', known} end
if status ~= 'running' and status ~= 'queued' then return {'finished', status} end
local turn = redis.call('HGET', KEYS[1], 'awaiting')
if status ~= 'running' or not turn or turn == '' then return {'waiting', ''} end
local slot = 'turn:' .. turn
if redis.call('HEXISTS', KEYS[2], slot) == 1 then return {'taken', turn} end
local d = tonumber(redis.call('HGET', KEYS[2], 'deadline:' .. turn) or '0')
if now >= d then return {'late', turn} end
redis.call('HSET', KEYS[2], slot, ARGV[2], 'key:' .. ARGV[1], turn)
return {'ok', turn}
"""
)

# KEYS: record hash, events stream, typing gate. ARGV: event JSON, gate ms.
_TYPING = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
return 1
"""

# KEYS: counter. ARGV: limit, window ms. 0 when under the limit, else ms until it resets.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return math.max(1, redis.call('PTTL', KEYS[1])) end
return 0
"""

Outcome = Literal["ok", "again", "finished", "waiting", "taken", "late", "gone"]


@dataclass(frozen=True)
class Submitted:
    outcome: Outcome
    turn: int | None
    status: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Seats:
    """The seats of human-challenger matches."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._open = redis.register_script(_OPEN)
        self._poll = redis.register_script(_POLL)
        self._submit = redis.register_script(_SUBMIT)
        self._typing = redis.register_script(_TYPING)
        self._hit = redis.register_script(_HIT)

    async def create(self, match_id: str, token: str) -> None:
        """Keep the seat of a new match: only its token's hash."""
        await self.redis.hset(self.keys.seat(match_id), "token", token_hash(token))

    async def holds(self, match_id: str, token: str) -> bool | None:
        """Whether `token` is the match's seat token; None: the match has no seat."""
        stored = await self.redis.hget(self.keys.seat(match_id), "token")
        if stored is None:
            return None
        return hmac.compare_digest(str(stored), token_hash(token))

    async def open_turn(self, match_id: str, turn: int, seconds: int) -> datetime:
        keys = [self.keys.seat(match_id), self.keys.match(match_id)]
        ms: Any = await self._open(keys=keys, args=[turn, seconds])
        return datetime.fromtimestamp(int(ms) / 1000, UTC)

    async def poll(self, match_id: str, turn: int) -> tuple[bool, str | None]:
        """(decided, text): the seat's text, or (True, None) once the fallback took the turn;
        (False, None) while the countdown runs."""
        raw: Any = await self._poll(keys=[self.keys.seat(match_id)], args=[turn, FALLBACK])
        if raw is None:
            return False, None
        value = json.loads(raw)
        return True, None if value.get("fallback") else str(value["text"])

    async def submit(self, match_id: str, text: str, key: str) -> Submitted:
        value = json.dumps({"text": text, "key": key})
        reply: Any = await self._submit(
            keys=[self.keys.match(match_id), self.keys.seat(match_id)], args=[key, value]
        )
        outcome, turn = str(reply[0]), str(reply[1])
        if outcome == "finished":
            return Submitted("finished", None, turn)
        return Submitted(outcome, int(turn) if turn.isdigit() else None)  # type: ignore[arg-type]

    async def sent(self, match_id: str) -> dict[int, str]:
        """The turns the seat wrote: turn -> the idempotency key it came with."""
        fields: Any = await self.redis.hgetall(self.keys.seat(match_id))
        out: dict[int, str] = {}
        for name, value in fields.items():
            if str(name).startswith("turn:"):
                data = json.loads(value)
                if "key" in data:
                    out[int(str(name)[5:])] = str(data["key"])
        return out

    async def typing(self, match_id: str, turn: int, gate_seconds: float) -> bool:
        """Tell spectators the seat is typing, at most once per `gate_seconds`."""
        data = Typing(match_id=match_id, turn=turn).model_dump_json(exclude={"id"})
        k = self.keys
        sent: Any = await self._typing(
            keys=[k.match(match_id), k.events(match_id), k.seat(match_id, "typing")],
            args=[data, max(1, int(gate_seconds * 1000))],
        )
        return bool(sent)

    async def hit(self, key: str, limit: int, window_seconds: int = 60) -> float:
        """Count one send against `key`'s limit; 0 when allowed, else seconds to wait."""
        wait: Any = await self._hit(keys=[key], args=[limit, window_seconds * 1000])
        return int(wait) / 1000

    async def expire(self, match_id: str, seconds: int) -> None:
        """A finished match's seat: kept a while (late sends get 409), then gone."""
        await self.redis.expire(self.keys.seat(match_id), seconds)
