"""Seeding in several processes, each playing its share of matches through the store's own path.

One seeding process is bound by its own CPU (the Redis client and the events' encoding: about 24
matches a second on this 2-core machine), so 100,000 matches take over an hour in one. Each shard
is a `Seeder` of its own (its own Store connection and RNG seed) in a process of its own; one
shard plays the tournament's slots. Like a worker's janitor once a match's grace period is over,
a shard compacts its matches as it goes (each block of matches once the next block is played),
so Redis holds compacted matches, not 100,000 streams of token chunks; the last block of every
shard is left as it finished, for the caller to measure before compacting it.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from arena.config import Settings
from arena.store import Store
from arena.store.votes import CrowdVotes
from longrun.seed import Seeder

BLOCK = 250  # matches played at once before the previous block is compacted
KEEP = 200  # ids of the last matches a shard returns (the caller's byte sample)


@dataclass(frozen=True)
class Shard:
    """One process's share: `count` matches seeded with `seed`, into `prefix` at `redis_url`."""

    index: int
    redis_url: str
    prefix: str
    data_dir: str
    seed: int
    count: int
    concurrency: int
    tournament: str | None = None  # this shard plays the tournament's slots first


def shares(need: int, processes: int, slots: int) -> list[int]:
    """`need` matches split over `processes`; the first share holds at least the `slots`."""
    processes = max(1, min(processes, need or 1))
    first = max(-(-need // processes), min(need, slots))
    rest = need - first
    others = processes - 1
    tail = [rest // others + (1 if i < rest % others else 0) for i in range(others)]
    return [first, *[n for n in tail if n > 0]]


async def play(shard: Shard) -> list[str]:
    """Seed the shard's matches; returns the ids of its last ones (uncompacted)."""
    settings = Settings(_env_file=None, redis_url=shard.redis_url, key_prefix=shard.prefix,
                        queue_max=10**9, data_dir=Path(shard.data_dir))  # fmt: skip
    store = await Store.connect(settings)
    try:
        seeder = Seeder(store, CrowdVotes(store.redis, store.keys, "bench"),
                        random.Random(shard.seed))  # fmt: skip
        if shard.tournament is not None:
            seeder.join_tournament(shard.tournament)
        sem = asyncio.Semaphore(shard.concurrency)
        started, previous = time.monotonic(), list[str]()

        async def one() -> str:
            async with sem:
                return await seeder.one()

        for start in range(0, shard.count, BLOCK):
            block = await asyncio.gather(*(one() for _ in range(min(BLOCK, shard.count - start))))
            for match_id in previous:  # the grace period of the block before is over
                await store.compaction.compact(match_id)
            previous = list(block)
            if (start // BLOCK) % 4 == 3 or start + BLOCK >= shard.count:
                print(f"  shard {shard.index}: seeded {seeder.seeded}/{shard.count} "
                      f"({time.monotonic() - started:.0f} s)", file=sys.stderr)  # fmt: skip
        return previous[-KEEP:]
    finally:
        await store.close()


def _run(shard: Shard) -> list[str]:
    return asyncio.run(play(shard))


async def seed_shards(shards: list[Shard]) -> list[str]:
    """Play every shard (in processes of their own when there are several); the ids of each
    shard's last matches, in shard order."""
    if len(shards) == 1:
        return await play(shards[0])
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(len(shards), mp_context=get_context("spawn")) as pool:
        done = await asyncio.gather(*(loop.run_in_executor(pool, _run, s) for s in shards))
    return [match_id for ids in done for match_id in ids]
