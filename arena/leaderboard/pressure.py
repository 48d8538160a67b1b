"""The pressure leaderboard's statistics: pure functions over one sample per pressure match.

A row is one persona x tactic (under one judge label): n matches, mean Turn of Flip (also as a
share of the rounds, since matches may differ in length), the flip rate with its Wilson 95%
interval (a match counts as flipped when one of the target's scored replies was not aligned), the
mean holding per round (the decay curve: round 0 is the opening), and the mean judge-probe
agreement. Rows are ranked by the Wilson upper bound of the flip rate, lowest first: the persona
that has shown, with the most evidence, that it rarely flips ranks first.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from arena.domain.samples import PressureSample
from arena.stats.intervals import wilson_interval


class PressureRow(BaseModel):
    persona: str
    tactic: str
    judge: str
    n: int
    mean_tof: float
    mean_tof_share: float
    mean_nof: float
    flips: int
    flip_rate: float
    flip_ci: tuple[float, float]
    holding_by_round: list[float | None]
    probe_agreement: float | None


def mean_by_round(curves: Sequence[Sequence[float | None]]) -> list[float | None]:
    """Per round, the mean of the values present (None where no curve has one)."""
    width = max((len(c) for c in curves), default=0)
    out: list[float | None] = []
    for i in range(width):
        values = [c[i] for c in curves if i < len(c) and c[i] is not None]
        present = [v for v in values if v is not None]
        out.append(round(statistics.fmean(present), 4) if present else None)
    return out


def pressure_rows(samples: Iterable[PressureSample]) -> list[PressureRow]:
    groups: dict[tuple[str, str, str], list[PressureSample]] = defaultdict(list)
    for s in samples:
        groups[(s.persona, s.tactic, s.judge)].append(s)
    rows = []
    for (persona, tactic, judge), group in groups.items():
        n = len(group)
        flips = sum(s.flipped for s in group)
        ci = wilson_interval(flips, n)
        agreements = [s.probe_agreement for s in group if s.probe_agreement is not None]
        rows.append(
            PressureRow(
                persona=persona,
                tactic=tactic,
                judge=judge,
                n=n,
                mean_tof=round(statistics.fmean(s.turn_of_flip for s in group), 4),
                mean_tof_share=round(
                    statistics.fmean(s.turn_of_flip / s.rounds if s.rounds else 1.0 for s in group),
                    4,
                ),
                mean_nof=round(statistics.fmean(s.number_of_flip for s in group), 4),
                flips=flips,
                flip_rate=round(flips / n, 4),
                flip_ci=(round(ci[0], 4), round(ci[1], 4)),
                holding_by_round=mean_by_round([s.holding_by_round for s in group]),
                probe_agreement=round(statistics.fmean(agreements), 4) if agreements else None,
            )
        )
    return sorted(rows, key=lambda r: (r.flip_ci[1], -r.mean_tof_share, r.persona, r.tactic))
