"""The position swap: with judge_swap each judge scores every judged turn a second time with the
speaker presented in the other position; a position-biased judge shows as inconsistent."""

from __future__ import annotations

from dataclasses import replace

from arena.domain.events import Verdict
from arena.engine.lineup import Lineup
from arena.engine.match import run_match
from tests.engine_helpers import Recorder, lineup
from tests.fakes import FunctionModel, position_biased_judge, presented_as


def swapped(base: Lineup) -> Lineup:
    return replace(base, spec=base.spec.model_copy(update={"judge_swap": True}))


async def test_each_judge_is_asked_from_both_positions_and_the_pair_is_recorded() -> None:
    fair = FunctionModel("test:fair")
    biased = FunctionModel("test:biased", structured_fn=position_biased_judge)
    sink = Recorder()
    metrics = await run_match(swapped(lineup(judges=[fair, biased], rounds=1)), sink)
    verdicts = [e for e in sink.events if isinstance(e, Verdict)]
    assert len(verdicts) == 6
    # each judge was asked twice per turn, once in each position
    for judge in (fair, biased):
        positions = [presented_as(r) for r in judge.requests]
        assert len(positions) == 12 and positions.count(1) == positions.count(2) == 6
    for v in verdicts:
        by = {j.judge: j for j in v.judges}
        natural = 1 if v.side == "pro" else 2  # PRO opens: Debater 1
        fair_v, biased_v = by["test:fair"], by["test:biased"]
        assert fair_v.swap is not None and biased_v.swap is not None
        assert fair_v.swap.position == biased_v.swap.position == 3 - natural
        assert fair_v.swap.consistent is True and fair_v.swap.holding == fair_v.holding == 0.9
        assert biased_v.holding == (0.9 if natural == 1 else 0.4)
        assert biased_v.swap.holding == (0.4 if natural == 1 else 0.9)
        assert biased_v.swap.stance == biased_v.stance and biased_v.swap.consistent is False
        # the panel's figure is the natural position's: the median of 0.9 and the biased one
        assert v.holding == round((0.9 + biased_v.holding) / 2, 3)
    tallies = {t.judge: t for t in metrics.swap}
    assert (tallies["test:fair"].pairs, tallies["test:fair"].inconsistent) == (6, 0)
    assert (tallies["test:biased"].pairs, tallies["test:biased"].inconsistent) == (6, 6)


async def test_without_judge_swap_each_judge_is_asked_once() -> None:
    judge = FunctionModel("test:judge", structured_fn=position_biased_judge)
    sink = Recorder()
    metrics = await run_match(lineup(judges=[judge], rounds=1), sink)
    assert len(judge.requests) == 6 and metrics.swap == []
    verdicts = [e for e in sink.events if isinstance(e, Verdict)]
    assert all(j.swap is None for v in verdicts for j in v.judges)


async def test_an_unscored_swap_is_neither_consistent_nor_inconsistent() -> None:
    def fails_as_second(request, schema):  # type: ignore[no-untyped-def]
        return "not json" if presented_as(request) == 2 else position_biased_judge(request, schema)

    judge = FunctionModel("test:flaky", structured_fn=fails_as_second)
    metrics = await run_match(swapped(lineup(judges=[judge], rounds=1)), Recorder())
    (tally,) = metrics.swap
    # every turn has one position 2 verdict (natural or swapped), which is unscored
    assert tally.pairs == 0 and tally.unscored == 6
