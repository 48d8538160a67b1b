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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from arena.domain.samples import Sample
from arena.leaderboard.rows import (
    UNKNOWN_VERSION,
    CalibrationLike,
    GroupBy,
    LeaderboardRow,
    accuracy_of,
    calibration_label,
    ranked,
    row_warnings,
)
from arena.stats.intervals import (
    FULL_RANGE,
    bootstrap_mean_ci,
    wilson_interval,
)

Interval = tuple[float, float]


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
        lo, hi = bootstrap_mean_ci(values) if values else FULL_RANGE
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
            accuracy = accuracy_of(judge, calibrations)
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


def leaderboard_rows(
    samples: Iterable[Sample], by: GroupBy, calibrations: Mapping[str, CalibrationLike]
) -> list[LeaderboardRow]:
    tally = Tally(by)
    tally.add(samples)
    return tally.rows(calibrations)
