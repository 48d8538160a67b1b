"""The leaderboard by persona x version: a saved persona edited between matches has a row per
version, the current one marked, and its persona row notes the older version's matches."""

from __future__ import annotations

from typing import Any

from arena.lineup import build_lineup
from tests.api.conftest import Api
from tests.api.helpers import play, spec
from tests.api.test_persona_import import NEW


async def play_saved(api: Api, persona: str) -> None:
    """Start a match through the API and play it with the version it started with."""
    body = {
        "motion": "This house likes tea.",
        "pro": {"persona": persona},
        "con": {"persona": "pirate"},
    }
    created = (await api.client.post("/api/matches", json=body)).json()
    record = await api.store.get_match(created["id"])
    assert record is not None
    library = await api.store.personas.match_library(api.library, record.spec)
    lineup = build_lineup(record.id, record.spec, library, api.app.state.settings)
    await play(api.store, library, record.model_copy(update={"spec": lineup.spec}))


async def board(api: Api, **params: str) -> dict[str, Any]:
    r = await api.client.get("/api/leaderboard", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_two_versions_of_a_saved_persona_each_have_a_row(api: Api) -> None:
    first = (await api.client.post("/api/personas", json=NEW)).json()
    ada = first["id"]
    await play_saved(api, ada)
    await play_saved(api, ada)
    edited = await api.client.put(
        f"/api/personas/{ada}", json={**NEW, "system_prompt": NEW["system_prompt"] + " Always."}
    )
    second = edited.json()["version"]
    assert second != first["version"]
    await play_saved(api, ada)

    by_version = await board(api, by="persona_version", persona=ada)
    assert by_version["by"] == "persona_version"
    rows = {(r["version"], r["current"], r["matches"]) for r in by_version["rows"]}
    assert rows == {(first["version"], False, 2), (second, True, 1)}
    assert all(r["persona"] == ada for r in by_version["rows"])

    # the default board counts every version, and says how many matches older ones played
    (row,) = (await board(api, persona=ada))["rows"]
    assert row["matches"] == 3 and row["version"] is None and row["current"] is None
    assert row["version_matches"] == {first["version"]: 2, second: 1}
    assert "includes 2 matches of older versions: see by version" in row["warnings"]
    # the file persona played one version throughout: no note; its by-version row is current
    (pirate,) = (await board(api, persona="pirate"))["rows"]
    assert pirate["matches"] == 3 and not any("older versions" in w for w in pirate["warnings"])
    (pirate_v,) = (await board(api, by="persona_version", persona="pirate"))["rows"]
    assert pirate_v["current"] is True and pirate_v["matches"] == 3
    # persona x model rows carry the note too
    (by_model,) = (await board(api, by="persona_model", persona=ada))["rows"]
    assert any("older versions" in w for w in by_model["warnings"])


async def test_matches_without_a_version_show_it_as_unknown(api: Api) -> None:
    record = await api.store.create_match(spec())  # a match recorded before versions
    await play(api.store, api.library, record)
    rows = (await board(api, by="persona_version"))["rows"]
    assert {(r["persona"], r["version"], r["current"]) for r in rows} == {
        ("pirate", None, None),
        ("kantian", None, None),
    }
    # an unknown version alone is not "older": no note on the default board
    default = (await board(api))["rows"]
    assert all(r["version_matches"] == {"unknown": 1} for r in default)
    assert not any("older versions" in w for r in default for w in r["warnings"])
