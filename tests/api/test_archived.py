"""A compacted match serves what it served before; an archived one answers 410 (WebSocket: 4410)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from websockets.asyncio.client import connect

from arena.archive.run import archive
from arena.store import Store
from arena.store.votes import CrowdVotes
from tests.api.conftest import MakeApi, MakeLive
from tests.api.test_ws import drain
from tests.store.realpath import play_real_path

QUICK = {"token_coalesce_ms": 0, "compact_after_seconds": 0}


async def reads(client: httpx.AsyncClient, match_id: str) -> list[str]:
    paths = [
        f"/api/matches/{match_id}",
        f"/api/matches/{match_id}/transcript",
        f"/api/matches/{match_id}/transcript?format=markdown",
        f"/api/matches/{match_id}/votes",
        "/api/matches?limit=5",
        "/api/matches?status=completed",
    ]
    out = []
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        out.append(response.text)
    return out


async def test_a_compacted_match_reads_the_same_over_http(make_api: MakeApi) -> None:
    api = await make_api(**QUICK)
    store = api.store
    match_id = await play_real_path(store)
    votes = CrowdVotes(store.redis, store.keys)
    await votes.cast(match_id, 1, "a", "holds", "ip-a", 5)
    before = await reads(api.client, match_id)
    assert await store.compaction.compact(match_id) == "compacted"
    store.packed.cache.forget(store.keys.packed(match_id))  # as another node would read it
    assert await reads(api.client, match_id) == before
    assert await reads(api.client, match_id) == before  # and from this node's cache


async def prune(store: Store) -> datetime:
    report = await archive(store, datetime.now(UTC) + timedelta(seconds=1), None, prune=True)
    assert report.removed == 1
    archived = await store.archived_on("0" * 16)
    assert archived is not None
    return archived


async def test_an_archived_match_answers_410_with_the_date(make_api: MakeApi) -> None:
    api = await make_api(**QUICK, retention_prune_without_archive=True)
    match_id = await play_real_path(api.store)
    archived = await prune(api.store)
    for path in (f"/api/matches/{match_id}", f"/api/matches/{match_id}/transcript"):
        response = await api.client.get(path)
        assert response.status_code == 410, response.text
        assert archived.isoformat(timespec="seconds") in response.json()["detail"]
    assert (await api.client.get("/api/matches/" + "z" * 16)).status_code == 404


@pytest.mark.slow
async def test_spectators_replay_a_compacted_match_and_are_told_of_an_archived_one(
    make_live: MakeLive,
) -> None:
    live = await make_live(**QUICK)
    match_id = await play_real_path(live.store)
    assert await live.store.compaction.compact(match_id) == "compacted"
    kept = [e.model_dump(mode="json") for e in await live.store.read_events(match_id)]
    async with connect(f"{live.ws}/ws/matches/{match_id}", proxy=None) as ws:
        events, code, _ = await drain(ws)
    assert [json.dumps(e, sort_keys=True) for e in events] == [
        json.dumps(e, sort_keys=True) for e in kept
    ]
    assert code == 1000
    live.store.hub.finished.clear()  # a node that has not seen the match
    archived = await prune(live.store)
    async with connect(f"{live.ws}/ws/matches/{match_id}", proxy=None) as ws:
        events, code, reason = await drain(ws)
    assert (events, code) == ([], 4410)
    assert archived.isoformat(timespec="seconds") in reason
