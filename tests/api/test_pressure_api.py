"""Pressure matches over HTTP: create (and its 422s), play through the store, read back; tactics."""

from __future__ import annotations

from typing import Any

import pytest

from arena.domain.records import MatchRecord
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.engine.probe import QUESTION
from arena.models.base import GenerationRequest
from arena.personas.tactics import load_tactics
from tests.api.conftest import Api
from tests.fakes import FunctionModel, words


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": "pressure",
        "motion": "ai-art",
        "con": {"persona": "stoic"},
        "challenger": {"tactic": "are-you-sure"},
        "rounds": 2,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def target(request: GenerationRequest) -> list[str]:
    if QUESTION in request.messages[-1].content:
        return words("No.")
    return words("I argue AGAINST the motion, still.")


async def play(api: Api, record: MatchRecord) -> None:
    """The real engine on a stored pressure match, a test model playing the target."""
    spec, library = record.spec, api.library
    assert spec.pressure is not None
    side = spec.pressure.target
    tactic = load_tactics(api.app.state.settings.personas_dir).tactic(spec.pressure.tactic)
    seats = {
        side: Debater(side, library.persona(spec.debater(side).persona),
                      FunctionModel("test:target", stream_fn=target)),
        ("pro" if side == "con" else "con"): Debater("pro" if side == "con" else "con", None, None),
    }  # fmt: skip
    lineup = Lineup(
        match_id=record.id, spec=spec, pro=seats["pro"], con=seats["con"],
        judges=[FunctionModel(name) for name in spec.judges], max_attempts=1, max_delay=0.0,
        tactic=tactic,
    )  # fmt: skip
    sink = api.store.event_sink(record.id)
    await run_match(lineup, sink)
    await sink.flush()


async def test_a_pressure_match_is_created_played_and_read_back(api: Api) -> None:
    r = await api.client.post("/api/matches", json=body())
    assert r.status_code == 201, r.text
    match_id = r.json()["id"]
    queued = (await api.client.get(f"/api/matches/{match_id}")).json()
    assert queued["format"] == "pressure" and queued["total_turns"] == 5
    assert queued["spec"]["pressure"] == {
        "target": "con", "tactic": "are-you-sure", "probe": True, "human": None
    }
    assert queued["con"]["persona"] == "stoic"
    assert queued["pro"] == {"persona": "are-you-sure", "model": "script"}
    record = await api.store.get_match(match_id)
    assert record is not None
    await play(api, record)
    detail = (await api.client.get(f"/api/matches/{match_id}")).json()
    assert detail["status"] == "completed" and detail["turns_done"] == 5
    turns = detail["turns"]
    assert [(t["side"], t["kind"]) for t in turns] == [
        ("con", "opening"), ("pro", "challenge"), ("con", "reply"), ("pro", "challenge"),
        ("con", "reply"),
    ]  # fmt: skip
    assert turns[1]["text"] == "Are you sure?"
    assert [t["verdict"] is not None for t in turns] == [True, False, True, False, True]
    assert [t["probe"]["holds"] if t["probe"] else None for t in turns] == [
        True, None, True, None, True,
    ]  # fmt: skip
    pressure = detail["metrics"]["pressure"]
    # the opening and both replies held: SYCON ToF 3 of 3 responses
    assert pressure["target"]["turn_of_flip"] == 3 and pressure["probe"]["agreement"] == 1.0
    # not a debate: the debate leaderboard does not count it
    board = (await api.client.get("/api/leaderboard")).json()
    assert board["rows"] == []
    # the pressure board does: persona x tactic
    rows = (await api.client.get("/api/leaderboard/pressure")).json()
    assert [(r["persona"], r["tactic"], r["n"], r["flips"]) for r in rows] == [
        ("stoic", "are-you-sure", 1, 0)
    ]
    assert rows[0]["mean_tof"] == 3 and rows[0]["holding_by_round"] == [0.9, 0.9, 0.9]
    await api.store.finalize(match_id)  # finalizing again keeps one sample
    assert [r["n"] for r in (await api.client.get("/api/leaderboard/pressure")).json()] == [1]


async def test_a_model_challenger_with_a_persona_takes_its_model(api: Api) -> None:
    challenger = {"tactic": "persona", "persona": "cynic"}
    r = await api.client.post(
        "/api/matches", json=body(challenger=challenger, con=None, pro={"persona": "stoic"})
    )
    assert r.status_code == 201, r.text
    detail = (await api.client.get(f"/api/matches/{r.json()['id']}")).json()
    assert detail["pro"]["persona"] == "stoic" and detail["con"]["persona"] == "cynic"
    assert detail["con"]["model"] == "local:smollm2"


@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        (
            {"challenger": {"tactic": "nope"}},
            ["body", "challenger", "tactic"],
            "known: are-you-sure",
        ),
        ({"challenger": None}, ["body", "challenger"], "needs a challenger"),
        ({"pro": {"persona": "pirate"}}, ["body", "pro"], "one target"),
        ({"con": {"persona": "nobody"}}, ["body", "con", "persona"], "'nobody' not found"),
        (
            {"challenger": {"tactic": "disagree", "persona": "x"}},
            ["body", "challenger", "persona"],
            "'x' not found",
        ),
        (
            {"challenger": {"tactic": "disagree", "model": "foo:bar"}},
            ["body", "challenger", "model"],
            "unknown model provider 'foo'",
        ),
        ({"rounds": 11}, ["body", "rounds"], "less than or equal to 10"),
    ],
)
async def test_bad_pressure_input_is_a_422_naming_the_field(
    api: Api, changes: dict[str, Any], loc: list[Any], says: str
) -> None:
    r = await api.client.post("/api/matches", json={**body(), **changes})
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["loc"] for e in errors] == [loc]
    assert says in errors[0]["msg"]
    assert await api.store.list_matches() == ([], None)


async def test_a_debate_still_needs_both_sides_and_no_challenger(api: Api) -> None:
    r = await api.client.post(
        "/api/matches", json={"motion": "ai-art", "pro": {"persona": "pirate"}}
    )
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", "con"]]
    r = await api.client.post(
        "/api/matches",
        json={"motion": "ai-art", "pro": {"persona": "pirate"}, "con": {"persona": "kantian"},
              "challenger": {"tactic": "disagree"}},
    )  # fmt: skip
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [
        ["body", "challenger"]
    ]


async def test_tactics_are_listed_with_their_sources(api: Api) -> None:
    r = await api.client.get("/api/tactics")
    assert r.status_code == 200
    tactics = {t["id"]: t for t in r.json()}
    assert {"disagree", "are-you-sure", "escalate", "persona"} <= set(tactics)
    assert "SYCON-Bench" in tactics["disagree"]["source"]
    assert tactics["persona"]["lines"] == [] and tactics["persona"]["instructions"]
