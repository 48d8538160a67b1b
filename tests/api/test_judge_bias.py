"""Judge bias controls through the API: a tournament judged by a panel of two fake judges, one
of them position-biased, with judge_swap on; its panel agreement and each judge's position-swap
figure on GET /api/tournaments/{id}, in the export and on GET /api/judges."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import krippendorff
import numpy as np
import pytest

from arena.config import Settings
from arena.tournaments.export import snapshot
from tests.api.conftest import MakeApi
from tests.api.test_tournaments import finished
from tests.fakes import FakeModels, FunctionModel, firm_judge, position_biased_judge

JUDGES = {"test:fair": firm_judge, "test:biased": position_biased_judge}
BODY: dict[str, Any] = {
    "personas": ["pirate", "stoic", "assistant"],
    "motions": ["four-day-week"],
    "rounds": 1,
    "model": "test:debater",
    "judges": list(JUDGES),
    "judge_swap": True,
    "concurrency": 6,
}


def models() -> FakeModels:
    return FakeModels(
        make=lambda name: FunctionModel(name, structured_fn=JUDGES.get(name, firm_judge))
    )


@pytest.mark.slow
async def test_a_swapped_tournament_reports_agreement_and_position_bias(
    make_api: MakeApi,
) -> None:
    api = await make_api(run_worker=True, models=models(), worker_concurrency=6)
    created = (await api.client.post("/api/tournaments", json=BODY)).json()
    await finished(api, created["id"])
    detail = (await api.client.get(f"/api/tournaments/{created['id']}")).json()
    assert detail["status"] == "completed" and detail["spec"]["judge_swap"] is True

    # 6 matches x 6 judged turns; PRO speaks first (Debater 1), so the biased judge gives PRO's
    # turns 0.9 and CON's 0.4, and the other way round when the positions are swapped
    panel = detail["judge_panel"]
    assert panel["judges"] == ["test:fair", "test:biased"] and panel["turns"] == 36
    swap = {s["judge"]: s for s in panel["swap"]}
    assert (swap["test:fair"]["pairs"], swap["test:fair"]["inconsistent"]) == (36, 0)
    assert (swap["test:biased"]["pairs"], swap["test:biased"]["inconsistent"]) == (36, 36)
    assert swap["test:biased"]["rate"] == 1.0 and swap["test:biased"]["ci"][0] > 0.9
    assert swap["test:fair"]["label"].startswith("inconsistent on 0% of 36 swapped turns")
    (pair,) = panel["pairs"]
    assert pair["turns"] == 36 and pair["stance_agreement"] == 1.0
    assert pair["mean_abs_holding_diff"] == pytest.approx(0.25)  # 0.5 on half the turns
    fair, biased = [0.9] * 36, [0.9, 0.4] * 18
    reference = krippendorff.alpha(np.array([fair, biased]), level_of_measurement="interval")
    assert pair["holding_alpha"] == panel["holding_alpha"]
    assert panel["holding_alpha"] == pytest.approx(reference, abs=1e-4)
    assert panel["holding_alpha"] < 0.2  # the judges disagree measurably
    assert panel["stance_kappa"] == 1.0  # ... but never on the stance

    # the control persona (assistant) is pinned at 1000 on the held-firmer scale
    board = detail["leaderboard"]
    assert board["anchor"] == "assistant"
    assert "assistant pinned at 1000" in board["held_firmer_scale"]
    assistant = next(r for r in board["held_firmer"] if r["persona"] == "assistant")
    assert assistant["estimate"] == 1000.0 and assistant["ci"] == [1000.0, 1000.0]
    # every turn of the fake debaters has the same length and no hedge: nothing to estimate
    style = board["style"]
    assert style["turns"] == 36
    assert [c["estimate"] for c in style["coefficients"]] == [None, None]
    assert {r["persona"] for r in style["ratings"]} == {"pirate", "stoic", "assistant"}

    judges = {j["judge"]: j for j in (await api.client.get("/api/judges")).json()}
    assert judges["test:biased"]["swap"]["pairs"] == 36
    assert judges["test:biased"]["swap"]["inconsistent"] == 36
    assert judges["test:biased"]["swap_label"].startswith("inconsistent on 100% of 36")
    assert judges["test:fair"]["swap"]["rate"] == 0.0

    snap = await snapshot(api.store, created["id"], resamples=50)
    assert snap is not None
    files = snap.files()
    doc = json.loads(files["tournament.json"])
    assert doc["judge_panel"]["holding_alpha"] == panel["holding_alpha"]
    assert doc["elo_anchor"] == "assistant"
    report = files["report.md"]
    assert "## Judges: agreement and position bias" in report
    assert "| test:biased | 36 | 36 | 100.0% [" in report
    assert "| test:fair vs test:biased | 36 | 100% | 1.000 |" in report
    board_csv = list(csv.DictReader(io.StringIO(files["leaderboard.csv"])))
    assert {r["elo_anchor"] for r in board_csv} == {"assistant"}
    assert all(r["style_rank"] and r["style_adjusted_holding"] for r in board_csv)
    turns = list(csv.DictReader(io.StringIO(files["turns.csv"])))
    assert {t["words"] for t in turns} == {"11"} and {t["hedges"] for t in turns} == {"0.0"}


async def test_judge_swap_in_the_match_body_and_its_default(
    make_api: MakeApi, settings: Settings
) -> None:
    body = {"motion": "four-day-week", "pro": {"persona": "pirate"}, "con": {"persona": "stoic"},
            "rounds": 1, "judge": "test:fair"}  # fmt: skip
    api = await make_api(models=models())
    plain = (await api.client.post("/api/matches", json=body)).json()
    swapped = (await api.client.post("/api/matches", json={**body, "judge_swap": True})).json()
    for created, expected in ((plain, False), (swapped, True)):
        record = await api.store.get_match(created["id"])
        assert record is not None and record.spec.judge_swap is expected
    on = await make_api(models=models(), judge_swap=True)
    default = (await on.client.post("/api/matches", json=body)).json()
    off = (await on.client.post("/api/matches", json={**body, "judge_swap": False})).json()
    assert (await on.store.get_match(default["id"])).spec.judge_swap is True  # type: ignore[union-attr]
    assert (await on.store.get_match(off["id"])).spec.judge_swap is False  # type: ignore[union-attr]
    bad = await api.client.post("/api/matches", json={**body, "judge_swap": "sometimes"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "judge_swap"]
