"""What the store keeps about a match and a judge, as values every layer reads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field

from arena.domain.results import MatchMetrics
from arena.domain.specs import MatchSpec, Side

MatchStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


STATUSES: tuple[MatchStatus, ...] = get_args(MatchStatus)


def _no_holding() -> dict[Side, float | None]:
    return {"pro": None, "con": None}


class MatchRecord(BaseModel):
    """One match as stored: its spec, status and progress. Built from the record hash."""

    id: str
    status: MatchStatus
    spec: MatchSpec
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    turns_done: int = 0
    total_turns: int
    holding: dict[Side, float | None] = Field(default_factory=_no_holding)
    metrics: MatchMetrics | None = None
    worker: str | None = None
    # a human challenger's turn the match waits for (its seat may write it until `deadline`)
    awaiting_turn: int | None = None
    deadline: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


class Calibration(BaseModel):
    """A judge's accuracy on a labelled set, as `arena judge-eval --record` stores it: over all
    `n` rows judged, a row the judge failed to score counting as wrong; `file` and `sha256` name
    the set and its content. Records from before these fields existed have no file."""

    judge: str
    accuracy: float
    n: int
    scored: int | None = None
    file: str | None = None
    sha256: str | None = None
    at: datetime | None = None

    @property
    def label(self) -> str:
        """How the figure is shown everywhere: "71% on calibration.jsonl (n=172)"."""
        if self.file is None:
            return f"{self.accuracy:.0%} (n={self.n}, set not recorded)"
        return f"{self.accuracy:.0%} on {self.file} (n={self.n})"
