"""Personas, motions, models and the leaderboard."""

from __future__ import annotations

from tests.api.conftest import Api, MakeApi
from tests.api.helpers import play, spec


async def test_personas_list_every_persona_with_its_fields(api: Api) -> None:
    personas = (await api.client.get("/api/personas")).json()
    assert {p["id"] for p in personas} == set(api.library.personas)
    pirate = next(p for p in personas if p["id"] == "pirate")
    fields = {"id", "name", "summary", "beliefs", "style", "system_prompt", "model"}
    assert fields | {"temperature", "max_tokens"} == set(pirate)
    assert pirate["temperature"] == 0.9


async def test_persona_detail_has_stats_and_recent_matches(api: Api) -> None:
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)
    other = await api.store.create_match(spec().model_copy(update={"rounds": 2}))

    detail = (await api.client.get("/api/personas/pirate")).json()
    assert detail["persona"]["name"] == api.library.persona("pirate").name
    assert [m["id"] for m in detail["recent_matches"]] == [other.id, record.id]
    rows = {(row["persona"], row["model"]) for row in detail["stats"]}
    assert rows == {("pirate", None), ("pirate", "local:smollm2")}
    assert all(row["matches"] == 1 for row in detail["stats"])

    stoic = (await api.client.get("/api/personas/stoic")).json()
    assert stoic["stats"] == [] and stoic["recent_matches"] == []
    r = await api.client.get("/api/personas/pirat")
    assert r.status_code == 404 and "known:" in r.json()["detail"]


async def test_motions(api: Api) -> None:
    motions = (await api.client.get("/api/motions")).json()
    assert {"id": "ai-art", "text": api.library.motions["ai-art"].text} in motions


async def test_models_lists_only_configured_providers(make_api: MakeApi) -> None:
    bare = await make_api(openai_api_key=None, anthropic_api_key=None, compatible_base_url=None)
    models = (await bare.client.get("/api/models")).json()
    assert models["default_model"] == models["default_judge"] == "local:smollm2"
    assert models["providers"] == ["local", "ollama"]
    assert models["suggestions"] == ["local:smollm2"]

    keyed = await make_api(openai_api_key="sk-test", anthropic_api_key=None)
    models = (await keyed.client.get("/api/models")).json()
    assert "openai" in models["providers"] and "anthropic" not in models["providers"]
    assert "openai:gpt-4o-mini" in models["suggestions"]


async def test_leaderboard_by_persona_and_by_persona_model(api: Api) -> None:
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)

    board = (await api.client.get("/api/leaderboard")).json()
    assert board["by"] == "persona"
    assert {row["persona"] for row in board["rows"]} == {"pirate", "kantian"}
    # one match each: listed, provisional, not ranked; the board names its one judge set
    assert [(row["rank"], row["provisional"]) for row in board["rows"]] == [(None, True)] * 2
    assert board["judge"] == "local:smollm2"
    assert board["judge_sets"] == [{"judge": "local:smollm2", "matches": 2}]
    assert all(row["model"] is None for row in board["rows"])

    board = (await api.client.get("/api/leaderboard", params={"by": "persona_model"})).json()
    assert board["by"] == "persona_model"
    assert {row["model"] for row in board["rows"]} == {"local:smollm2"}

    # a match that recorded no persona version: rows by version say "unknown" (null)
    board = (await api.client.get("/api/leaderboard", params={"by": "persona_version"})).json()
    assert board["by"] == "persona_version"
    assert {(row["persona"], row["version"]) for row in board["rows"]} == {
        ("pirate", None),
        ("kantian", None),
    }
    one = await api.client.get("/api/leaderboard", params={"persona": "pirate"})
    assert [row["persona"] for row in one.json()["rows"]] == ["pirate"]

    r = await api.client.get("/api/leaderboard", params={"by": "judge"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "by"]
