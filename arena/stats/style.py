"""Style controls for the tournaments' adjusted holding: a turn's length and its hedging.

A judge may score long turns, or turns that hedge, differently whatever they argue (Chatbot Arena
found length the style feature that moves its ratings most). So the style-controlled fit adds two
centred covariates to the adjusted-holding model (arena.stats.ratings):

- length: the turn's words / 100 (words: runs of letters, digits and apostrophes);
- hedging: hedging markers per 100 words, counted from the fixed list HEDGES (case-insensitive,
  whole words, each occurrence once; a curly apostrophe counts as a straight one).

holding = persona + opponent + motion + side + kind + b_len (length - mean length)
          + b_hedge (hedging - mean hedging) + noise

Each coefficient is the change in holding per 100 more words, or per one more marker per 100
words, the other terms held fixed; its interval is the cluster bootstrap's over matches. A
persona's style-controlled figure is its least-squares mean at the average length and hedging,
ranked like the plain one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from arena.stats.lsmeans import fit_lsmeans, percentile_intervals
from arena.stats.ratings import RESAMPLES, SEED, Interval, Rating, TurnScore, lsmeans_ratings

# Hedges, softeners and concessions (after Hyland's 1998 hedging categories, trimmed to markers
# that rarely mean anything else in a debate turn). Fixed: changing it changes the figures.
HEDGES: tuple[str, ...] = (
    "perhaps", "maybe", "possibly", "arguably", "probably", "presumably", "conceivably",
    "it seems", "seems to", "appears to", "apparently", "somewhat", "to some extent",
    "to a degree", "in some cases", "in part", "partly", "not necessarily", "it depends",
    "i concede", "i admit", "i grant", "admittedly", "granted", "fair point", "that said",
    "i could be wrong", "i might be wrong", "i'm not sure", "i am not sure",
    "on the other hand", "to be fair",
)  # fmt: skip

_WORD = re.compile(r"[\w']+")
_HEDGE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(
        r"\s+".join(map(re.escape, h.split())) for h in sorted(HEDGES, key=len, reverse=True)
    )
    + r")(?![\w'])",
    re.IGNORECASE,
)

COVARIATES = ("length", "hedging")
UNITS = {"length": "per 100 words", "hedging": "per hedge per 100 words"}


def _plain(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def word_count(text: str) -> int:
    """Words: runs of letters, digits, underscores and apostrophes."""
    return len(_WORD.findall(_plain(text)))


def hedge_count(text: str) -> int:
    """Occurrences of the HEDGES markers (longest first, not overlapping)."""
    return len(_HEDGE.findall(_plain(text)))


def hedges_per_100(hedges: int, words: int) -> float:
    return 100.0 * hedges / words if words else 0.0


class Coefficient(BaseModel):
    """A style covariate's coefficient: the change in holding per `unit`, with its 95% interval
    (None when the data cannot estimate it, e.g. every turn has the same length); `mean` is the
    value the covariate was centred on."""

    name: str
    unit: str
    estimate: float | None
    ci: Interval | None
    mean: float


class StyleControl(BaseModel):
    """The style-controlled adjusted holding: per persona, its least-squares mean at the
    average length and hedging (ranked), and the covariates' coefficients; over `turns` turns
    whose text was measured."""

    ratings: list[Rating]
    coefficients: list[Coefficient]
    turns: int


def style_controlled(
    turns: Sequence[TurnScore],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> StyleControl | None:
    """The adjusted-holding fit with centred length and hedging covariates, over the turns whose
    words and hedging are known; None when there are none."""
    measured = [t for t in turns if t.words is not None and t.hedges is not None]
    if not measured:
        return None
    z = np.array([[(t.words or 0) / 100.0, t.hedges or 0.0] for t in measured])
    centre = z.mean(axis=0)
    fit = fit_lsmeans(
        [
            [t.persona for t in measured],
            [t.opponent for t in measured],
            [t.motion for t in measured],
            [t.side for t in measured],
            [t.kind for t in measured],
        ],
        [t.holding for t in measured],
        [t.match for t in measured],
        z - centre,
        resamples=resamples,
        seed=seed,
    )
    intervals = percentile_intervals(fit.coefficient_draws, level)
    coefficients = []
    for j, name in enumerate(COVARIATES):
        value = float(fit.coefficients[j])
        lo, hi = intervals[j]
        known = math.isfinite(value)
        coefficients.append(
            Coefficient(
                name=name,
                unit=UNITS[name],
                estimate=round(value, 4) if known else None,
                ci=(round(lo, 4), round(hi, 4)) if known and math.isfinite(lo) else None,
                mean=round(float(centre[j]) * (100.0 if name == "length" else 1.0), 2),
            )
        )
    return StyleControl(
        ratings=lsmeans_ratings(fit, measured, level),
        coefficients=coefficients,
        turns=len(measured),
    )
