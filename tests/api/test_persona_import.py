"""Saved personas through the API: import cards, export them, create, edit, fork, versions, and
the match that plays a saved persona carrying its version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arena.domain.events import MatchStarted
from arena.domain.personas import persona_version
from arena.engine.lineup import build_lineup
from arena.personas import png
from tests.api.conftest import Api, MakeApi
from tests.api.helpers import play
from tests.fakes import FakeModels
from tests.personas.test_cards import V2, b64, png_with

NEW = {
    "name": "Ada the Engineer",
    "summary": "A careful engineer who trusts measurements over opinions.",
    "system_prompt": "You are Ada, an engineer who argues only from measured evidence.",
    "beliefs": ["Measure before you argue."],
    "style": "precise and dry",
}


def upload(*files: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("file", (name, data)) for name, data in files]


def locs(response: Any) -> list[tuple[str | int, ...]]:
    return [tuple(d["loc"]) for d in response.json()["detail"]]


async def test_import_a_v2_json_and_a_v3_png_then_play_and_export_them(api: Api) -> None:
    v3 = {"spec": "chara_card_v3", "data": {**V2["data"], "name": "Marcus Three"}}
    r = await api.client.post(
        "/api/personas/import",
        files=upload(("marcus.json", json.dumps(V2).encode()), ("m3.png", png_with(ccv3=b64(v3)))),
    )
    assert r.status_code == 201, r.text
    got = r.json()["imported"]
    assert [(i["id"], i["origin"], i["draft"]) for i in got] == [
        ("marcus-the-stoic", "card-v2", False),
        ("marcus-three", "card-v3", False),
    ]
    listed = {p["id"] for p in (await api.client.get("/api/personas")).json()}
    assert {"marcus-the-stoic", "marcus-three", "pirate"} <= listed
    detail = (await api.client.get("/api/personas/marcus-the-stoic")).json()
    assert detail["source"] == "saved" and detail["editable"] and not detail["draft"]
    assert [v["current"] for v in detail["versions"]] == [True]
    card = await api.client.get("/api/personas/marcus-the-stoic/card", params={"format": "card-v3"})
    assert card.headers["content-type"] == "application/json"
    data = card.json()["data"]
    assert data["extensions"]["depth_prompt"] == {"depth": 4, "prompt": "x"}
    assert data["character_version"] == detail["version"]
    image = await api.client.get(
        "/api/personas/pirate/card", params={"format": "card-v2", "png": 1}
    )
    assert image.content.startswith(png.SIGNATURE)
    assert "pirate.card-v2.png" in image.headers["content-disposition"]
    match = await api.client.post(
        "/api/matches",
        json={
            "motion": "This house likes tea.",
            "pro": {"persona": "marcus-three"},
            "con": {"persona": "pirate"},
        },
    )
    assert match.status_code == 201, match.text


async def test_a_draft_lists_what_it_lacks_and_cannot_play_until_completed(api: Api) -> None:
    card = {"spec": "chara_card_v2", "data": {"name": "Bob", "description": "Bob likes tea."}}
    r = await api.client.post(
        "/api/personas/import", files=upload(("bob.json", json.dumps(card).encode()))
    )
    item = r.json()["imported"][0]
    assert item["draft"] and {p["field"] for p in item["problems"]} == {"beliefs", "style"}
    detail = (await api.client.get("/api/personas/bob")).json()
    assert detail["draft"] and detail["version"] is None and detail["persona"]["name"] == "Bob"
    body = {
        "motion": "This house likes tea.",
        "pro": {"persona": "bob"},
        "con": {"persona": "pirate"},
    }
    refused = await api.client.post("/api/matches", json=body)
    assert refused.status_code == 422 and locs(refused) == [("body", "pro", "persona")]
    assert (
        "draft" in refused.json()["detail"][0]["msg"]
        and "beliefs" in refused.json()["detail"][0]["msg"]
    )
    fields = {**detail["persona"], "beliefs": ["Tea is good."], "style": "mild"}
    done = await api.client.put("/api/personas/bob", json=fields)
    assert done.status_code == 200, done.text
    assert (await api.client.post("/api/matches", json=body)).status_code == 201


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("bad.json", b"{not json", "bad.json: not valid JSON"),
        ("plain.png", png.minimal(), "plain.png: a PNG without a character card"),
        ("junk.png", png_with(chara=b"@@@"), "junk.png: the 'chara' chunk is not base64"),
    ],
)
async def test_a_bad_file_is_a_422_naming_it_and_nothing_is_saved(
    make_api: MakeApi, name: str, data: bytes, problem: str
) -> None:
    api = await make_api(persona_file_max_bytes=4096)
    good = ("good.json", json.dumps(V2).encode())
    r = await api.client.post("/api/personas/import", files=upload(good, (name, data)))
    assert r.status_code == 422
    assert locs(r) == [("body", "file", 1)] and problem in r.json()["detail"][0]["msg"]
    assert (await api.client.get("/api/personas/marcus-the-stoic")).status_code == 404


async def test_a_name_taken_is_renamed_or_with_on_conflict_error_refused(api: Api) -> None:
    card = {**V2, "data": {**V2["data"], "name": "Pirate"}}
    data = json.dumps(card).encode()
    renamed = await api.client.post("/api/personas/import", files=upload(("p.json", data)))
    item = renamed.json()["imported"][0]
    assert item["id"] == "pirate-2" and "the id 'pirate' is taken" in item["notes"][-1]
    refused = await api.client.post(
        "/api/personas/import", params={"on_conflict": "error"}, files=upload(("p.json", data))
    )
    assert refused.status_code == 422
    assert "p.json: the name 'Pirate' makes the id 'pirate', which already exists" in refused.text
    twice = await api.client.post(
        "/api/personas/import", files=upload(("a.json", data), ("b.json", data))
    )
    assert [i["id"] for i in twice.json()["imported"]] == ["pirate-3", "pirate-4"]


async def test_html_in_a_card_is_stored_and_served_as_text(api: Api) -> None:
    name = "<script>alert(1)</script>Eve"
    card = {**V2, "data": {**V2["data"], "name": name}}
    r = await api.client.post(
        "/api/personas/import", files=upload(("eve.json", json.dumps(card).encode()))
    )
    pid = r.json()["imported"][0]["id"]
    detail = await api.client.get(f"/api/personas/{pid}")
    assert detail.headers["content-type"] == "application/json"
    assert detail.json()["persona"]["name"] == name


async def test_create_edit_fork_with_the_same_validation_as_files(api: Api) -> None:
    bad = await api.client.post(
        "/api/personas", json={**NEW, "beliefs": [], "system_prompt": "short"}
    )
    assert bad.status_code == 422
    assert set(locs(bad)) == {("body", "beliefs"), ("body", "system_prompt")}
    made = await api.client.post("/api/personas", json=NEW)
    assert made.status_code == 201 and made.json()["id"] == "ada-the-engineer"
    first = made.json()["version"]
    again = await api.client.post("/api/personas", json=NEW)
    assert again.status_code == 422 and locs(again) == [("body", "id")]
    edited = await api.client.put(
        "/api/personas/ada-the-engineer",
        json={**NEW, "system_prompt": NEW["system_prompt"] + " Always."},
    )
    assert edited.status_code == 200 and edited.json()["version"] != first
    versions = (await api.client.get("/api/personas/ada-the-engineer")).json()["versions"]
    assert [(v["version"], v["current"]) for v in versions] == [
        (first, False),
        (edited.json()["version"], True),
    ]
    # a file persona is read-only: an edit forks it
    pirate = (await api.client.get("/api/personas/pirate")).json()["persona"]
    fork = await api.client.put("/api/personas/pirate", json={**pirate, "style": "quiet"})
    assert fork.status_code == 201 and fork.json()["forked_from"] == "pirate"
    assert fork.json()["id"] == "pirate-2"
    forked = (await api.client.get("/api/personas/pirate-2")).json()
    assert forked["persona"]["style"] == "quiet" and forked["persona"]["name"].endswith("(fork)")
    assert (await api.client.get("/api/personas/pirate")).json()["persona"]["style"] != "quiet"
    named = await api.client.post("/api/personas/pirate/fork", json={"id": "my-pirate"})
    assert named.status_code == 201 and named.json()["id"] == "my-pirate"
    assert (await api.client.delete("/api/personas/pirate")).status_code == 409
    assert (await api.client.delete("/api/personas/my-pirate")).status_code == 204


async def test_writes_need_the_token_when_one_is_set(make_api: MakeApi) -> None:
    api = await make_api(api_token="tok")
    data = json.dumps(V2).encode()
    assert (
        await api.client.post("/api/personas/import", files=upload(("m.json", data)))
    ).status_code == 401
    assert (await api.client.post("/api/personas", json=NEW)).status_code == 401
    ok = await api.client.post("/api/personas", json=NEW, headers={"authorization": "Bearer tok"})
    assert ok.status_code == 201


async def test_a_match_stores_the_version_it_played(api: Api) -> None:
    made = (await api.client.post("/api/personas", json=NEW)).json()
    body = {
        "motion": "This house likes tea.",
        "pro": {"persona": made["id"]},
        "con": {"persona": "pirate"},
    }
    created = (await api.client.post("/api/matches", json=body)).json()
    record = await api.store.get_match(created["id"])
    assert record is not None
    library = await api.store.personas.match_library(api.library, record.spec)
    settings = api.app.state.settings
    lineup = build_lineup(record.id, record.spec, library, settings, FakeModels(settings=settings))
    assert lineup.spec.pro.version == made["version"]
    assert lineup.spec.con.version == persona_version(api.library.persona("pirate"))
    await play(api.store, library, record.model_copy(update={"spec": lineup.spec}))
    events = await api.store.read_events(record.id)
    started = next(e for e in events if isinstance(e, MatchStarted))
    assert started.spec.pro.version == made["version"]
    stored = await api.store.get_match(record.id)
    assert stored is not None and stored.spec.pro.version == made["version"]
    # the file persona's played version is now listed on its page
    pirate = (await api.client.get("/api/personas/pirate")).json()
    assert [v["version"] for v in pirate["versions"]] == [lineup.spec.con.version]
    # a match resumed after an edit plays the version it started with
    await api.client.put(
        f"/api/personas/{made['id']}", json={**NEW, "system_prompt": NEW["system_prompt"] + "!"}
    )
    resumed = await api.store.personas.match_library(api.library, stored.spec)
    assert persona_version(resumed.persona(made["id"])) == made["version"]


async def test_a_lone_surrogate_in_a_field_is_never_a_server_error(api: Api) -> None:
    body = json.dumps({**NEW, "name": "Ada \ud800"})  # ASCII: the surrogate as an escape
    r = await api.client.post(
        "/api/personas", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code in (201, 422), r.text
    card = json.dumps({**V2, "data": {**V2["data"], "name": "Eve \udfff"}}).encode()
    imported = await api.client.post("/api/personas/import", files=upload(("eve.json", card)))
    assert imported.status_code in (201, 422), imported.text
