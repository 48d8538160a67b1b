"""Per-node fan-out of match events to local subscribers (WebSocket spectators).

Each match followed on this node has one feed: it reads the match's status and stored events once,
then follows the stream with one blocking XREAD, and keeps the events in memory as frames (each
event serialised once per node). Replay and live come from that one window and a subscriber is a
cursor into it, so a late joiner costs no Redis round trip and a thousand spectators of one match
cost one reader. The window is bounded in bytes; a subscriber whose `after` is older than the
window reads the missing events itself, in pages. Feeds of finished matches stay in a small cache,
so concurrent joiners of a finished match share one read.

A subscriber more than `maxsize` live events behind (or behind the window) is too slow: its
subscription raises SubscriberOverflow and the client reconnects with ?after=<last id it saw>.

A subscriber that has caught up can be pushed to instead: the feed hands each new frame to its
`deliver` callback as it arrives, in one loop over the subscribers, rather than waking one task
per subscriber per event. A callback that cannot take a frame at once releases the subscriber,
which then catches up from the window on its own.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from arena.errors import ArenaError
from arena.events import EVENT_ADAPTER, TERMINAL_TYPES, Event
from arena.store.keys import Keys
from arena.store.streams import EventLog, check_event_id, decode_entry
from arena.store.tasks import cancel_and_wait
from arena.store.types import InvalidEventId, StoreError, entries

log = logging.getLogger(__name__)

BLOCK_MS = 5000
PAGE = 500
# what a frame costs besides its text (the Frame, its id and key objects), so that a window of
# many tiny events is bounded too
FRAME_OVERHEAD = 300
MAX_ID_PART = 2**64 - 1

EventKey = tuple[int, int]
Deliver = Callable[["Frame"], bool]


class SubscriberOverflow(ArenaError):
    """A subscriber fell too far behind the live events of a match."""

    def __init__(self, match_id: str, last_id: str | None) -> None:
        self.match_id, self.last_id = match_id, last_id
        super().__init__(f"you fell behind match {match_id}: reconnect with ?after={last_id or ''}")


class MatchNotFound(ArenaError):
    """No match has this id."""

    def __init__(self, match_id: str) -> None:
        self.match_id = match_id
        super().__init__(f"match {match_id} not found")


class HubClosed(StoreError):
    """This node stopped following matches: it is shutting down."""


def event_key(event_id: str) -> EventKey:
    """The order of an event id; InvalidEventId unless it is one that Redis accepts."""
    check_event_id(event_id)
    ms, _, seq = event_id.partition("-")
    key = int(ms), int(seq)
    if max(key) > MAX_ID_PART:
        raise InvalidEventId(f"{event_id!r} is not an event id: each part is at most 2^64-1")
    return key


def _key(entry_id: str) -> EventKey:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


@dataclass(frozen=True, slots=True)
class Frame:
    """One event as spectators receive it: `text` is its JSON (with `id`), made once per node
    and sent as is to every socket."""

    id: str
    key: EventKey
    type: str
    ts: float
    text: str

    @classmethod
    def of(cls, event: Event) -> Frame:
        assert event.id is not None
        return cls(
            event.id, _key(event.id), event.type, event.ts.timestamp(), event.model_dump_json()
        )

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    @property
    def event(self) -> Event:
        return EVENT_ADAPTER.validate_json(self.text)

    @property
    def size(self) -> int:
        return len(self.text) + FRAME_OVERHEAD


class _Feed:
    """One match followed on this node: its events in a window, stored ones first, then live."""

    def __init__(self, hub: Hub, match_id: str) -> None:
        self.hub, self.match_id = hub, match_id
        self.frames: list[Frame] = []
        self.base = 0  # position in the match's stream of frames[0]
        self.floor: EventKey | None = None  # key of the last event dropped from the window
        self.size = 0
        self.found = True
        self.ended = False  # the terminal event is in the window
        self.error: BaseException | None = None
        self.subscribers: set[Subscription] = set()
        self.pushing: dict[Subscription, Deliver] = {}
        self.waiting: set[Subscription] = set()  # iterating subscribers waiting for events
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"feed:{match_id}")

    @property
    def end(self) -> int:
        return self.base + len(self.frames)

    def position_after(self, key: EventKey | None) -> int:
        """Where the events after `key` start; the window must reach back to `key`."""
        if key is None:
            return self.base
        return self.base + bisect.bisect_right(self.frames, key, key=lambda f: f.key)

    async def _run(self) -> None:
        try:
            last = await self._load()
            self.ready.set()
            if self.found and not self.ended:
                await self._follow(last)
        except asyncio.CancelledError:
            self.error = HubClosed(f"stopped following match {self.match_id}")
            raise
        except Exception as exc:
            log.warning("event feed of match %s stopped: %s", self.match_id, exc)
            self.error = exc
        finally:
            self.ready.set()
            self.hub._done(self)
            self._release_all()
            self._wake()

    async def _load(self) -> str:
        redis, keys = self.hub.redis, self.hub.keys
        stream = keys.events(self.match_id)
        # the status comes first: a finished match's terminal event is written with its status,
        # so it is among the events read after it
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.match(self.match_id), "status")
            pipe.xrange(stream, "-", "+", count=PAGE)
            status, reply = await pipe.execute()
        if status is None:
            self.found = False
            return "0-0"
        last = "0-0"
        while True:
            page = entries(reply)
            for entry_id, fields in page:
                self._add(Frame.of(decode_entry(entry_id, fields)))
                last = entry_id
            if len(page) < PAGE or self.ended:
                return last
            reply = await redis.xrange(stream, "(" + last, "+", count=PAGE)

    async def _follow(self, last: str) -> None:
        stream = self.hub.keys.events(self.match_id)
        while not self.ended:
            reply = await self.hub.redis.xread({stream: last}, count=PAGE, block=BLOCK_MS)
            for entry_id, fields in entries(reply):
                frame = Frame.of(decode_entry(entry_id, fields))
                self._add(frame)
                self._push(frame)
                last = entry_id
                if self.ended:  # nothing follows the terminal event
                    break
            if reply:
                self._wake()

    def _add(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.size += frame.size
        self.ended = self.ended or frame.terminal
        if self.size > self.hub.window_bytes and len(self.frames) > 1:
            # drop a quarter at once, so that trimming costs O(1) per event
            target, drop = self.hub.window_bytes * 3 // 4, 0
            while self.size > target and drop < len(self.frames) - 1:
                self.size -= self.frames[drop].size
                drop += 1
            self.floor = self.frames[drop - 1].key
            del self.frames[:drop]
            self.base += drop

    def _push(self, frame: Frame) -> None:
        # each frame as soon as it is in the window: a later trim cannot drop it unsent
        if not self.pushing:
            return
        # a subscriber whose `after` is ahead of the window (read from Redis before this feed
        # caught up) skips the frames up to it
        released = [
            sub
            for sub, deliver in self.pushing.items()
            if (sub._last_key is None or frame.key > sub._last_key) and not deliver(frame)
        ]
        if self.ended:
            self._release_all()
        for sub in released:
            self._release(sub)

    def _release(self, sub: Subscription) -> None:
        if self.pushing.pop(sub, None) is not None:
            sub._released(self.end)

    def _release_all(self) -> None:
        pushing, self.pushing = self.pushing, {}
        for sub in pushing:
            sub._released(self.end)

    def _wake(self) -> None:
        waiting, self.waiting = self.waiting, set()
        for sub in waiting:
            sub.wake.set()


class Subscription:
    """Iterate to get the events after `after` (`frames()` for them serialised): the stored ones,
    then the live ones; the iteration ends after the match's terminal event. Or, to fan out
    cheaply: `backfill()`, then `take()` until it returns nothing, then `push()`."""

    def __init__(self, feed: _Feed, after: str | None, maxsize: int) -> None:
        self.feed, self.maxsize = feed, maxsize
        self.match_id = feed.match_id
        self.last_id = after
        self._last_key = None if after is None else event_key(after)
        self.wake = asyncio.Event()
        self._position: int | None = None
        self._joined = 0
        self._pushed: asyncio.Future[None] | None = None
        self.live_after: EventKey = (0, 0)
        """Frames with a key above this were added after the subscriber joined."""

    def _start(self) -> None:
        feed = self.feed
        self._joined = feed.end
        if feed.frames:
            self.live_after = feed.frames[-1].key
        elif feed.floor is not None:
            self.live_after = feed.floor

    @property
    def overflowed(self) -> bool:
        """True once the subscriber is more than `maxsize` live events behind, or behind the
        window (it then gets SubscriberOverflow from the iteration)."""
        position, feed = self._position, self.feed
        if position is None or self._pushed is not None:
            return False
        return position < feed.base or feed.end - max(position, self._joined) > self.maxsize

    @property
    def finished(self) -> bool:
        """True once the subscriber has had the match's terminal event."""
        feed = self.feed
        return feed.ended and self._position is not None and self._position >= feed.end

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        async for frame in self.frames():
            yield frame.event

    async def frames(self) -> AsyncIterator[Frame]:
        """The events as frames: what the WebSocket sends, without parsing them again."""
        async for frame in self.backfill():
            yield frame
        while True:
            for frame in self.take(1):  # one at a time: a slow reader overflows at once
                yield frame
                if frame.terminal:
                    return
                break
            else:
                if self.finished:
                    return
                await self._wait()

    async def _wait(self) -> None:
        self.wake.clear()
        self.feed.waiting.add(self)
        try:
            await self.wake.wait()
        finally:
            self.feed.waiting.discard(self)

    def take(self, limit: int) -> list[Frame]:
        """Up to `limit` of the next frames from the window, at once; [] when caught up (then
        `finished` tells whether the match is over). Raises SubscriberOverflow, or the feed's
        error once its frames are taken. Call `backfill()` first."""
        feed = self.feed
        if self._position is None:
            self._position = feed.position_after(self._last_key)
        if self.overflowed:
            raise SubscriberOverflow(self.match_id, self.last_id)
        start = self._position - feed.base
        chunk = feed.frames[start : start + limit]
        if not chunk:
            if feed.error is not None:
                # a new exception per subscriber: raising the feed's one in every subscriber
                # would grow its traceback with each of them
                kind = HubClosed if isinstance(feed.error, HubClosed) else StoreError
                raise kind(f"the feed of match {self.match_id} stopped: {feed.error}")
            return chunk
        self._position += len(chunk)
        last_key = self._last_key
        if last_key is not None and chunk[0].key <= last_key:
            chunk = [frame for frame in chunk if frame.key > last_key]  # `after` in the window
            if not chunk:
                return self.take(limit)
        self.last_id, self._last_key = chunk[-1].id, chunk[-1].key
        return chunk

    def push(self, deliver: Deliver) -> asyncio.Future[None] | None:
        """Hand each new frame to `deliver` as the feed receives it, until the feed releases
        the subscriber: when `deliver` returns False (it could not take the frame at once; the
        frame counts as taken), after the terminal event, or when the feed stops. The returned
        future is done then; `take()` goes on from there. None when the subscriber is not caught
        up or the feed is over: `take()` and `finished` tell."""
        feed = self.feed
        if (
            self._position != feed.end
            or feed.ended
            or feed.error is not None
            or feed.task.done()
            or self not in feed.subscribers
        ):
            return None
        self._pushed = asyncio.get_running_loop().create_future()
        feed.pushing[self] = deliver
        return self._pushed

    def unpush(self) -> None:
        """Stop pushing to this subscriber."""
        self.feed._release(self)

    def _released(self, end: int) -> None:
        self._position = end
        if end > self.feed.base:
            frame = self.feed.frames[end - 1 - self.feed.base]
            if self._last_key is None or frame.key > self._last_key:
                self.last_id, self._last_key = frame.id, frame.key
        release, self._pushed = self._pushed, None
        if release is not None and not release.done():
            release.set_result(None)

    def _behind_window(self) -> bool:
        floor = self.feed.floor
        return floor is not None and (self._last_key is None or self._last_key < floor)

    async def backfill(self) -> AsyncIterator[Frame]:
        """The events between `after` and the window, read in pages by this subscriber."""
        feed = self.feed
        while self._behind_window():
            try:
                page = await feed.hub.log.read(self.match_id, after=self.last_id, count=PAGE)
            except ResponseError as exc:
                if "id" in str(exc).lower():  # "Invalid stream ID ..."
                    raise InvalidEventId(f"{self.last_id!r}: {exc}") from exc
                raise
            if not page:
                raise StoreError(f"the events of match {self.match_id} were trimmed in Redis")
            for event in page:
                frame = Frame.of(event)
                if not self._behind_window():
                    return  # the window has it from here
                self.last_id, self._last_key = frame.id, frame.key
                yield frame


class Hub:
    """Fans the events of each match out to this node's subscribers. `redis` should be the
    spectators' own client: each followed match holds one of its connections in a blocking
    read."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        maxsize: int,
        window_bytes: int = 8 * 2**20,
        finished_matches: int = 32,
    ) -> None:
        self.redis, self.keys, self.maxsize = redis, keys, maxsize
        self.window_bytes, self.finished_matches = window_bytes, finished_matches
        self.log = EventLog(redis, keys)
        self.feeds: dict[str, _Feed] = {}  # matches followed: loading or live
        self.finished: OrderedDict[str, _Feed] = OrderedDict()  # least recently used first

    @contextlib.asynccontextmanager
    async def subscribe(
        self, match_id: str, after: str | None = None
    ) -> AsyncIterator[Subscription]:
        """Raises InvalidEventId for a malformed `after`, MatchNotFound for an unknown match."""
        if after is not None:
            event_key(after)
        feed = self._feed(match_id)
        sub = Subscription(feed, after, self.maxsize)
        feed.subscribers.add(sub)
        try:
            await feed.ready.wait()
            if not feed.found:
                raise MatchNotFound(match_id)
            sub._start()
            yield sub
        finally:
            feed.subscribers.discard(sub)
            feed.waiting.discard(sub)
            feed._release(sub)
            if not feed.subscribers and self.feeds.get(match_id) is feed:
                del self.feeds[match_id]
                await cancel_and_wait([feed.task], retry=0.02)

    def _feed(self, match_id: str) -> _Feed:
        feed = self.feeds.get(match_id)
        if feed is None:
            feed = self.finished.get(match_id)
            if feed is not None:
                self.finished.move_to_end(match_id)
                return feed
            feed = self.feeds[match_id] = _Feed(self, match_id)
        return feed

    def _done(self, feed: _Feed) -> None:
        if self.feeds.get(feed.match_id) is feed:
            del self.feeds[feed.match_id]
        if feed.ended and feed.error is None and self.finished_matches > 0:
            self.finished[feed.match_id] = feed
            while len(self.finished) > self.finished_matches:
                self.finished.popitem(last=False)

    async def close(self) -> None:
        feeds = list(self.feeds.values())
        self.feeds.clear()
        self.finished.clear()
        await cancel_and_wait([feed.task for feed in feeds], retry=0.02)
