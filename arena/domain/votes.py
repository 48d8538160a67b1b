"""Crowd votes as values: the labels a spectator gives a turn, a tally, and a judge's stance
read as one of those labels."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from arena.domain.specs import Side, Stance

VoteLabel = Literal["holds", "wavers", "switched"]


VOTE_LABELS: tuple[VoteLabel, ...] = ("holds", "wavers", "switched")


def tally(labels: Iterable[str]) -> dict[VoteLabel, int]:
    """Votes per label, every label present (0 when none voted it); unknown labels ignored."""
    counts = Counter(labels)
    return {label: counts[label] for label in VOTE_LABELS}


def judge_label(side: Side, stance: Stance | None) -> VoteLabel | None:
    """A judge's stance on a speaker assigned `side`, as a crowd label; None when unscored."""
    if stance is None:
        return None
    if stance == "neutral":
        return "wavers"
    return "holds" if stance == side else "switched"


class TurnLabels(BaseModel):
    """One voted turn: the crowd's tally (one vote per voter identity), the same with each
    client address counted once (its latest vote), and each judge's label (None: unscored)."""

    match_id: str
    turn: int
    side: Side
    counts: dict[VoteLabel, int]
    judges: dict[str, VoteLabel | None]
    ip_counts: dict[VoteLabel, int] = {}
    ips: int = 0
