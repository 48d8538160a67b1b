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


class LeaderboardRow(BaseModel):
    rank: int
    persona: str
    model: str | None
    judge: str
    judge_accuracy: float | None
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


def _accuracy(judge: str, accuracy: Mapping[str, float | None]) -> float | None:
    values = [accuracy.get(name) for name in judge.split("+")]
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known and len(known) == len(values) else None


def _row(
    persona: str,
    model: str | None,
    judge: str,
    group: list[Sample],
    acc: Mapping[str, float | None],
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
    samples: Iterable[Sample], by: GroupBy, accuracy: Mapping[str, float | None]
) -> list[LeaderboardRow]:
    groups: dict[tuple[str, str | None, str], list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: (s.match_id, s.side)):
        groups[(s.persona, s.model if by == "persona_model" else None, s.judge)].append(s)
    rows = [_row(p, m, j, group, accuracy) for (p, m, j), group in groups.items()]
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
        accuracy = await self.accuracies()
        # the bootstrap is the costly part: recompute only when samples or accuracies change
        key = (by, len(raw), tuple(sorted(accuracy.items())))
        if key not in self._cache:
            samples = [Sample.model_validate_json(v) for v in raw.values()]
            self._cache[key] = leaderboard_rows(samples, by, accuracy)
            for stale in [k for k in self._cache if k[0] == by and k != key]:
                del self._cache[stale]
        return [row.model_copy() for row in self._cache[key]]

    async def accuracies(self) -> dict[str, float]:
        raw = text_map(await self.redis.hgetall(self.keys.judge_accuracy))
        return {model: float(json.loads(v)["accuracy"]) for model, v in raw.items()}

    async def record_accuracy(self, model: str, accuracy: float, n: int) -> None:
        at = datetime.now(UTC).isoformat()
        data = json.dumps({"accuracy": accuracy, "n": n, "at": at})
        await self.redis.hset(self.keys.judge_accuracy, model, data)
