"""Hardest to move: personas ranked by how often a person in the challenger's seat moved them,
beside how often the scripted tactics did on the same motions (pure, O(groups) a request).

Counts are kept per persona x motion x challenger (`human` or `script`; model challengers are
left out), over every judge set, from the pressure samples that record the motion and the
challenger (recorded from this version on). A match counts as the pressure board counts it
(arena.leaderboard.pressure): at least one response scored; flipped when a response was not
aligned. A persona's scripted rate pools only the motions it met a person on, so both rates
describe the same questions. Rows are ranked by the Wilson upper bound of the human flip rate,
lowest first: the persona that has shown, with the most evidence, that people rarely move it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from arena.domain.samples import PressureSample
from arena.stats.intervals import wilson_interval

MotionKey = tuple[str, str, str]  # persona, motion, challenger (human or script)


class RateWithInterval(BaseModel):
    n: int = Field(description="matches with at least one scored response")
    flips: int
    rate: float | None
    ci: tuple[float, float] | None = Field(description="Wilson 95% interval of the rate")


class HumanRow(BaseModel):
    persona: str
    human: RateWithInterval = Field(description="flip rate against human challengers")
    scripted: RateWithInterval = Field(
        description="flip rate against scripted tactics, on the motions people challenged it on"
    )
    motions: int = Field(description="motions it met a human challenger on")


def count(motions: dict[MotionKey, list[int]], sample: PressureSample) -> None:
    """Fold one sample into the per-motion counts [n, flips]."""
    kind = sample.challenger
    if sample.motion is None or kind not in ("human", "script"):
        return
    if sample.responses is None or sample.scored == 0:
        return
    cell = motions.setdefault((sample.persona, sample.motion, kind), [0, 0])
    cell[0] += 1
    cell[1] += int(sample.flipped)


def _rate(n: int, flips: int) -> RateWithInterval:
    if n == 0:
        return RateWithInterval(n=0, flips=0, rate=None, ci=None)
    lo, hi = wilson_interval(flips, n)
    return RateWithInterval(
        n=n, flips=flips, rate=round(flips / n, 4), ci=(round(lo, 4), round(hi, 4))
    )


def human_rows(motions: Mapping[MotionKey, list[int]]) -> list[HumanRow]:
    """The board's rows from the per-motion counts."""
    people: dict[str, list[int]] = {}
    met: dict[str, set[str]] = {}
    for (persona, motion, kind), (n, flips) in motions.items():
        if kind == "human":
            total = people.setdefault(persona, [0, 0])
            total[0] += n
            total[1] += flips
            met.setdefault(persona, set()).add(motion)
    rows = []
    for persona, (n, flips) in people.items():
        scripted = [motions.get((persona, m, "script"), [0, 0]) for m in met[persona]]
        rows.append(
            HumanRow(
                persona=persona,
                human=_rate(n, flips),
                scripted=_rate(sum(c[0] for c in scripted), sum(c[1] for c in scripted)),
                motions=len(met[persona]),
            )
        )
    return sorted(rows, key=lambda r: (r.human.ci[1] if r.human.ci else 1.0, r.persona))


def rows_of(samples: Iterable[PressureSample]) -> list[HumanRow]:
    """The rows of these samples alone."""
    motions: dict[MotionKey, list[int]] = {}
    for sample in samples:
        count(motions, sample)
    return human_rows(motions)
