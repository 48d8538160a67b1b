"""The position-swap definition: consistent pairs, and a judge's inconsistency rate."""

from __future__ import annotations

import pytest

from arena.domain.events import Verdict
from arena.domain.results import JudgeVerdict, SwapVerdict
from arena.stats.intervals import wilson_interval
from arena.stats.position import SWAP_TOLERANCE, combine, swap_consistent, swap_rate, swap_tallies


def test_consistent_means_the_same_stance_and_holding_within_the_tolerance() -> None:
    assert SWAP_TOLERANCE == 0.2
    assert swap_consistent(("pro", 0.8), ("pro", 0.6)) is True  # 0.2 apart: within
    assert swap_consistent(("pro", 0.7), ("pro", 0.5)) is True  # float 0.19999...: within
    assert swap_consistent(("pro", 0.8), ("pro", 0.5)) is False
    assert swap_consistent(("pro", 0.8), ("neutral", 0.8)) is False
    assert swap_consistent(("pro", 0.8), (None, None)) is None
    assert swap_consistent(("con", 0.9), ("con", 0.4), tolerance=0.5) is True


def test_the_rate_has_n_and_a_wilson_interval() -> None:
    rate = swap_rate(240, 30, unscored=4)
    assert rate.rate == 0.125 and rate.pairs == 240 and rate.unscored == 4
    lo, hi = wilson_interval(30, 240)
    assert rate.ci == (round(lo, 4), round(hi, 4))
    assert rate.label == f"inconsistent on 12% of 240 swapped turns (95% CI {lo:.0%}-{hi:.0%})"
    assert swap_rate(0, 0).label == "not swap-tested" and swap_rate(0, 0).rate is None
    assert swap_rate(0, 0, unscored=2).label == "no scored swap pair (2 unscored)"


def _verdict(turn: int, *judges: JudgeVerdict) -> Verdict:
    return Verdict(match_id="m", turn=turn, side="pro", scored=True, stance="pro", holding=0.8,
                   engagement=0.5, judges=list(judges))  # fmt: skip


def _judged(judge: str, consistent: bool | None) -> JudgeVerdict:
    swap = SwapVerdict(position=2, stance="pro", holding=0.8, consistent=consistent)
    return JudgeVerdict(judge=judge, stance="pro", holding=0.8, swap=swap)


def test_tallies_per_judge_over_a_match_and_over_many() -> None:
    verdicts = [
        _verdict(0, _judged("a", True), _judged("b", False)),
        _verdict(1, _judged("a", None), _judged("b", False)),
        _verdict(2, _judged("a", True), JudgeVerdict(judge="b", stance="pro", holding=0.8)),
    ]
    a, b = swap_tallies(["a", "b"], verdicts)
    assert (a.judge, a.pairs, a.inconsistent, a.unscored) == ("a", 2, 0, 1)
    assert (b.judge, b.pairs, b.inconsistent, b.unscored) == ("b", 2, 2, 0)
    total = combine([a, b, a])
    assert total["a"].pairs == 4 and total["a"].unscored == 2 and total["b"].inconsistent == 2
    assert swap_tallies(["a"], [_verdict(0, JudgeVerdict(judge="a"))]) == []
    assert swap_rate(4, 0).rate == pytest.approx(0.0)
