"""The process watches its own responsiveness: a loop held by blocking work shows as lag, a
full collection as a pause, both on /metrics."""

from __future__ import annotations

import asyncio
import gc
import time

from prometheus_client import CollectorRegistry, generate_latest

from arena.api.loop_watch import LoopWatch
from tests.polling import eventually


async def test_blocking_the_loop_shows_as_lag_and_a_full_collection_as_a_pause() -> None:
    registry = CollectorRegistry()
    watch = LoopWatch(registry, interval=0.01)
    async with watch.running():
        for _ in range(3):  # the watcher has run: a few samples of an idle loop
            await asyncio.sleep(0.02)
        time.sleep(0.25)  # the behaviour under test: work that holds the loop
        gc.collect()
        await eventually(lambda: len(watch.lags) >= 6, timeout=10, message="too few samples")
    assert watch.max_lag >= 0.2
    assert watch.pauses and watch.max_pause > 0
    watch.publish()
    text = generate_latest(registry).decode()
    assert 'arena_event_loop_lag_seconds{stat="max"}' in text
    assert 'arena_gc_full_pause_seconds{stat="p99"}' in text
    # the idle samples keep the median low: one stall does not read as a slow loop
    assert float(text.split('arena_event_loop_lag_seconds{stat="p50"} ')[1].split()[0]) < 0.2
