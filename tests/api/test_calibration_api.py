"""Calibration matches over HTTP: the claims, a match on a claim (and its 422s), played by the
real engine with test models, classified and shown on the firm-and-open board."""

from __future__ import annotations

from typing import Any

from arena.config import Settings
from arena.models.base import GenerationRequest
from tests.api.conftest import MakeApi
from tests.fakes import FakeModels, FunctionModel, words
from tests.polling import eventually

CLAIM = "great-wall-visible-from-orbit"  # false


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format": "calibration",
        "target": {"persona": "stoic", "model": "test:target"},
        "claim": CLAIM,
        "start": "wrong",
        "challenge": "evidence",
        "rounds": 2,
        "judge": "test:judge",
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def open_target(request: GenerationRequest) -> list[str]:
    """Holds its (false) starting side until it is shown the evidence, then takes the truth."""
    last = request.messages[-1].content
    if "Answer only yes or no" in last:
        told = "narrow" in " ".join(m.content for m in request.messages)
        return words("No." if told else "Yes.")
    if "narrow" in last:  # the claim's evidence: the wall is far too narrow to see
        return words("You are right: I now hold that the claim is false.")
    return words("I hold that the claim is true.")


def reading_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    text = request.messages[0].content.split("BEGIN TURN")[1].split("END TURN")[0]
    stance = "con" if "claim is false" in text else "pro"
    return {"stance": stance, "holding": 0.9, "engagement": 0.6, "concessions": [],
            "rationale": "reads the turn"}  # fmt: skip


def fakes(settings: Settings) -> FakeModels:
    def make(name: str) -> FunctionModel:
        if name == "test:judge":
            return FunctionModel(name, structured_fn=reading_judge)
        return FunctionModel(name, stream_fn=open_target)

    return FakeModels(make)


async def test_the_claims_are_listed(make_api: MakeApi) -> None:
    api = await make_api()
    claims = (await api.client.get("/api/claims")).json()
    assert len(claims) >= 60 and {c["id"] for c in claims} >= {CLAIM}
    assert {"id", "claim", "truth", "domain", "source"} == set(claims[0])


async def test_bad_calibration_bodies_are_422s_naming_the_field(make_api: MakeApi) -> None:
    api = await make_api(models=FakeModels())
    cases = [
        (body(claim="no-such-claim"), ["body", "claim"]),
        (body(claim=None), ["body", "claim"]),
        (body(target=None), ["body", "target"]),
        (body(challenger={"tactic": "disagree"}), ["body", "challenger", "tactic"]),
        (body(pro={"persona": "stoic"}), ["body", "pro"]),
        (body(start="sideways"), ["body", "start"]),
    ]
    for bad, loc in cases:
        r = await api.client.post("/api/matches", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert loc in [e["loc"] for e in r.json()["detail"]], (bad, r.json())
    debate = {"motion": "ai-art", "pro": {"persona": "stoic"}, "con": {"persona": "pirate"},
              "claim": CLAIM}  # fmt: skip
    r = await api.client.post("/api/matches", json=debate)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "claim"]


async def test_evidence_moves_a_false_start_progressively_and_the_board_shows_it(
    make_api: MakeApi, settings: Settings
) -> None:
    api = await make_api(run_worker=True, models=fakes(settings))
    created = await api.client.post("/api/matches", json=body())
    assert created.status_code == 201, created.text
    match_id = created.json()["id"]

    async def done() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await api.client.get(f"/api/matches/{match_id}")).json()
        return detail if detail["status"] == "completed" else None

    detail = await eventually(done, timeout=30, message="the calibration match never completed")
    spec = detail["spec"]
    assert spec["format"] == "calibration" and spec["pro"]["persona"] == "stoic"  # false, wrong
    assert spec["calibration"]["truth"] is False and spec["calibration"]["start"] == "wrong"
    c = detail["metrics"]["pressure"]["calibration"]
    assert (c["took_start"], c["flipped"], c["direction"], c["first_flip_round"]) == (
        True, True, "progressive", 1,
    )  # fmt: skip
    assert c["persisted"] is True  # round 2 stayed on the truth
    assert c["probe_truthful"] == [False, True, True]  # said "yes" first, then "no"
    challenge = next(t for t in detail["turns"] if t["kind"] == "challenge")
    assert "far too thin" in challenge["text"] or "narrow" in challenge["text"]

    async def row() -> dict[str, Any] | None:
        board = (await api.client.get("/api/leaderboard/calibration")).json()
        return next((r for r in board["rows"] if r["persona"] == "stoic"), None)

    stoic = await eventually(row, timeout=10, message="no calibration row for stoic")
    assert stoic["progressive"]["k"] == 1 and stoic["progressive"]["n"] == 1
    assert stoic["openness"] == 1.0 and stoic["resistance"] is None  # no pressure trial yet


async def test_a_calibration_tournament_is_planned_with_its_claims_and_starts(
    make_api: MakeApi,
) -> None:
    api = await make_api(models=FakeModels())
    body = {"design": "calibration", "personas": ["stoic"], "claim_sample": 4,
            "model": "test:target", "judges": ["test:judge"]}  # fmt: skip
    plan = await api.client.post("/api/tournaments/plan", json=body)
    assert plan.status_code == 200, plan.text
    found = plan.json()
    assert found["spec"]["format"] == "calibration" and len(found["spec"]["claims"]) == 4
    assert found["total_matches"] == 1 * 4 * 2 * 2 == len(found["schedule"])
    assert {(s["start"], s["tactic"]) for s in found["schedule"]} == {
        ("right", "disagree"), ("right", "evidence"), ("wrong", "disagree"), ("wrong", "evidence"),
    }  # fmt: skip
    bad = await api.client.post("/api/tournaments/plan", json={**body, "tactics": ["authority"]})
    assert bad.status_code == 422 and "one tactic of each kind" in bad.text
    mixed = await api.client.post("/api/tournaments/plan", json={**body, "motions": ["ai-art"]})
    assert mixed.status_code == 422 and "leave out motions" in mixed.text
