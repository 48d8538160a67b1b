"""The pressure leaderboard's storage: one sample per completed pressure match, in a Redis hash
keyed by match id (adding a match twice keeps one sample). Ranking is arena.leaderboard.pressure'."""

from __future__ import annotations

from redis.asyncio import Redis

from arena.domain.events import MatchMetrics, MatchSpec
from arena.leaderboard.pressure import PressureRow, PressureSample, pressure_rows, sample_for
from arena.store.keys import Keys
from arena.store.leaderboard import judge_label
from arena.store.types import text_map


class PressureBoard:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def add(self, match_id: str, spec: MatchSpec, metrics: MatchMetrics) -> None:
        if spec.pressure is None:
            return
        target = spec.debater(spec.pressure.target)
        sample = sample_for(
            match_id, metrics, judge_label(metrics.judges), target.persona, target.model
        )
        if sample is not None:
            await self.redis.hset(self.keys.pressure_samples, match_id, sample.model_dump_json())

    async def samples(self) -> list[PressureSample]:
        raw = text_map(await self.redis.hgetall(self.keys.pressure_samples))
        return [PressureSample.model_validate_json(v) for _, v in sorted(raw.items())]

    async def rows(self) -> list[PressureRow]:
        return pressure_rows(await self.samples())
