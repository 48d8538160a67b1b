"""The spectator WebSocket at its limits: a full node, long close reasons, ids Redis rejects,
a client that stops reading, a Redis outage. Every one ends with its documented close code and
nothing reaches the server as a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import WebSocket
from redis.exceptions import ConnectionError as RedisConnectionError

from arena.store.server import redis_server_binary
from tests.api.conftest import Live, MakeLive
from tests.api.helpers import emit, failed, opening, tokens
from tests.api.test_ws import _slow_socket, drain, new_match, spectator
from tests.polling import eventually
from tests.processes import free_port

CLOSE_WAIT = 30  # seconds: a server that never closes fails the test instead of hanging it

pytestmark = pytest.mark.slow


async def closed(ws: Any) -> tuple[list[dict[str, Any]], int, str]:
    return await asyncio.wait_for(drain(ws), CLOSE_WAIT)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """Errors the ASGI server logs (an exception that escaped the app is one)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


async def metric(live: Live, name: str) -> float:
    async with httpx.AsyncClient(base_url=live.http) as http:
        text = (await http.get("/metrics")).text
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(values[0])


async def test_beyond_max_spectators_a_spectator_is_told_to_come_back_later(
    make_live: MakeLive, server_errors: list[logging.LogRecord]
) -> None:
    live = await make_live(max_spectators=2)
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    async with spectator(live, path) as a, spectator(live, path) as b:
        for ws in (a, b):
            assert [json.loads(await ws.recv())["id"] for _ in start] == start
        async with spectator(live, path) as c:
            events, code, reason = await closed(c)
        assert (events, code) == ([], 1013)
        assert "full" in reason and "try again later" in reason
        assert await metric(live, "arena_spectators_rejected_total") == 1.0
        assert await metric(live, "arena_spectators_connected") == 2.0
    # the server frees a place when it sees a spectator's close, a moment after the client's
    async def nobody_connected() -> bool:
        return await metric(live, "arena_spectators_connected") == 0.0

    await eventually(nobody_connected, timeout=10, message="the server kept the places taken")
    async with spectator(live, path) as again:  # room again once others left
        assert json.loads(await again.recv())["id"] == start[0]
    assert server_errors == []


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ws/matches/" + "é" * 150, 4404),
        ("/ws/matches/{id}?after=" + "ü" * 150, 4400),
        ("/ws/matches/{id}?after=1-" + "9" * 300, 4400),
    ],
)
async def test_a_long_or_non_ascii_close_reason_fits_a_close_frame(
    live: Live, server_errors: list[logging.LogRecord], path: str, code: int
) -> None:
    record = await new_match(live)
    async with spectator(live, path.format(id=record.id)) as ws:
        events, got, reason = await closed(ws)
    assert (events, got) == ([], code)
    assert 100 < len(reason.encode()) <= 123
    assert server_errors == []


@pytest.mark.parametrize("after", ["18446744073709551616-0", "0-18446744073709551616"])
async def test_an_after_that_redis_would_reject_closes_with_4400(live: Live, after: str) -> None:
    record = await new_match(live)
    await emit(live.store, record.id, [*opening(record), failed(record)])
    async with spectator(live, f"/ws/matches/{record.id}?after={after}") as ws:
        events, code, reason = await closed(ws)
    assert (events, code) == ([], 4400)
    assert after in reason


async def test_a_spectator_that_stops_reading_is_evicted_with_4000(
    make_live: MakeLive, server_errors: list[logging.LogRecord]
) -> None:
    """Its buffer is far from full, but its socket is: after the send timeout it is cut off,
    gets what was sent and a 4000 with the id to resume from, and resumes without a gap."""
    live = await make_live(spectator_send_timeout=0.5, spectator_buffer=100_000)
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    options: dict[str, Any] = {"max_queue": 1, "compression": None}
    async with spectator(live, path, sock=await _slow_socket(live), **options) as stuck:
        assert [json.loads(await stuck.recv())["id"] for _ in start] == start
        # 200 x 32 KiB of incompressible text: more than the loopback socket buffers hold
        chunks = [os.urandom(16 * 1024).hex() for _ in range(200)]
        live_ids = await emit(live.store, record.id, tokens(record, chunks))
        async def overflowed() -> bool:
            return await metric(live, "arena_spectators_overflowed_total") >= 1

        await eventually(overflowed, timeout=10, message="the stuck spectator was never evicted")
        assert await metric(live, "arena_spectators_connected") == 0.0
        # the client reads again only after the server gave up waiting for it (twice the send
        # timeout): the close frame was queued behind its unread data, not dropped
        await asyncio.sleep(1.0)
        events, code, reason = await closed(stuck)
    got = [e["id"] for e in events]
    assert code == 4000
    assert got == live_ids[: len(got)] and len(got) < len(live_ids)
    assert reason == f"behind; resume with ?after={got[-1]}"
    end = await emit(live.store, record.id, [failed(record)])
    async with spectator(live, f"{path}?after={got[-1]}") as again:
        rest, code, _ = await closed(again)
    assert ([e["id"] for e in rest], code) == ([*live_ids[len(got) :], *end], 1000)
    assert server_errors == []


class RedisProcess:
    """A redis-server of our own on a loopback port, to stop and start again."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        command = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.folder), "--appendonly", "yes", "--save", ""]
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=log)
        log.close()
        # nothing to await until redis-server listens: try to connect until it does
        _, writer = await eventually(
            lambda: asyncio.open_connection("127.0.0.1", self.port),
            timeout=10, interval=0.02, ignore=(OSError,), message="redis-server did not start",
        )
        writer.close()
        await writer.wait_closed()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis-server writes its AOF and exits
            await asyncio.to_thread(self.proc.wait, 10)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_a_redis_outage_closes_spectators_with_1011_and_they_resume_after_it(
    make_live: MakeLive, own_redis: RedisProcess, server_errors: list[logging.LogRecord]
) -> None:
    live = await make_live(redis_url=own_redis.url)
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    async with spectator(live, path) as watching:
        assert [json.loads(await watching.recv())["id"] for _ in start] == start
        await own_redis.stop()
        async with asyncio.timeout(20):
            _, code, reason = await closed(watching)
    assert code == 1011
    assert reason == f"store unavailable; resume with ?after={start[-1]}"
    async with spectator(live, path) as during, asyncio.timeout(20):
        assert (await closed(during))[1] == 1011
    assert await metric(live, "arena_spectators_errored_total") == 2.0

    await own_redis.start()  # the same data: the pooled connections must find it again
    async with spectator(live, f"{path}?after={start[-1]}") as resumed:
        more = await emit(live.store, record.id, [*tokens(record, "ab"), failed(record)])
        events, code, _ = await closed(resumed)
    assert ([e["id"] for e in events], code) == (more, 1000)
    assert server_errors == []


async def test_a_store_error_raised_in_a_websocket_route_closes_it_with_1011(
    live: Live, server_errors: list[logging.LogRecord]
) -> None:
    @live.app.websocket("/ws/test-store-down")
    async def store_down(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RedisConnectionError("Redis went away")

    async with spectator(live, "/ws/test-store-down") as ws:
        _, code, reason = await closed(ws)
    assert code == 1011 and "store unavailable" in reason
    assert server_errors == []


async def test_every_spectator_is_closed_as_soon_as_its_match_ends(live: Live) -> None:
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    async with spectator(live, path) as a, spectator(live, f"{path}?after={start[0]}") as b:
        assert json.loads(await a.recv())["id"] == start[0]
        for ws in (a, b):
            assert json.loads(await ws.recv())["id"] == start[1]
        end = await emit(live.store, record.id, [failed(record)])
        for ws in (a, b):  # well within any timeout of the server or the client
            events, code, _ = await asyncio.wait_for(drain(ws), 2)
            assert ([e["id"] for e in events], code) == (end, 1000)
