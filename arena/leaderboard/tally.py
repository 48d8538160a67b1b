"""Leaderboard rows, computed from one sample per debater per completed match (pure, numpy).

A sample keeps what a row needs: the debater's mean holding, whether it flipped, turns of
firmness, stance changes, mean engagement, the opponent's mean holding, and persuasion.

Persuasion of a debater in one match = the opponent's holding on its first scored turn minus the
opponent's mean holding over its later scored turns (None when the opponent has fewer than two
scored turns). Positive means the opponent gave ground over the debate. A row's persuasion is
the mean over its matches that have a value.

Rows group samples by persona (or persona x model, or persona x version: the persona's content
hash the match played, None for samples recorded before versions were) and by judge set, since
scores from different judges are not comparable; a tally may also split persona (x model) rows by
version, so that the default board can keep only each persona's latest (arena.leaderboard.versions).
They are ordered by the lower bound of the 95% bootstrap interval of mean holding, so a persona
needs both a high mean and enough matches to rank high; the rank shown is shared
(arena.stats.ratings.shared_ranks): rows whose intervals overlap cannot be told apart.

A Tally keeps per-group sums as samples arrive, and recomputes the interval of a group only when
that group changed: the cost of a refresh follows the new samples, not all of them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from arena.domain.events import MatchMetrics, Side, Verdict
from arena.stats.intervals import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    FULL_RANGE,
    Z95,
    wilson_interval,
)
from arena.stats.ratings import shared_ranks

GroupBy = Literal["persona", "persona_model", "persona_version"]
Interval = tuple[float, float]
# above this many matches a row's interval is the normal one, the bootstrap's own limit: at
# 5,000 values the two differ by less than the 4 decimals shown, and the bootstrap would cost
# resamples x values draws per refresh
BOOTSTRAP_MAX = 5000
FEW_MATCHES = 5
_DRAWS_PER_CHUNK = 4_000_000


class CalibrationLike(Protocol):
    @property
    def accuracy(self) -> float: ...

    @property
    def label(self) -> str: ...


class Sample(BaseModel):
    """One debater in one completed match."""

    match_id: str
    side: Side
    persona: str
    model: str
    judge: str
    turns: int
    mean_holding: float | None
    flipped: bool
    firmness: int
    stance_changes: int
    engagement: float | None
    opponent_mean_holding: float | None
    persuasion: float | None
    tournament: str | None = None
    # the persona's content hash played (arena.personas.library.persona_version); None: not recorded
    version: str | None = None


class LeaderboardRow(BaseModel):
    rank: int
    persona: str
    model: str | None
    judge: str
    judge_accuracy: float | None
    judge_calibration: str | None = None
    matches: int
    turns: int
    mean_holding: float | None
    holding_ci: Interval
    flip_rate: float
    flip_ci: Interval
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


UNKNOWN_VERSION = "unknown"  # the key of version_matches for samples without a version


def judge_label(judges: Iterable[str]) -> str:
    """The judge set of a match, order-free: 'a' or 'a+b'."""
    return "+".join(sorted(set(judges)))


def persuasion(opponent_verdicts: Sequence[Verdict]) -> float | None:
    held = [
        v.holding
        for v in sorted(opponent_verdicts, key=lambda v: v.turn)
        if v.scored and v.holding is not None
    ]
    if len(held) < 2:
        return None
    return round(held[0] - statistics.fmean(held[1:]), 4)


def samples_for(
    match_id: str,
    metrics: MatchMetrics,
    verdicts: Sequence[Verdict],
    versions: Mapping[str, str | None] | None = None,
) -> list[Sample]:
    """The two samples of a completed debate; `versions` the persona version each side played
    (the match spec's `pro.version` and `con.version`)."""
    if metrics.pressure is not None:  # a pressure match is not a debate: not on this board
        return []
    judge = judge_label(metrics.judges)
    out = []
    for me, them in ((metrics.pro, metrics.con), (metrics.con, metrics.pro)):
        out.append(
            Sample(
                match_id=match_id,
                side=me.side,
                persona=me.persona,
                model=me.model,
                judge=judge,
                turns=me.turns,
                mean_holding=me.mean_holding,
                flipped=me.flip_turn is not None,
                firmness=me.turns_of_firmness,
                stance_changes=me.stance_changes,
                engagement=me.mean_engagement,
                opponent_mean_holding=them.mean_holding,
                persuasion=persuasion([v for v in verdicts if v.side == them.side]),
                version=(versions or {}).get(me.side),
            )
        )
    return out


def bootstrap_ci(values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES) -> Interval:
    """95% percentile bootstrap interval of the mean, vectorised; the normal interval above
    BOOTSTRAP_MAX values; (0, 1) under two values (arena.stats.intervals explains why)."""
    n = len(values)
    if n < 2:
        return FULL_RANGE
    data = np.sort(np.asarray(values, dtype=float))  # order-free: the same set, the same answer
    if n > BOOTSTRAP_MAX:
        half = Z95 * float(data.std(ddof=1)) / math.sqrt(n)
        mean = float(data.mean())
        return max(0.0, mean - half), min(1.0, mean + half)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    per_chunk = max(1, _DRAWS_PER_CHUNK // n)
    means = np.concatenate(
        [
            data[rng.integers(0, n, size=(min(per_chunk, resamples - start), n))].mean(axis=1)
            for start in range(0, resamples, per_chunk)
        ]
    )
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def _accuracy(judge: str, calibrations: Mapping[str, CalibrationLike]) -> float | None:
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
        out.append(f"rests on {matches} match{'es' if matches != 1 else ''} (fewer than 5)")
    if judge_accuracy is None:
        out.append("judge not calibrated: run `arena judge-eval calibration --record`")
    return out


GroupKey = tuple[str, str | None, str | None, str]  # persona, model, version, judge set


@dataclass
class _Group:
    holdings: list[float] = field(default_factory=list)
    holding_sum: float = 0.0
    matches: int = 0
    turns: int = 0
    flips: int = 0
    firmness: int = 0
    stance_changes: int = 0
    engagement: list[float] = field(default_factory=lambda: [0.0, 0.0])  # sum, count
    persuasion: list[float] = field(default_factory=lambda: [0.0, 0.0])
    versions: dict[str, int] = field(default_factory=dict)  # matches per version played
    ci: Interval | None = None  # the interval of the first `ci_n` holdings
    ci_n: int = -1

    def compute_ci(self) -> None:
        n = len(self.holdings)
        values = self.holdings[:n]  # a copy: the loop may append while a thread computes
        lo, hi = bootstrap_ci(values) if values else FULL_RANGE
        self.ci, self.ci_n = (round(lo, 4), round(hi, 4)), n


INLINE_MAX = 300  # holdings up to which a stale interval is recomputed on the request path


def _mean(pair: list[float]) -> float | None:
    return round(pair[0] / pair[1], 4) if pair[1] else None


class Tally:
    """Per-group sums of the samples seen so far; each sample counts once (match and side).
    Groups are persona (x model with by="persona_model"), split by version with by=
    "persona_version" or `split`, and by judge set."""

    def __init__(self, by: GroupBy, split: bool = False) -> None:
        self.by = by
        self.by_model = by == "persona_model"
        self.split = split or by == "persona_version"
        self.groups: dict[GroupKey, _Group] = {}
        self.seen: set[str] = set()
        # persona -> the recorded version of its latest sample: its most recently played one
        self.last_played: dict[str, str] = {}

    def add(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            mark = f"{s.match_id}:{s.side}"
            if mark in self.seen:
                continue
            self.seen.add(mark)
            if s.version is not None:
                self.last_played[s.persona] = s.version
            key = (
                s.persona,
                s.model if self.by_model else None,
                s.version if self.split else None,
                s.judge,
            )
            g = self.groups.setdefault(key, _Group())
            g.matches += 1
            version = s.version or UNKNOWN_VERSION
            g.versions[version] = g.versions.get(version, 0) + 1
            g.turns += s.turns
            g.flips += s.flipped
            g.firmness += s.firmness
            g.stance_changes += s.stance_changes
            if s.mean_holding is not None:
                g.holdings.append(s.mean_holding)
                g.holding_sum += s.mean_holding
            for acc, value in ((g.engagement, s.engagement), (g.persuasion, s.persuasion)):
                if value is not None:
                    acc[0] += value
                    acc[1] += 1

    @staticmethod
    def _cheap(g: _Group) -> bool:
        return g.ci is None or len(g.holdings) <= INLINE_MAX

    def stale(self) -> list[GroupKey]:
        """Groups whose interval predates their last samples."""
        return [k for k, g in self.groups.items() if g.ci_n != len(g.holdings)]

    def refresh(self, keys: Iterable[GroupKey] | None = None) -> None:
        """Recompute the intervals of these groups (default: every stale one). numpy: run it in
        a thread; the event loop may add samples meanwhile."""
        for key in list(self.stale() if keys is None else keys):
            self.groups[key].compute_ci()

    def rows(
        self, calibrations: Mapping[str, CalibrationLike], fresh: bool = True
    ) -> list[LeaderboardRow]:
        """The rows; counts and means are always current. With `fresh`, every interval is
        recomputed first; without, a large group keeps its last interval (the caller refreshes
        it off the request path) and only small or new groups are computed here."""
        if fresh:
            self.refresh()
        else:
            small = [k for k in self.stale() if self._cheap(self.groups[k])]
            self.refresh(small)
        rows = []
        for (persona, model, version, judge), g in self.groups.items():
            accuracy = _accuracy(judge, calibrations)
            flip_lo, flip_hi = wilson_interval(g.flips, g.matches)
            rows.append(
                LeaderboardRow(
                    rank=0,
                    persona=persona,
                    model=model,
                    judge=judge,
                    judge_accuracy=accuracy,
                    judge_calibration=calibration_label(judge, calibrations),
                    matches=g.matches,
                    turns=g.turns,
                    mean_holding=round(g.holding_sum / len(g.holdings), 4) if g.holdings else None,
                    holding_ci=g.ci or FULL_RANGE,
                    flip_rate=round(g.flips / g.matches, 4),
                    flip_ci=(round(flip_lo, 4), round(flip_hi, 4)),
                    mean_firmness=round(g.firmness / g.matches, 4),
                    mean_stance_changes=round(g.stance_changes / g.matches, 4),
                    mean_engagement=_mean(g.engagement),
                    persuasion=_mean(g.persuasion),
                    warnings=row_warnings(g.matches, accuracy),
                    version=version,
                    version_matches=dict(g.versions),
                )
            )
        return ranked(rows)


def ranked(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """Set the shared ranks of these rows (in place) and order them: rank, then the lower bound
    of the holding interval, the mean, the matches and the names."""
    for row, rank in zip(rows, shared_ranks([r.holding_ci for r in rows]), strict=True):
        row.rank = rank
    rows.sort(
        key=lambda r: (
            r.rank,
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


def leaderboard_rows(
    samples: Iterable[Sample], by: GroupBy, calibrations: Mapping[str, CalibrationLike]
) -> list[LeaderboardRow]:
    tally = Tally(by)
    tally.add(samples)
    return tally.rows(calibrations)
