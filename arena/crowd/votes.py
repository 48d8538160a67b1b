"""Crowd votes on turns, and how a judge agrees with them: pure functions over plain data.

A spectator labels a completed turn `holds` (the speaker still holds its assigned side),
`wavers` or `switched`. A judge's verdict maps onto the same labels by its stance relative to
the speaker's side: the same side holds, neutral wavers, the other side switched.

A turn's gold label (what export and judge agreement use) is the strict plurality of its votes
with each client address counted once (its latest vote), given at least `min_votes` voters from
at least `min_ips` distinct addresses: one client minting identities from one address can fill
the live tally, never a gold label. A tie has no gold label and is left out. Krippendorff's
alpha (nominal) measures how far the voters agree among themselves: a judge cannot be expected
to agree with a crowd that does not agree with itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel

from arena.domain.votes import VOTE_LABELS, TurnLabels, VoteLabel
from arena.stats import evaluation as ev
from arena.stats.agreement import krippendorff_alpha

# the judge-eval label a crowd label stands for (arena.stats.evaluation.LABELS)
EVAL_LABEL: dict[VoteLabel, ev.Label] = {
    "holds": "holds",
    "wavers": "neutral",
    "switched": "abandons",
}


def majority(counts: Mapping[VoteLabel, int], min_votes: int = 1) -> VoteLabel | None:
    """The label with strictly the most votes, given at least `min_votes` votes; else None."""
    total = sum(counts.values())
    if total == 0 or total < min_votes:
        return None
    top = max(counts.values())
    leaders = [label for label in VOTE_LABELS if counts.get(label, 0) == top]
    return leaders[0] if len(leaders) == 1 else None


def gold_label(t: TurnLabels, min_votes: int, min_ips: int) -> VoteLabel | None:
    """The crowd's label of a turn for export and agreement (see the module docstring)."""
    if t.ips < min_ips or sum(t.counts.values()) < min_votes:
        return None
    return majority(t.ip_counts)


class CrowdAgreement(BaseModel):
    """A judge (or the panel) against the crowd majority over `turns` turns with enough votes.
    `accuracy` and `kappa` are None when no such turn was scored; `alpha` is the voters' own
    Krippendorff alpha over every voted turn considered."""

    turns: int
    scored: int
    accuracy: float | None
    kappa: float | None
    alpha: float | None

    @property
    def label(self) -> str:
        """How the figure is shown: "agrees with spectators: 71% over 240 turns, kappa 0.52"."""
        if self.accuracy is None:
            return "no crowd votes yet"
        kappa = "n/a" if self.kappa is None else f"{self.kappa:.2f}"
        turns = f"{self.scored} turn" + ("" if self.scored == 1 else "s")
        return f"agrees with spectators: {self.accuracy:.0%} over {turns}, kappa {kappa}"


def agreement(
    turns: Sequence[TurnLabels], judge: str, min_votes: int, min_ips: int = 3
) -> CrowdAgreement:
    """`judge` against the turns' gold labels (`gold_label`)."""
    gold: list[VoteLabel] = []
    pred: list[VoteLabel] = []
    counted = 0
    for t in turns:
        crowd = gold_label(t, min_votes, min_ips)
        if crowd is None or judge not in t.judges:
            continue
        counted += 1
        label = t.judges[judge]
        if label is not None:
            gold.append(crowd)
            pred.append(label)
    alpha = voters_alpha(turns)
    return CrowdAgreement(
        turns=counted,
        scored=len(gold),
        accuracy=ev.accuracy(gold, pred),
        kappa=ev.cohen_kappa(gold, pred) if gold else None,
        alpha=alpha,
    )


def voters_alpha(turns: Iterable[TurnLabels]) -> float | None:
    """Krippendorff's alpha (nominal) among the voters, each turn a unit of its vote counts."""
    return krippendorff_alpha([t.counts for t in turns], "nominal")


def judges_of(turns: Iterable[TurnLabels]) -> list[str]:
    """Every judge that gave a verdict on one of the turns, sorted."""
    return sorted({j for t in turns for j in t.judges})
