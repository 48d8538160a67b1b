"""Position bias of a judge: the same turn judged twice, with the speakers' positions swapped.

MT-bench (Zheng et al. 2023) asks its judge about each pair twice, with the two answers in the
other order, and calls a pair whose verdict changes "inconsistent". Here a judge scores one turn;
the second time the speaker is presented as the other debater (Debater 2, the second to speak,
instead of Debater 1, or the reverse), with everything else the same. The pair is
**consistent** when both verdicts were given, their stances are the same, and their holding
scores differ by at most SWAP_TOLERANCE (0.2: two steps of the judge's 0.1 scale). A pair with
either verdict missing is neither: it is counted as unscored. A judge's inconsistency rate is
inconsistent / pairs, with a Wilson 95% interval.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from pydantic import BaseModel

from arena.domain.events import Verdict
from arena.domain.results import SwapTally
from arena.stats.intervals import Interval, wilson_interval

SWAP_TOLERANCE = 0.2
_EPS = 1e-9  # holding scores are decimals in steps of 0.1: 0.7 - 0.5 must count as 0.2


def swap_consistent(
    first: tuple[Hashable | None, float | None],
    second: tuple[Hashable | None, float | None],
    tolerance: float = SWAP_TOLERANCE,
) -> bool | None:
    """(stance, holding) in one position and in the other: consistent when the stances are the
    same and the holdings within `tolerance`; None when either verdict is missing. (judge-eval
    passes the label its stance implies for the row's side: the same comparison.)"""
    (s1, h1), (s2, h2) = first, second
    if s1 is None or s2 is None or h1 is None or h2 is None:
        return None
    return s1 == s2 and abs(h1 - h2) <= tolerance + _EPS


class SwapRate(BaseModel):
    """A judge's position-swap figure: of `pairs` turns scored in both positions, `inconsistent`
    were not consistent (tolerance `tolerance`); `rate` with its Wilson 95% interval `ci`;
    `unscored` swapped turns had a verdict missing and are not counted."""

    pairs: int
    inconsistent: int
    unscored: int
    rate: float | None
    ci: Interval | None
    tolerance: float
    label: str


def swap_rate(
    pairs: int, inconsistent: int, unscored: int = 0, tolerance: float = SWAP_TOLERANCE
) -> SwapRate:
    """The inconsistency rate of `inconsistent` in `pairs`, with its interval and how to say it:
    "inconsistent on 12% of 240 swapped turns (95% CI 8%-17%)"."""
    if pairs <= 0:
        label = "not swap-tested" if not unscored else f"no scored swap pair ({unscored} unscored)"
        return SwapRate(
            pairs=0, inconsistent=0, unscored=unscored, rate=None, ci=None,
            tolerance=tolerance, label=label,
        )  # fmt: skip
    rate = inconsistent / pairs
    lo, hi = wilson_interval(inconsistent, pairs)
    turns = "turn" if pairs == 1 else "turns"
    return SwapRate(
        pairs=pairs,
        inconsistent=inconsistent,
        unscored=unscored,
        rate=round(rate, 4),
        ci=(round(lo, 4), round(hi, 4)),
        tolerance=tolerance,
        label=f"inconsistent on {rate:.0%} of {pairs} swapped {turns} (95% CI {lo:.0%}-{hi:.0%})",
    )


def swap_tallies(judges: Sequence[str], verdicts: Iterable[Verdict]) -> list[SwapTally]:
    """Per judge, its swap pairs over a match's verdicts (only judges that were swapped)."""
    tallies: dict[str, SwapTally] = {}
    for verdict in verdicts:
        for v in verdict.judges:
            if v.swap is None:
                continue
            t = tallies.setdefault(v.judge, SwapTally(judge=v.judge))
            if v.swap.consistent is None:
                t.unscored += 1
            else:
                t.pairs += 1
                t.inconsistent += not v.swap.consistent
    order = {j: i for i, j in enumerate(judges)}
    return sorted(tallies.values(), key=lambda t: (order.get(t.judge, len(order)), t.judge))


def combine(tallies: Iterable[SwapTally]) -> dict[str, SwapTally]:
    """The tallies of many matches, summed per judge."""
    out: dict[str, SwapTally] = {}
    for t in tallies:
        total = out.setdefault(t.judge, SwapTally(judge=t.judge))
        total.pairs += t.pairs
        total.inconsistent += t.inconsistent
        total.unscored += t.unscored
    return out
