"""The judges' agreement with the crowd kept as running sums: a vote costs its match, not every
voted turn.

`crowd_figures` (arena.crowd.votes) reads every voted turn. Everything it reports comes from
counts that add up turn by turn, so a node can keep the counts and move them by one match's
turns when that match's votes change:

- a judge's accuracy and Cohen's kappa come from its confusion counts (gold label, judge's
  label): observed agreement is the diagonal over the total, chance agreement the product of the
  two marginals (arena.stats.evaluation), both exact integer sums here;
- Krippendorff's alpha comes from the coincidence matrix, a sum over units of
  n_uc (n_uk - [c == k]) / (m_u - 1) (arena.stats.agreement.coincidences). Kept as integer
  numerators by unit size m_u, a turn added and later taken away leaves no rounding behind; the
  matrix is divided out when the figures are read.

Reading the figures is then O(judges + sizes x labels^2), whatever the number of voted turns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from arena.crowd.votes import CrowdAgreement, CrowdFigures, gold_label
from arena.domain.votes import VOTE_LABELS, TurnLabels, VoteLabel
from arena.stats.agreement import alpha_of

_INDEX = {label: i for i, label in enumerate(VOTE_LABELS)}
_DIFFERENT = 1.0 - np.eye(len(VOTE_LABELS))  # the nominal metric


class CrowdSums:
    """The sums `crowd_figures(turns, min_votes, min_ips)` needs, for turns added and removed."""

    def __init__(self, min_votes: int, min_ips: int) -> None:
        self.min_votes, self.min_ips = min_votes, min_ips
        self.labelled: Counter[str] = Counter()  # judge -> turns it labelled: it is shown
        self.counted: Counter[str] = Counter()  # judge -> those turns with a gold label
        # judge -> (gold, judge's label) -> turns
        self.pairs: dict[str, Counter[tuple[VoteLabel, VoteLabel]]] = {}
        # (m_u, c, k) -> sum over units of m_u values of n_uc (n_uk - [c == k])
        self.units: Counter[tuple[int, int, int]] = Counter()

    def add(self, turns: Iterable[TurnLabels], sign: int = 1) -> None:
        """Count the turns in (`sign` 1) or take them out again (`sign` -1)."""
        for t in turns:
            gold = gold_label(t, self.min_votes, self.min_ips)
            for judge, label in t.judges.items():
                self.labelled[judge] += sign
                if gold is None:
                    continue
                self.counted[judge] += sign
                if label is not None:
                    self.pairs.setdefault(judge, Counter())[gold, label] += sign
            self._unit(t.counts, sign)
        self._drop_zeros()

    def remove(self, turns: Iterable[TurnLabels]) -> None:
        self.add(turns, -1)

    def _unit(self, counts: dict[VoteLabel, int], sign: int) -> None:
        n = {_INDEX[v]: c for v, c in counts.items() if c > 0}
        m = sum(n.values())
        if m < 2:  # not pairable
            return
        for c, n_c in n.items():
            for k, n_k in n.items():
                self.units[m, c, k] += sign * n_c * (n_k - (c == k))

    def _drop_zeros(self) -> None:
        counters: list[Counter[Any]] = [self.labelled, self.counted, self.units]
        for counter in [*counters, *self.pairs.values()]:
            for key in [key for key, value in counter.items() if value == 0]:
                del counter[key]
        for judge in [j for j, pairs in self.pairs.items() if not pairs]:
            del self.pairs[judge]

    def figures(self) -> CrowdFigures:
        """What `crowd_figures` gives for the turns counted in (alpha equal up to rounding)."""
        alpha = self.alpha()
        return CrowdFigures(alpha, {j: self._agreement(j, alpha) for j in self.labelled})

    def alpha(self) -> float | None:
        """Krippendorff's alpha (nominal) among the voters."""
        if not self.units:
            return None
        o = np.zeros((len(VOTE_LABELS), len(VOTE_LABELS)))
        for (m, c, k), total in self.units.items():
            o[c, k] += total / (m - 1)
        return alpha_of(o, _DIFFERENT)

    def _agreement(self, judge: str, alpha: float | None) -> CrowdAgreement:
        pairs = self.pairs.get(judge, Counter())
        scored = sum(pairs.values())
        accuracy = kappa = None
        if scored:
            same = sum(n for (gold, label), n in pairs.items() if gold == label)
            accuracy = same / scored
            gold_n: Counter[VoteLabel] = Counter()
            label_n: Counter[VoteLabel] = Counter()
            for (gold, label), n in pairs.items():
                gold_n[gold] += n
                label_n[label] += n
            expected = sum(gold_n[v] * label_n[v] for v in gold_n) / (scored * scored)
            kappa = None if math.isclose(expected, 1.0) else (accuracy - expected) / (1 - expected)
        return CrowdAgreement(
            turns=self.counted[judge], scored=scored, accuracy=accuracy, kappa=kappa, alpha=alpha
        )
