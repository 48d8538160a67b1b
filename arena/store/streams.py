"""Per-match event streams: append (fenced by the worker's lease), read, and the coalescing sink
the engine writes to."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis

from arena.domain.events import EVENT_ADAPTER, Event, Token
from arena.store.keys import Keys
from arena.store.matches import record_updates
from arena.store.packed import PackedMatches
from arena.store.types import Entry, InvalidEventId, LeaseLost, entries

_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

# KEYS: events stream, record hash, lease. ARGV: lease token ('' = unfenced), lease ms, write
# number ('' = none), event JSON ('' = none: only raise the number), then record field/value
# pairs. The append and the record update are one atomic step, so the record always agrees with
# the stream, even when a worker dies between two events. A lease that expired while nobody else
# took it (a stalled worker) is taken again; one held by another worker refuses the write (false).
# The write number makes a write that reaches Redis more than once harmless: the record keeps
# the lease, number and event id of the last numbered write, and the numbers of one lease only
# grow (CoalescingSink). The same number again is a resend of that write (the client retried a
# command whose reply was cut off): its event id is returned and nothing appended. A smaller one
# is a stale write that arrived after a later one (what a client sent on a connection it then
# gave up on, delivered late): refused (false), before it can take the lease. An event of
# another lease than the last numbered write's is refused too: another worker fenced the match
# (took it over and read it) since this one read it, so it writes from a stale view even if it
# got the expired lease back. Only a fence (a new attempt, which reads the events after it)
# passes; so the last worker to fence is the only one that writes.
_APPEND = """
local last = redis.call('HGET', KEYS[2], 'appended')
local holder, number, id
if last then holder, number, id = string.match(last, '^(.*) (%d+) (%S+)$') end
if ARGV[3] ~= '' then
  if holder == ARGV[1] then
    if tonumber(ARGV[3]) == tonumber(number) then return id end
    if tonumber(ARGV[3]) < tonumber(number) then return false end
  elseif holder and ARGV[4] ~= '' then
    return false
  end
end
if ARGV[1] ~= '' then
  local lease = redis.call('GET', KEYS[3])
  if lease == false then
    redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
  elseif lease ~= ARGV[1] then
    return false
  end
end
if ARGV[4] ~= '' then
  id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[4])
  if #ARGV > 4 then redis.call('HSET', KEYS[2], unpack(ARGV, 5)) end
end
id = id or '0-0'
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], 'appended', ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. id)
end
return id
"""

# The numbers of every sink's writes in this process: they only grow, across the attempts a
# worker makes at a match with one lease, so that no write of an earlier attempt can pass for a
# later one.
_write_numbers = itertools.count(1)

AfterAppend = Callable[[Event], Awaitable[None]]


def check_event_id(value: str) -> str:
    if not _EVENT_ID.match(value):
        raise InvalidEventId(f"{value!r} is not an event id (like 1712345678901-0)")
    return value


def decode_entry(entry_id: str, fields: dict[str, str]) -> Event:
    event = EVENT_ADAPTER.validate_json(fields["e"])
    event.id = entry_id
    return event


class EventLog:
    """Reads and writes the event streams of matches. A compacted match has no stream: its
    kept events are read from its packed key (arena.store.packed), with the same ids."""

    def __init__(self, redis: Redis, keys: Keys, packed: PackedMatches | None = None) -> None:
        self.redis, self.keys = redis, keys
        self.packed = packed if packed is not None else PackedMatches(redis, keys)
        self._append = redis.register_script(_APPEND)

    async def append(
        self,
        match_id: str,
        event: Event,
        lease: str | None = None,
        lease_ms: int = 30_000,
        number: int | None = None,
    ) -> str:
        """Append one event and apply it to the match record; returns the event id.
        With `lease`, raises LeaseLost if another worker holds the match. With `number` (greater
        than any the lease wrote before), the same append sent again returns the event id it
        got and appends nothing, and one that arrives after the lease wrote a greater number
        (a stale write) raises LeaseLost."""
        k = self.keys
        pairs = [x for item in record_updates(event).items() for x in item]
        data = event.model_dump_json(exclude={"id"})
        result: Any = await self._append(
            keys=[k.events(match_id), k.match(match_id), k.lease(match_id)],
            args=[lease or "", lease_ms, "" if number is None else number, data, *pairs],
        )
        if result is None:
            raise LeaseLost(
                f"match {match_id}: the lease passed to another worker, or a later write of "
                "this one was stored already"
            )
        return str(result)

    async def fence(self, match_id: str, lease: str, lease_ms: int, number: int) -> None:
        """Write nothing but raise the lease's write number to `number`: from now on every
        write of the lease numbered below it is refused (what an earlier attempt sent, arriving
        late). Raises LeaseLost if another worker holds the match."""
        k = self.keys
        result: Any = await self._append(
            keys=[k.events(match_id), k.match(match_id), k.lease(match_id)],
            args=[lease, lease_ms, number, ""],
        )
        if result is None:
            raise LeaseLost(f"match {match_id}: the lease passed to another worker")

    async def read(
        self, match_id: str, after: str | None = None, count: int | None = None
    ) -> list[Event]:
        found = await self.entries(match_id, after, count)
        return [decode_entry(entry_id, fields) for entry_id, fields in found]

    async def entries(
        self, match_id: str, after: str | None = None, count: int | None = None
    ) -> list[Entry]:
        """The stored entries after `after`: from the stream, or once the match is compacted
        from its packed key (where an id of a dropped event resumes at the next kept one)."""
        start = "-" if after is None else "(" + check_event_id(after)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xrange(self.keys.events(match_id), start, "+", count=count)
            pipe.exists(self.keys.packed(match_id))
            reply, packed = await pipe.execute()
        found = entries(reply)
        if found or not packed:
            return found
        return await self.packed_entries(match_id, after, count)

    async def many_entries(self, match_ids: Iterable[str]) -> dict[str, list[Entry]]:
        """Every stored entry of each match, as `entries` reads them: the streams in one round
        trip, the compacted matches not decompressed on this node in a second."""
        ids = list(dict.fromkeys(match_ids))
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for match_id in ids:
                pipe.xrange(self.keys.events(match_id), "-", "+")
                pipe.exists(self.keys.packed(match_id))
            replies = await pipe.execute()
        found: dict[str, list[Entry]] = {}
        compacted = []
        for i, match_id in enumerate(ids):
            stored = entries(replies[2 * i])
            if stored or not replies[2 * i + 1]:
                found[match_id] = stored
            else:
                compacted.append(match_id)
        packed = await self.packed.many(compacted)
        for match_id in compacted:
            match = packed.get(match_id)
            found[match_id] = [] if match is None else match.entries
        return found

    async def packed_entries(
        self, match_id: str, after: str | None = None, count: int | None = None
    ) -> list[Entry]:
        """The entries after `after` of a match whose packed key was just seen to exist."""
        match = await self.packed.get(match_id, known=True)
        return [] if match is None else match.after(after, count)

    async def last_id(self, match_id: str) -> str:
        last = entries(await self.redis.xrevrange(self.keys.events(match_id), "+", "-", count=1))
        return last[0][0] if last else "0-0"


class CoalescingSink:
    """The EventSink of one match. Consecutive `token` events of one turn are merged and written
    when `window` seconds have passed since the first of them, or when any other event arrives,
    which bounds a match to about 1/window stream entries per second. Call `flush()` at the end.

    One sink is one attempt at the match. With a lease, each write carries the lease and a number
    greater than any other write of this process had: a command the client sends again after a
    dropped connection is recognised as the same append, no append of a later attempt (a new
    sink, same lease) ever is, and a write that reaches Redis after a later one is refused. A
    worker's attempt calls `fence()` before it reads the events it resumes from: from then on
    only its writes are accepted (LeaseLost for any other sink's). A write that fails breaks the
    sink for good: every later call raises that error, so nothing of this attempt is written
    after a write that may be lost (no gap); the caller starts a new attempt from what Redis
    holds.

    `after_append` runs after each write (the store uses it for counters and finishing)."""

    def __init__(
        self,
        log: EventLog,
        match_id: str,
        *,
        window: float,
        lease: str | None = None,
        lease_ms: int = 30_000,
        after_append: AfterAppend | None = None,
    ) -> None:
        self.log, self.match_id, self.window = log, match_id, window
        self.lease, self.lease_ms = lease, lease_ms
        self.after_append = after_append
        self._buffer: list[Token] = []
        self._started = 0.0
        self._generation = 0
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._broken: BaseException | None = None
        self._closed = False

    async def fence(self) -> None:
        """Refuse, from now on, every write made before it with this sink's lease (an earlier
        attempt's, reaching Redis late) and every event of another lease (a worker that stalled
        while this one took the match over). Call it before reading the events the attempt
        resumes from, so that nothing lands after that read but this sink's writes. Needs a
        lease; raises LeaseLost if another worker holds it."""
        assert self.lease is not None
        await self.log.fence(self.match_id, self.lease, self.lease_ms, next(_write_numbers))

    async def __call__(self, event: Event) -> None:
        self._raise_timer_error()
        if self._closed:
            raise LeaseLost(f"match {self.match_id}: the sink is closed; nothing more is written")
        if isinstance(event, Token):
            if self._buffer and self._buffer[0].turn != event.turn:
                await self.flush()
            if not self._buffer:
                self._started = time.monotonic()
                self._generation += 1
                self._timer = asyncio.create_task(self._flush_later(self._generation))
            self._buffer.append(event)
            if time.monotonic() - self._started >= self.window:
                await self.flush()
            return
        async with self._lock:
            await self._write_buffer()
            await self._write(event)

    async def flush(self) -> None:
        """Write buffered tokens now."""
        self._raise_timer_error()
        async with self._lock:
            await self._write_buffer()

    async def aclose(self) -> None:
        """Write nothing more: drop unwritten tokens and wait for a write in progress. The
        worker closes its sink before it releases the match's lease."""
        self._closed = True
        self._buffer = []
        async with self._lock:
            pass

    async def _flush_later(self, generation: int) -> None:
        # never cancelled while writing: a stale timer wakes up and finds another generation
        await asyncio.sleep(self.window)
        try:
            async with self._lock:
                if self._generation == generation:
                    await self._write_buffer()
        except Exception as exc:  # reported to the engine on its next call
            self._error = exc

    async def _write_buffer(self) -> None:
        if not self._buffer:
            return
        first, text = self._buffer[0], "".join(t.text for t in self._buffer)
        self._buffer = []
        self._generation += 1
        await self._write(Token(match_id=first.match_id, turn=first.turn, text=text, ts=first.ts))

    async def _write(self, event: Event) -> None:
        if self._closed:
            raise LeaseLost(f"match {self.match_id}: the sink is closed; nothing more is written")
        if self._broken is not None:
            raise self._broken
        number = next(_write_numbers) if self.lease else None
        try:
            event_id = await self.log.append(
                self.match_id, event, self.lease, self.lease_ms, number
            )
        except Exception as exc:
            self._broken = exc
            raise
        if self.after_append is not None:
            await self.after_append(event.model_copy(update={"id": event_id}))

    def _raise_timer_error(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._error is not None:
            error, self._error = self._error, None
            raise error
