"""Fault runs as tests: `arena worker` processes against one Redis and a fake OpenAI-compatible
server on loopback, with workers killed by SIGKILL, Redis restarted, and 20% of provider requests
failing. Every match must complete with 0 lost, 0 duplicated and 0 garbled turns."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from arena.config import Settings
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.store import Store
from arena.store.keys import Keys
from arena.store.server import redis_server_binary
from tests.conftest import RedisTarget
from tests.exactly_once import TERMINAL, check_exactly_once
from tests.fake_llm import FAULTS, OPENING, FakeLLM
from tests.polling import wait_until
from tests.processes import ArenaProcess, arena_env, sync_client, xread_any

pytestmark = pytest.mark.slow

MODEL = "openai-compatible:fake"
TURNS = 6
HEARTBEAT = 0.2
RECLAIM_IDLE = 1.0
# reading the events, building the lineup, the first token; and a machine busy with other jobs
# (tests/worker/test_worker.py holds the in-process worker to the bound itself)
SLACK = 6.0
TIMEOUT = 120.0

Seen = tuple[str, str, dict[str, Any]]  # match id, event id, event


def worker_env(data_dir: Path, url: str, prefix: str, llm: FakeLLM, **extra: str) -> dict[str, str]:
    return arena_env(
        data_dir,
        REDIS_URL=url,
        ARENA_KEY_PREFIX=prefix,
        ARENA_COMPATIBLE_BASE_URL=llm.url,
        ARENA_HEARTBEAT_SECONDS=str(HEARTBEAT),
        ARENA_RECLAIM_IDLE_SECONDS=str(RECLAIM_IDLE),
        ARENA_MAX_ATTEMPTS="6",
        ARENA_RETRY_MAX_DELAY="0.2",
        ARENA_TOKEN_COALESCE_MS="20",
        ARENA_REQUEST_TIMEOUT="10",
        **extra,
    )


def create_matches(url: str, prefix: str, count: int) -> list[str]:
    settings = Settings(_env_file=None, redis_url=url, key_prefix=prefix, queue_max=count)
    spec = MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona="pirate", model=MODEL),
        con=DebaterSpec(persona="kantian", model=MODEL),
        rounds=1,
        judges=[MODEL],
    )

    async def create() -> list[str]:
        store = await Store.connect(settings)
        try:
            return [(await store.create_match(spec)).id for _ in range(count)]
        finally:
            await store.close()

    return asyncio.run(create())


class Watch:
    """Reads the matches' event streams and records with a plain client, riding out restarts."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = sync_client(url, decode_responses=True, socket_timeout=10)
        self.keys = Keys(prefix)

    def close(self) -> None:
        self.client.close()

    def _retry(self, call: Any) -> Any:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                return call()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # Redis is restarting: nothing to wait on but its socket

    def events(self, match_id: str) -> list[dict[str, Any]]:
        reply = self._retry(lambda: self.client.xrange(self.keys.events(match_id)))
        return [{**json.loads(fields["e"]), "id": eid} for eid, fields in reply]

    def last_id(self, match_id: str) -> str:
        last = self._retry(lambda: self.client.xrevrange(self.keys.events(match_id), count=1))
        return str(last[0][0]) if last else "0-0"

    def record(self, match_id: str) -> dict[str, str]:
        return dict(self._retry(lambda: self.client.hgetall(self.keys.match(match_id))))

    def running_by(self, match_ids: list[str]) -> Counter[str]:
        """How many matches each worker runs, by the worker's name."""
        records = [self.record(m) for m in match_ids]
        return Counter(r.get("worker", "") for r in records if r.get("status") == "running")

    def next_events(self, after: dict[str, str], block_ms: int = 1000) -> list[Seen]:
        """New events of the matches in `after` (match id -> last id seen), advancing it."""
        streams = {self.keys.events(m): last for m, last in after.items()}
        reply = self._retry(lambda: xread_any(self.client, streams, block_ms))
        out = []
        for key, entries in reply or []:
            match_id = next(m for m in after if self.keys.events(m) == key)
            for eid, fields in entries:
                after[match_id] = eid
                out.append((match_id, eid, json.loads(fields["e"])))
        return out

    def first_event_after(self, match_id: str, after: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        cursor = {match_id: after}
        while time.monotonic() < deadline:
            for _, _, event in self.next_events(cursor, block_ms=100):
                return event
        raise AssertionError(f"match {match_id}: nothing new in {timeout:.0f}s")

    def until_over(self, match_ids: list[str], timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        cursor = {m: "0-0" for m in match_ids}
        open_ = set(match_ids)
        while open_:
            assert time.monotonic() < deadline, f"matches not over in {timeout:.0f}s: {open_}"
            for match_id, _, event in self.next_events({m: cursor[m] for m in open_}):
                cursor[match_id] = event.get("id") or cursor[match_id]
                if event["type"] in TERMINAL:
                    open_.discard(match_id)

    def check(self, match_ids: list[str]) -> list[dict[str, Any]]:
        """Every match completed, every turn exactly once and ungarbled; returns all events."""
        everything = []
        for match_id in match_ids:
            events = self.events(match_id)
            assert events[-1]["type"] == "match_completed", events[-1]
            assert self.record(match_id)["status"] == "completed"
            check_exactly_once(events, TURNS, opening=OPENING)
            everything += events
        return everything


@contextlib.contextmanager
def watching(url: str, prefix: str) -> Iterator[Watch]:
    watch = Watch(url, prefix)
    try:
        yield watch
    finally:
        watch.close()


@contextlib.contextmanager
def logs_of(folder: Path) -> Iterator[None]:
    """Attach the tails of the processes' logs in `folder` to a failing test's error."""
    try:
        yield
    except BaseException as exc:
        tails = "\n".join(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}"
                          for log in sorted(folder.glob("*.log")))
        raise AssertionError(f"{exc!r}\n{tails}") from exc


def assert_no_lost_tasks(*workers: ArenaProcess) -> None:
    for worker in workers:
        assert "never retrieved" not in worker.output()


def cut_turns(events: list[dict[str, Any]]) -> list[int]:
    """The turns a dead worker left half streamed: started (or restarted), with at least one
    token since, and never completed. Read from the stream once the worker is dead, when it is
    final for that worker: what a watcher happened to have read by then does not count, and the
    last event may be the previous turn's verdict while this turn is mid-stream."""
    streamed: dict[int, bool] = {}
    for event in events:
        kind = event["type"]
        if kind in ("turn_started", "turn_restarted"):
            streamed[event["turn"]] = False
        elif kind == "token" and event["turn"] in streamed:
            streamed[event["turn"]] = True
        elif kind == "turn_completed":
            streamed.pop(event["turn"], None)
    return [turn for turn, has_text in streamed.items() if has_text]


def owner_tag(worker: ArenaProcess) -> str:
    """How a worker's pid shows in the `worker` field of the match records it runs."""
    return f"-{worker.pid}-"


def test_workers_killed_mid_turn_are_replaced_without_loss_and_on_time(
    settings: Settings, redis_target: RedisTarget, tmp_path: Path
) -> None:
    url, prefix = redis_target.url, settings.key_prefix
    with FakeLLM(words=24, token_delay=0.03) as llm, watching(url, prefix) as watch:
        env = worker_env(tmp_path, url, prefix, llm, ARENA_WORKER_CONCURRENCY="1")
        match_ids = create_matches(url, prefix, 10)  # more than the slots: new jobs wait
        workers = [ArenaProcess(["worker"], env, tmp_path / f"w{i}.log") for i in (1, 2)]
        with contextlib.ExitStack() as stack, logs_of(tmp_path):
            for worker in workers:
                stack.enter_context(worker)  # started now, stopped and its log closed at the end
            waits: list[float] = []
            cuts: list[tuple[str, int, str]] = []  # (match, turn, last id) of each cut turn
            cursor = {m: "$" for m in match_ids}
            for kill in range(3):
                # a token streamed by a live worker: kill that worker
                victim, deadline = None, time.monotonic() + TIMEOUT
                while victim is None:
                    assert time.monotonic() < deadline, "no worker streamed a turn to kill it in"
                    for match_id, _, event in watch.next_events(cursor):
                        if event["type"] != "token":
                            continue
                        owner = watch.record(match_id).get("worker", "")
                        victim = next((w for w in workers if owner_tag(w) in owner), None)
                        # a worker runs one match over its concurrency to resume: kill one while
                        # none uses that extra slot (the victim runs this match only, and the
                        # survivor has room to resume it however busy)
                        running = watch.running_by(match_ids)
                        busy = [sum(n for name, n in running.items() if owner_tag(w) in name)
                                for w in workers]
                        if victim is not None and max(busy) <= 1:
                            break
                        victim = None
                victim.kill()
                killed_at = time.monotonic()
                workers.remove(victim)
                # the victim is dead: its matches' streams hold all it will ever write, and no
                # other worker takes them before reclaim_idle_seconds
                records = {m: watch.record(m) for m in match_ids}
                owned = [m for m, r in records.items()
                         if owner_tag(victim) in r.get("worker", "") and r["status"] == "running"]
                after = {}
                for match_id in owned:
                    events = watch.events(match_id)
                    after[match_id] = events[-1]["id"] if events else "0-0"
                    cuts += [(match_id, turn, after[match_id]) for turn in cut_turns(events)]
                if after:  # the survivor, its only slot busy, must resume it by itself
                    resumed, seen = {**after}, []
                    while not seen:
                        assert time.monotonic() - killed_at < TIMEOUT, f"{owned} not resumed"
                        seen = watch.next_events(resumed, block_ms=100)
                    waits.append(time.monotonic() - killed_at)
                fresh = ArenaProcess(["worker"], env, tmp_path / f"w{3 + kill}.log")
                workers.append(stack.enter_context(fresh))
                if kill < 2:  # up (running a match) before the next kill, or the next
                    # victim's match would wait for it to start
                    wait_until(lambda: any(owner_tag(fresh) in name  # noqa: B023
                                           for name in watch.running_by(match_ids)),
                               timeout=TIMEOUT, message=f"worker {3 + kill} ran no match")
                cursor = {m: watch.last_id(m) for m in match_ids}
            watch.until_over(match_ids)
            events = watch.check(match_ids)
            assert_no_lost_tasks(*workers)
            for match_id, turn, last_id in cuts:  # a cut turn starts over when it is resumed
                resumed_events = [e for e in watch.events(match_id)
                                  if stream_id(e["id"]) > stream_id(last_id)]
                first = next(e for e in resumed_events if e.get("turn") == turn)
                assert first["type"] == "turn_restarted", (match_id, turn, first)
    bound = RECLAIM_IDLE + HEARTBEAT + SLACK
    print(f"resumed {[round(w, 2) for w in waits]} s after each SIGKILL; cut: {cuts}")
    assert waits, "no kill landed in a running match"
    assert max(waits) <= bound, f"resumed after {waits} s (bound {bound} s)"
    assert cuts, "no kill landed mid-turn"
    # and only a cut turn does
    assert sum(e["type"] == "turn_restarted" for e in events) == len(cuts)


def stream_id(event_id: str) -> tuple[int, int]:
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


class RedisServer:
    """A redis-server with AOF on a unix socket in a short temp dir, restartable in place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--dir", str(self.folder), "--appendonly", "yes",
             "--save", ""],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.02)  # nothing to wait on until its socket exists
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SHUTDOWN: the AOF is flushed
            self.proc.wait(timeout=10)


def test_a_redis_restart_mid_match_loses_nothing_and_stalls_briefly(
    settings: Settings, tmp_path: Path
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="arena-", dir="/tmp"))  # a unix socket path is short
    server = RedisServer(folder)
    server.start()
    prefix = settings.key_prefix
    try:
        with FakeLLM(words=16, token_delay=0.03) as llm, watching(server.url, prefix) as watch:
            env = worker_env(tmp_path, server.url, prefix, llm, ARENA_WORKER_CONCURRENCY="2")
            match_ids = create_matches(server.url, prefix, 2)
            worker = ArenaProcess(["worker"], env, tmp_path / "w.log")
            with worker, logs_of(tmp_path):
                stalls = []
                cursor = {m: "$" for m in match_ids}
                # a quick restart, which the clients' own retries ride out, then an outage
                # longer than those retries, which the worker's job retries must ride out
                for restart, down in enumerate((0.0, 4.0)):
                    seen, deadline = None, time.monotonic() + TIMEOUT
                    while seen is None:
                        assert time.monotonic() < deadline, "no turn streamed to restart Redis in"
                        for match_id, _, event in watch.next_events(cursor):
                            if event["type"] == "token" and event["turn"] > 2 * restart:
                                seen = match_id
                    server.stop()
                    time.sleep(down)  # the outage itself
                    server.start()
                    back_at = time.monotonic()
                    watch.first_event_after(seen, watch.last_id(seen), TIMEOUT)
                    stalls.append(time.monotonic() - back_at)
                    cursor = {m: watch.last_id(m) for m in match_ids}
                watch.until_over(match_ids)
                watch.check(match_ids)
                assert_no_lost_tasks(worker)
                assert "retrying" in worker.output()  # the outage did reach the worker
        print(f"next event {[round(s, 2) for s in stalls]} s after Redis was back")
        assert max(stalls) <= 5.0, f"the match stalled {stalls} s after Redis was back"
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_matches_complete_with_exact_turns_when_a_fifth_of_provider_requests_fail(
    settings: Settings, redis_target: RedisTarget, tmp_path: Path
) -> None:
    url, prefix = redis_target.url, settings.key_prefix
    with FakeLLM(words=16, token_delay=0.01, fault_every=5) as llm, watching(url, prefix) as watch:
        env = worker_env(tmp_path, url, prefix, llm, ARENA_WORKER_CONCURRENCY="3")
        match_ids = create_matches(url, prefix, 3)
        worker = ArenaProcess(["worker"], env, tmp_path / "w.log")
        with worker, logs_of(tmp_path):
            watch.until_over(match_ids)
            events = watch.check(match_ids)
            assert_no_lost_tasks(worker)
    assert all(llm.outcomes[fault] >= 2 for fault in FAULTS), llm.outcomes
    assert any(e["type"] == "turn_restarted" for e in events)  # a cut stream restarted a turn
