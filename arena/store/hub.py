"""Per-node fan-out of match events to local subscribers (WebSocket spectators).

One read loop (a blocking XREAD) per match per node feeds every local subscriber of that match,
so a thousand spectators of one match cost one Redis connection, not a thousand. A subscriber
first reads the stored events after its `after` itself, then takes live events from its own
bounded buffer; when that buffer is full the subscriber is too slow and the subscription raises
SubscriberOverflow (the client reconnects with ?after=<last id it saw>).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis

from arena.errors import ArenaError
from arena.events import TERMINAL_TYPES, Event
from arena.store.streams import EventLog, check_event_id, decode_entry
from arena.store.tasks import cancel_and_wait
from arena.store.types import entries

log = logging.getLogger(__name__)

BLOCK_MS = 5000
PAGE = 500
_FINISHED = ("completed", "failed", "cancelled")
StatusOf = Callable[[str], Awaitable[str | None]]


class SubscriberOverflow(ArenaError):
    """A subscriber fell too far behind the live events of a match."""

    def __init__(self, match_id: str, last_id: str | None) -> None:
        self.match_id, self.last_id = match_id, last_id
        super().__init__(f"you fell behind match {match_id}: reconnect with ?after={last_id or ''}")


def _key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class Subscription:
    """Iterate to get the stored events after `after`, then the live ones; the iteration ends
    after the match's terminal event."""

    def __init__(self, hub: Hub, match_id: str, after: str | None, maxsize: int) -> None:
        self.hub, self.match_id, self.last_id, self.maxsize = hub, match_id, after, maxsize
        self._items: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._overflow = False
        self._ended = False
        self._error: BaseException | None = None

    @property
    def overflowed(self) -> bool:
        return self._overflow

    def push(self, event: Event) -> None:
        if self._overflow:
            # nothing after a dropped event may be queued: the buffer must stay gap-free, so the
            # subscriber drains what it has and then learns it fell behind
            return
        if len(self._items) >= self.maxsize:
            self._overflow = True
        else:
            self._items.append(event)
        self._wake.set()

    def end(self, error: BaseException | None = None) -> None:
        self._ended, self._error = True, error
        self._wake.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    def _new(self, event: Event) -> bool:
        assert event.id is not None
        if self.last_id is not None and _key(event.id) <= _key(self.last_id):
            return False
        self.last_id = event.id
        return True

    async def _stored(self) -> AsyncIterator[Event]:
        while True:
            page = await self.hub.log.read(self.match_id, after=self.last_id, count=PAGE)
            for event in page:
                if self._new(event):
                    yield event
            if len(page) < PAGE:
                return

    async def _events(self) -> AsyncIterator[Event]:
        async for event in self._stored():
            yield event
            if event.type in TERMINAL_TYPES:
                return
        if await self.hub.status_of(self.match_id) in (None, *_FINISHED):
            # the terminal event is written with the status, so it is stored by now
            async for event in self._stored():
                yield event
            return
        while True:
            if self._overflow:
                raise SubscriberOverflow(self.match_id, self.last_id)
            while self._items:
                event = self._items.popleft()
                if self._new(event):
                    yield event
                    if event.type in TERMINAL_TYPES:
                        return
            if self._error is not None:
                raise self._error
            if self._ended:
                return
            self._wake.clear()
            await self._wake.wait()


class _Feed:
    def __init__(self, hub: Hub, match_id: str) -> None:
        self.hub, self.match_id = hub, match_id
        self.subscribers: set[Subscription] = set()
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"feed:{match_id}")

    async def _run(self) -> None:
        key = self.hub.log.keys.events(self.match_id)
        try:
            last = await self.hub.log.last_id(self.match_id)
            self.ready.set()
            while True:
                reply = await self.hub.redis.xread({key: last}, count=PAGE, block=BLOCK_MS)
                for entry_id, fields in entries(reply):
                    event, last = decode_entry(entry_id, fields), entry_id
                    for sub in list(self.subscribers):
                        sub.push(event)
                    if event.type in TERMINAL_TYPES:
                        self._end(None)
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event feed of match %s stopped: %s", self.match_id, exc)
            self._end(exc)
        finally:
            self.ready.set()
            if self.hub.feeds.get(self.match_id) is self:
                del self.hub.feeds[self.match_id]

    def _end(self, error: BaseException | None) -> None:
        for sub in list(self.subscribers):
            sub.end(error)


class Hub:
    """Fans the events of each match out to this node's subscribers."""

    def __init__(self, redis: Redis, log: EventLog, status_of: StatusOf, maxsize: int) -> None:
        self.redis, self.log, self.status_of, self.maxsize = redis, log, status_of, maxsize
        self.feeds: dict[str, _Feed] = {}

    @contextlib.asynccontextmanager
    async def subscribe(
        self, match_id: str, after: str | None = None
    ) -> AsyncIterator[Subscription]:
        if after is not None:
            check_event_id(after)
        sub = Subscription(self, match_id, after, self.maxsize)
        feed = self.feeds.get(match_id)
        if feed is None:
            feed = self.feeds[match_id] = _Feed(self, match_id)
        feed.subscribers.add(sub)
        try:
            await feed.ready.wait()
            yield sub
        finally:
            feed.subscribers.discard(sub)
            if not feed.subscribers:
                await _stop(feed)

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            await _stop(feed)


async def _stop(feed: _Feed) -> None:
    if feed.hub.feeds.get(feed.match_id) is feed:
        del feed.hub.feeds[feed.match_id]
    await cancel_and_wait([feed.task], retry=0.02)
