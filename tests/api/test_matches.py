"""Creating, listing, inspecting and cancelling matches over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from arena.config import REPO_ROOT, Settings
from arena.domain.records import Calibration
from tests.api.conftest import Api, MakeApi
from tests.api.helpers import MOTION, play
from tests.fakes import FakeModels

PERSONAS = REPO_ROOT / "personas"


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "motion": "ai-art",
        "pro": {"persona": "pirate"},
        "con": {"persona": "kantian"},
        "rounds": 1,
    }
    return {**base, **changes}


async def test_create_returns_201_with_the_spectator_and_websocket_urls(api: Api) -> None:
    r = await api.client.post("/api/matches", json=body())
    assert r.status_code == 201
    created = r.json()
    assert created["status"] == "queued"
    assert created["url"] == f"/matches/{created['id']}"
    assert created["ws_url"] == f"/ws/matches/{created['id']}"
    record = await api.store.get_match(created["id"])
    assert record is not None
    assert record.spec.motion == "This house believes that art made by AI is real art."
    assert record.spec.motion_id == "ai-art"


async def test_defaults_come_from_the_persona_then_the_settings(
    make_api: MakeApi, tmp_path: Path
) -> None:
    for name in ("pirate.yaml", "kantian.yaml", "motions.yaml"):
        shutil.copy(PERSONAS / name, tmp_path / name)
    with (tmp_path / "pirate.yaml").open("a") as f:
        f.write("model: ollama:llama3.2\n")
    api = await make_api(
        personas_dir=tmp_path, default_model="local:smollm2", default_judge="ollama:judge"
    )
    r = await api.client.post("/api/matches", json=body(motion=MOTION, rounds=None))
    assert r.status_code == 201, r.text
    detail = (await api.client.get(f"/api/matches/{r.json()['id']}")).json()
    assert detail["pro"] == {"persona": "pirate", "model": "ollama:llama3.2"}
    assert detail["con"] == {"persona": "kantian", "model": "local:smollm2"}
    assert detail["judges"] == ["ollama:judge"]
    assert (detail["motion"], detail["motion_id"]) == (MOTION, None)
    assert detail["rounds"] == 2 and detail["total_turns"] == 8

    explicit = body(pro={"persona": "pirate", "model": "local:smollm2"}, judges=["ollama:a"])
    r = await api.client.post("/api/matches", json=explicit)
    detail = (await api.client.get(f"/api/matches/{r.json()['id']}")).json()
    assert detail["pro"]["model"] == "local:smollm2"
    assert detail["judges"] == ["ollama:a"]


@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        ({"pro": {"persona": "pirat"}}, ["body", "pro", "persona"], "known: assistant"),
        ({"con": {"persona": "x", "model": "local:smollm2"}}, ["body", "con", "persona"], "'x'"),
        (
            {"con": {"persona": "kantian", "model": "foo:bar"}},
            ["body", "con", "model"],
            "unknown model provider 'foo'",
        ),
        (
            {"pro": {"persona": "pirate", "model": "openai:gpt-4o-mini"}},
            ["body", "pro", "model"],
            "OPENAI_API_KEY",
        ),
        ({"judge": "anthropic:claude"}, ["body", "judge"], "ANTHROPIC_API_KEY"),
        ({"judges": ["local:smollm2", "nope"]}, ["body", "judges", 1], "provider:model"),
        ({"judge": "ollama:a", "judges": ["ollama:b"]}, ["body", "judge"], "not both"),
        ({"rounds": 0}, ["body", "rounds"], "greater than or equal to 1"),
        ({"rounds": 11}, ["body", "rounds"], "less than or equal to 10"),
        ({"motion": ""}, ["body", "motion"], "at least 1"),
        ({"motion": "   "}, ["body", "motion"], "at least 1"),
        ({"motion": "x" * 501}, ["body", "motion"], "at most 500"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    make_api: MakeApi, changes: dict[str, Any], loc: list[Any], says: str
) -> None:
    api = await make_api(openai_api_key=None, anthropic_api_key=None)
    r = await api.client.post("/api/matches", json=body(**changes))
    assert r.status_code == 422
    errors = r.json()["detail"]
    assert [e["loc"] for e in errors] == [loc]
    assert says in errors[0]["msg"]
    assert await api.store.list_matches() == ([], None)


async def test_a_full_queue_is_a_429_with_retry_after(make_api: MakeApi) -> None:
    api = await make_api(queue_max=2)
    for _ in range(2):
        assert (await api.client.post("/api/matches", json=body())).status_code == 201
    r = await api.client.post("/api/matches", json=body())
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "queued" in r.json()["detail"]


async def test_unknown_match_is_404(api: Api) -> None:
    for path in ("/api/matches/nope", "/api/matches/nope/transcript"):
        assert (await api.client.get(path)).status_code == 404
    assert (await api.client.post("/api/matches/nope/cancel")).status_code == 404


async def test_list_filters_by_status_newest_first_with_a_cursor(api: Api) -> None:
    ids = [(await api.client.post("/api/matches", json=body())).json()["id"] for _ in range(3)]
    await api.client.post(f"/api/matches/{ids[1]}/cancel")

    page = (await api.client.get("/api/matches", params={"limit": 2})).json()
    assert [m["id"] for m in page["items"]] == [ids[2], ids[1]]
    rest = (await api.client.get("/api/matches", params={"cursor": page["next_cursor"]})).json()
    assert [m["id"] for m in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None

    queued = (await api.client.get("/api/matches", params={"status": "queued"})).json()
    assert [m["id"] for m in queued["items"]] == [ids[2], ids[0]]
    r = await api.client.get("/api/matches", params={"status": "sleeping"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "status"]


async def test_a_played_match_shows_turns_verdicts_and_metrics(api: Api) -> None:
    created = (await api.client.post("/api/matches", json=body())).json()
    record = await api.store.get_match(created["id"])
    assert record is not None
    await play(api.store, api.library, record)

    detail = (await api.client.get(f"/api/matches/{record.id}")).json()
    assert detail["status"] == "completed"
    assert detail["turns_done"] == detail["total_turns"] == 6
    assert [t["turn"] for t in detail["turns"]] == list(range(6))
    first = detail["turns"][0]
    assert first["side"] == "pro" and first["kind"] == "opening"
    assert first["text"].startswith("I argue FOR the motion")
    assert first["verdict"]["stance"] == "pro" and first["verdict"]["holding"] == 0.9
    assert detail["metrics"]["pro"]["mean_holding"] == 0.9
    assert detail["holding"] == {"pro": 0.9, "con": 0.9}
    assert detail["judge_accuracy"] == {"local:smollm2": None}
    assert detail["finished_at"] is not None

    summary = (await api.client.get("/api/matches")).json()["items"][0]
    assert summary["holding"] == {"pro": 0.9, "con": 0.9}


async def test_transcript_as_json_and_markdown(api: Api) -> None:
    created = (await api.client.post("/api/matches", json=body())).json()
    record = await api.store.get_match(created["id"])
    assert record is not None
    await play(api.store, api.library, record)

    data = (await api.client.get(f"/api/matches/{record.id}/transcript")).json()
    assert len(data["turns"]) == 6 and data["status"] == "completed"
    r = await api.client.get(f"/api/matches/{record.id}/transcript?format=markdown")
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith("# This house believes that art made by AI is real art.")
    assert "## Turn 6: CON closing" in r.text
    bad = await api.client.get(f"/api/matches/{record.id}/transcript?format=pdf")
    assert bad.status_code == 422


async def test_cancel_a_queued_match(api: Api) -> None:
    match_id = (await api.client.post("/api/matches", json=body())).json()["id"]
    r = await api.client.post(f"/api/matches/{match_id}/cancel")
    assert r.status_code == 202
    assert r.json() == {"id": match_id, "status": "cancelled"}
    assert (await api.client.get(f"/api/matches/{match_id}")).json()["status"] == "cancelled"


async def test_the_in_process_worker_plays_a_created_match(
    make_api: MakeApi, settings: Settings
) -> None:
    api = await make_api(run_worker=True, models=FakeModels(settings=settings))
    match_id = (await api.client.post("/api/matches", json=body())).json()["id"]
    async with api.store.hub.subscribe(match_id) as sub:
        types = [event.type async for event in sub]
    assert types[0] == "match_started" and types[-1] == "match_completed"

    detail = (await api.client.get(f"/api/matches/{match_id}")).json()
    assert detail["status"] == "completed"
    assert len(detail["turns"]) == 6 and detail["metrics"] is not None


async def test_the_judges_calibration_is_shown_as_text_beside_its_accuracy(api: Api) -> None:
    created = (await api.client.post("/api/matches", json=body())).json()
    record = await api.store.get_match(created["id"])
    assert record is not None
    await play(api.store, api.library, record)
    calibration = Calibration(
        judge="local:smollm2", accuracy=0.7093, n=172, file="calibration.jsonl", sha256="ab" * 32
    )
    await api.store.record_judge_calibration(calibration)

    detail = (await api.client.get(f"/api/matches/{record.id}")).json()
    assert detail["judge_accuracy"] == {"local:smollm2": 0.7093}
    assert detail["judge_calibration"] == {"local:smollm2": "71% on calibration.jsonl (n=172)"}
    (row, *_) = (await api.client.get("/api/leaderboard")).json()["rows"]
    assert row["judge"] == "local:smollm2" and row["judge_accuracy"] == 0.7093
    assert row["judge_calibration"] == "71% on calibration.jsonl (n=172)"
