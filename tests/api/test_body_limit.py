"""Request bodies over ARENA_MAX_BODY_BYTES (a persona import: its own, larger limit) are a 413
naming the limit, decided before the body is read or as soon as a streamed one passes it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.api.conftest import Api, MakeApi, MakeLive
from tests.personas.test_cards import V2

MIB = 2**20
PLAN = "/api/tournaments/plan"


def plan_body(personas: int) -> bytes:
    """A tournament plan naming `personas` personas: 40,000 make about 1.1 MB."""
    names = [f"debater-persona-no-{i:05d}" for i in range(personas)]
    return json.dumps({"personas": names, "motions": ["four-day-week"]}).encode()


async def chunks(data: bytes, size: int, sent: list[int] | None = None) -> AsyncIterator[bytes]:
    """`data` as a chunked body (no Content-Length); `sent` counts the chunks pulled."""
    for start in range(0, len(data), size):
        if sent is not None:
            sent.append(start)
        yield data[start : start + size]


def detail(r: httpx.Response) -> str:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/json"
    text: str = r.json()["detail"]
    return text


JSON = {"content-type": "application/json"}


async def test_a_body_over_the_limit_is_a_413_naming_it_whether_declared_or_streamed(
    api: Api,
) -> None:
    body = plan_body(40_000)
    assert 1.05 * MIB < len(body) < 1.2 * MIB
    started = time.perf_counter()
    declared = await api.client.post(PLAN, content=body, headers=JSON)
    assert time.perf_counter() - started < 0.5
    says = "the request body is larger than 1,048,576 bytes, the limit set by ARENA_MAX_BODY_BYTES"
    assert detail(declared) == says

    sent: list[int] = []
    streamed = await api.client.post(PLAN, content=chunks(body, 64 * 1024, sent), headers=JSON)
    assert detail(streamed) == says
    assert len(sent) == 17  # 16 chunks make the limit: the 17th passes it, the rest stay unread


async def test_201_personas_under_the_byte_limit_are_a_422_naming_personas(api: Api) -> None:
    body = plan_body(201)
    assert len(body) < MIB
    r = await api.client.post(PLAN, content=body, headers=JSON)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "personas"] and "at most 200 items" in error["msg"]


async def test_the_limit_holds_for_every_route_and_bodies_within_it_pass(
    make_api: MakeApi,
) -> None:
    api = await make_api(max_body_bytes=2000)
    padding = {"motion": "x" * 3000, "pro": {"persona": "pirate"}, "con": {"persona": "kantian"}}
    requests: list[tuple[str, str, Any]] = [
        ("POST", "/api/matches", padding),
        ("POST", "/api/personas", {"name": "x" * 3000}),
        ("PUT", "/api/personas/pirate", {"name": "x" * 3000}),
        ("POST", "/api/matches/nope/cancel", {"x": "x" * 3000}),
        ("POST", "/api/tournaments", {"personas": ["x" * 3000]}),
    ]
    for method, path, body in requests:
        r = await api.client.request(method, path, json=body)
        assert "2,000 bytes" in detail(r), path
    assert await api.store.list_matches() == ([], None)
    small = {"motion": "ai-art", "pro": {"persona": "pirate"}, "con": {"persona": "kantian"}}
    assert (await api.client.post("/api/matches", json=small)).status_code == 201


def multipart(files: list[tuple[str, bytes]], boundary: str = "arena-test") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


async def test_an_import_has_its_own_larger_limit_checked_while_the_upload_streams(
    make_api: MakeApi,
) -> None:
    api = await make_api(max_body_bytes=2000, persona_file_max_bytes=4096)  # import: 16,384
    notes = "kept for export, never prompted " * 100
    card = json.dumps({**V2, "data": {**V2["data"], "creator_notes": notes}}).encode()
    assert 2000 < len(card) < 4096
    fits = await api.client.post("/api/personas/import", files=[("file", ("m.json", card))])
    assert fits.status_code == 201, fits.text  # over the body limit, within the import's

    five = [(f"{i}.json", card) for i in range(5)]  # each file within its cap, not the five
    r = await api.client.post("/api/personas/import", files=[("file", f) for f in five])
    says = "larger than 16,384 bytes, the limit of an import, 4 x ARENA_PERSONA_FILE_MAX_BYTES"
    assert says in detail(r)

    sent: list[int] = []
    # files each within their cap, sent without a length: refused once the request passes its own
    body = multipart([(f"{i}.png", b"\x89PNG" + b"\0" * 4000) for i in range(25)])
    headers = {"content-type": "multipart/form-data; boundary=arena-test"}
    streamed = await api.client.post(
        "/api/personas/import", content=chunks(body, 1024, sent), headers=headers
    )
    assert says in detail(streamed)
    assert len(sent) == 17  # refused at 16 KiB and a chunk: never spooled whole
    names = [p["id"] for p in (await api.client.get("/api/personas")).json()]
    assert names.count("marcus-the-stoic") == 1  # only the import that fitted


async def test_a_served_node_refuses_a_40000_name_plan_at_once_and_stays_healthy(
    make_live: MakeLive,
) -> None:
    live = await make_live()
    body = plan_body(40_000)
    healthy = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        async for chunk in chunks(body, 64 * 1024):
            yield chunk
            await healthy.wait()  # the rest only once /healthz answered meanwhile

    async def health() -> int:
        r = await client.get("/healthz")
        healthy.set()
        return r.status_code

    async with httpx.AsyncClient(base_url=live.http, timeout=10) as client:
        started = time.perf_counter()
        declared = await client.post(PLAN, content=body, headers=JSON)
        assert time.perf_counter() - started < 0.5
        assert "1,048,576 bytes" in detail(declared)

        started = time.perf_counter()
        streamed, status = await asyncio.gather(
            client.post(PLAN, content=slow_body(), headers=JSON), health()
        )
        assert time.perf_counter() - started < 1.0
        assert status == 200 and "1,048,576 bytes" in detail(streamed)
        assert (await client.get("/healthz")).status_code == 200
