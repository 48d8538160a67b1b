"""arena.stats.ratings on textbook values and on constructed data whose true effects are known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from arena.stats.ratings import (
    MatchScore,
    TurnScore,
    adjusted_holding,
    bradley_terry,
    control_comparison,
    game_score,
    held_firmer,
    shared_ranks,
)

KINDS = ("opening", "opening", "rebuttal", "rebuttal", "closing", "closing")
PERSONA = {"firm": 0.2, "mid": 0.0, "soft": -0.15, "meek": -0.1}
# a debater holds better against an agreeable opponent: the opponent effect on MY holding
OPPONENT = {"firm": -0.1, "mid": 0.0, "soft": 0.05, "meek": 0.1}
MOTION = {"easy": 0.1, "mid": 0.0, "hard": -0.1}
SIDE = {"pro": 0.04, "con": -0.04}


def truth(persona: str) -> float:
    """Least-squares mean: the persona against an average opponent on an average motion."""
    return 0.5 + PERSONA[persona] + float(np.mean(list(OPPONENT.values())))


def match_turns(
    match: str, motion: str, pro: str, con: str, rng: np.random.Generator, noise: float
) -> list[TurnScore]:
    out = []
    for turn, kind in enumerate(KINDS):
        side = "pro" if turn % 2 == 0 else "con"
        me, them = (pro, con) if side == "pro" else (con, pro)
        y = 0.5 + PERSONA[me] + OPPONENT[them] + MOTION[motion] + SIDE[side]
        out.append(TurnScore(match, me, them, motion, side, kind, y + rng.normal(0, noise)))
    return out


def round_robin(repeats: int, noise: float, seed: int = 7) -> list[TurnScore]:
    rng = np.random.default_rng(seed)
    turns: list[TurnScore] = []
    n = itertools.count()
    for _ in range(repeats):
        for a, b in itertools.combinations(sorted(PERSONA), 2):
            for motion in MOTION:
                for pro, con in ((a, b), (b, a)):
                    turns += match_turns(f"m{next(n)}", motion, pro, con, rng, noise)
    return turns


def by_persona(ratings: list) -> dict:
    return {r.persona: r for r in ratings}


def test_shared_ranks_count_entries_clearly_above() -> None:
    # b's interval overlaps both others, so it shares a rank with each; c is below a
    assert shared_ranks([(0.7, 0.9), (0.5, 0.75), (0.3, 0.6)]) == [1, 1, 2]
    assert shared_ranks([(0.8, 0.9), (0.6, 0.7), (0.1, 0.2)]) == [1, 2, 3]
    assert shared_ranks([(0.0, 1.0)] * 3) == [1, 1, 1]
    assert shared_ranks([]) == []


def test_shared_ranks_among_the_rest_of_a_ranking_equal_the_whole_rankings() -> None:
    whole = [(0.7, 0.9), (0.5, 0.75), (0.3, 0.6), (0.1, 0.2), (0.62, 0.8)]
    assert shared_ranks(whole) == [1, 1, 3, 5, 1]
    assert shared_ranks([whole[2]], among=[*whole[:2], *whole[3:]]) == [3]
    assert shared_ranks(whole[3:], among=whole[:3]) == [5, 1]


def test_without_noise_the_fit_returns_the_true_means_exactly() -> None:
    rated = by_persona(adjusted_holding(round_robin(1, noise=0.0), resamples=50))
    for persona in PERSONA:
        assert rated[persona].estimate == pytest.approx(truth(persona), abs=1e-4)
    assert rated["firm"].rank == 1


def test_with_noise_the_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    covered, total = 0, 0
    for seed in range(10):
        rated = by_persona(adjusted_holding(round_robin(1, 0.05, seed), resamples=200, seed=seed))
        for persona in PERSONA:
            lo, hi = rated[persona].ci
            covered += lo <= truth(persona) <= hi
            total += 1
            assert abs(rated[persona].estimate - truth(persona)) < 0.05
            assert hi - lo < 0.1
    assert covered >= 0.85 * total, f"{covered} of {total} intervals cover the truth"
    firm = rated["firm"]
    assert firm.matches == 3 * 3 * 2 and firm.n == 3 * firm.matches


def test_a_confounded_schedule_misleads_raw_means_not_adjusted_ones() -> None:
    # "mid" mostly meets the agreeable "meek" (+0.1 to its holding), "soft" mostly meets the
    # stubborn "firm" (-0.1): their raw means are further apart than their true effects
    rng = np.random.default_rng(3)
    turns: list[TurnScore] = []
    n = itertools.count()
    schedule = [("mid", "meek")] * 5 + [("mid", "firm")] + [("soft", "firm")] * 5
    schedule += [("soft", "meek"), ("firm", "meek")] * 2
    for a, b in schedule:
        for motion in MOTION:
            for pro, con in ((a, b), (b, a)):
                turns += match_turns(f"m{next(n)}", motion, pro, con, rng, 0.03)
    rated = by_persona(adjusted_holding(turns, resamples=300))
    mid, soft = rated["mid"], rated["soft"]
    # raw: mid's easy opponents flatter it; soft's hard ones hurt it, beyond their true gap
    true_gap = PERSONA["mid"] - PERSONA["soft"]
    assert mid.raw is not None and soft.raw is not None
    assert mid.raw - soft.raw > true_gap + 0.05
    assert mid.estimate - soft.estimate == pytest.approx(true_gap, abs=0.03)
    for r in (mid, soft):
        assert r.ci[0] <= truth(r.persona) <= r.ci[1]


def test_the_bootstrap_resamples_whole_matches() -> None:
    # every turn of a match shares one shock: per-turn noise would understate the uncertainty
    rng = np.random.default_rng(11)
    turns = round_robin(1, noise=0.0)
    shocks = {t.match: rng.normal(0, 0.1) for t in turns}
    clustered = [
        TurnScore(
            t.match, t.persona, t.opponent, t.motion, t.side, t.kind, t.holding + shocks[t.match]
        )
        for t in turns
    ]
    as_matches = by_persona(adjusted_holding(clustered, resamples=300))["firm"].ci
    # the same values as if every turn were its own match
    split = [
        TurnScore(f"{t.match}-{i}", t.persona, t.opponent, t.motion, t.side, t.kind, t.holding)
        for i, t in enumerate(clustered)
    ]
    as_turns = by_persona(adjusted_holding(split, resamples=300))["firm"].ci
    assert as_matches[1] - as_matches[0] > 1.5 * (as_turns[1] - as_turns[0])


def test_a_fixed_seed_gives_the_same_intervals() -> None:
    turns = round_robin(1, noise=0.05)
    assert adjusted_holding(turns, resamples=100) == adjusted_holding(turns, resamples=100)


def test_game_scores_count_a_near_tie_as_half() -> None:
    assert game_score(0.8, 0.5) == 1.0
    assert game_score(0.5, 0.8) == 0.0
    assert game_score(0.70, 0.75) == 0.5
    assert game_score(0.70, 0.66) == 0.5


def test_bradley_terry_matches_the_textbook_odds() -> None:
    # a beats b three times in four: odds 3, so a - b = 400 log10(3) = 190.8 Elo, centred on 1000
    # (the maximum-likelihood fit; the prior shrinks so few games toward the average)
    games = [MatchScore(f"g{i}", "m", "a", "b", 0.9, 0.3) for i in range(3)]
    games.append(MatchScore("g3", "m", "a", "b", 0.3, 0.9))
    rated = by_persona(held_firmer(games, prior_sd=None))
    half = 200 * math.log10(3)
    assert rated["a"].estimate == pytest.approx(1000 + half, abs=0.5)
    assert rated["b"].estimate == pytest.approx(1000 - half, abs=0.5)
    assert rated["a"].raw == 0.75 and rated["a"].matches == 4


def test_bradley_terry_ties_count_half_and_recover_true_strengths() -> None:
    ties = [MatchScore(f"t{i}", "m", "a", "b", 0.8, 0.8) for i in range(4)]
    assert {r.estimate for r in held_firmer(ties)} == {1000.0}
    rng = np.random.default_rng(5)
    strength = {"x": 1.0, "y": 0.0, "z": -1.0}
    games = []
    for i in range(600):
        a, b = rng.choice(list(strength), size=2, replace=False)
        p = 1 / (1 + math.exp(strength[b] - strength[a]))
        won = rng.random() < p
        games.append(MatchScore(f"g{i}", "m", a, b, 0.9 if won else 0.2, 0.2 if won else 0.9))
    rated = by_persona(held_firmer(games))
    for name, s in strength.items():
        elo = 1000 + 400 * s / math.log(10)
        assert rated[name].ci[0] <= elo <= rated[name].ci[1], rated[name]
    assert [rated[n].rank for n in ("x", "y", "z")] == [1, 2, 3]


def bt_round_robin(strengths: list[float], rng: np.random.Generator) -> list[MatchScore]:
    """One match per ordered pair, won by Bradley-Terry odds of the true strengths."""
    games = []
    for i, a in enumerate(strengths):
        for j, b in enumerate(strengths):
            if i != j:
                won = rng.random() < 1 / (1 + math.exp(b - a))
                games.append(MatchScore(f"g{len(games)}", "m", f"p{i}", f"p{j}",
                                        0.9 if won else 0.2, 0.2 if won else 0.9))  # fmt: skip
    return games


def test_an_unbeaten_persona_gets_a_finite_rating_and_an_interval_that_says_so() -> None:
    # p0 wins all six of its games in a 4-persona round robin
    games = bt_round_robin([9.0, 0.0, 0.0, 0.0], np.random.default_rng(1))
    assert all(g.pro_holding > g.con_holding for g in games if g.pro == "p0")
    assert all(g.con_holding > g.pro_holding for g in games if g.con == "p0")
    top = by_persona(held_firmer(games))["p0"]
    assert 1100 < top.estimate < 1500  # finite, and not thousands of Elo above the rest
    assert top.ci[1] - top.ci[0] > 300  # six games cannot pin it down
    unbounded = by_persona(held_firmer(games, prior_sd=None))["p0"]
    assert unbounded.estimate > 2000  # without the prior the estimate runs off


def test_bradley_terry_intervals_cover_the_true_ratings_in_small_round_robins() -> None:
    # the setting: 4 personas, one match per ordered pair; true log-strengths drawn
    # with the spread the prior is meant for (sd 1): coverage >= 90%, unbeaten personas too
    rng = np.random.default_rng(20261207)
    covered = total = unbeaten_covered = unbeaten = 0
    for _ in range(400):
        strengths = rng.normal(0.0, 1.0, 4)
        games = bt_round_robin(list(strengths), rng)
        rated = by_persona(held_firmer(games))
        true = 1000 + 400 * (strengths - strengths.mean()) / math.log(10)
        for i in range(4):
            name = f"p{i}"
            ok = rated[name].ci[0] <= true[i] <= rated[name].ci[1]
            covered += ok
            total += 1
            if rated[name].raw == 1.0:
                unbeaten += 1
                unbeaten_covered += ok
    assert covered / total >= 0.90, covered / total
    assert unbeaten >= 30 and unbeaten_covered / unbeaten >= 0.90, (unbeaten_covered, unbeaten)


def test_control_comparison_pairs_the_same_motion_and_side() -> None:
    # p holds 0.1 better than the control in every cell; q 0.1 worse; motions differ a lot
    games = []
    for motion, base in (("m1", 0.8), ("m2", 0.4), ("m3", 0.6)):
        for persona, delta in (("p", 0.1), ("q", -0.1)):
            games.append(MatchScore(f"{motion}{persona}1", motion, persona, "assistant",
                                    base + delta, base - 0.05))  # fmt: skip
            games.append(MatchScore(f"{motion}{persona}2", motion, "assistant", persona,
                                    base + 0.05, base + delta - 0.1))  # fmt: skip
    rated = by_persona(control_comparison(games, "assistant", resamples=200))
    assert set(rated) == {"p", "q"}
    # pro cells: (base + d) - (base + 0.05); con cells: (base + d - 0.1) - (base - 0.05)
    assert rated["p"].estimate == pytest.approx(0.05 - 0.0, abs=1e-9)
    assert rated["q"].estimate == pytest.approx(-0.15, abs=1e-9)
    assert rated["p"].n == 6 and rated["p"].matches == 6
    assert rated["p"].rank == 1 and rated["q"].rank == 2
    (one_motion,) = control_comparison(games[:2], "assistant", resamples=50)
    assert one_motion.n == 2 and one_motion.estimate == pytest.approx(0.05)


def test_an_anchor_pins_the_control_at_1000() -> None:
    # a beats b three times in four (the maximum-likelihood gap: 400 log10(3) Elo); c draws b
    games = [MatchScore(f"g{i}", "m", "a", "b", 0.9, 0.3) for i in range(3)]
    games.append(MatchScore("g3", "m", "a", "b", 0.3, 0.9))
    games += [MatchScore(f"h{i}", "m", "c", "b", 0.5, 0.5) for i in range(4)]
    mle = by_persona(held_firmer(games, prior_sd=None, anchor="b"))
    assert mle["b"].estimate == 1000.0 and mle["b"].ci == (1000.0, 1000.0)
    assert mle["a"].estimate == pytest.approx(1000 + 400 * math.log10(3), abs=0.5)
    assert mle["c"].estimate == pytest.approx(1000.0, abs=0.5)
    # anchoring shifts the scale: the gaps are the centred fit's
    rated, centred = by_persona(held_firmer(games, anchor="b")), by_persona(held_firmer(games))
    for name in "ac":
        gap = centred[name].estimate - centred["b"].estimate
        assert rated[name].estimate - 1000.0 == pytest.approx(gap, abs=0.2)
    # and an anchored interval is that of the difference from the anchor, Var(s_a - s_b)
    personas = ["a", "b", "c"]
    seat = np.array([personas.index(p) for p in [*(x.pro for x in games), *(x.con for x in games)]])
    scores = np.array([game_score(x.pro_holding, x.con_holding) for x in games])
    _, cov = bradley_terry(seat[:8], seat[8:], scores, 3, np.ones((1, 8)))
    sd = math.sqrt(cov[0][0, 0] + cov[0][1, 1] - 2 * cov[0][0, 1]) * 400 / math.log(10)
    half = (rated["a"].ci[1] - rated["a"].ci[0]) / 2
    assert half == pytest.approx(1.959964 * sd, abs=0.1)
    # an anchor that did not play leaves the scale centred
    assert held_firmer(games, anchor="z") == held_firmer(games)
