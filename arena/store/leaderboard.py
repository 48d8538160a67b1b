"""The leaderboard's storage: one sample per debater per completed match (with the persona
version it played, when the match recorded one), and the judges' calibration records. The
statistics are pure functions in arena.leaderboard.tally.

Samples live in a hash keyed by match and side (recording a match again changes nothing), and
each new one is also appended to a log list. A node keeps per-group tallies in memory and reads
only the log entries it has not seen, so a request costs the same at 100,000 matches as at 100;
the intervals of changed groups are recomputed in a thread, off the event loop, and the rows are
cached until a sample or a calibration changes. Rows by persona (x model) are tallied twice:
every version pooled, and split by version, from which a view keeps each persona's latest
(arena.leaderboard.versions).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis

from arena.leaderboard.tally import (
    GroupBy,
    LeaderboardRow,
    Sample,
    Tally,
    calibration_label,
    judge_label,
    leaderboard_rows,
    persuasion,
    samples_for,
)
from arena.leaderboard.versions import BoardView, Versions, board_view, splits
from arena.store.keys import Keys
from arena.store.types import text_map

__all__ = [
    "Calibration",
    "GroupBy",
    "Leaderboard",
    "LeaderboardRow",
    "Sample",
    "calibration_label",
    "judge_label",
    "leaderboard_rows",
    "persuasion",
    "samples_for",
]

LOG_PAGE = 2000  # log entries per read: bounds the event loop's time parsing one reply
TallyKey = tuple[GroupBy, bool]  # persona or persona_model; split by version or not
TALLIES: tuple[TallyKey, ...] = (
    ("persona", False),
    ("persona_model", False),
    ("persona", True),
    ("persona_model", True),
)


def _tally_key(by: GroupBy, split: bool) -> TallyKey:
    return ("persona", True) if by == "persona_version" else (by, split)


# KEYS: samples hash, log list, matches set. ARGV: field, JSON, field, JSON, ...
# A sample not seen before is stored and appended to the log; a known one changes nothing.
_ADD = """
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    redis.call('SADD', KEYS[3], string.match(ARGV[i], '^(.*):[^:]*$'))
  end
end
return 1
"""


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


class Leaderboard:
    """The stored samples and judge calibrations, and the rows computed from them."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self._add = redis.register_script(_ADD)
        self._tallies = _new_tallies()
        self._read = 0  # log entries folded into the tallies
        self._sync = asyncio.Lock()
        self._cache: dict[Any, list[LeaderboardRow]] = {}
        self._refreshing: dict[TallyKey, asyncio.Task[None]] = {}

    async def add(self, samples: Sequence[Sample]) -> None:
        """Record a completed match. Samples are keyed by match and side, so recording a match
        again (a worker finishing it after a crash) changes nothing."""
        if not samples:
            return
        tournament = await self.redis.hget(self.keys.match_tournament, samples[0].match_id)
        if tournament is not None:
            samples = [s.model_copy(update={"tournament": str(tournament)}) for s in samples]
        args = [x for s in samples for x in (f"{s.match_id}:{s.side}", s.model_dump_json())]
        await self._add(keys=[self.keys.lb_samples, self.keys.lb_log, self.keys.lb_matches],
                        args=args)  # fmt: skip

    async def _catch_up(self) -> None:
        """Fold the log entries this node has not seen into its tallies."""
        total = int(await self.redis.llen(self.keys.lb_log))
        if self._read == 0 and total < int(await self.redis.hlen(self.keys.lb_samples)):
            await self._fill_log()
            total = int(await self.redis.llen(self.keys.lb_log))
        if total < self._read:  # the log was deleted: start over
            self._tallies = _new_tallies()
            self._read = 0
        while self._read < total:
            end = min(total, self._read + LOG_PAGE) - 1
            raw = await self.redis.lrange(self.keys.lb_log, self._read, end)
            samples = await asyncio.to_thread(_parse, [str(v) for v in raw])
            for tally in self._tallies.values():
                tally.add(samples)
            self._read += len(raw)
            if not raw:
                break

    async def _fill_log(self) -> None:
        """Samples stored before the log existed: append them once (the tallies skip repeats)."""
        raw = text_map(await self.redis.hgetall(self.keys.lb_samples))
        values = list(raw.values())
        for start in range(0, len(values), LOG_PAGE):
            await self.redis.rpush(self.keys.lb_log, *values[start : start + LOG_PAGE])

    async def rows(
        self, by: GroupBy, judge: str | None = None, model: str | None = None
    ) -> list[LeaderboardRow]:
        """Rows grouped `by` (by persona or persona x model: every version pooled, without the
        notes of a view), optionally of one judge set or one model (persona x model rows)."""
        if model is not None:
            by = "persona_model"
        rows, _ = await self._rows(_tally_key(by, False), judge, model)
        return rows

    async def view(
        self,
        by: GroupBy,
        current: Mapping[str, str],
        versions: Versions = "latest",
        judge: str | None = None,
        model: str | None = None,
    ) -> BoardView:
        """The board as readers see it (arena.leaderboard.versions): by default each persona's
        latest version, `current` the library's versions now."""
        if model is not None:
            by = "persona_model"
        rows, last_played = await self._rows(_tally_key(by, splits(by, versions)), judge, model)
        return board_view(by, versions, rows, last_played, current)

    async def _rows(
        self, tally_key: TallyKey, judge: str | None, model: str | None
    ) -> tuple[list[LeaderboardRow], dict[str, str]]:
        """Copies of one tally's rows, and its personas' last played versions."""
        calibrations = await self.calibrations()
        marks = tuple(sorted((j, c.model_dump_json()) for j, c in calibrations.items()))
        async with self._sync:
            await self._catch_up()
            key = (tally_key, self._read, marks)
            tally = self._tallies[tally_key]
            if key not in self._cache:
                found = await asyncio.to_thread(tally.rows, calibrations, False)
                self._cache = {k: v for k, v in self._cache.items() if k[0] != tally_key}
                self._cache[key] = found
                if tally.stale():
                    self._refresh_later(tally_key)
            rows = self._cache[key]
            last_played = dict(tally.last_played)
        copies = [
            row.model_copy()
            for row in rows
            if (judge is None or row.judge == judge) and (model is None or row.model == model)
        ]
        return copies, last_played

    def _refresh_later(self, key: TallyKey) -> None:
        """Recompute the large groups' intervals in a thread, off the request path; requests
        meanwhile show the previous interval (of a few matches fewer), then the new one."""
        if key in self._refreshing:
            return

        async def refresh() -> None:
            try:
                while stale := self._tallies[key].stale():
                    await asyncio.to_thread(self._tallies[key].refresh, stale)
                    self._cache = {k: v for k, v in self._cache.items() if k[0] != key}
            finally:
                self._refreshing.pop(key, None)

        name = f"leaderboard-{key[0]}{'-versions' if key[1] else ''}"
        self._refreshing[key] = asyncio.create_task(refresh(), name=name)

    async def samples(self, match_ids: Sequence[str]) -> list[Sample]:
        """The samples of these matches (a tournament's), read by key."""
        if not match_ids:
            return []
        fields = [f"{m}:{side}" for m in match_ids for side in ("pro", "con")]
        raw = await self.redis.hmget(self.keys.lb_samples, fields)
        return await asyncio.to_thread(_parse, [str(v) for v in raw if v is not None])

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


def _new_tallies() -> dict[TallyKey, Tally]:
    return {key: Tally(*key) for key in TALLIES}


def _parse(raw: list[str]) -> list[Sample]:
    return [Sample.model_validate_json(v) for v in raw]
