"""Health, metrics, auth, the OpenAPI docs and the page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from arena.api.routes.pages import FRONTEND
from arena.store import EmbeddedServer
from tests.api.conftest import Api, MakeApi
from tests.api.helpers import play, spec

NEW = {"motion": "ai-art", "pro": {"persona": "pirate"}, "con": {"persona": "kantian"}}


async def test_healthz_is_ok_while_redis_answers_and_503_when_it_is_down(
    make_api: MakeApi, tmp_path: Path
) -> None:
    server = EmbeddedServer(tmp_path / "own-redis")
    url = await asyncio.to_thread(server.acquire)
    api = await make_api(redis_url=url)
    r = await api.client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "redis": True})

    await asyncio.to_thread(server.release)  # the last user: shuts the server down
    r = await api.client.get("/healthz")
    assert (r.status_code, r.json()) == (503, {"status": "unavailable", "redis": False})
    r = await api.client.get("/api/matches")
    assert r.status_code == 503 and "Retry-After" in r.headers
    metrics = (await api.client.get("/metrics")).text
    assert "arena_store_up 0.0" in metrics


async def test_metrics_report_matches_turns_tokens_and_judge_failures(api: Api) -> None:
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)
    await api.store.create_match(spec())

    r = await api.client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    lines = set(r.text.splitlines())
    assert 'arena_matches{status="completed"} 1.0' in lines
    assert 'arena_matches{status="queued"} 1.0' in lines
    assert "arena_turns_total 6.0" in lines
    assert "arena_judge_failures_total 0.0" in lines
    assert "arena_spectators_connected 0.0" in lines
    assert "arena_event_lag_seconds_count 0.0" in lines
    tokens_out = next(x for x in lines if x.startswith('arena_tokens_total{direction="out"}'))
    assert float(tokens_out.split()[-1]) > 0


async def test_writes_need_the_token_when_one_is_set_and_reads_do_not(make_api: MakeApi) -> None:
    api = await make_api(api_token="s3cret")
    r = await api.client.post("/api/matches", json=NEW)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer s3cre"}
    assert (await api.client.post("/api/matches", json=NEW, headers=wrong)).status_code == 401

    right = {"Authorization": "Bearer s3cret"}
    r = await api.client.post("/api/matches", json=NEW, headers=right)
    assert r.status_code == 201
    match_id = r.json()["id"]
    cancel = f"/api/matches/{match_id}/cancel"
    assert (await api.client.post(cancel)).status_code == 401
    assert (await api.client.get(f"/api/matches/{match_id}")).status_code == 200
    assert (await api.client.get("/api/matches")).status_code == 200
    assert (await api.client.post(cancel, headers=right)).status_code == 202


async def test_without_a_token_writes_are_open(api: Api) -> None:
    assert (await api.client.post("/api/matches", json=NEW)).status_code == 201


async def test_openapi_has_a_tag_per_router(api: Api) -> None:
    assert (await api.client.get("/docs")).status_code == 200
    schema = (await api.client.get("/openapi.json")).json()
    tags = {tag for op in schema["paths"].values() for m in op.values() for tag in m["tags"]}
    assert tags == {"matches", "personas", "leaderboard", "tournaments", "votes", "health"}
    assert "/api/matches/{match_id}/cancel" in schema["paths"]


async def test_pages_serve_the_spectator_page_and_its_static_files(api: Api) -> None:
    index = (FRONTEND / "index.html").read_text()
    for path in ("/", "/matches/abc", "/leaderboard", "/personas/pirate"):
        r = await api.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert r.text == index
    script = await api.client.get("/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert (await api.client.get("/static/missing.js")).status_code == 404
