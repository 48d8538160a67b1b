"""Keeping the garbage collector's full collections short while a crowd is connected.

CPython's cyclic collector scans every tracked object in a full (generation 2) collection, and
runs one each time the heap has grown by a quarter. Each spectator's connection holds about 180
tracked objects (uvicorn's protocol, the WebSocket parser, the transport, tasks and futures), so
while 5,000 spectators join a node the heap grows from 160,000 objects to over 900,000, and the
full collections that growth triggers stall the event loop for longer each time: measured, nine of
them, 20 ms growing to 386 ms, every spectator's events waiting behind each.

A spectator's connection lives as long as it watches, so `HeapPolicy` moves what is on the heap
out of the collector's way (`gc.freeze()`) each time `step` more spectators are connected, and
hands it back (`gc.unfreeze()`) once the crowd has halved, so that the cyclic garbage of the
connections that left is collected by the next full collection; it freezes again only after
that collection has run, and for a crowd of `step` or more. Objects freed by reference
counting, most of them, are freed as usual while frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Literal

log = logging.getLogger(__name__)

Action = Literal["freeze", "unfreeze"]


def full_collections() -> int:
    return int(gc.get_stats()[-1]["collections"])


class HeapPolicy:
    """Decides, from the number of spectators connected, when to freeze and unfreeze the heap.
    `freeze`, `unfreeze` and `collections` are the gc module's unless a test passes its own."""

    def __init__(
        self,
        step: int,
        *,
        freeze: Callable[[], None] = gc.freeze,
        unfreeze: Callable[[], None] = gc.unfreeze,
        collections: Callable[[], int] = full_collections,
        rest: bool = False,
    ) -> None:
        self.step = step
        self._freeze, self._unfreeze, self._collections = freeze, unfreeze, collections
        self.frozen_at: int | None = None  # spectators when the heap was last frozen; None: not
        self._collections_at_unfreeze = -1
        # with `rest`, the heap the node lives on (its modules, app and clients: frozen once at
        # start-up) goes back out of the collector's way once a crowd's garbage is collected
        self.rest = rest
        self._rested = rest

    def observe(self, spectators: int) -> Action | None:
        frozen_at = self.frozen_at
        if frozen_at is None:
            collected = self._collections() > self._collections_at_unfreeze
            # a crowd again, and the garbage of the last one has been collected
            if spectators >= self.step and collected:
                self._freeze()
                self.frozen_at = spectators
                return "freeze"
            if self.rest and not self._rested and collected:
                self._freeze()
                self._rested = True
                return "freeze"
            return None
        if spectators >= frozen_at + self.step:
            self._freeze()
            self.frozen_at = spectators
            return "freeze"
        if spectators <= frozen_at // 2:
            self.close()
            return "unfreeze"
        return None

    def close(self) -> None:
        """Hand the heap back, if it is frozen."""
        if self.frozen_at is not None:
            self._unfreeze()
            self.frozen_at = None
            self._rested = False
            self._collections_at_unfreeze = self._collections()


@contextlib.contextmanager
def start_up_frozen() -> Iterator[None]:
    """Move what the node has built by now (imports, the app, its clients: alive until it
    stops) out of the full collections while it serves: measured, a full collection of that heap
    took 200-320 ms and stalled every request behind it; frozen, it is scanned no more. (No
    collection first: it would cost as much as the pause it avoids; the start-up's few cycles
    stay.) The heap is handed back at shutdown, unless something else had frozen it before."""
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection while a start-up warm-up builds what will last (the crowd's
    labels of every voted match): each full collection in the middle of it scanned all that had
    been built so far (34-46 ms at 100,000 matches, the node's longest stall). The collector
    is back on when the warm-up ends, however it ends; if it was off already, it stays off."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def freeze_warmed() -> None:
    """Move what a start-up warm-up built to last (the crowd's labels of every voted match) out
    of the full collections, as start-up's own heap is (`start_up_frozen`): each full collection
    would scan it again, and their pauses are what stalled requests. Its garbage, freed by
    reference counting, is freed as usual."""
    gc.freeze()


@contextlib.asynccontextmanager
async def heap_policy(
    step: int, spectators: Callable[[], int], interval: float = 1.0
) -> AsyncIterator[HeapPolicy | None]:
    """Run a HeapPolicy (`step` > 0) for as long as the context is open, looking at the number
    of `spectators` every `interval` seconds; `step` 0 leaves the collector alone."""
    if step <= 0:
        yield None
        return
    policy = HeapPolicy(step, rest=True)

    async def watch() -> None:
        while True:
            await asyncio.sleep(interval)
            count = spectators()
            action = policy.observe(count)
            if action is not None:
                log.debug("heap: %s at %d spectators", action, count)

    task = asyncio.create_task(watch(), name="heap-policy")
    try:
        yield policy
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        policy.close()
