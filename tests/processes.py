"""Arena processes for integration tests: `arena serve` and `arena worker` on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import httpx
import redis
from redis.cluster import RedisCluster

from arena.store.keys import Keys
from tests.polling import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_cluster() -> bool:
    """The tests run against a Redis Cluster: ARENA_REDIS_CLUSTER=true with REDIS_URL a node."""
    flag = os.environ.get("ARENA_REDIS_CLUSTER", "").lower() in ("1", "true", "yes", "on")
    return flag and bool(os.environ.get("REDIS_URL"))


def sync_client(url: str, **options: Any) -> redis.Redis:
    """A plain client for tests: a cluster client (typed as Redis) when on_cluster()."""
    if on_cluster() and not url.startswith("unix:"):
        return cast(redis.Redis, RedisCluster.from_url(url, **options))
    return redis.Redis.from_url(url, **options)


def xread_any(
    client: redis.Redis, streams: dict[str, str], block_ms: int
) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """XREAD of several streams. On a cluster one XREAD may name keys of one hash slot only
    (each match has its own), so each stream is read by itself: first all at once without
    blocking, then, if none had news, each in turn blocking for its share of `block_ms`."""
    if not isinstance(client, RedisCluster):
        return client.xread(streams, block=block_ms) or []  # type: ignore[return-value]
    for block in (None, max(10, block_ms // max(1, len(streams)))):
        out = []
        for key, last in streams.items():
            out += client.xread({key: last}, block=block) or []
            if out and block is not None:
                return out
        if out:
            return out
    return []


def arena_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for arena processes: the test's Redis (REDIS_URL, or an embedded server in
    `data_dir` shared by every process), its own key prefix, the embedded model, short turns."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_")}
    if on_cluster():
        env["ARENA_REDIS_CLUSTER"] = "true"
    env.update({
        "ARENA_DATA_DIR": str(data_dir),
        "ARENA_KEY_PREFIX": f"it-{uuid.uuid4().hex[:10]}",
        "ARENA_WORD_LIMIT": "20",
        "ARENA_WORKER_CONCURRENCY": "1",
        "ARENA_HEARTBEAT_SECONDS": "0.5",
        "ARENA_RECLAIM_IDLE_SECONDS": "3",
        "ARENA_LOCAL_THREADS": "1",
        # these tests read finished matches' streams straight from Redis, however long they run
        "ARENA_COMPACT_AFTER_SECONDS": "3600",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key of one arena key prefix; never flushes a shared server. On a cluster
    every master is scanned (SCAN covers one node) and the keys are deleted one slot at a time."""
    if on_cluster() and not url.startswith("unix:"):
        cluster = sync_client(url)
        try:
            masters = [(n.host, n.port) for n in cluster.get_primaries()]  # type: ignore[attr-defined]
        finally:
            cluster.close()
        for host, port in masters:  # each master deletes the keys it holds, one DEL per key
            _delete_matching(redis.Redis(host=host, port=port), prefix, per_key=True)
        return
    _delete_matching(redis.Redis.from_url(url), prefix, per_key=False)


def _delete_matching(client: redis.Redis, prefix: str, *, per_key: bool) -> None:
    try:
        for pattern in Keys(prefix).patterns():
            keys = list(client.scan_iter(match=pattern, count=500))
            for batch in [[k] for k in keys] if per_key else [keys] if keys else []:
                client.delete(*batch)
    finally:
        client.close()


def cleanup_keys(env: dict[str, str]) -> None:
    if env.get("REDIS_URL"):  # else the embedded server's data dir is a tmp folder
        delete_prefix(env["REDIS_URL"], env["ARENA_KEY_PREFIX"])


class ArenaProcess:
    """One `arena ...` subprocess, its output in a log file, stopped on exit."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log_path = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ArenaProcess:
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "arena.cli", *self.args],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> ArenaProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        self.log.close()


@contextlib.contextmanager
def logs_on_failure(*procs: ArenaProcess) -> Iterator[None]:
    """Attach the processes' output to a failing test's error."""
    try:
        yield
    except BaseException as exc:
        tails = "\n".join(f"--- {p.log_path.name} ---\n{p.output()[-3000:]}" for p in procs)
        raise AssertionError(f"{exc!r}\n{tails}") from exc


def serve(env: dict[str, str], log: Path, *extra: str) -> tuple[ArenaProcess, str]:
    port = free_port()
    proc = ArenaProcess(["serve", "--port", str(port), *extra], env, log)
    return proc, f"127.0.0.1:{port}"


def wait_healthy(address: str, proc: ArenaProcess, timeout: float = 180.0) -> None:
    def healthy() -> bool:
        assert proc.proc is not None
        if proc.proc.poll() is not None:
            raise AssertionError(f"arena serve exited:\n{proc.output()}")
        return httpx.get(f"http://{address}/healthz", timeout=2).status_code == 200

    wait_until(healthy, timeout=timeout, interval=0.2, ignore=(httpx.HTTPError,),
               message=lambda: f"arena serve on {address} not healthy:\n{proc.output()}")
