"""The caps on lists and texts (arena/domain/limits.py): each is a 422 naming the field, before
anything is stored or computed; a card over a cap is imported as a draft that names it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import Api, MakeApi
from tests.personas.test_cards import V2

TOURNAMENT: dict[str, Any] = {
    "personas": ["pirate", "stoic", "cynic"],
    "motions": ["four-day-week"],
    "judges": ["ollama:judge"],
    "model": "ollama:debater",
}
PERSONA = {
    "name": "Ada the Engineer",
    "summary": "A careful engineer who trusts measurements over opinions.",
    "system_prompt": "You are Ada, an engineer who argues only from measured evidence.",
    "beliefs": ["Measure before you argue."],
    "style": "precise and dry",
}


def names(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def only_error(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


@pytest.mark.parametrize("route", ["/api/tournaments", "/api/tournaments/plan"])
@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        ({"personas": names(201)}, ["body", "personas"], "at most 200 items"),
        ({"motions": names(201, "m")}, ["body", "motions"], "at most 200 items"),
        ({"motions": ["x" * 501]}, ["body", "motions", 0], "at most 500 characters"),
        (
            {"format": "pressure", "tactics": names(51, "t")},
            ["body", "tactics"],
            "at most 50 items",
        ),
        ({"judges": [f"ollama:j{i}" for i in range(6)]}, ["body", "judges"], "at most 5 items"),
        ({"models": {p: "ollama:m" for p in names(201)}}, ["body", "models"], "at most 200"),
        ({"model": "ollama:" + "x" * 200}, ["body", "model"], "at most 200 characters"),
    ],
)
async def test_a_tournament_over_a_cap_is_a_422_naming_the_field(
    api: Api, route: str, changes: dict[str, Any], loc: list[Any], says: str
) -> None:
    error = only_error(await api.client.post(route, json={**TOURNAMENT, **changes}))
    assert error["loc"] == loc and says in error["msg"]
    assert (await api.client.get("/api/tournaments")).json() == []


async def test_a_tournament_of_too_many_matches_is_refused_before_it_is_planned(
    api: Api,
) -> None:
    # 150 personas in a round-robin on two motions: 150 * 149 / 2 pairs * 2 motions * 2 sides
    body = {**TOURNAMENT, "personas": names(150), "motions": ["m1", "m2"]}
    error = only_error(await api.client.post("/api/tournaments/plan", json=body))
    assert error["loc"] == ["body"]
    assert "44,700 matches; the limit is 20,000" in error["msg"]
    assert "fewer personas, motions or repeats" in error["msg"]


async def test_a_panel_of_six_judges_is_a_422_naming_judges(api: Api) -> None:
    body = {
        "motion": "ai-art",
        "pro": {"persona": "pirate"},
        "con": {"persona": "kantian"},
        "judges": [f"ollama:j{i}" for i in range(6)],
    }
    error = only_error(await api.client.post("/api/matches", json=body))
    assert error["loc"] == ["body", "judges"] and "at most 5 items" in error["msg"]
    assert await api.store.list_matches() == ([], None)


@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        ({"system_prompt": "x" * 8001}, ["body", "system_prompt"], "at most 8000 characters"),
        ({"beliefs": names(21, "belief ")}, ["body", "beliefs"], "at most 20 items"),
        ({"beliefs": ["ok", "x" * 501]}, ["body", "beliefs", 1], "at most 500 characters"),
        ({"style": "x" * 1001}, ["body", "style"], "at most 1000 characters"),
        ({"summary": "x" * 301}, ["body", "summary"], "at most 300 characters"),
        ({"name": "x" * 81}, ["body", "name"], "at most 80 characters"),
    ],
)
async def test_a_persona_over_a_cap_is_a_422_naming_the_field_on_create_and_edit(
    api: Api, changes: dict[str, Any], loc: list[Any], says: str
) -> None:
    created = await api.client.post("/api/personas", json={**PERSONA, **changes})
    error = only_error(created)
    assert error["loc"] == loc and says in error["msg"]
    assert (await api.client.get("/api/personas/ada-the-engineer")).status_code == 404

    assert (await api.client.post("/api/personas", json=PERSONA)).status_code == 201
    edited = await api.client.put("/api/personas/ada-the-engineer", json={**PERSONA, **changes})
    error = only_error(edited)
    assert error["loc"] == loc and says in error["msg"]
    kept = (await api.client.get("/api/personas/ada-the-engineer")).json()["persona"]
    assert kept["system_prompt"] == PERSONA["system_prompt"] and kept["style"] == "precise and dry"


async def test_a_card_whose_prompt_is_over_the_cap_is_imported_as_a_draft_naming_it(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    padded = "x" * 9000 + "\n" + V2["data"]["description"]
    long = {**V2, "data": {**V2["data"], "description": padded}}
    files = [("file", ("long.json", json.dumps(long).encode()))]
    r = await api.client.post("/api/personas/import", files=files)
    assert r.status_code == 201, r.text
    [item] = r.json()["imported"]
    assert item["draft"] is True
    assert [(p["field"], p["msg"]) for p in item["problems"]] == [
        ("system_prompt", "String should have at most 8000 characters")
    ]
    listed = (await api.client.get("/api/personas")).json()
    assert item["id"] not in {p["id"] for p in listed}  # a draft never plays nor is listed
    page = (await api.client.get(f"/api/personas/{item['id']}")).json()
    assert page["draft"] is True and page["problems"][0]["field"] == "system_prompt"
    match = {"motion": "ai-art", "pro": {"persona": item["id"]}, "con": {"persona": "pirate"}}
    error = only_error(await api.client.post("/api/matches", json=match))
    assert error["loc"] == ["body", "pro", "persona"] and "system_prompt" in error["msg"]
