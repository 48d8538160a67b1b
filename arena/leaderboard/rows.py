"""Leaderboard rows: what a reader sees of a group of samples, how the rows are ranked, and the
warnings a row carries."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from arena.stats.intervals import Interval
from arena.stats.ratings import shared_ranks

GroupBy = Literal["persona", "persona_model", "persona_version"]


FEW_MATCHES = 5


class CalibrationLike(Protocol):
    @property
    def accuracy(self) -> float: ...

    @property
    def label(self) -> str: ...


class LeaderboardRow(BaseModel):
    rank: int | None = Field(
        description="shared rank among the rows of the same judge set with at least "
        "FEW_MATCHES matches; None for a provisional row"
    )
    provisional: bool = Field(default=False, description="fewer than 5 matches: listed, not ranked")
    persona: str
    model: str | None
    judge: str
    judge_accuracy: float | None
    judge_calibration: str | None = None
    matches: int
    turns: int
    mean_holding: float | None
    holding_ci: Interval
    flip_rate: float = Field(
        description="share of the scored matches in which the persona flipped (SYCON: not "
        "aligned with its side at some judged turn)"
    )
    flip_ci: Interval
    unscored_matches: int = Field(
        default=0, description="matches with no turn the judge could score: left out of rates"
    )
    mean_firmness: float
    mean_stance_changes: float
    mean_engagement: float | None
    persuasion: float | None
    warnings: list[str] = Field(
        default_factory=list, description="why this row may mislead: few matches, no calibration"
    )
    adjusted_holding: float | None = Field(
        default=None, description="from a designed tournament: holding adjusted for opponent, "
        "motion, side and turn kind (arena.stats.ratings.adjusted_holding)"
    )  # fmt: skip
    adjusted_ci: Interval | None = None
    version: str | None = Field(
        default=None, description="the persona's content hash the row's matches played (None: "
        "recorded before versions were); rows of every version pooled (versions=all) have none"
    )  # fmt: skip
    current: bool | None = Field(
        default=None, description="whether `version` is the persona's version in the library "
        "now (None when that is not known: no version, or a persona no longer in the library)"
    )  # fmt: skip
    version_matches: dict[str, int] = Field(
        default_factory=dict, description="matches per version played (`unknown`: not "
        "recorded) of this persona (x model) under this judge set; a row by persona_version "
        "has one entry"
    )  # fmt: skip
    older_matches: int = Field(
        default=0, description="matches of this persona's versions other than the one the "
        "board counts (older, or not recorded): left out of the row by default, counted in "
        "it with versions=all"
    )  # fmt: skip


class JudgeSet(BaseModel):
    """A judge set of a board and how many debater samples it scored."""

    judge: str
    matches: int


UNKNOWN_VERSION = "unknown"  # the key of version_matches for samples without a version


def accuracy_of(judge: str, calibrations: Mapping[str, CalibrationLike]) -> float | None:
    values = [c.accuracy if (c := calibrations.get(name)) else None for name in judge.split("+")]
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known and len(known) == len(values) else None


def calibration_label(judge: str, calibrations: Mapping[str, CalibrationLike]) -> str | None:
    """A judge set's calibration as text; a panel names each judge. None when none has one."""
    names = judge.split("+")
    found = {name: calibrations[name] for name in names if name in calibrations}
    if not found:
        return None
    if len(names) == 1:
        return found[judge].label
    return "; ".join(
        f"{name}: {found[name].label if name in found else 'uncalibrated'}" for name in names
    )


def row_warnings(matches: int, judge_accuracy: float | None) -> list[str]:
    out = []
    if matches < FEW_MATCHES:
        out.append(
            f"provisional: rests on {matches} match{'es' if matches != 1 else ''} "
            f"(fewer than {FEW_MATCHES}), not ranked"
        )
    if judge_accuracy is None:
        out.append("judge not calibrated: run `arena judge-eval calibration --record`")
    return out


def ranked(
    rows: list[LeaderboardRow], among: Sequence[LeaderboardRow] = ()
) -> list[LeaderboardRow]:
    """Set the shared ranks of these rows (in place) and order them: ranked rows (FEW_MATCHES
    matches or more) by rank, then provisional ones; within each, the lower bound of the holding
    interval, the mean, the matches and the names. Rows of different judge sets are ranked
    separately: their scores are not comparable. `among`: the other rows of the same ranking
    (another persona's), counted but neither changed nor returned."""
    by_judge: dict[str, list[LeaderboardRow]] = {}
    for row in rows:
        row.provisional = row.matches < FEW_MATCHES
        row.rank = None
        if not row.provisional:
            by_judge.setdefault(row.judge, []).append(row)
    others: dict[str, list[Interval]] = {}
    for row in among:
        if row.matches >= FEW_MATCHES and row.judge in by_judge:
            others.setdefault(row.judge, []).append(row.holding_ci)
    for judge, group in by_judge.items():
        ranks = shared_ranks([r.holding_ci for r in group], others.get(judge, []))
        for row, rank in zip(group, ranks, strict=True):
            row.rank = rank
    rows.sort(
        key=lambda r: (
            r.judge,
            r.rank is None,
            r.rank or 0,
            r.mean_holding is None,
            -r.holding_ci[0],
            -(r.mean_holding or 0.0),
            -r.matches,
            r.persona,
            r.model or "",
            r.version or "",
            r.judge,
        )
    )
    return rows
