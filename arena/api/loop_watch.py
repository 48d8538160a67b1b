"""How responsive this process is: the event loop's lag and the pauses of full garbage
collections, measured all the time and shown on /metrics (the benchmarks read them too).

Lag is how late a timer fires: a task asks to wake every `interval` seconds and records by how
much it overslept; work that holds the loop (parsing a big reply, computing a bootstrap) shows
up as lag, and every request waiting meanwhile waits as long. A full (generation 2) collection
stops everything; its duration is taken from the gc module's callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

WINDOW = 3000  # recent samples the quantiles are taken over (5 minutes at 0.1 s)


def _quantile(values: deque[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LoopWatch:
    """Samples loop lag and full-GC pauses; publishes p50/p99/max gauges over a window."""

    def __init__(self, registry: CollectorRegistry, interval: float = 0.1) -> None:
        self.interval = interval
        self.lags: deque[float] = deque(maxlen=WINDOW)
        self.pauses: deque[float] = deque(maxlen=WINDOW)
        self.max_lag = 0.0
        self.max_pause = 0.0
        self._gc_started: float | None = None
        self.lag = Gauge(
            "arena_event_loop_lag_seconds",
            "How late the event loop ran a timer, over recent samples (quantile or max)",
            ["stat"],
            registry=registry,
        )
        self.pause = Gauge(
            "arena_gc_full_pause_seconds",
            "Pauses of full garbage collections, over recent ones (quantile or max)",
            ["stat"],
            registry=registry,
        )

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            pause = time.perf_counter() - self._gc_started
            self._gc_started = None
            self.pauses.append(pause)
            self.max_pause = max(self.max_pause, pause)

    def publish(self) -> None:
        for gauge, values, top in (
            (self.lag, self.lags, self.max_lag),
            (self.pause, self.pauses, self.max_pause),
        ):
            gauge.labels("p50").set(_quantile(values, 0.5))
            gauge.labels("p99").set(_quantile(values, 0.99))
            gauge.labels("max").set(top)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        published = loop.time()
        while True:
            asked = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - asked - self.interval)
            self.lags.append(lag)
            self.max_lag = max(self.max_lag, lag)
            if loop.time() - published >= 1.0:
                published = loop.time()
                self.publish()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        gc.callbacks.append(self._on_gc)
        task = asyncio.create_task(self._run(), name="loop-watch")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            gc.callbacks.remove(self._on_gc)
