"""A tournament's judges: panel agreement against the reference implementations, and each
judge's position-swap figure, from the judges' own verdicts kept on each turn."""

from __future__ import annotations

from pathlib import Path

import krippendorff
import numpy as np
import pytest

from arena.config import Settings
from arena.domain.tournaments import JudgeScore, MatchResult, TournamentSpec, TurnRow
from arena.personas.library import load_library
from arena.stats.evaluation import cohen_kappa
from arena.tournaments.estimate import estimate
from arena.tournaments.judges import judge_panel, panel_md
from arena.tournaments.spec import expand, match_spec, resolve

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "personas"

# per turn: (stance, holding) of judges a, b, c; None: that judge gave no verdict
TURNS = [
    (("pro", 0.9), ("pro", 0.8), ("pro", 0.9)),
    (("con", 0.7), ("neutral", 0.5), ("con", 0.6)),
    (("pro", 0.6), ("pro", 0.6), None),
    (("con", 0.9), ("con", 0.3), ("neutral", 0.4)),
    (("pro", 0.2), ("con", 0.1), ("con", 0.3)),
    (("neutral", 0.5), ("neutral", 0.5), ("pro", 0.7)),
]


def result(turns: list[TurnRow], status: str = "completed") -> MatchResult:
    return MatchResult(tournament="t", match="m1", slot=0, motion="x", pro="a", con="b",
                       pro_model="m", con_model="m", judge="a+b+c", status=status,
                       turns=turns)  # fmt: skip


def row(i: int, judges: list[JudgeScore], role: str = "") -> TurnRow:
    return TurnRow(tournament="t", match="m1", motion="x", side="pro", persona="a", opponent="b",
                   model="m", judge="a+b+c", turn=i, kind="opening", stance="pro", holding=0.5,
                   engagement=0.5, concessions=0, tokens=1, scored=True, role=role,
                   judges=judges)  # fmt: skip


def panel_rows() -> list[TurnRow]:
    rows = []
    for i, scores in enumerate(TURNS):
        judges = [
            JudgeScore(judge=name, stance=s[0], holding=s[1])
            for name, s in zip("abc", scores, strict=True)
            if s is not None
        ]
        rows.append(row(i, judges))
    return rows


def test_panel_agreement_matches_the_reference_implementations() -> None:
    extra = [row(9, [JudgeScore(judge="a", stance="pro", holding=0.1)], role="challenger")]
    panel = judge_panel(["a", "b", "c"], [result(panel_rows() + extra)])
    assert panel.judges == ["a", "b", "c"] and panel.turns == 6  # the challenger's is not rated
    holdings = np.array([[np.nan if s is None else s[1] for s in t] for t in TURNS]).T
    alpha = krippendorff.alpha(reliability_data=holdings, level_of_measurement="interval")
    assert panel.holding_alpha == pytest.approx(alpha, abs=1e-4)
    pairs = {(p.a, p.b): p for p in panel.pairs}
    ab = pairs[("a", "b")]
    assert ab.turns == 6 and ab.stance_agreement == pytest.approx(round(4 / 6, 4))
    a_stances, b_stances = [t[0][0] for t in TURNS], [t[1][0] for t in TURNS]
    assert ab.stance_kappa == pytest.approx(cohen_kappa(a_stances, b_stances), abs=1e-4)
    pair_alpha = krippendorff.alpha(reliability_data=holdings[:2], level_of_measurement="interval")
    assert ab.holding_alpha == pytest.approx(pair_alpha, abs=1e-4)
    assert ab.mean_abs_holding_diff == pytest.approx((0.1 + 0.2 + 0 + 0.6 + 0.1 + 0) / 6, abs=1e-4)
    assert pairs[("a", "c")].turns == 5  # c gave no verdict on turn 2
    # Fleiss' kappa needs every judge on a turn: the 5 turns all three scored
    assert panel.stance_kappa is not None and -1 <= panel.stance_kappa < 0.5
    # no match was swapped: every judge is listed as not swap-tested
    assert [s.label for s in panel.swap] == ["not swap-tested"] * 3


def test_each_judges_swap_figure_counts_pairs_and_unscored() -> None:
    def scores(consistent: bool | None) -> list[JudgeScore]:
        return [JudgeScore(judge="a", stance="pro", holding=0.8, consistent=True, swapped=True),
                JudgeScore(judge="b", stance="pro", holding=0.8, consistent=consistent,
                           swapped=True)]  # fmt: skip

    turns = [row(0, scores(False)), row(1, scores(True)), row(2, scores(None))]
    turns.append(row(3, scores(False)))
    failed = result([row(4, scores(False))], status="failed")  # left out: not completed
    panel = judge_panel(["a", "b"], [result(turns), failed])
    a, b = panel.swap
    assert (a.judge, a.pairs, a.inconsistent, a.rate) == ("a", 4, 0, 0.0)
    assert (b.judge, b.pairs, b.inconsistent, b.unscored) == ("b", 3, 2, 1)
    assert b.rate == pytest.approx(0.6667) and b.ci is not None and b.ci[0] < 0.6667 < b.ci[1]
    text = "\n".join(panel_md(panel))
    assert "| b | 3 | 2 | 66.7% [" in text and "| 1 |" in text
    assert "more than 0.2" in text


def test_one_judge_has_no_panel_agreement() -> None:
    only = [row(0, [JudgeScore(judge="a", stance="pro", holding=0.8)])]
    panel = judge_panel(["a"], [result(only)])
    assert panel.holding_alpha is None and panel.stance_kappa is None and panel.pairs == []
    text = "\n".join(panel_md(panel))
    assert "One judge: no panel agreement" in text and "Position swap not measured" in text
    assert judge_panel(["a"], []).turns == 0


def test_judge_swap_defaults_to_the_setting_and_joins_the_identity_only_when_on() -> None:
    library = load_library(LIBRARY_DIR)
    base = TournamentSpec(personas=["pirate", "stoic"], motions=["four-day-week"], judges=["j"])
    on = Settings(_env_file=None, judge_swap=True)
    off = Settings(_env_file=None)
    swapped, plain = resolve(base, library, on), resolve(base, library, off)
    assert swapped.judge_swap is True and plain.judge_swap is False
    assert resolve(base.model_copy(update={"judge_swap": False}), library, on).judge_swap is False
    # a tournament started before the swap existed keeps its identity (so a rerun resumes it)
    before = plain.model_copy(update={"judge_swap": None})
    assert plain.identity() == before.identity() != swapped.identity()
    slot = expand(swapped)[0]
    assert match_spec(swapped, slot, library).judge_swap is True
    assert match_spec(plain, slot, library).judge_swap is False


def test_the_estimate_counts_the_swapped_judge_calls() -> None:
    base = TournamentSpec(personas=["pirate", "stoic"], motions=["four-day-week"],
                          judges=["j"], models={"pirate": "m", "stoic": "m"})  # fmt: skip
    plain = {m.model: m for m in estimate(base).models}
    swapped = {m.model: m for m in estimate(base.model_copy(update={"judge_swap": True})).models}
    assert swapped["j"].tokens_in == 2 * plain["j"].tokens_in
    assert swapped["j"].tokens_out == 2 * plain["j"].tokens_out
    assert swapped["m"].tokens_in == plain["m"].tokens_in
