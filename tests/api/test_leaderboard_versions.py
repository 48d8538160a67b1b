"""The leaderboard and persona versions: by default a row counts only the persona's latest
version (its version in the library now; for a persona no longer there, the one it played last)
and notes the matches of older ones; versions=all pools them; by persona_version lists each."""

from __future__ import annotations

from typing import Any

from arena.engine.lineup import build_lineup
from tests.api.conftest import Api
from tests.api.helpers import play, spec
from tests.api.test_persona_import import NEW
from tests.fakes import FakeModels

EDITED = {**NEW, "system_prompt": NEW["system_prompt"] + " Always."}


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
    settings = api.app.state.settings
    lineup = build_lineup(record.id, record.spec, library, settings, FakeModels(settings=settings))
    await play(api.store, library, record.model_copy(update={"spec": lineup.spec}))


async def board(api: Api, **params: str) -> dict[str, Any]:
    r = await api.client.get("/api/leaderboard", params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def edit(api: Api, persona: str, fields: dict[str, Any]) -> str:
    r = await api.client.put(f"/api/personas/{persona}", json=fields)
    assert r.status_code == 200, r.text
    version: str = r.json()["version"]
    return version


async def test_the_default_board_counts_only_the_latest_version(api: Api) -> None:
    first = (await api.client.post("/api/personas", json=NEW)).json()
    ada = first["id"]
    await play_saved(api, ada)
    await play_saved(api, ada)
    second = await edit(api, ada, EDITED)
    assert second != first["version"]

    # edited, not played yet: no row, but listed with its older matches
    before = await board(api, persona=ada)
    assert before["versions"] == "latest" and before["rows"] == []
    (older,) = before["older_only"]
    assert (older["persona"], older["model"], older["older_matches"]) == (ada, None, 2)
    assert older["version_matches"] == {first["version"]: 2}
    page = (await api.client.get(f"/api/personas/{ada}")).json()
    assert page["stats"] == []

    await play_saved(api, ada)
    by_version = await board(api, by="persona_version", persona=ada)
    assert by_version["by"] == "persona_version" and by_version["versions"] == "all"
    rows = {(r["version"], r["current"], r["matches"]) for r in by_version["rows"]}
    assert rows == {(first["version"], False, 2), (second, True, 1)}
    latest_alone = next(r for r in by_version["rows"] if r["version"] == second)

    # the default row: the latest version's one match, and a note on the two older ones
    default = await board(api, persona=ada)
    assert default["versions"] == "latest" and default["older_only"] == []
    (row,) = default["rows"]
    assert (row["matches"], row["version"], row["current"], row["older_matches"]) == (
        1, second, True, 2,
    )  # fmt: skip
    assert row["mean_holding"] == latest_alone["mean_holding"]
    assert row["turns"] == latest_alone["turns"]
    assert row["version_matches"] == {first["version"]: 2, second: 1}
    assert "2 matches of older versions not counted: see by version" in row["warnings"]
    assert "provisional: rests on 1 match (fewer than 5), not ranked" in row["warnings"]

    # versions=all pools them, as the board did before
    (pooled,) = (await board(api, persona=ada, versions="all"))["rows"]
    assert (pooled["matches"], pooled["version"], pooled["older_matches"]) == (3, None, 2)
    assert "includes 2 matches of older versions: see by version" in pooled["warnings"]
    assert not any("not counted" in w for w in pooled["warnings"])

    # the file persona played one version throughout: the same row either way, no note
    (pirate,) = (await board(api, persona="pirate"))["rows"]
    assert (pirate["matches"], pirate["older_matches"], pirate["current"]) == (3, 0, True)
    assert not any("older versions" in w for w in pirate["warnings"])
    (pirate_all,) = (await board(api, persona="pirate", versions="all"))["rows"]
    assert pirate_all["matches"] == 3 and pirate_all["older_matches"] == 0

    # persona x model rows follow the same rule
    (by_model,) = (await board(api, by="persona_model", persona=ada))["rows"]
    assert (by_model["model"], by_model["matches"], by_model["older_matches"]) == (
        "local:smollm2", 1, 2,
    )  # fmt: skip
    assert any("not counted" in w for w in by_model["warnings"])
    (model_all,) = (await board(api, persona=ada, model="local:smollm2", versions="all"))["rows"]
    assert model_all["matches"] == 3

    # the persona page's numbers are the default board's
    stats = (await api.client.get(f"/api/personas/{ada}")).json()["stats"]
    assert {(r["model"], r["matches"], r["older_matches"]) for r in stats} == {
        (None, 1, 2),
        ("local:smollm2", 1, 2),
    }


async def test_a_persona_no_longer_in_the_library_counts_its_last_played_version(
    api: Api,
) -> None:
    first = (await api.client.post("/api/personas", json=NEW)).json()
    ada = first["id"]
    await play_saved(api, ada)
    await play_saved(api, ada)
    second = await edit(api, ada, EDITED)
    await play_saved(api, ada)
    # edited back: the library's version is the first again, the last played the second
    assert await edit(api, ada, NEW) == first["version"]
    (row,) = (await board(api, persona=ada))["rows"]
    assert (row["version"], row["current"], row["matches"], row["older_matches"]) == (
        first["version"], True, 2, 1,
    )  # fmt: skip

    assert (await api.client.delete(f"/api/personas/{ada}")).status_code == 204
    (row,) = (await board(api, persona=ada))["rows"]
    assert (row["version"], row["current"], row["matches"], row["older_matches"]) == (
        second, None, 1, 2,
    )  # fmt: skip
    assert "no longer in the persona library: counts its last played version" in row["warnings"]
    by_version = (await board(api, by="persona_version", persona=ada))["rows"]
    assert {(r["version"], r["current"]) for r in by_version} == {
        (first["version"], None),
        (second, None),
    }
    (pooled,) = (await board(api, persona=ada, versions="all"))["rows"]
    assert pooled["matches"] == 3 and pooled["older_matches"] == 2


async def test_versions_takes_latest_or_all(api: Api) -> None:
    r = await api.client.get("/api/leaderboard", params={"versions": "newest"})
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["query", "versions"] and "'latest' or 'all'" in error["msg"]
    # rows by version list every version whatever `versions` asks
    assert (await board(api, by="persona_version", versions="latest"))["versions"] == "all"


async def test_matches_without_a_version_show_it_as_unknown(api: Api) -> None:
    record = await api.store.create_match(spec())  # a match recorded before versions
    await play(api.store, api.library, record)
    rows = (await board(api, by="persona_version"))["rows"]
    assert {(r["persona"], r["version"], r["current"]) for r in rows} == {
        ("pirate", None, None),
        ("kantian", None, None),
    }
    # a persona whose matches recorded no version: those are its results, counted, no note
    default = (await board(api))["rows"]
    assert {(r["persona"], r["matches"], r["version"], r["older_matches"]) for r in default} == {
        ("pirate", 1, None, 0),
        ("kantian", 1, None, 0),
    }
    assert not any("older versions" in w for r in default for w in r["warnings"])

    # once pirate plays its current version, the unrecorded match is no longer counted
    first = (await api.client.post("/api/personas", json=NEW)).json()
    await play_saved(api, first["id"])
    (pirate,) = (await board(api, persona="pirate"))["rows"]
    assert (pirate["matches"], pirate["current"], pirate["older_matches"]) == (1, True, 1)
    assert pirate["version_matches"] == {"unknown": 1, pirate["version"]: 1}
    (kantian,) = (await board(api, persona="kantian"))["rows"]
    assert kantian["matches"] == 1 and kantian["older_matches"] == 0
