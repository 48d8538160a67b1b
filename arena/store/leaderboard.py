"""Leaderboard rows, computed from one sample per debater per completed match.

A sample keeps what a row needs: the debater's mean holding, whether it flipped, turns of
firmness, stance changes, mean engagement, the opponent's mean holding, and persuasion.

Persuasion of a debater in one match = the opponent's holding on its first scored turn minus the
opponent's mean holding over its later scored turns (None when the opponent has fewer than two
scored turns). Positive means the opponent gave ground over the debate. A row's persuasion is
the mean over its matches that have a value.

Rows group samples by persona (or persona x model) and by judge set, since scores from different
judges are not comparable. They are ranked by the lower bound of the 95% bootstrap interval of
mean holding, so a persona needs both a high mean and enough matches to rank high.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from arena.events import MatchMetrics, Side, Verdict
from arena.stats import FULL_RANGE, Interval, bootstrap_mean_ci, wilson_interval
from arena.store.keys import Keys
from arena.store.types import text_map

GroupBy = Literal["persona", "persona_model"]


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


def samples_for(match_id: str, metrics: MatchMetrics, verdicts: Sequence[Verdict]) -> list[Sample]:
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
            )
        )
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def _rounded(interval: Interval) -> Interval:
    return round(interval[0], 4), round(interval[1], 4)


def _accuracy(judge: str, calibrations: Mapping[str, Calibration]) -> float | None:
    values = [c.accuracy if (c := calibrations.get(name)) else None for name in judge.split("+")]
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known and len(known) == len(values) else None


def calibration_label(judge: str, calibrations: Mapping[str, Calibration]) -> str | None:
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


def _row(
    persona: str,
    model: str | None,
    judge: str,
    group: list[Sample],
    acc: Mapping[str, Calibration],
) -> LeaderboardRow:
    holdings = [s.mean_holding for s in group if s.mean_holding is not None]
    flips = sum(s.flipped for s in group)
    lo, hi = bootstrap_mean_ci(holdings)
    return LeaderboardRow(
        rank=0,
        persona=persona,
        model=model,
        judge=judge,
        judge_accuracy=_accuracy(judge, acc),
        judge_calibration=calibration_label(judge, acc),
        matches=len(group),
        turns=sum(s.turns for s in group),
        mean_holding=_mean(holdings),
        holding_ci=_rounded((lo, hi)) if holdings else FULL_RANGE,
        flip_rate=round(flips / len(group), 4),
        flip_ci=_rounded(wilson_interval(flips, len(group))),
        mean_firmness=round(statistics.fmean(s.firmness for s in group), 4),
        mean_stance_changes=round(statistics.fmean(s.stance_changes for s in group), 4),
        mean_engagement=_mean(s.engagement for s in group),
        persuasion=_mean(s.persuasion for s in group),
    )


def leaderboard_rows(
    samples: Iterable[Sample], by: GroupBy, calibrations: Mapping[str, Calibration]
) -> list[LeaderboardRow]:
    groups: dict[tuple[str, str | None, str], list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: (s.match_id, s.side)):
        groups[(s.persona, s.model if by == "persona_model" else None, s.judge)].append(s)
    rows = [_row(p, m, j, group, calibrations) for (p, m, j), group in groups.items()]
    rows.sort(
        key=lambda r: (
            r.mean_holding is None,
            -r.holding_ci[0],
            -(r.mean_holding or 0.0),
            -r.matches,
            r.persona,
            r.model or "",
            r.judge,
        )
    )
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    return rows


class Leaderboard:
    """The stored samples and judge accuracies, and the rows computed from them."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._cache: dict[Any, list[LeaderboardRow]] = {}

    async def add(self, samples: Sequence[Sample]) -> None:
        """Record a completed match. Samples are keyed by match and side, so recording a match
        again (a worker finishing it after a crash) changes nothing."""
        if not samples:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.lb_samples,
                mapping={f"{s.match_id}:{s.side}": s.model_dump_json() for s in samples},
            )
            pipe.sadd(self.keys.lb_matches, *{s.match_id for s in samples})
            await pipe.execute()

    async def rows(self, by: GroupBy) -> list[LeaderboardRow]:
        raw = text_map(await self.redis.hgetall(self.keys.lb_samples))
        calibrations = await self.calibrations()
        # the bootstrap is the costly part: recompute only when samples or calibrations change
        marks = tuple(sorted((j, c.model_dump_json()) for j, c in calibrations.items()))
        key = (by, len(raw), marks)
        if key not in self._cache:
            samples = [Sample.model_validate_json(v) for v in raw.values()]
            self._cache[key] = leaderboard_rows(samples, by, calibrations)
            for stale in [k for k in self._cache if k[0] == by and k != key]:
                del self._cache[stale]
        return [row.model_copy() for row in self._cache[key]]

    async def calibrations(self) -> dict[str, Calibration]:
        raw = text_map(await self.redis.hgetall(self.keys.judge_accuracy))
        return {
            model: Calibration.model_validate({**json.loads(v), "judge": model})
            for model, v in raw.items()
        }

    async def accuracies(self) -> dict[str, float]:
        return {model: c.accuracy for model, c in (await self.calibrations()).items()}

    async def record_calibration(self, calibration: Calibration) -> None:
        if calibration.at is None:
            calibration = calibration.model_copy(update={"at": datetime.now(UTC)})
        data = calibration.model_dump_json(exclude={"judge"})
        await self.redis.hset(self.keys.judge_accuracy, calibration.judge, data)

    async def record_accuracy(self, model: str, accuracy: float, n: int) -> None:
        """A bare figure without its set (kept for callers that have none)."""
        await self.record_calibration(Calibration(judge=model, accuracy=accuracy, n=n))
