"""Style controls: hedging markers counted on hand-checked sentences, and the style-controlled fit
against numpy's lstsq on synthetic data whose true coefficients are known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from arena.stats.lsmeans import codes, fit_lsmeans
from arena.stats.ratings import TurnScore, adjusted_holding
from arena.stats.style import (
    HEDGES,
    hedge_count,
    hedges_per_100,
    style_controlled,
    word_count,
)

PERSONA = {"firm": 0.2, "mid": 0.0, "soft": -0.15, "meek": -0.1}
OPPONENT = {"firm": -0.1, "mid": 0.0, "soft": 0.05, "meek": 0.1}
MOTION = {"easy": 0.1, "mid": 0.0, "hard": -0.1}
SIDE = {"pro": 0.04, "con": -0.04}
KINDS = ("opening", "opening", "rebuttal", "rebuttal", "closing", "closing")
# the truth: 100 more words cost 0.06 of holding, one more hedge per 100 words 0.02
B_LENGTH, B_HEDGING = -0.06, -0.02
# how long and how hedged each persona tends to be: style is correlated with persona
WORDS = {"firm": 60, "mid": 110, "soft": 160, "meek": 140}
HEDGING = {"firm": 0.5, "mid": 2.0, "soft": 5.0, "meek": 3.0}


def tournament(noise: float, seed: int = 1) -> list[TurnScore]:
    rng = np.random.default_rng(seed)
    turns: list[TurnScore] = []
    n = itertools.count()
    for a, b in itertools.combinations(sorted(PERSONA), 2):
        for motion in MOTION:
            for pro, con in ((a, b), (b, a)):
                match = f"m{next(n)}"
                shock = rng.normal(0, noise)
                for turn, kind in enumerate(KINDS):
                    side = "pro" if turn % 2 == 0 else "con"
                    me, them = (pro, con) if side == "pro" else (con, pro)
                    words = int(WORDS[me] + rng.integers(-40, 41))
                    hedges = max(0.0, HEDGING[me] + float(rng.normal(0, 1.5)))
                    y = (0.5 + PERSONA[me] + OPPONENT[them] + MOTION[motion] + SIDE[side]
                         + B_LENGTH * words / 100 + B_HEDGING * hedges)  # fmt: skip
                    y += shock + rng.normal(0, noise)
                    turns.append(TurnScore(match, me, them, motion, side, kind, y, words, hedges))
    return turns


def factors(turns: list[TurnScore]) -> list[list[str]]:
    return [
        [t.persona for t in turns],
        [t.opponent for t in turns],
        [t.motion for t in turns],
        [t.side for t in turns],
        [t.kind for t in turns],
    ]


def design(turns: list[TurnScore]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The explicit design matrix: one-hot columns per factor, then the centred covariates."""
    blocks, sizes = [], []
    for values in factors(turns):
        levels, at = codes(values)
        blocks.append(np.eye(len(levels))[at])
        sizes.append(len(levels))
    z = np.array([[(t.words or 0) / 100, t.hedges or 0.0] for t in turns])
    x = np.hstack([*blocks, z - z.mean(axis=0)])
    personas = codes([t.persona for t in turns])[0]
    contrast = np.zeros((len(personas), x.shape[1]))
    contrast[:, : len(personas)] = np.eye(len(personas))
    offset = len(personas)
    for size in sizes[1:]:
        contrast[:, offset : offset + size] = 1 / size
        offset += size
    return x, np.array([t.holding for t in turns]), contrast, personas


def test_hedges_are_counted_as_whole_words_case_free() -> None:
    text = "Perhaps you are right, and I concede   that; I\u2019m not sure. Maybe-not. Perhapsno."
    assert hedge_count(text) == 4  # perhaps, i concede, i'm not sure, maybe
    assert hedge_count("On the other hand, to some extent it depends.") == 3
    assert hedge_count("I argue for the motion and hold it firmly.") == 0
    assert word_count(text) == 14
    assert word_count("") == 0 and hedges_per_100(3, 0) == 0.0
    assert hedges_per_100(3, 150) == pytest.approx(2.0)
    assert len(set(HEDGES)) == len(HEDGES) and all(h == h.lower() for h in HEDGES)


def test_the_fit_equals_lstsq_on_the_explicit_design() -> None:
    turns = tournament(noise=0.03)
    x, y, contrast, personas = design(turns)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    fit = fit_lsmeans(
        factors(turns),
        y.tolist(),
        [t.match for t in turns],
        x[:, -2:],
        resamples=0,
        seed=0,
    )
    assert fit.levels == personas
    # the covariates' coefficients and the personas' means are estimable: the same in any
    # least-squares solution, lstsq's minimum-norm one included
    assert fit.coefficients == pytest.approx(beta[-2:], abs=1e-8)
    assert fit.means == pytest.approx(contrast @ beta, abs=1e-8)


def test_without_noise_the_true_coefficients_come_back_exactly() -> None:
    style = style_controlled(tournament(noise=0.0), resamples=50)
    assert style is not None
    length, hedging = style.coefficients
    assert length.name == "length" and length.estimate == pytest.approx(B_LENGTH, abs=1e-4)
    assert hedging.name == "hedging" and hedging.estimate == pytest.approx(B_HEDGING, abs=1e-4)


def test_with_noise_the_intervals_cover_the_true_coefficients() -> None:
    style = style_controlled(tournament(noise=0.02, seed=3), resamples=300)
    assert style is not None and style.turns == 6 * 3 * 2 * len(
        KINDS
    )  # pairs x motions x sides x turns
    for c, truth in zip(style.coefficients, (B_LENGTH, B_HEDGING), strict=True):
        assert c.ci is not None and c.ci[0] <= truth <= c.ci[1], c
        assert c.estimate is not None and abs(c.estimate - truth) < 0.02


def test_style_control_moves_personas_whose_style_the_judge_rewards() -> None:
    # soft writes long, hedged turns: the plain fit charges it for its style, the controlled one
    # compares personas at the same length and hedging (the true persona effects)
    turns = tournament(noise=0.0)
    plain = {r.persona: r.estimate for r in adjusted_holding(turns, resamples=20)}
    style = style_controlled(turns, resamples=20)
    assert style is not None
    controlled = {r.persona: r.estimate for r in style.ratings}
    true_gap = PERSONA["firm"] - PERSONA["soft"]
    assert plain["firm"] - plain["soft"] > true_gap + 0.05
    assert controlled["firm"] - controlled["soft"] == pytest.approx(true_gap, abs=1e-6)


def test_a_constant_style_leaves_its_coefficient_unestimated() -> None:
    turns = [
        TurnScore(t.match, t.persona, t.opponent, t.motion, t.side, t.kind, t.holding, 12, 0.0)
        for t in tournament(noise=0.01)
    ]
    style = style_controlled(turns, resamples=20)
    assert style is not None
    assert [c.estimate for c in style.coefficients] == [None, None]
    assert style.coefficients[0].mean == 12.0
    plain = {r.persona: r.estimate for r in adjusted_holding(turns, resamples=20)}
    assert {r.persona: r.estimate for r in style.ratings} == pytest.approx(plain)
    unmeasured = [TurnScore(t.match, t.persona, t.opponent, t.motion, t.side, t.kind, t.holding)
                  for t in turns]  # fmt: skip
    assert style_controlled(unmeasured) is None
