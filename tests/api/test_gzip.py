"""Responses of ARENA_GZIP_MIN_BYTES or more are gzipped for clients that accept it: smaller, and
decoding to the very bytes sent uncompressed; small ones are not; WebSocket frames never are;
the NDJSON export and the request body limits work as before."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.api.conftest import Api, MakeApi, MakeLive
from tests.api.helpers import emit, failed, opening, play, spec, tokens


async def raw(client: httpx.AsyncClient, path: str, encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, not decoded."""
    async with client.stream("GET", path, headers={"accept-encoding": encoding}) as r:
        return r, b"".join([chunk async for chunk in r.aiter_raw()])


@pytest.mark.parametrize("path", ["/api/personas", "/", "/static/app.js", "/static/style.css"])
async def test_json_html_js_and_css_are_smaller_and_decode_to_the_same_bytes(
    api: Api, path: str
) -> None:
    plain, body = await raw(api.client, path, "identity")
    zipped, packed = await raw(api.client, path, "gzip")
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"] == plain.headers["content-type"]
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert len(packed) < len(body) and gzip.decompress(packed) == body
    if path == "/api/personas":
        assert len(body) > 20_000 and len(packed) < len(body) / 2  # measured: 30 kB -> 11 kB


async def test_small_responses_are_not_compressed(api: Api) -> None:
    r, body = await raw(api.client, "/healthz", "gzip")
    assert len(body) < 1024 and "content-encoding" not in r.headers
    assert json.loads(body)


async def test_compression_can_be_turned_off(make_api: MakeApi) -> None:
    api = await make_api(gzip_min_bytes=0)
    r, body = await raw(api.client, "/api/personas", "gzip")
    assert "content-encoding" not in r.headers and len(body) > 20_000


async def test_the_ndjson_export_decodes_to_the_same_rows(make_api: MakeApi) -> None:
    api = await make_api(gzip_min_bytes=1, votes_min=1, votes_min_ips=1)
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)
    for turn in range(record.total_turns):
        vote = await api.client.post(
            f"/api/matches/{record.id}/turns/{turn}/votes", json={"label": "holds"}
        )
        assert vote.status_code == 200
    _, body = await raw(api.client, "/api/votes/export", "identity")
    zipped, packed = await raw(api.client, "/api/votes/export", "gzip")
    assert zipped.headers["content-type"].startswith("application/x-ndjson")
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed) == body
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert len(rows) == record.total_turns and all(r["label"] == "holds" for r in rows)


async def test_body_limits_answer_as_before_when_gzipped(make_api: MakeApi) -> None:
    api = await make_api(gzip_min_bytes=1, max_body_bytes=2000)
    headers = {"accept-encoding": "gzip", "content-type": "application/json"}
    declared = await api.client.post("/api/matches", content=b"x" * 3000, headers=headers)

    async def chunks() -> httpx.AsyncByteStream:  # type: ignore[misc]
        for _ in range(4):
            yield b"x" * 1000

    streamed = await api.client.post("/api/matches", content=chunks(), headers=headers)
    for r in (declared, streamed):
        assert r.status_code == 413
        assert r.headers["content-encoding"] == "gzip"  # decoded by httpx below
        assert "larger than 2,000 bytes" in r.json()["detail"]


@pytest.mark.slow
async def test_websocket_frames_are_never_compressed(make_live: MakeLive) -> None:
    live = await make_live(gzip_min_bytes=1)
    record = await live.store.create_match(spec())
    text = "word " * 400  # one event of 2 kB: over any size that is compressed
    stored = await emit(live.store, record.id, [*opening(record), *tokens(record, [text])])
    await emit(live.store, record.id, [failed(record)])
    headers = {"accept-encoding": "gzip"}
    async with connect(
        f"{live.ws}/ws/matches/{record.id}", proxy=None, additional_headers=headers
    ) as ws:
        assert ws.response is not None
        assert "content-encoding" not in ws.response.headers
        frames = [await ws.recv(decode=False) for _ in range(len(stored) + 1)]
    events = [json.loads(frame) for frame in frames]  # plain JSON text, not gzip
    assert [e["type"] for e in events][-2:] == ["token", "match_failed"]
    assert events[-2]["text"] == text
