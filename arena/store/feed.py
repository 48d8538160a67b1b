"""One match followed on a node: its status and stored events read once, then the stream
followed with one blocking XREAD, all kept in a window of frames bounded in bytes (see hub.py)."""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from arena.store.frames import Deliver, EventKey, Frame
from arena.store.keys import Keys
from arena.store.streams import EventLog, decode_entry
from arena.store.types import StoreError, entries

log = logging.getLogger(__name__)

BLOCK_MS = 5000
PAGE = 500


class HubClosed(StoreError):
    """This node stopped following matches: it is shutting down."""


class Follower(Protocol):
    """What a feed knows of a subscriber (arena.store.subscription.Subscription)."""

    wake: asyncio.Event

    @property
    def last_key(self) -> EventKey | None: ...

    def released(self, end: int) -> None: ...


@dataclass(frozen=True)
class FeedSource:
    """Where feeds read from and what they may hold: the hub's, shared by its feeds."""

    redis: Redis
    keys: Keys
    log: EventLog
    window_bytes: int
    done: Callable[[Feed], None]


class Feed:
    """One match followed on this node: its events in a window, stored ones first, then live."""

    def __init__(self, source: FeedSource, match_id: str) -> None:
        self.source, self.match_id = source, match_id
        self.frames: list[Frame] = []
        self.base = 0  # position in the match's stream of frames[0]
        self.floor: EventKey | None = None  # key of the last event dropped from the window
        self.size = 0
        self.found = True
        self.ended = False  # the terminal event is in the window
        self.error: BaseException | None = None
        self.subscribers: set[Follower] = set()
        self.pushing: dict[Follower, Deliver] = {}
        self.waiting: set[Follower] = set()  # iterating subscribers waiting for events
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
            self.source.done(self)
            self._release_all()
            self._wake()

    async def _load(self) -> str:
        # the status comes first: a finished match's terminal event is written with its status,
        # so it is among the events read after it. The pages come from the stream, or from the
        # packed key of a compacted match (EventLog.entries), also when compaction replaced the
        # stream between two pages: the next page then starts after the last id read.
        redis, keys, log = self.source.redis, self.source.keys, self.source.log
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.match(self.match_id), "status")
            pipe.xrange(keys.events(self.match_id), "-", "+", count=PAGE)
            pipe.exists(keys.packed(self.match_id))
            status, reply, packed = await pipe.execute()
        if status is None:
            self.found = False
            return "0-0"
        page = entries(reply) or (
            await log.packed_entries(self.match_id, None, PAGE) if packed else []
        )
        last = "0-0"
        while True:
            for entry_id, fields in page:
                self._add(Frame.of(decode_entry(entry_id, fields)))
                last = entry_id
            if len(page) < PAGE or self.ended:
                return last
            page = await log.entries(self.match_id, last, PAGE)

    async def _follow(self, last: str) -> None:
        stream = self.source.keys.events(self.match_id)
        while not self.ended:
            reply = await self.source.redis.xread({stream: last}, count=PAGE, block=BLOCK_MS)
            found = entries(reply)
            if not found:
                # nothing for BLOCK_MS: if compaction replaced the stream (a finished match this
                # feed had not read to its end), the rest is in its packed key
                found = await self.source.log.entries(self.match_id, last, PAGE)
            batch: list[Frame] = []
            for entry_id, fields in found:
                frame = Frame.of(decode_entry(entry_id, fields))
                self._add(frame)
                batch.append(frame)
                last = entry_id
                if self.ended:  # nothing follows the terminal event
                    break
            if batch:
                self._push(batch)
                self._wake()

    def _add(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.size += frame.size
        self.ended = self.ended or frame.terminal
        if self.size > self.source.window_bytes and len(self.frames) > 1:
            # drop a quarter at once, so that trimming costs O(1) per event
            target, drop = self.source.window_bytes * 3 // 4, 0
            while self.size > target and drop < len(self.frames) - 1:
                self.size -= self.frames[drop].size
                drop += 1
            self.floor = self.frames[drop - 1].key
            del self.frames[:drop]
            self.base += drop

    def _push(self, batch: list[Frame]) -> None:
        # all the events of one read at once: one write per socket however many there are, so
        # the busier the node (the more events each read returns), the less each event costs
        if not self.pushing:
            return
        first = batch[0].key
        released = []
        for sub, deliver in self.pushing.items():
            last_key = sub.last_key
            if last_key is None or first > last_key:
                frames = batch
            else:
                # `after` ahead of the window (read from Redis before this feed caught up):
                # the frames up to it are skipped
                frames = [frame for frame in batch if frame.key > last_key]
                if not frames:
                    continue
            if not deliver(frames):
                released.append(sub)
        if self.ended:
            self._release_all()
        for sub in released:
            self._release(sub)

    def _release(self, sub: Follower) -> None:
        if self.pushing.pop(sub, None) is not None:
            sub.released(self.end)

    def _release_all(self) -> None:
        pushing, self.pushing = self.pushing, {}
        for sub in pushing:
            sub.released(self.end)

    def _wake(self) -> None:
        waiting, self.waiting = self.waiting, set()
        for sub in waiting:
            sub.wake.set()
