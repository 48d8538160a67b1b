"""Per-group running sums of the leaderboard's samples (pure; O(1) per sample, O(groups) in all).

A group is one persona x model x version x judge set, the finest grain a view needs; a view
(by persona, or persona x model, with versions pooled or split) adds groups together. A group
keeps counts and sums, never the samples: its memory does not grow with its matches, and its
interval comes from the sums (arena.stats.intervals.mean_interval). The tally also remembers
each persona's last played version, and how far into the stored log it has read: it is what a
node keeps and what it shares through Redis for the next node's cold start (`to_json`).

Persuasion of a debater in one match is the opponent's holding on its first scored turn minus
its mean holding over its later scored turns (arena.domain.samples.persuasion); a row's is the
mean over its matches that have one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from arena.domain.samples import Sample
from arena.leaderboard.rows import (
    UNKNOWN_VERSION,
    CalibrationLike,
    GroupBy,
    JudgeSet,
    LeaderboardRow,
    accuracy_of,
    calibration_label,
    ranked,
    row_warnings,
)
from arena.stats.intervals import FULL_RANGE, mean_interval, wilson_interval

GroupKey = tuple[str, str, str | None, str]  # persona, model, version, judge set
# a view's grain: persona, model (None: pooled), version (None: pooled or unknown), judge set
ViewKey = tuple[str, str | None, str | None, str]


@dataclass
class Group:
    """The sums of one group's samples."""

    matches: int = 0
    turns: int = 0
    holdings: int = 0  # matches with a mean holding (a judge scored a turn)
    holding_sum: float = 0.0
    holding_sq: float = 0.0
    flips: int = 0
    firmness: int = 0
    stance_changes: int = 0
    engagement_sum: float = 0.0
    engagement_n: int = 0
    persuasion_sum: float = 0.0
    persuasion_n: int = 0

    def add(self, s: Sample) -> None:
        self.matches += 1
        self.turns += s.turns
        if s.mean_holding is not None:  # a match the judge never scored is not a hold
            self.flips += s.flipped
        self.firmness += s.firmness
        self.stance_changes += s.stance_changes
        if s.mean_holding is not None:
            self.holdings += 1
            self.holding_sum += s.mean_holding
            self.holding_sq += s.mean_holding * s.mean_holding
        if s.engagement is not None:
            self.engagement_sum += s.engagement
            self.engagement_n += 1
        if s.persuasion is not None:
            self.persuasion_sum += s.persuasion
            self.persuasion_n += 1

    def merge(self, other: Group) -> None:
        for name in _FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_FIELDS = tuple(f.name for f in fields(Group))


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 4) if n else None


class Tally:
    """The groups of every sample folded so far, and the log position reached."""

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        # persona -> the recorded version of its latest sample: its most recently played one
        self.last_played: dict[str, str] = {}
        self.position = 0  # log entries folded

    def add(self, samples: Iterable[Sample]) -> None:
        """Fold samples in; the caller reads each stored sample once (by log position). A group
        is replaced, never changed: a snapshot keeps the groups it was taken with."""
        for s in samples:
            if s.version is not None:
                self.last_played[s.persona] = s.version
            key = (s.persona, s.model, s.version, s.judge)
            group = self.groups.get(key)
            group = Group() if group is None else replace(group)
            group.add(s)
            self.groups[key] = group

    def snapshot(self) -> Tally:
        """The tally as it is now, for a thread to read while this one folds on: O(groups)
        references, no group copied (add replaces groups, it does not change them)."""
        other = Tally()
        other.groups = dict(self.groups)
        other.last_played = dict(self.last_played)
        other.position = self.position
        return other

    def copy(self) -> Tally:
        other = Tally()
        other.groups = {k: Group(**asdict(g)) for k, g in self.groups.items()}
        other.last_played = dict(self.last_played)
        other.position = self.position
        return other

    def view_groups(
        self, by: GroupBy, split: bool, judge_set: str | None = None
    ) -> dict[tuple[str, str | None, str | None, str], tuple[Group, dict[str, int]]]:
        """Groups added up to the grain of a view: persona (x model), versions pooled unless
        `split` (or by persona_version), per judge set (only `judge_set`'s if given); with the
        matches of each version."""
        by_model = by == "persona_model"
        split = split or by == "persona_version"
        out: dict[ViewKey, tuple[Group, dict[str, int]]] = {}
        for (persona, model, version, judge), g in self.groups.items():
            if judge_set is not None and judge != judge_set:
                continue
            key = (persona, model if by_model else None, version if split else None, judge)
            if key not in out:
                out[key] = (Group(), {})
            total, versions = out[key]
            total.merge(g)
            name = version or UNKNOWN_VERSION
            versions[name] = versions.get(name, 0) + g.matches
        return out

    def judge_sets(self) -> list[JudgeSet]:
        """Every judge set with its samples, most first (ties by name)."""
        counts: dict[str, int] = {}
        for (_, _, _, judge), g in self.groups.items():
            counts[judge] = counts.get(judge, 0) + g.matches
        return [JudgeSet(judge=j, matches=n) for j, n in sorted(counts.items(), key=_most)]

    def rows(
        self,
        by: GroupBy,
        calibrations: Mapping[str, CalibrationLike],
        split: bool = False,
        judge: str | None = None,
    ) -> list[LeaderboardRow]:
        """The rows of one judge set (None: every set, each ranked apart)."""
        rows = []
        judged: dict[str, tuple[float | None, str | None]] = {}  # judge set -> accuracy, label
        for (persona, model, version, judge_set), (g, versions) in self.view_groups(
            by, split, judge
        ).items():
            if judge_set not in judged:
                judged[judge_set] = (
                    accuracy_of(judge_set, calibrations),
                    calibration_label(judge_set, calibrations),
                )
            accuracy, label = judged[judge_set]
            flip_lo, flip_hi = wilson_interval(g.flips, g.holdings)
            lo, hi = mean_interval(g.holdings, g.holding_sum, g.holding_sq)
            rows.append(
                LeaderboardRow(
                    rank=0,
                    persona=persona,
                    model=model,
                    judge=judge_set,
                    judge_accuracy=accuracy,
                    judge_calibration=label,
                    matches=g.matches,
                    turns=g.turns,
                    mean_holding=_mean(g.holding_sum, g.holdings),
                    holding_ci=(round(lo, 4), round(hi, 4)) if g.holdings else FULL_RANGE,
                    flip_rate=round(g.flips / g.holdings, 4) if g.holdings else 0.0,
                    unscored_matches=g.matches - g.holdings,
                    flip_ci=(round(flip_lo, 4), round(flip_hi, 4)),
                    mean_firmness=round(g.firmness / g.matches, 4),
                    mean_stance_changes=round(g.stance_changes / g.matches, 4),
                    mean_engagement=_mean(g.engagement_sum, g.engagement_n),
                    persuasion=_mean(g.persuasion_sum, g.persuasion_n),
                    warnings=row_warnings(g.matches, accuracy),
                    version=version,
                    version_matches=versions,
                )
            )
        return ranked(rows)

    def to_json(self) -> str:
        return json.dumps(
            {
                "position": self.position,
                "last_played": self.last_played,
                "groups": [[list(k), asdict(g)] for k, g in self.groups.items()],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Tally:
        data: dict[str, Any] = json.loads(text)
        tally = cls()
        tally.position = int(data["position"])
        tally.last_played = {str(k): str(v) for k, v in data["last_played"].items()}
        for key, sums in data["groups"]:
            persona, model, version, judge = key
            tally.groups[(persona, model, version, judge)] = Group(**sums)
        return tally


def _most(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def leaderboard_rows(
    samples: Iterable[Sample],
    by: GroupBy,
    calibrations: Mapping[str, CalibrationLike],
    split: bool = False,
) -> list[LeaderboardRow]:
    """Rows of these samples alone (a tournament's, a test's)."""
    tally = Tally()
    tally.add(samples)
    return tally.rows(by, calibrations, split)


__all__ = ["Group", "GroupKey", "Tally", "leaderboard_rows"]
