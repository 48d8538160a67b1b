"""Crowd-vote statistics on hand-computed and textbook values."""

from __future__ import annotations

import pytest

from arena.crowd.votes import agreement, crowd_figures, majority, voters_alpha
from arena.domain.votes import TurnLabels, judge_label, tally


def test_tally_counts_every_label_and_ignores_unknown() -> None:
    assert tally(["holds", "holds", "switched", "nonsense"]) == {
        "holds": 2,
        "wavers": 0,
        "switched": 1,
    }


def test_majority_needs_min_votes_and_a_strict_plurality() -> None:
    assert majority({"holds": 2, "wavers": 1, "switched": 0}, min_votes=3) == "holds"
    assert majority({"holds": 2, "wavers": 0, "switched": 0}, min_votes=3) is None
    assert majority({"holds": 2, "wavers": 2, "switched": 1}, min_votes=3) is None


def test_judge_label_is_the_stance_relative_to_the_side() -> None:
    assert judge_label("pro", "pro") == "holds"
    assert judge_label("con", "pro") == "switched"
    assert judge_label("con", "neutral") == "wavers"
    assert judge_label("pro", None) is None


def test_the_voters_alpha_is_krippendorffs_nominal_alpha_of_the_counts() -> None:
    # the textbook values are in tests/stats/test_agreement.py; here, that the crowd's counts
    # reach it as units of value counts
    turns = [TurnLabels(match_id="m", turn=i, side="pro", counts=c, judges={})
             for i, c in enumerate([{"holds": 3, "wavers": 0, "switched": 0},
                                    {"holds": 0, "wavers": 0, "switched": 2}])]  # fmt: skip
    assert voters_alpha(turns) == pytest.approx(1.0)
    assert voters_alpha(turns[:1]) is None  # no variation


def _turn(i: int, counts: tuple[int, int, int], judge: str | None) -> TurnLabels:
    h, w, s = counts
    return TurnLabels(
        match_id="m",
        turn=i,
        side="pro",
        counts={"holds": h, "wavers": w, "switched": s},
        judges={"j": judge},  # type: ignore[dict-item]
        # every voter from an address of its own
        ip_counts={"holds": h, "wavers": w, "switched": s},
        ips=h + w + s,
    )


def test_agreement_against_hand_computed_values() -> None:
    turns = [
        _turn(0, (3, 0, 0), "holds"),  # crowd holds, judge holds
        _turn(1, (2, 1, 0), "holds"),  # crowd holds, judge holds
        _turn(2, (0, 1, 2), "holds"),  # crowd switched, judge holds
        _turn(3, (0, 0, 3), "switched"),  # crowd switched, judge switched
        _turn(4, (1, 1, 0), "wavers"),  # 2 votes: under min_votes, left out
        _turn(5, (2, 2, 0), "holds"),  # a tie: no crowd label, left out
        _turn(6, (3, 0, 0), None),  # judge unscored: counted, not scored
    ]
    a = agreement(turns, "j", min_votes=3)
    assert (a.turns, a.scored) == (5, 4)
    assert a.accuracy == pytest.approx(0.75)
    # gold h,h,s,s; pred h,h,h,s: po = 3/4, pe = (2*3 + 2*1)/16 = 1/2, kappa = 0.25/0.5
    assert a.kappa == pytest.approx(0.5)
    assert a.label == "agrees with spectators: 75% over 4 turns, kappa 0.50"


def test_agreement_without_votes_says_so() -> None:
    a = agreement([], "j", min_votes=3)
    assert a.accuracy is None and a.label == "no crowd votes yet"


def test_every_judge_in_one_pass_is_each_judge_alone() -> None:
    turns = [
        _turn(0, (3, 0, 0), "holds"),
        _turn(1, (0, 1, 2), "holds"),
        _turn(2, (0, 3, 0), "wavers"),
        _turn(3, (1, 1, 0), "wavers"),  # under min_votes
    ]
    turns[0].judges["k"] = "switched"
    turns[1].judges["k"] = "switched"
    turns[3].judges["only-ungolded"] = "holds"
    figures = crowd_figures(turns, min_votes=3)
    assert set(figures.judges) == {"j", "k", "only-ungolded"}
    for judge in ("j", "k", "only-ungolded", "nobody"):
        assert figures.of(judge) == agreement(turns, judge, min_votes=3)
    assert figures.alpha == voters_alpha(turns) and figures.alpha is not None
    assert (figures.of("k").turns, figures.of("k").accuracy) == (2, 0.5)
    assert figures.of("nobody").label == "no crowd votes yet"
    assert set(crowd_figures(turns, min_votes=3, judges=["k"]).judges) == {"k"}
