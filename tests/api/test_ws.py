"""The spectator WebSocket, with a real client against uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from arena.domain.records import MatchRecord
from tests.api.conftest import Live, MakeLive
from tests.api.helpers import emit, failed, opening, spec, tokens

pytestmark = pytest.mark.slow


@asynccontextmanager
async def spectator(live: Live, path: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(live.ws + path, proxy=None, **options) as ws:
        yield ws


async def drain(ws: ClientConnection) -> tuple[list[dict[str, Any]], int, str]:
    """Every message until the server closes: (events, close code, close reason)."""
    events = []
    try:
        while True:
            events.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return events, closed.rcvd.code, closed.rcvd.reason


async def new_match(live: Live) -> MatchRecord:
    return await live.store.create_match(spec())


async def test_a_late_joiner_gets_the_replay_then_live_events(live: Live) -> None:
    record = await new_match(live)
    stored = await emit(live.store, record.id, [*opening(record), *tokens(record, "abc")])
    async with spectator(live, f"/ws/matches/{record.id}") as ws:
        replay = [json.loads(await ws.recv()) for _ in stored]
        assert [e["id"] for e in replay] == stored
        assert [e["type"] for e in replay] == ["match_started", "turn_started", *["token"] * 3]
        assert replay[0]["spec"]["pro"]["persona"] == "pirate"

        later = await emit(live.store, record.id, [*tokens(record, "de"), failed(record)])
        events, code, _ = await drain(ws)
    assert [e["id"] for e in events] == later
    assert events[-1]["type"] == "match_failed"
    assert code == 1000


async def test_resume_with_after_has_no_gap_and_no_duplicate(live: Live) -> None:
    """A producer writes while spectators connect at every point of the stream: each gets
    exactly the stored events after its `after`, across the replay/live boundary."""
    record = await new_match(live)
    first = await emit(live.store, record.id, opening(record))
    texts = [f"t{i} " for i in range(150)]

    async def produce() -> None:
        for text in texts:
            await emit(live.store, record.id, tokens(record, [text]))
            await asyncio.sleep(0)  # let spectators connect mid-stream
        await emit(live.store, record.id, [failed(record)])

    async def join(after: str) -> list[str]:
        async with spectator(live, f"/ws/matches/{record.id}?after={after}") as ws:
            events, code, _ = await drain(ws)
        assert code == 1000
        return [e["id"] for e in events]

    producer = asyncio.create_task(produce())
    joins = []
    while not producer.done():
        seen = await live.store.events.last_id(record.id)
        joins.append((seen, asyncio.create_task(join(seen))))
        await asyncio.sleep(0.005)
    await producer
    everything = [e.id for e in await live.store.read_events(record.id)]
    assert len(everything) == len(first) + len(texts) + 1
    assert len(joins) > 3
    for after, task in joins:
        assert await task == everything[everything.index(after) + 1 :]


async def test_a_finished_match_replays_and_closes_with_1000(live: Live) -> None:
    record = await new_match(live)
    stored = await emit(live.store, record.id, [*opening(record), failed(record)])
    async with spectator(live, f"/ws/matches/{record.id}") as ws:
        events, code, _ = await drain(ws)
    assert ([e["id"] for e in events], code) == (stored, 1000)

    async with spectator(live, f"/ws/matches/{record.id}?after={stored[0]}") as ws:
        events, code, _ = await drain(ws)
    assert ([e["id"] for e in events], code) == (stored[1:], 1000)


async def test_a_match_cancelled_while_queued_ends_the_stream(live: Live) -> None:
    record = await new_match(live)
    async with spectator(live, f"/ws/matches/{record.id}") as ws:
        await live.store.request_cancel(record.id)
        events, code, _ = await drain(ws)
    assert [e["type"] for e in events] == ["match_cancelled"]
    assert code == 1000


async def test_unknown_match_closes_with_4404(live: Live) -> None:
    async with spectator(live, "/ws/matches/nope") as ws:
        events, code, reason = await drain(ws)
    assert (events, code) == ([], 4404)
    assert "nope" in reason


async def test_a_malformed_after_closes_with_4400(live: Live) -> None:
    record = await new_match(live)
    async with spectator(live, f"/ws/matches/{record.id}?after=yesterday") as ws:
        _, code, _ = await drain(ws)
    assert code == 4400


async def _slow_socket(live: Live) -> socket.socket:
    """A client socket with a small receive buffer, so that a client that stops reading
    pushes back on the server within a few hundred kilobytes."""
    url = urlsplit(live.http)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (url.hostname, url.port))
    return sock


async def test_a_slow_spectator_is_cut_off_with_4000_without_slowing_others(
    make_live: MakeLive,
) -> None:
    """One spectator stops reading until the match is over; it gets an unbroken prefix of the
    events and a 4000 close, then resumes; the other spectator gets everything meanwhile."""
    live = await make_live(spectator_buffer=16)
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    slow_options: dict[str, Any] = {"max_queue": 1, "compression": None}
    async with (
        spectator(live, path, sock=await _slow_socket(live), **slow_options) as slow,
        spectator(live, path) as fast,
    ):
        for ws in (slow, fast):  # both are subscribed once the replay has arrived
            assert [json.loads(await ws.recv())["id"] for _ in start] == start
        watching = asyncio.create_task(drain(fast))
        # 300 x 32 KiB of incompressible text: far more than the socket buffers hold
        chunks = [os.urandom(16 * 1024).hex() for _ in range(300)]
        live_ids = await emit(live.store, record.id, [*tokens(record, chunks), failed(record)])

        events, code, _ = await watching
        assert ([e["id"] for e in events], code) == (live_ids, 1000)
        events, code, reason = await drain(slow)
    assert code == 4000
    got = [e["id"] for e in events]
    assert got == live_ids[: len(got)] and len(got) < len(live_ids)
    assert reason == f"behind; resume with ?after={got[-1]}"

    async with spectator(live, f"{path}?after={got[-1]}") as again:
        rest, code, _ = await drain(again)
    assert [e["id"] for e in rest] == live_ids[len(got) :]
    assert code == 1000


async def test_spectators_and_event_lag_are_in_the_metrics(live: Live) -> None:
    record = await new_match(live)
    await emit(live.store, record.id, opening(record))
    async with httpx.AsyncClient(base_url=live.http) as http:
        async with spectator(live, f"/ws/matches/{record.id}") as ws:
            await ws.recv()
            await ws.recv()
            metrics = (await http.get("/metrics")).text
            assert "arena_spectators_connected 1.0" in metrics
            assert "arena_event_lag_seconds_count 0.0" in metrics  # a replay is not lag
            await emit(live.store, record.id, [*tokens(record, "xy"), failed(record)])
            events, _, _ = await drain(ws)
            assert len(events) == 3
        metrics = (await http.get("/metrics")).text
    assert "arena_spectators_connected 0.0" in metrics
    assert "arena_event_lag_seconds_count 3.0" in metrics
