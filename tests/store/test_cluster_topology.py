"""The arena on a Redis Cluster, end to end: `arena serve` (API and worker in one process) with
ARENA_REDIS_CLUSTER=true, a match started over HTTP, a spectator watching it over the WebSocket
from the first event to match_completed, the leaderboard showing it, and the match's keys and
the global keys each in one hash slot on the cluster's masters.

Runs only against a cluster (.ci/run's third pass: scripts/redis_cluster.sh); skipped elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from redis.cluster import RedisCluster, key_slot

from arena.store.keys import Keys
from tests.fake_llm import FakeLLM
from tests.processes import (
    arena_env,
    cleanup_keys,
    logs_on_failure,
    on_cluster,
    serve,
    sync_client,
    wait_healthy,
)
from tests.store.test_cluster import check_transcript, watch

pytestmark = pytest.mark.slow

MODEL = "openai-compatible:fake"


@pytest.fixture(autouse=True)
def _needs_a_cluster() -> None:
    # the first two CI passes have no cluster; the third sets ARENA_REDIS_CLUSTER=true, and
    # tests/conftest.py fails a session that sets it without REDIS_URL
    if not on_cluster():
        pytest.skip("needs a Redis Cluster: ARENA_REDIS_CLUSTER=true REDIS_URL=<a node>")


def test_a_match_on_the_cluster_is_served_watched_and_ranked(tmp_path: Path) -> None:
    url = os.environ["REDIS_URL"]
    cluster = sync_client(url, decode_responses=True)
    assert isinstance(cluster, RedisCluster)
    try:
        masters = cluster.get_primaries()
        assert len(masters) == 3
        assert all(cluster.cluster_info(target_nodes=m)["cluster_state"] == "ok" for m in masters)
        with FakeLLM(words=16, token_delay=0.01) as llm:
            env = arena_env(tmp_path / "data", ARENA_COMPATIBLE_BASE_URL=llm.url,
                            ARENA_TOKEN_COALESCE_MS="20")  # fmt: skip
            node, address = serve(env, tmp_path / "serve.log")
            try:
                with node, logs_on_failure(node):
                    wait_healthy(address, node)
                    logged = " ".join(node.output().split())  # the console wraps lines
                    assert f"Redis Cluster at {url} (3 masters)" in logged
                    debater = {"model": MODEL}
                    body = {"motion": "four-day-week", "pro": {"persona": "pirate", **debater},
                            "con": {"persona": "assistant", **debater}, "rounds": 1,
                            "judges": [MODEL]}  # fmt: skip
                    created = httpx.post(f"http://{address}/api/matches", json=body, timeout=10)
                    assert created.status_code == 201, created.text
                    match_id = created.json()["id"]
                    events = list(watch(address, match_id, timeout=120))
                    assert events[0]["type"] == "match_started"
                    assert events[-1]["type"] == "match_completed", events[-1]
                    print(f"{len(events)} events watched over the WebSocket on the cluster")
                    detail = httpx.get(f"http://{address}/api/matches/{match_id}", timeout=10)
                    check_transcript(events, detail.json())
                    board = httpx.get(f"http://{address}/api/leaderboard", timeout=10).json()
                    assert {"pirate", "assistant"} <= {r["persona"] for r in board["rows"]}
                    keys = Keys(env["ARENA_KEY_PREFIX"])
                    match_keys = [keys.match(match_id), keys.events(match_id)]
                    global_keys = [keys.matches, keys.queue, keys.counters, keys.lb_samples]
                    for group in (match_keys, global_keys):
                        assert all(cluster.exists(k) for k in group), group
                        assert len({key_slot(k.encode()) for k in group}) == 1
                    health = httpx.get(f"http://{address}/healthz", timeout=10)
                    assert health.json() == {"status": "ok", "redis": True}
            finally:
                cleanup_keys(env)
    finally:
        cluster.close()
