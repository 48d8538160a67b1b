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

A subscriber that has caught up can be pushed to instead: the feed hands the new frames of each
read to its `deliver` callback, in one loop over the subscribers, rather than waking one task per
subscriber per event. A callback that cannot take them at once releases the subscriber, which
then catches up from the window on its own.

The modules: frames.py (an event as sent, its order), feed.py (one followed match),
subscription.py (a subscriber's cursor), this one (the feeds of a node).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from arena.errors import ArenaError
from arena.store.feed import Feed, FeedSource, HubClosed
from arena.store.frames import FRAME_OVERHEAD, EventKey, Frame, event_key
from arena.store.keys import Keys
from arena.store.packed import PackedMatches
from arena.store.streams import EventLog
from arena.store.subscription import SubscriberOverflow, Subscription
from arena.tasks import cancel_and_wait

__all__ = [
    "FRAME_OVERHEAD",
    "EventKey",
    "Frame",
    "Hub",
    "HubClosed",
    "MatchNotFound",
    "SubscriberOverflow",
    "Subscription",
    "event_key",
]


class MatchNotFound(ArenaError):
    """No match has this id."""

    def __init__(self, match_id: str) -> None:
        self.match_id = match_id
        super().__init__(f"match {match_id} not found")


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
        packed: PackedMatches | None = None,
    ) -> None:
        self.redis, self.keys, self.maxsize = redis, keys, maxsize
        self.window_bytes, self.finished_matches = window_bytes, finished_matches
        self.log = EventLog(redis, keys, packed)
        self.source = FeedSource(redis, keys, self.log, window_bytes, self._done)
        self.feeds: dict[str, Feed] = {}  # matches followed: loading or live
        self.finished: OrderedDict[str, Feed] = OrderedDict()  # least recently used first

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

    def _feed(self, match_id: str) -> Feed:
        feed = self.feeds.get(match_id)
        if feed is None:
            feed = self.finished.get(match_id)
            if feed is not None:
                self.finished.move_to_end(match_id)
                return feed
            feed = self.feeds[match_id] = Feed(self.source, match_id)
        return feed

    def _done(self, feed: Feed) -> None:
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
