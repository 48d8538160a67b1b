"""Readers polling an arena node's public GETs, and what the node says of itself (/metrics)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import numpy as np


@dataclass
class Latencies:
    """Seconds per request, by endpoint name."""

    by_name: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.by_name.setdefault(name, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, values in sorted(self.by_name.items()):
            a = np.asarray(values) * 1000
            out[name] = {
                "n": float(len(a)),
                "p50_ms": round(float(np.percentile(a, 50)), 1),
                "p99_ms": round(float(np.percentile(a, 99)), 1),
                "max_ms": round(float(a.max()), 1),
            }
        return out


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.get(path)
    await response.aread()
    return time.perf_counter() - started, response.status_code


async def readers(
    base: str,
    endpoints: dict[str, str],
    n: int,
    duration: float,
    seed: int,
) -> Latencies:
    """`n` readers, each requesting the endpoints in a shuffled order, one at a time, until
    `duration` seconds have passed."""
    found = Latencies()
    deadline = time.monotonic() + duration

    async def reader(i: int) -> None:
        rng = random.Random(seed + i)
        names = list(endpoints)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            while time.monotonic() < deadline:
                rng.shuffle(names)
                for name in names:
                    if time.monotonic() >= deadline:
                        return
                    seconds, status = await timed_get(client, endpoints[name])
                    if status >= 400:
                        found.errors[name] = found.errors.get(name, 0) + 1
                    found.add(name, seconds)

    await asyncio.gather(*(reader(i) for i in range(n)))
    return found


async def paced(rate: float, duration: float, work: Callable[[], Awaitable[object]]) -> int:
    """Run `work` `rate` times a second (one at a time, catching up when late) for `duration`."""
    done = 0
    start = time.monotonic()
    while (now := time.monotonic()) < start + duration:
        due = start + done / rate
        if due > now:
            await asyncio.sleep(due - now)
        await work()
        done += 1
    return done


def scrape(text: str) -> dict[str, float]:
    """The loop-lag and GC-pause gauges of an arena's /metrics text."""
    out = {}
    for line in text.splitlines():
        for metric in ("arena_event_loop_lag_seconds", "arena_gc_full_pause_seconds"):
            if line.startswith(metric + "{"):
                stat = line.split('stat="')[1].split('"')[0]
                out[f"{metric}.{stat}"] = float(line.rsplit(" ", 1)[1])
    return out
