"""Ratings of personas: pure, vectorised statistics (numpy) for tournaments and the leaderboard.

- adjusted holding: a least-squares fit of per-turn holding on persona + opponent + motion + side
  + turn-kind effects; a persona's figure is its least-squares mean, the expected holding against
  an average opponent on an average motion (each level of every other factor weighted equally).
  Interval: a cluster bootstrap over matches (whole matches are resampled).
- held firmer: a Bradley-Terry fit on games "which side of a match held firmer" (higher mean
  holding; within TIE a draw, counted half), on the Elo scale as in FastChat (1000 + 400 log10
  strength). With a Gaussian prior on log-strengths (mean 0, sd BT_PRIOR_SD): the fit is the
  posterior mode, so an unbeaten persona gets a finite rating, and its interval is the
  posterior's (Laplace: the curvature of the log-posterior at the mode), wide where the games
  are few or one-sided. Without the prior (prior_sd=None) it is the maximum-likelihood fit
  FastChat computes. The scale is anchored (an `anchor` persona pinned at 1000, as FastChat pins
  a reference model) or, without one, centred on 1000.
- control comparison (gauntlets): per persona, the mean over (motion, side) cells of its holding
  minus the control's holding on the same motion and side, bootstrapped over cells.
- shared ranks: 1 + the number of entries whose lower bound exceeds this entry's upper bound.

The leaderboard's rows (one sample per debater per match) are in arena.leaderboard.tally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from arena.stats.lsmeans import (
    LsFit,
    codes,
    fit_lsmeans,
    percentile_intervals,
)

Interval = tuple[float, float]
Array = npt.NDArray[np.float64]

RESAMPLES = 1000
SEED = 20240501
TIE = 0.05
ELO_SCALE, ELO_BASE, ELO_INIT = 400.0, 10.0, 1000.0
# Bradley-Terry log-strengths (natural log-odds units) are a priori Normal(0, BT_PRIOR_SD**2):
# 95% of personas within 2.5 log-odds (about 430 Elo) of the average one. The coverage of the
# resulting intervals, unbeaten personas included, is checked in tests/stats/test_ratings.py.
BT_PRIOR_SD = 1.25
# the maximum-likelihood fit keeps a tiny ridge for numerical safety only
BT_RIDGE = 1e-6


@dataclass(frozen=True)
class TurnScore:
    """One judged turn: whose, against whom, on what, and its holding."""

    match: str
    persona: str
    opponent: str
    motion: str
    side: str
    kind: str
    holding: float
    # style (arena.stats.style): the turn's words, and hedging markers per 100 words
    words: int | None = None
    hedges: float | None = None


@dataclass(frozen=True)
class MatchScore:
    """One match: the mean holding of each side."""

    match: str
    motion: str
    pro: str
    con: str
    pro_holding: float
    con_holding: float


@dataclass(frozen=True)
class Rating:
    """A persona's figure with its interval and shared rank. `n` counts what the interval rests
    on (turns, games or cells); `raw` is the unadjusted mean, for comparison."""

    persona: str
    estimate: float
    ci: Interval
    rank: int
    matches: int
    n: int
    raw: float | None = None


def shared_ranks(intervals: Sequence[Interval], among: Sequence[Interval] = ()) -> list[int]:
    """1 + the number of entries whose lower bound is above this entry's upper bound; the
    entries of `among` count too (the rest of a ranking: their own ranks are not computed)."""
    if not intervals:
        return []
    bounds = np.asarray(intervals, dtype=float)
    lo, hi = bounds[:, 0], bounds[:, 1]
    if among:
        lo = np.concatenate([lo, np.asarray(among, dtype=float)[:, 0]])
    return [int(r) for r in 1 + (lo[None, :] > hi[:, None]).sum(axis=1)]


def _with_ranks(
    names: Sequence[str],
    estimates: Sequence[float],
    intervals: Sequence[Interval],
    matches: Sequence[int],
    ns: Sequence[int],
    raws: Sequence[float | None],
    digits: int = 4,
) -> list[Rating]:
    ranks = shared_ranks(intervals)
    rows = [
        Rating(
            persona=name,
            estimate=round(est, digits),
            ci=(round(ci[0], digits), round(ci[1], digits)),
            rank=rank,
            matches=m,
            n=n,
            raw=None if raw is None else round(raw, 4),
        )
        for name, est, ci, rank, m, n, raw in zip(
            names, estimates, intervals, ranks, matches, ns, raws, strict=True
        )
    ]
    return sorted(rows, key=lambda r: (r.rank, -r.estimate, r.persona))


# adjusted holding


def adjusted_holding(
    turns: Sequence[TurnScore],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> list[Rating]:
    """Least-squares means of persona effects, with a cluster bootstrap over matches."""
    if not turns:
        return []
    fit = fit_lsmeans(
        [
            [t.persona for t in turns],
            [t.opponent for t in turns],
            [t.motion for t in turns],
            [t.side for t in turns],
            [t.kind for t in turns],
        ],
        [t.holding for t in turns],
        [t.match for t in turns],
        resamples=resamples,
        seed=seed,
    )
    return lsmeans_ratings(fit, turns, level)


def lsmeans_ratings(fit: LsFit, turns: Sequence[TurnScore], level: float) -> list[Rating]:
    """The personas' least-squares means as ratings: a mean that is not estimable shows the
    raw mean instead, an interval that is not the full range (0, 1)."""
    intervals = [
        (lo, hi) if math.isfinite(lo) else (0.0, 1.0)
        for lo, hi in percentile_intervals(fit.mean_draws, level)
    ]
    _, persona_of = codes([t.persona for t in turns])
    k = len(fit.levels)
    y = np.fromiter((t.holding for t in turns), dtype=float, count=len(turns))
    matches = [len({t.match for t in turns if t.persona == name}) for name in fit.levels]
    counts = np.bincount(persona_of, minlength=k)
    raws = np.bincount(persona_of, weights=y, minlength=k) / counts
    estimates = [float(v) if math.isfinite(v) else float(raws[i]) for i, v in enumerate(fit.means)]
    return _with_ranks(
        fit.levels, estimates, intervals, matches, counts.tolist(), [float(r) for r in raws]
    )


# held firmer: Bradley-Terry


def game_score(pro_holding: float, con_holding: float, tie: float = TIE) -> float:
    """PRO's score of a match: 1 if it held firmer, 0 if CON did, 0.5 within `tie`."""
    diff = pro_holding - con_holding
    if abs(diff) <= tie + 1e-12:
        return 0.5
    return 1.0 if diff > 0 else 0.0


def bradley_terry(
    winners: npt.NDArray[np.intp],
    losers: npt.NDArray[np.intp],
    scores: Array,
    players: int,
    weights: Array,
    prior_sd: float | None = BT_PRIOR_SD,
) -> tuple[Array, Array]:
    """Strengths (natural log-odds, centred) and their covariance, one fit per row of `weights`
    (shape (fits, games)): Newton steps on the logistic log-likelihood of score ~ s_i - s_j, plus
    a Normal(0, prior_sd^2) log-prior on each strength (None: maximum likelihood). The
    covariance is the inverse curvature at the mode (Laplace), of the centred strengths."""
    design = np.zeros((len(winners), players))
    design[np.arange(len(winners)), winners] += 1.0
    design[np.arange(len(losers)), losers] -= 1.0
    ridge = BT_RIDGE if prior_sd is None else 1.0 / (prior_sd * prior_sd)
    beta = np.zeros((weights.shape[0], players))
    eye = np.eye(players)
    hess = np.broadcast_to(ridge * eye, (weights.shape[0], players, players))
    for _ in range(100):
        prob = 1.0 / (1.0 + np.exp(-(beta @ design.T)))
        grad = (weights * (scores - prob)) @ design - ridge * beta
        curv = weights * prob * (1 - prob)
        hess = np.einsum("gk,bg,gl->bkl", design, curv, design) + ridge * eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    centre = eye - np.full((players, players), 1.0 / players)
    covariance: Array = centre @ np.linalg.inv(hess) @ centre.T
    centred: Array = beta - beta.mean(axis=1, keepdims=True)
    return centred, covariance


def to_elo(strength: Array) -> Array:
    return ELO_INIT + ELO_SCALE * strength / math.log(ELO_BASE)


def held_firmer(
    matches: Sequence[MatchScore],
    *,
    tie: float = TIE,
    level: float = 0.95,
    prior_sd: float | None = BT_PRIOR_SD,
    anchor: str | None = None,
) -> list[Rating]:
    """Bradley-Terry ratings (Elo scale) of who held firmer: the posterior mode under the prior
    and its Laplace interval (with prior_sd=None, the maximum-likelihood fit and its Wald
    interval). With an `anchor` that played, the scale is shifted so that the anchor is at 1000:
    its interval is the point 1000 and the others' are of their difference from it (the
    variance of s_i - s_anchor). Otherwise centred on 1000."""
    if not matches:
        return []
    personas, seat = codes([*(x.pro for x in matches), *(x.con for x in matches)])
    g = len(matches)
    pro, con = seat[:g], seat[g:]
    scores = np.array([game_score(x.pro_holding, x.con_holding, tie) for x in matches])
    k = len(personas)
    strengths, covariance = bradley_terry(pro, con, scores, k, np.ones((1, g)), prior_sd)
    s, cov = strengths[0], covariance[0]
    if anchor in personas:
        # every strength relative to the anchor's: a linear map of the (centred) strengths
        shift = np.eye(k)
        shift[:, personas.index(anchor)] -= 1.0
        s, cov = shift @ s, shift @ cov @ shift.T
    point = to_elo(s[None, :])[0]
    z = float(norm.ppf(0.5 + level / 2))
    half = z * np.sqrt(np.clip(np.diag(cov), 0, None)) * ELO_SCALE / math.log(ELO_BASE)
    intervals = [(float(e - h), float(e + h)) for e, h in zip(point, half, strict=True)]
    played = np.bincount(seat, minlength=k)
    wins = np.bincount(pro, weights=scores, minlength=k) + np.bincount(
        con, weights=1 - scores, minlength=k
    )
    return _with_ranks(
        personas,
        point.tolist(),
        intervals,
        played.tolist(),
        played.tolist(),
        (wins / played).tolist(),
        digits=1,
    )


# gauntlet: paired difference against the control


def control_comparison(
    matches: Sequence[MatchScore],
    control: str,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> list[Rating]:
    """Per persona: mean over (motion, side) cells of its holding minus the control's holding on
    that motion and side (both from their matches against each other); bootstrap over cells.
    Fewer than two cells give the interval (-1, 1)."""
    mine: dict[tuple[str, str, str], list[float]] = {}
    theirs: dict[tuple[str, str, str], list[float]] = {}
    played: dict[str, int] = {}
    for x in matches:
        for persona, other, side, held in (
            (x.pro, x.con, "pro", x.pro_holding),
            (x.con, x.pro, "con", x.con_holding),
        ):
            if persona != control and other == control:
                mine.setdefault((persona, x.motion, side), []).append(held)
                played[persona] = played.get(persona, 0) + 1
            elif persona == control and other != control:
                theirs.setdefault((other, x.motion, side), []).append(held)
    diffs: dict[str, list[float]] = {}
    raws: dict[str, list[float]] = {}
    for cell, values in sorted(mine.items()):
        raws.setdefault(cell[0], []).extend(values)
        if cell in theirs:
            diffs.setdefault(cell[0], []).append(float(np.mean(values) - np.mean(theirs[cell])))
    names = sorted(diffs)
    rng = np.random.default_rng(seed)
    intervals: list[Interval] = []
    for name in names:
        d = np.asarray(diffs[name])
        if len(d) < 2:
            intervals.append((-1.0, 1.0))
            continue
        means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
        intervals.append(percentile_intervals(means[:, None], level)[0])
    return _with_ranks(
        names,
        [float(np.mean(diffs[n])) for n in names],
        intervals,
        [played[n] for n in names],
        [len(diffs[n]) for n in names],
        [float(np.mean(raws[n])) for n in names],
    )
