"""GET /api/leaderboard while matches keep completing: request latency and the worst event-loop
stall, before (the old algorithm, kept here as the baseline) and after (the app as shipped).

    .venv/bin/python scripts/bench_leaderboard.py [--sizes 1000,10000,100000] [--requests 200]

For each size it seeds that many completed matches (two leaderboard samples each) into Redis
(REDIS_URL, else an embedded redis-server in a temporary folder), then runs the app in process
and sends requests one after another while a task completes a new match every --every seconds.
A ticker measures how late the event loop runs a 5 ms timer: the worst lateness is the longest
time every other request and WebSocket on the node would have waited.

"before" is the leaderboard as it was: every request reads all samples with one HGETALL and,
when the sample count changed (after every completed match), recomputes every row with a
pure-Python bootstrap of 2,000 resamples, inside the event loop. It is slow: by default it runs
only up to --baseline-max matches.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arena.api import create_app
from arena.config import Settings
from arena.domain.samples import Sample
from arena.stats.intervals import bootstrap_mean_ci
from arena.store import Store
from arena.store.types import text_map

PERSONAS = ["pirate", "stoic", "cynic", "kantian", "assistant", "contrarian", "mediator",
            "life-coach", "blunt-father", "zealot"]  # fmt: skip
MODELS = ["openai:gpt-4o-mini", "local:smollm2"]


def sample_pair(match_id: str, rng: random.Random) -> list[Sample]:
    pro, con = rng.sample(PERSONAS, 2)
    out = []
    for side, persona in (("pro", pro), ("con", con)):
        holding = min(1.0, max(0.0, rng.gauss(0.4 + 0.05 * PERSONAS.index(persona), 0.15)))
        out.append(Sample(match_id=match_id, side=side, persona=persona,  # type: ignore[arg-type]
                          model=rng.choice(MODELS), judge="local:smollm2", turns=4,
                          mean_holding=round(holding, 4), flipped=rng.random() < 0.1,
                          firmness=rng.randint(0, 4), stance_changes=rng.randint(0, 2),
                          engagement=round(rng.random(), 4), opponent_mean_holding=0.5,
                          persuasion=round(rng.uniform(-0.2, 0.2), 4)))  # fmt: skip
    return out


async def seed(store: Store, n: int, rng: random.Random) -> None:
    keys = store.keys
    for start in range(0, n, 1000):
        async with store.redis.pipeline(transaction=False) as pipe:
            for i in range(start, min(n, start + 1000)):
                pair = sample_pair(f"seed{i:07d}", rng)
                data = {f"{s.match_id}:{s.side}": s.model_dump_json() for s in pair}
                pipe.hset(keys.lb_samples, mapping=data)  # type: ignore[arg-type]
                pipe.rpush(keys.lb_log, *data.values())
                pipe.sadd(keys.lb_matches, pair[0].match_id)
            await pipe.execute()


class OldBoard:
    """The baseline: HGETALL, then pure-Python rows in the event loop, cached by sample count."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: tuple[int, list[dict[str, object]]] | None = None

    async def rows(self) -> list[dict[str, object]]:
        raw = text_map(await self.store.redis.hgetall(self.store.keys.lb_samples))
        if self.cache is None or self.cache[0] != len(raw):
            samples = [Sample.model_validate_json(v) for v in raw.values()]
            groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
            for s in sorted(samples, key=lambda s: (s.match_id, s.side)):
                groups[(s.persona, s.judge)].append(s)
            rows: list[dict[str, object]] = []
            for (persona, judge), group in groups.items():
                holdings = [s.mean_holding for s in group if s.mean_holding is not None]
                rows.append({"persona": persona, "judge": judge, "matches": len(group),
                             "mean_holding": statistics.fmean(holdings),
                             "holding_ci": bootstrap_mean_ci(holdings)})  # fmt: skip
            self.cache = (len(raw), rows)
        return self.cache[1]


async def measure(
    request: Callable[[], Awaitable[object]],
    complete: Callable[[], Awaitable[None]],
    requests: int,
    every: float,
) -> dict[str, float]:
    stop = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    async def completer() -> None:
        while not stop.is_set():
            await complete()
            await asyncio.sleep(every)

    tasks = [asyncio.create_task(ticker()), asyncio.create_task(completer())]
    latencies = []
    try:
        for _ in range(requests):
            start = time.perf_counter()
            await request()
            latencies.append(time.perf_counter() - start)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": 1000 * latencies[-1],
        "stall_ms": 1000 * worst,
    }


async def bench(n: int, args: argparse.Namespace, data_dir: Path) -> None:
    settings = Settings(
        _env_file=None, data_dir=data_dir, key_prefix=f"bench-{uuid.uuid4().hex[:8]}"
    )
    rng = random.Random(n)
    store = await Store.connect(settings)
    counter = iter(range(10**9))

    async def complete() -> None:
        await store.samples.add(sample_pair(f"live{next(counter):07d}", rng))

    try:
        started = time.perf_counter()
        await seed(store, n, rng)
        print(f"\n{n:,} matches seeded in {time.perf_counter() - started:.1f} s")
        if n <= args.baseline_max:
            old = OldBoard(store)
            result = await measure(old.rows, complete, max(5, args.requests // 10), args.every)
            print("  before: " + "  ".join(f"{k} {v:,.1f}" for k, v in result.items()))
        else:
            print(f"  before: skipped above --baseline-max {args.baseline_max:,}")
        app = create_app(settings, run_worker=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

                async def get() -> object:
                    response = await client.get("/api/leaderboard")
                    response.raise_for_status()
                    return response.json()

                cold = time.perf_counter()
                await get()
                print(f"  after:  first request (reads the whole log once) "
                      f"{1000 * (time.perf_counter() - cold):,.0f} ms")  # fmt: skip
                result = await measure(get, complete, args.requests, args.every)
                print("  after:  " + "  ".join(f"{k} {v:,.1f}" for k, v in result.items()))
    finally:
        keys = [k async for k in store.redis.scan_iter(match=f"{{{settings.key_prefix}}}:*")]
        for start in range(0, len(keys), 500):
            await store.redis.delete(*keys[start : start + 500])
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.05, help="seconds between completions")
    parser.add_argument("--baseline-max", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            asyncio.run(bench(n, args, Path(tmp)))


if __name__ == "__main__":
    main()
