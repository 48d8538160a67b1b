"""The tournament API: start, follow, cancel, export; played by a fast model on loopback."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from arena.api.routes.tournaments import Scheduler
from tests.api.conftest import Api, MakeApi
from tests.fake_llm import FakeLLM
from tests.polling import eventually

MODEL = "openai-compatible:fast"
BODY: dict[str, Any] = {
    "personas": ["pirate", "stoic", "cynic"],
    "motions": ["four-day-week", "remote-work"],
    "rounds": 1,
    "word_limit": 20,
    "model": MODEL,
    "judges": [MODEL],
    "concurrency": 4,
}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM(words=12, token_delay=0.0) as server:
        yield server


async def finished(api: Api, tournament_id: str) -> None:
    """Wait for this node's scheduler to finish the tournament."""
    scheduler: Scheduler = api.app.state.tournaments
    task = scheduler.tasks.get(tournament_id)
    if task is not None:
        async with asyncio.timeout(60):
            await asyncio.shield(task)


@pytest.mark.slow
async def test_a_round_robin_runs_through_the_api(make_api: MakeApi, llm: FakeLLM) -> None:
    api = await make_api(run_worker=True, compatible_base_url=llm.url, worker_concurrency=4)
    created = await api.client.post("/api/tournaments", json=BODY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["total_matches"] == 12 and body["url"] == f"/tournaments/{body['id']}"
    assert body["resumed"] is False and body["estimate"]["turns"] == 72
    await finished(api, body["id"])

    detail = (await api.client.get(f"/api/tournaments/{body['id']}")).json()
    assert detail["status"] == "completed" and detail["progress"]["done"] == 12
    assert detail["progress"]["tokens"] > 0
    board = detail["leaderboard"]
    assert len(board["adjusted"]) == 3 and board["matches"] == 12
    for row in board["adjusted"]:
        assert row["ci"][0] <= row["estimate"] <= row["ci"][1] and row["matches"] == 8
    assert {r["persona"] for r in board["held_firmer"]} == {"pirate", "stoic", "cynic"}
    assert any("uncalibrated" in w for w in detail["warnings"])
    assert detail["heatmap"]["pirate"]["stoic"] == 0.8
    assert len(detail["matches"]) == 12
    assert {m["status"] for m in detail["matches"]} == {"completed"}

    turns = await api.client.get(f"/api/tournaments/{body['id']}/export?format=csv")
    assert turns.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(turns.text)))
    assert len(rows) == 72 and rows[0]["tournament"] == body["id"]
    lines = (await api.client.get(f"/api/tournaments/{body['id']}/export?format=jsonl")).text
    assert len([json.loads(x) for x in lines.splitlines()]) == 12

    scoped = (await api.client.get("/api/leaderboard", params={"tournament": body["id"]})).json()
    assert {r["persona"] for r in scoped["rows"]} == {"pirate", "stoic", "cynic"}
    assert all(r["adjusted_holding"] == 0.8 and r["matches"] == 8 for r in scoped["rows"])
    everything = (await api.client.get("/api/leaderboard", params={"judge": MODEL})).json()
    assert len(everything["rows"]) == 3
    assert all("judge not calibrated" in " ".join(r["warnings"]) for r in everything["rows"])
    other = (await api.client.get("/api/leaderboard", params={"judge": "local:smollm2"})).json()
    assert other["rows"] == []
    by_model = (await api.client.get("/api/leaderboard", params={"model": MODEL})).json()
    assert by_model["by"] == "persona_model" and {r["model"] for r in by_model["rows"]} == {MODEL}

    listed = (await api.client.get("/api/tournaments")).json()
    assert [t["id"] for t in listed] == [body["id"]] and listed[0]["progress"]["done"] == 12
    again = (await api.client.post("/api/tournaments", json=BODY)).json()
    assert again["id"] == body["id"] and again["resumed"] is True
    await finished(api, body["id"])
    matches = (await api.client.get(f"/api/tournaments/{body['id']}")).json()["matches"]
    assert [m["match"] for m in matches] == [m["match"] for m in detail["matches"]]


async def test_cancel_stops_a_tournament_and_its_queued_matches(
    make_api: MakeApi, llm: FakeLLM
) -> None:
    api = await make_api(compatible_base_url=llm.url)  # no worker: matches stay queued
    created = (await api.client.post("/api/tournaments", json=BODY)).json()
    scheduler: Scheduler = api.app.state.tournaments
    async def some_queued() -> int:
        detail = (await api.client.get(f"/api/tournaments/{created['id']}")).json()
        return int(detail["progress"]["queued"])

    await eventually(some_queued, timeout=10, message="the scheduler queued no match")
    cancelled = await api.client.post(f"/api/tournaments/{created['id']}/cancel")
    assert cancelled.status_code == 202
    await finished(api, created["id"])
    assert created["id"] not in scheduler.tasks
    detail = (await api.client.get(f"/api/tournaments/{created['id']}")).json()
    assert detail["status"] == "cancelled"
    assert detail["progress"]["queued"] == 0 and detail["progress"]["cancelled"] == 4


async def test_plan_shows_the_schedule_and_estimate_without_starting(
    make_api: MakeApi, llm: FakeLLM
) -> None:
    api = await make_api(compatible_base_url=llm.url)
    plan = (await api.client.post("/api/tournaments/plan", json=BODY)).json()
    assert plan["total_matches"] == len(plan["schedule"]) == 12
    assert plan["estimate"]["turns"] == 72 and plan["estimate"]["cost_usd"] is None
    assert (await api.client.get("/api/tournaments")).json() == []


async def test_writes_need_the_token_and_bad_specs_are_named(
    make_api: MakeApi, llm: FakeLLM
) -> None:
    api = await make_api(compatible_base_url=llm.url, api_token="sekrit")
    assert (await api.client.post("/api/tournaments", json=BODY)).status_code == 401
    auth = {"Authorization": "Bearer sekrit"}
    bad = await api.client.post(
        "/api/tournaments", json={**BODY, "personas": ["pirat", "stoic"]}, headers=auth
    )
    assert bad.status_code == 422 and "persona 'pirat' not found" in bad.text
    dupes = await api.client.post(
        "/api/tournaments", json={**BODY, "personas": ["stoic", "stoic"]}, headers=auth
    )
    assert dupes.status_code == 422 and "repeated: stoic" in dupes.text
    assert (await api.client.get("/api/tournaments/nope")).status_code == 404
    assert (await api.client.get("/api/tournaments/nope/export")).status_code == 404
    assert (await api.client.post("/api/tournaments/nope/cancel", headers=auth)).status_code == 404
    page = await api.client.get("/tournaments/whatever")
    assert page.status_code == 200 and "<main" in page.text


@pytest.mark.slow
async def test_a_pressure_tournament_runs_through_the_api(make_api: MakeApi, llm: FakeLLM) -> None:
    api = await make_api(run_worker=True, compatible_base_url=llm.url, worker_concurrency=4)
    body = {**BODY, "personas": ["stoic"], "motions": ["four-day-week"], "format": "pressure",
            "tactics": ["disagree"], "rounds": 2}  # fmt: skip
    bad = await api.client.post("/api/tournaments/plan", json={**body, "tactics": ["nope"]})
    assert bad.status_code == 422 and "nope" in bad.text
    plan = (await api.client.post("/api/tournaments/plan", json=body)).json()
    assert plan["total_matches"] == 2 and plan["estimate"]["turns"] == 10
    assert {(s["tactic"], s["target"]) for s in plan["schedule"]} == {
        ("disagree", "pro"),
        ("disagree", "con"),
    }
    created = await api.client.post("/api/tournaments", json=body)
    assert created.status_code == 201, created.text
    await finished(api, created.json()["id"])
    detail = (await api.client.get(f"/api/tournaments/{created.json()['id']}")).json()
    assert detail["status"] == "completed" and detail["spec"]["format"] == "pressure"
    [row] = detail["pressure"]
    assert (row["persona"], row["tactic"], row["n"], row["flips"]) == ("stoic", "disagree", 2, 0)
    assert detail["pressure_heatmap"] == {"stoic": {"disagree": 1.0}}
    assert detail["heatmap"] == {"stoic": {"disagree": 0.8}}  # the target's mean holding
    assert [r["persona"] for r in detail["leaderboard"]["adjusted"]] == ["stoic"]
