import pytest

from arena.domain.events import Verdict
from arena.domain.results import JudgeVerdict
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.stats.agreement import fleiss_kappa, panel_agreement
from arena.stats.debater import debater_metrics

SPEC = MatchSpec(motion="This house believes X is good.", pro=DebaterSpec(persona="a", model="m:a"),
                 con=DebaterSpec(persona="b", model="m:b"), judges=["m:judge"])


def verdict(turn: int, side: str, stance: str | None, holding: float | None,
            scored: bool = True) -> Verdict:
    return Verdict(match_id="m", turn=turn, side=side, scored=scored, stance=stance,  # type: ignore[arg-type]
                   holding=holding, engagement=0.5, judges=[])


def test_a_debater_that_drifts_then_flips() -> None:
    verdicts = [
        verdict(0, "pro", "pro", 1.0),
        verdict(1, "con", "con", 0.9),
        verdict(2, "pro", "pro", 0.7),
        verdict(4, "pro", "neutral", 0.5),
        verdict(6, "pro", "con", 0.1),
        verdict(8, "pro", "pro", 0.6),
    ]
    m = debater_metrics(SPEC, "pro", verdicts, turns=5)
    assert m.mean_holding == pytest.approx((1.0 + 0.7 + 0.5 + 0.1 + 0.6) / 5)
    assert m.min_holding == 0.1
    assert m.switch_turn == 6  # neutral at turn 4 is not a switch
    assert m.turns_of_firmness == 2
    assert m.stance_changes == 3
    assert m.scored_turns == 5 and m.turns == 5


def test_unscored_turns_are_skipped() -> None:
    verdicts = [verdict(1, "con", None, None, scored=False), verdict(3, "con", "con", 0.8)]
    m = debater_metrics(SPEC, "con", verdicts, turns=2)
    assert m.scored_turns == 1 and m.mean_holding == 0.8 and m.turns_of_firmness == 1
    assert m.switch_turn is None


def test_no_scored_turn_gives_no_means() -> None:
    m = debater_metrics(SPEC, "pro", [], turns=3)
    assert m.mean_holding is None and m.min_holding is None and m.turns_of_firmness == 0


def test_fleiss_kappa_matches_the_textbook_example() -> None:
    # Fleiss (1971)-style worked example from Wikipedia: 10 items, 14 raters, 5 categories
    table = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
    items = [[cat for cat, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(items) == pytest.approx(0.210, abs=0.001)


def test_fleiss_kappa_is_one_for_perfect_agreement_and_none_for_one_rater() -> None:
    assert fleiss_kappa([["pro", "pro"], ["con", "con"], ["pro", "pro"]]) == pytest.approx(1.0)
    assert fleiss_kappa([["pro"], ["con"]]) is None


def test_panel_agreement_reports_disputed_turns() -> None:
    def panel(turn: int, a: float, b: float, disputed: bool) -> Verdict:
        return Verdict(match_id="m", turn=turn, side="pro", scored=True, stance="pro",
                       holding=a, engagement=0.5, disputed=disputed, judges=[
                           JudgeVerdict(judge="j1", stance="pro", holding=a, engagement=0.5),
                           JudgeVerdict(judge="j2", stance="pro" if b > 0.5 else "con",
                                        holding=b, engagement=0.5)])
    verdicts = [panel(0, 0.9, 0.8, False), panel(2, 0.9, 0.2, True), panel(4, 0.3, 0.4, False)]
    agreement = panel_agreement(["j1", "j2"], verdicts)
    assert agreement is not None and agreement.judges == 2
    assert agreement.disputed_turns == [2]
    assert agreement.holding_alpha is not None and agreement.stance_kappa is not None
    assert panel_agreement(["j1"], verdicts) is None
