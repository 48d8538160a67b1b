"""A spectator's cursor into a match's feed: replay, then live, with bounded lag (see hub.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from redis.exceptions import ResponseError

from arena.domain.events import Event
from arena.errors import ArenaError
from arena.store.feed import PAGE, Feed, HubClosed
from arena.store.frames import Deliver, EventKey, Frame, event_key
from arena.store.types import InvalidEventId, StoreError


class SubscriberOverflow(ArenaError):
    """A subscriber fell too far behind the live events of a match."""

    def __init__(self, match_id: str, last_id: str | None) -> None:
        self.match_id, self.last_id = match_id, last_id
        super().__init__(f"you fell behind match {match_id}: reconnect with ?after={last_id or ''}")


class Subscription:
    """Iterate to get the events after `after` (`frames()` for them serialised): the stored ones,
    then the live ones; the iteration ends after the match's terminal event. Or, to fan out
    cheaply: `backfill()`, then `take()` until it returns nothing, then `push()`."""

    def __init__(self, feed: Feed, after: str | None, maxsize: int) -> None:
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
        """Hand the new frames to `deliver` as the feed receives them (a list: all those of one
        read from Redis), until the feed releases the subscriber: when `deliver` returns False
        (it could not take them all at once; they count as taken, the caller finishes sending
        them), after the terminal event, or when the feed stops. The returned
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

    @property
    def last_key(self) -> EventKey | None:
        return self._last_key

    def released(self, end: int) -> None:
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
                page = await feed.source.log.read(self.match_id, after=self.last_id, count=PAGE)
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
