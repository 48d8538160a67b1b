"""The arena as separate processes against one Redis: two API nodes, two workers, and a worker
killed with SIGKILL mid-match. Real processes and real Redis; the debaters and the judge are the
fast fake OpenAI-compatible model on loopback (tests/fake_llm.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.exactly_once import check_exactly_once
from tests.fake_llm import OPENING, FakeLLM
from tests.processes import (
    ArenaProcess,
    arena_env,
    cleanup_keys,
    logs_on_failure,
    serve,
    wait_healthy,
)

pytestmark = pytest.mark.slow

MODEL = "openai-compatible:fast"
MATCH = {"motion": "four-day-week", "pro": {"persona": "pirate"},
         "con": {"persona": "assistant"}, "rounds": 1}
TURNS = 6


class HoldingLLM(FakeLLM):
    """The fake model, holding the reply to turn 2 (the third debater request) halfway until
    `release` is set; `held` is set once it waits. A worker killed while it is held dies mid-turn
    however slow the machine: what a spectator has seen may lag the worker by seconds."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.held, self.release = threading.Event(), threading.Event()
        self._debater_requests = 0
        self._held_request: int | None = None

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        if not body.get("response_format"):
            with self._lock:
                self._debater_requests += 1
                if self._debater_requests == 3:
                    self._held_request = n
        return super().reply(n, body)

    def before_delta(self, n: int, body: dict[str, Any], index: int) -> None:
        if n == self._held_request and index == self.words // 2:
            self.held.set()
            self.release.wait(timeout=120)


@pytest.fixture
def llm() -> Iterator[HoldingLLM]:
    with HoldingLLM(words=24, token_delay=0.02) as llm:
        try:
            yield llm
        finally:
            llm.release.set()


@pytest.fixture
def env(tmp_path: Path, llm: HoldingLLM) -> Iterator[dict[str, str]]:
    env = arena_env(tmp_path / "data", ARENA_COMPATIBLE_BASE_URL=llm.url,
                    ARENA_DEFAULT_MODEL=MODEL, ARENA_DEFAULT_JUDGE=MODEL)
    yield env
    cleanup_keys(env)


def stream_id(event_id: str) -> tuple[int, int]:
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


def watch(address: str, match_id: str, after: str | None = None,
          timeout: float = 300.0) -> Iterator[dict[str, Any]]:
    """Every event of the match over the WebSocket, until the server closes it normally."""
    query = f"?after={after}" if after else ""
    with connect(f"ws://{address}/ws/matches/{match_id}{query}", open_timeout=10,
                 close_timeout=5) as ws:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1000, closed
                return
            yield json.loads(message)


def check_transcript(events: list[dict[str, Any]], detail: dict[str, Any]) -> None:
    """One continuous transcript: ids increase; each turn starts, ends and is judged once, and
    the tokens streamed after its last restart add up to its text and to what the API serves."""
    ids = [stream_id(e["id"]) for e in events]
    assert ids == sorted(set(ids)), "event ids repeat or go backwards"
    completed = check_exactly_once(events, TURNS, opening=OPENING)
    served = {t["turn"]: t["text"] for t in detail["turns"]}
    assert served == completed


def test_two_api_nodes_and_two_workers_share_one_redis(env: dict[str, str], llm: HoldingLLM,
                                                        tmp_path: Path) -> None:
    llm.release.set()  # nothing is held: the match plays straight through
    node_a, address_a = serve(env, tmp_path / "a.log", "--no-worker")
    node_b, address_b = serve(env, tmp_path / "b.log", "--no-worker")
    w1 = ArenaProcess(["worker"], env, tmp_path / "w1.log")
    w2 = ArenaProcess(["worker"], env, tmp_path / "w2.log")
    with node_a, node_b, w1, w2, logs_on_failure(node_a, node_b, w1, w2):
        wait_healthy(address_a, node_a)
        wait_healthy(address_b, node_b)
        created = httpx.post(f"http://{address_a}/api/matches", json=MATCH, timeout=10)
        assert created.status_code == 201, created.text
        match_id = created.json()["id"]
        # spectators on both nodes watch live a match created on node A
        with ThreadPoolExecutor(1) as pool:
            on_a = pool.submit(lambda: list(watch(address_a, match_id)))
            events_b = list(watch(address_b, match_id))
            events_a = on_a.result(timeout=60)
        assert events_b[-1]["type"] == "match_completed"
        assert [e["id"] for e in events_a] == [e["id"] for e in events_b]
        # a spectator that reconnects to the other node with its last id gets exactly the rest
        position = next(i for i, e in enumerate(events_b)
                        if e["type"] == "turn_completed" and e["turn"] == 1)
        resumed = list(watch(address_a, match_id, after=events_b[position]["id"]))
        assert [e["id"] for e in resumed] == [e["id"] for e in events_b[position + 1:]]
        detail = httpx.get(f"http://{address_a}/api/matches/{match_id}", timeout=10).json()
        assert detail["status"] == "completed"
        check_transcript(events_b, detail)
        board = httpx.get(f"http://{address_b}/api/leaderboard", timeout=10).json()
        assert {"pirate", "assistant"} <= {row["persona"] for row in board["rows"]}


def test_a_worker_killed_mid_match_is_replaced_without_loss(env: dict[str, str], llm: HoldingLLM,
                                                             tmp_path: Path) -> None:
    node, address = serve(env, tmp_path / "api.log", "--no-worker")
    workers = [ArenaProcess(["worker"], env, tmp_path / f"w{i}.log") for i in (1, 2)]
    with node, workers[0], workers[1], logs_on_failure(node, *workers):
        wait_healthy(address, node)
        match_id = httpx.post(f"http://{address}/api/matches", json=MATCH,
                              timeout=10).json()["id"]
        events: list[dict[str, Any]] = []
        victim: ArenaProcess | None = None
        for event in watch(address, match_id):
            events.append(event)
            if victim is None and event["type"] == "token" and event["turn"] == 2:
                assert llm.held.wait(60), "turn 2 was never held"
                record = httpx.get(f"http://{address}/api/matches/{match_id}", timeout=10).json()
                owner = record.get("worker") or ""
                victim = next(w for w in workers if f"-{w.pid}-" in owner)
                victim.kill()  # SIGKILL, in the middle of turn 2 (its reply is held)
                llm.release.set()
        assert victim is not None, "the match never reached turn 2"
        assert events[-1]["type"] == "match_completed", events[-1]
        detail = httpx.get(f"http://{address}/api/matches/{match_id}", timeout=10).json()
        assert detail["status"] == "completed"
        survivor = next(w for w in workers if w is not victim)
        assert f"-{survivor.pid}-" in (detail.get("worker") or "")
        check_transcript(events, detail)
        # the cut turn starts over (this model cannot continue a reply); no other turn does
        assert [e["turn"] for e in events if e["type"] == "turn_restarted"] == [2]
