"""Benchmark the arena after months of service: N finished matches seeded through the store's own
path, then an API node's memory, pauses and public GET latencies while matches keep finishing.

    .venv/bin/python scripts/bench_longrun.py --matches 1000,10000 [--readers 4] [--rate 10]
        [--duration 20] [--concurrency 8] [--processes 2] [--repeat 1] [--redis-url URL]
        [--json out.json]

For each size, in one run (the smallest is the baseline of the others): seed up to N matches
(scripts/longrun/seed.py: create, claim, events through the CoalescingSink, `match_completed`
-> finalize; 14 personas, 3 models, 10% pressure matches, 15% older persona versions, votes on
5% of matches, a tournament) in `--processes` seeding processes that compact each block of
matches once the next is played, as a janitor does after the grace period
(scripts/longrun/shards.py), measure Redis bytes per finished match (MEMORY USAGE of all its
keys, over the last 200 seeded) before and after compaction, start
`arena serve --no-worker` on it, time the first (cold) request of each public GET, then run
`--readers` readers over every public GET while matches keep finishing at `--rate` per second
for `--duration` seconds, and read the node's RSS and its own loop-lag and full-GC figures
(/metrics). `--repeat K` measures the largest size K times in a row, each time on a fresh node
(cold requests included), over the same seeded matches plus those finished under load: runs in
a row on one seeding, not seedings in a row. Prints one table; `--json` writes every figure. Each
size's figures are printed (stderr) and written (`--json`) as soon as they are measured, so a long
run stopped later keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from longrun.load import paced, readers, scrape, timed_get  # noqa: E402
from longrun.seed import Seeder  # noqa: E402
from longrun.shards import Shard, seed_shards, shares  # noqa: E402

from arena.config import Settings  # noqa: E402
from arena.store import EmbeddedServer, Store  # noqa: E402
from arena.store.votes import CrowdVotes  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matches", default="1000,10000", help="sizes, comma separated, ascending")
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--rate", type=float, default=10.0, help="matches finishing per second")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load per size")
    p.add_argument("--concurrency", type=int, default=8, help="matches seeded at once, per process")
    p.add_argument("--processes", type=int, default=2, help="seeding processes (shards)")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure the largest size this many times, on a fresh node each",
    )
    p.add_argument("--redis-url", default=None, help="default: an embedded redis-server")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", type=Path, default=None,
                   help="leave the seeded matches in Redis (needs --redis-url) and write where "
                   "they are to this file, for --reuse")  # fmt: skip
    p.add_argument("--reuse", type=Path, default=None,
                   help="measure the matches a run with --keep left (its file), seeding only "
                   "what the sizes ask beyond them")  # fmt: skip
    p.add_argument("--json", type=Path, default=None)
    return p.parse_args(argv)


async def match_bytes(store: Store, match_ids: list[str]) -> float:
    """Mean MEMORY USAGE of every key of these matches (record, stream, archive, votes)."""
    total = 0
    for match_id in match_ids:
        pattern = f"{store.keys.match(match_id)}*"  # a full SCAN: 10,000 keys per round trip
        keys = [str(k) async for k in store.redis.scan_iter(match=pattern, count=10_000)]
        for key in keys:
            total += int(await store.redis.memory_usage(key, samples=0) or 0)
    return total / max(1, len(match_ids))


async def compact_all(store: Store) -> bool:
    """Compact every finished match now, as a worker's janitor does once each is due."""
    while due := await store.compaction.take(1000, ahead=10**9):
        for match_id in due:
            await store.compaction.compact(match_id)
    return True


class Node:
    """`arena serve --no-worker` on a free port against the benchmark's Redis and prefix."""

    def __init__(self, redis_url: str, prefix: str, folder: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
        env.update(REDIS_URL=redis_url, ARENA_KEY_PREFIX=prefix, ARENA_DATA_DIR=str(folder),
                   ARENA_VOTES_SECRET="bench", PYTHONPATH=str(HERE.parent))  # fmt: skip
        self.log = (folder / f"serve-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "arena.cli", "serve", "--no-worker", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=folder,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        self.started = time.monotonic()

    def wait(self, timeout: float = 300) -> float:
        """Seconds from the start of the process until /healthz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"arena serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # nothing to await: the server says nothing when it is ready
        raise RuntimeError("arena serve did not answer /healthz in time")

    def rss_mb(self) -> float:
        # /proc (Linux): no dependency beyond the arena's own for this one number
        resident = int(Path(f"/proc/{self.proc.pid}/statm").read_text().split()[1])
        return resident * os.sysconf("SC_PAGE_SIZE") / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def endpoints(match_ids: list[str], tournament: str, rng: random.Random) -> dict[str, str]:
    some = rng.choice(match_ids)
    return {
        "leaderboard": "/api/leaderboard",
        "leaderboard by model": "/api/leaderboard?by=persona_model",
        "leaderboard all versions": "/api/leaderboard?versions=all",
        "pressure board": "/api/leaderboard/pressure",
        "tournament board": f"/api/leaderboard?tournament={tournament}",
        "persona page": "/api/personas/stoic",
        "judges": "/api/judges",
        "matches list": "/api/matches?limit=20",
        "match detail": f"/api/matches/{some}",
        "tournament page": f"/api/tournaments/{tournament}",
        "votes export": "/api/votes/export",
    }


async def seed_to(
    size: int, store: Store, seeder: Seeder, url: str, folder: Path, args: argparse.Namespace
) -> list[str]:
    """Seed up to `size` matches in `--processes` shards; the ids of the last ones played."""
    need = size - seeder.seeded
    if need <= 0:
        return []
    first = seeder.seeded == 0  # the tournament's slots are the first matches played
    counts = shares(need, args.processes, len(seeder.slots) if first else 0)
    shards = [
        Shard(index=i, redis_url=url, prefix=store.keys.prefix, data_dir=str(folder),
              seed=args.seed * 1_000_003 + size * 101 + i, count=n,
              concurrency=args.concurrency,
              tournament=seeder.tournament if first and i == 0 else None)
        for i, n in enumerate(counts)
    ]  # fmt: skip
    started = time.monotonic()
    recent = await seed_shards(shards)
    seeder.seeded += need
    print(f"  seeded {seeder.seeded:,}/{size:,} in {time.monotonic() - started:.0f} s "
          f"({need / max(1e-9, time.monotonic() - started):.1f} matches/s, "
          f"{len(shards)} processes)", file=sys.stderr)  # fmt: skip
    return recent


async def measure(
    size: int,
    run: int,
    store: Store,
    seeder: Seeder,
    sample: list[str],
    fresh: bool,
    url: str,
    folder: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Bytes per match of `sample` (before compaction too when it is `fresh`: not compacted
    yet), then a fresh node's cold requests, RSS, pauses and GET latencies under load."""
    before = await match_bytes(store, sample) if fresh else None
    compacted = await compact_all(store)
    after = await match_bytes(store, sample) if compacted else None
    node = Node(url, store.keys.prefix, folder)
    try:
        ready = node.wait()
        at_start = scrape(httpx.get(node.base + "/metrics", timeout=10).text)
        rng = random.Random(args.seed)
        assert seeder.tournament is not None
        paths = endpoints(sample, seeder.tournament, rng)
        cold = {}
        async with httpx.AsyncClient(base_url=node.base, timeout=60) as client:
            for name, path in paths.items():
                seconds, status = await timed_get(client, path)
                cold[name] = {"ms": round(seconds * 1000, 1), "status": status}
        rss_start = node.rss_mb()

        async def finish_one() -> None:
            await seeder.one()

        load, finished = await asyncio.gather(
            readers(node.base, paths, args.readers, args.duration, args.seed),
            paced(args.rate, args.duration, finish_one),
        )
        metrics = scrape(httpx.get(node.base + "/metrics", timeout=10).text)
        rss_end = node.rss_mb()
    finally:
        node.stop()
    return {
        "matches": size,
        "run": run,
        "redis_bytes_per_match_before": None if before is None else round(before),
        "redis_bytes_per_match_after": None if after is None else round(after),
        "api_ready_s": round(ready, 1),
        "api_rss_mb_start": round(rss_start, 1),
        "api_rss_mb_end": round(rss_end, 1),
        "finished_during_load": finished,
        "loop_lag_p99_ms": round(metrics.get("arena_event_loop_lag_seconds.p99", 0) * 1000, 1),
        "loop_lag_max_ms": round(metrics.get("arena_event_loop_lag_seconds.max", 0) * 1000, 1),
        "gc_full_pause_max_ms": round(metrics.get("arena_gc_full_pause_seconds.max", 0) * 1000, 1),
        "gc_full_pause_max_ms_at_start": round(
            at_start.get("arena_gc_full_pause_seconds.max", 0) * 1000, 1
        ),
        "cold": cold,
        "gets": load.summary(),
        "errors": load.errors,
    }


def table(results: list[dict[str, Any]]) -> str:
    heads = [f"{r['matches']:,} matches" + (f" (run {r['run']})" if r.get("run", 1) > 1 else "")
             for r in results]  # fmt: skip
    lines = ["| figure | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(results)]  # fmt: skip

    def row(label: str, values: list[Any]) -> None:
        lines.append(f"| {label} | " + " | ".join(str(v) for v in values) + " |")

    row("Redis bytes/match before compaction", [r["redis_bytes_per_match_before"] for r in results])
    row("Redis bytes/match after compaction", [r["redis_bytes_per_match_after"] for r in results])
    row("API ready (healthz) s", [r.get("api_ready_s") for r in results])
    row("API RSS MB (after load)", [r["api_rss_mb_end"] for r in results])
    base = results[0]["api_rss_mb_end"]
    row("API RSS vs the smallest size", [f"{r['api_rss_mb_end'] / base:.2f}x" for r in results])
    row("full-GC pause max ms", [r["gc_full_pause_max_ms"] for r in results])
    row("loop lag p99 / max ms", [f"{r['loop_lag_p99_ms']} / {r['loop_lag_max_ms']}"
                                  for r in results])  # fmt: skip
    for name in results[0]["gets"]:
        row(f"GET {name} p50/p99/max ms",
            [f"{r['gets'][name]['p50_ms']} / {r['gets'][name]['p99_ms']} / "
             f"{r['gets'][name]['max_ms']}" for r in results])  # fmt: skip
    for name in results[0]["cold"]:
        row(f"cold {name} ms", [r["cold"][name]["ms"] for r in results])
    return "\n".join(lines)


def keep(path: Path, url: str, prefix: str, seeder: Seeder, sample: list[str]) -> None:
    """Where the seeded matches are, for a later `--reuse`."""
    state = {"redis_url": url, "prefix": prefix, "seeded": seeder.seeded,
             "tournament": seeder.tournament, "sample": sample}  # fmt: skip
    path.write_text(json.dumps(state, indent=2))


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = [int(s) for s in args.matches.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="arena-longrun-"))
    server = None
    kept: dict[str, Any] = json.loads(args.reuse.read_text()) if args.reuse else {}
    url = kept.get("redis_url", args.redis_url)
    if (args.keep or args.reuse) and url is None:
        raise SystemExit("bench_longrun: --keep and --reuse need a --redis-url that outlives it")
    if url is None:
        server = EmbeddedServer(folder / "redis")
        url = await asyncio.to_thread(server.acquire)
    prefix = kept.get("prefix", f"bench-{uuid.uuid4().hex[:8]}")
    settings = Settings(_env_file=None, redis_url=url, key_prefix=prefix, queue_max=10**9,
                        data_dir=folder)  # fmt: skip
    store = await Store.connect(settings)
    results = []
    try:
        votes = CrowdVotes(store.redis, store.keys, "bench")
        seeder = Seeder(store, votes, random.Random(args.seed + len(kept)))
        if kept:
            seeder.join_tournament(kept["tournament"])
            seeder.seeded = kept["seeded"]
        else:
            await seeder.start_tournament()
        runs = [(size, 1) for size in sizes]
        runs += [(sizes[-1], k) for k in range(2, args.repeat + 1)]
        sample: list[str] = kept.get("sample", [])
        for size, run in runs:
            print(f"size {size:,}, run {run}:", file=sys.stderr)
            recent = await seed_to(size, store, seeder, url, folder, args)
            sample = recent[-200:] or sample
            if args.keep is not None:  # the seeding is the long part: kept before measuring
                keep(args.keep, url, prefix, seeder, sample)
            results.append(await measure(size, run, store, seeder, sample, bool(recent), url,
                                         folder, args))  # fmt: skip
            # each size's figures as soon as they are measured: a long run stopped later keeps them
            print(table(results), file=sys.stderr)
            if args.json is not None:
                args.json.write_text(json.dumps(results, indent=2))
        if args.keep is not None:
            keep(args.keep, url, prefix, seeder, sample)
    finally:
        if args.keep is None:
            async for key in store.redis.scan_iter(match=f"{prefix}*", count=10_000):
                await store.redis.delete(key)
            async for key in store.redis.scan_iter(match=f"{{{prefix}}}*", count=10_000):
                await store.redis.delete(key)
        await store.close()
        if server is not None:
            await asyncio.to_thread(server.release)
    return results


if __name__ == "__main__":
    arguments = parse_args()
    found = asyncio.run(main(arguments))
    print(table(found))
