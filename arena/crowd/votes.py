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
from dataclasses import dataclass, field

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


@dataclass
class _Scores:
    """One judge's labels against the gold ones, gathered turn by turn."""

    counted: int = 0
    gold: list[VoteLabel] = field(default_factory=list)
    pred: list[VoteLabel] = field(default_factory=list)

    def agreement(self, alpha: float | None) -> CrowdAgreement:
        return CrowdAgreement(
            turns=self.counted,
            scored=len(self.gold),
            accuracy=ev.accuracy(self.gold, self.pred),
            kappa=ev.cohen_kappa(self.gold, self.pred) if self.gold else None,
            alpha=alpha,
        )


@dataclass(frozen=True)
class CrowdFigures:
    """Judges against the crowd over one set of turns: the voters' alpha, and the agreement of
    every judge that labelled one of the turns (or of those asked for)."""

    alpha: float | None
    judges: dict[str, CrowdAgreement]

    def of(self, judge: str) -> CrowdAgreement:
        """`judge`'s agreement; a judge on none of the turns has none ("no crowd votes yet")."""
        found = self.judges.get(judge)
        return found if found is not None else _Scores().agreement(self.alpha)


def crowd_figures(
    turns: Sequence[TurnLabels],
    min_votes: int,
    min_ips: int = 3,
    judges: Iterable[str] | None = None,
) -> CrowdFigures:
    """Each judge against the turns' gold labels (`gold_label`), every judge in one pass over
    the turns, and the voters' alpha once. `judges`: only these (default: every judge that
    labelled one of the turns)."""
    wanted = None if judges is None else set(judges)
    scores: dict[str, _Scores] = {j: _Scores() for j in wanted or ()}
    for t in turns:
        crowd = gold_label(t, min_votes, min_ips)
        for judge, label in t.judges.items():
            if wanted is not None and judge not in wanted:
                continue
            s = scores.get(judge)
            if s is None:
                s = scores[judge] = _Scores()
            if crowd is None:
                continue
            s.counted += 1
            if label is not None:
                s.gold.append(crowd)
                s.pred.append(label)
    alpha = voters_alpha(turns)
    return CrowdFigures(alpha, {j: s.agreement(alpha) for j, s in scores.items()})


def agreement(
    turns: Sequence[TurnLabels], judge: str, min_votes: int, min_ips: int = 3
) -> CrowdAgreement:
    """`judge` against the turns' gold labels (`gold_label`)."""
    return crowd_figures(turns, min_votes, min_ips, [judge]).of(judge)


def voters_alpha(turns: Iterable[TurnLabels]) -> float | None:
    """Krippendorff's alpha (nominal) among the voters, each turn a unit of its vote counts."""
    return krippendorff_alpha([t.counts for t in turns], "nominal")
