"""A TCP proxy between Redis clients and one redis-server that breaks the network at chosen
event appends, for the blackout tests (tests/worker/test_blackout.py).

It reads the client -> server RESP stream command by command and recognises the arena's keyed
append (EVALSHA of arena.store.streams._APPEND: write number and event JSON in its arguments).
When an armed trigger accepts an append, the proxy cuts every connection, in one of three ways:

- "reply": the append reaches Redis and runs; its reply is lost (the client sees the connection
  drop after Redis wrote the event, so it sends the same command again, or gives up);
- "write": the append is lost before Redis sees it (the replies of the writes before it arrived);
- "late": the append is held back and reaches Redis later, right after the next new append or
  the next read of a stream (XRANGE: a resume reading the events) was answered, or at
  `deliver_late()`; as TCP delivers what a client sent before it gave up on a connection: a
  stale write, arriving after its writer moved on.

In "brief" mode it accepts new connections at once (the client's own retry of the command
succeeds); in "outage" mode it accepts new connections and drops them, until `restore()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from arena.store.streams import _APPEND

APPEND_SHA = hashlib.sha1(_APPEND.encode()).hexdigest().encode()
APPEND_SCRIPT = _APPEND

Lose = Literal["reply", "write", "late"]


@dataclass(frozen=True)
class Append:
    """One keyed append the proxy saw (a client's resend of it is not another one)."""

    lease: str
    number: str
    data: bytes  # the event JSON

    @property
    def key(self) -> tuple[str, str, bytes]:
        """What a resend has in common with the command it repeats (and no other has)."""
        return self.lease, self.number, self.data

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.data)
        return event

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def turn(self) -> int | None:
        turn = self.event.get("turn")
        return None if turn is None else int(turn)


# (the append, the distinct appends before it) -> cut here
Trigger = Callable[[Append, list[Append]], bool]


def parse_command(buf: bytearray) -> tuple[list[bytes], int] | None:
    """The first whole RESP command in `buf` (an array of bulk strings, as redis-py sends)
    and its length in bytes, or None if it is not all there yet."""
    if not buf:
        return None
    if buf[:1] != b"*":
        raise ValueError(f"not a RESP array: {bytes(buf[:20])!r}")
    end = buf.find(b"\r\n")
    if end < 0:
        return None
    count, pos, parts = int(buf[1:end]), end + 2, []
    for _ in range(count):
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        if buf[pos : pos + 1] != b"$":
            raise ValueError(f"not a bulk string: {bytes(buf[pos : pos + 20])!r}")
        size = int(buf[pos + 1 : end])
        start, stop = end + 2, end + 2 + size
        if len(buf) < stop + 2:
            return None
        parts.append(bytes(buf[start:stop]))
        pos = stop + 2
    return parts, pos


def as_append(command: list[bytes]) -> Append | None:
    """The append a command makes, if it is the keyed append of an event."""
    # EVALSHA sha 3 events record lease | token lease_ms write_number event_json pairs...
    if len(command) < 10 or command[0].upper() != b"EVALSHA" or command[1] != APPEND_SHA:
        return None
    if not command[9]:
        return None  # a fence: it raises the write number and appends nothing
    return Append(command[6].decode(), command[8].decode(), command[9])


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    drop_reply: bool = False
    deliver_late: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.server):
            if writer is not None:
                writer.transport.abort()


class RedisProxy:
    """Forwards 127.0.0.1:<port> to a Redis at `host`:`port`; `arm()` picks where it cuts."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.appends: list[Append] = []  # every distinct append passed on to Redis, in order
        self.resends = 0  # appends a client sent again (the same command)
        self.errors: list[str] = []
        self.cuts: list[asyncio.Event] = []  # one per trigger, set when it fired
        self.cut_at: list[Append] = []
        self.late_reply: bytes | None = None  # Redis's answer to the stale write
        self.refused = 0  # connections accepted and dropped during an outage
        self._triggers: list[Trigger] = []
        self._lose: Lose = "reply"
        self._outage = False
        self._down = False
        self._late: bytes | None = None
        self._late_key: tuple[str, str, bytes] | None = None
        self._links: set[_Link] = set()
        self._server: asyncio.Server | None = None
        self._seen: set[tuple[str, str, bytes]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def start(self) -> RedisProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        tasks = [t for link in self._links for t in link.tasks]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def arm(self, triggers: Sequence[Trigger], lose: Lose, *, outage: bool) -> None:
        """Cut at the first append the first trigger accepts, then at the first the next one
        accepts, and so on; with `outage`, drop every new connection after each cut until
        restore()."""
        self._triggers, self._lose, self._outage = list(triggers), lose, outage
        self.cuts = [asyncio.Event() for _ in triggers]

    def restore(self) -> None:
        """End an outage: new connections are forwarded again."""
        self._down = False

    async def deliver_late(self) -> None:
        """Deliver the held-back append now, if it is still held."""
        raw, self._late = self._late, None
        if raw is None:
            return
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(raw)
            await writer.drain()
            self.late_reply = await reader.readline()
        finally:
            writer.close()
            await writer.wait_closed()

    def _cut(self) -> None:
        self._down = self._outage
        for link in list(self._links):
            link.abort()
        self.cuts[len(self.cut_at) - 1].set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.refused += 1
            writer.transport.abort()
            return
        link = _Link(writer)
        try:
            up_reader, link.server = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._to_server(link, reader)),
            asyncio.create_task(self._to_client(link, up_reader)),
        ]
        try:
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            link.abort()
            for outcome in await asyncio.gather(*link.tasks, return_exceptions=True):
                if isinstance(outcome, Exception):  # a bug of the proxy, not a cut
                    self.errors.append(f"proxy: {outcome!r}")
            self._links.discard(link)

    async def _to_server(self, link: _Link, reader: asyncio.StreamReader) -> None:
        assert link.server is not None
        buf = bytearray()
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                buf += data
                while (parsed := parse_command(buf)) is not None:
                    command, size = parsed
                    raw = bytes(buf[:size])
                    del buf[:size]
                    append = as_append(command)
                    if command[0].upper() == b"XRANGE" and self._late is not None:
                        link.deliver_late = True  # a resume reads the events: then the stale one
                    if append is not None and append.key in self._seen:
                        self.resends += 1
                    elif append is not None:
                        if self._fires(append):
                            if self._lose != "reply":
                                if self._lose == "late":
                                    self._late, self._late_key = raw, append.key
                                self._cut()
                                return
                            link.drop_reply = True
                        # the stale write comes after another one than itself
                        link.deliver_late = self._late is not None and append.key != self._late_key
                        self._seen.add(append.key)
                        self.appends.append(append)
                    link.server.write(raw)
                await link.server.drain()

    async def _to_client(self, link: _Link, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if link.drop_reply:
                    # one command at a time per connection: what comes next is its reply
                    if data.startswith(b"-"):
                        self.errors.append(f"the append cut after Redis ran it failed: {data!r}")
                    self._cut()
                    return
                if link.deliver_late:  # the next append or read was answered: now the stale one
                    link.deliver_late = False
                    await self.deliver_late()
                link.client.write(data)
                await link.client.drain()

    def _fires(self, append: Append) -> bool:
        """Whether the next armed trigger fires at this new append (a client's resend of an
        append it saw is not new)."""
        if not self._triggers or not self._triggers[0](append, list(self.appends)):
            return False
        self._triggers.pop(0)
        self.cut_at.append(append)
        return True
