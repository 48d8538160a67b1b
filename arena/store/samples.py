"""The boards' samples and the judges' calibrations, as stored. Ranking is arena.leaderboard's.

Each board keeps its samples in a hash (recording a match again changes nothing: HSETNX) and the
field of each new sample in a log list, in arrival order. A reader folds the log from the
position it has read up to, so it never sees a sample twice and never needs a set of the samples
it has seen: idempotence lives here, in Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis

from arena.domain.records import Calibration
from arena.domain.samples import CalibrationSample, PressureSample, Sample
from arena.store.keys import Keys
from arena.store.types import text_map

Board = Literal["debate", "pressure", "calibration"]
# samples parsed on the event loop (a few ms); more are parsed in a thread, whose hop costs more
# than parsing a few
INLINE_PARSE = 200
SAMPLES_CACHED = 4096  # parsed debate samples a node keeps for tournament views (~1 KB each)
LOG_PAGE = 2000  # log entries per read: bounds the event loop's time parsing one reply

# KEYS: samples hash, log list. ARGV: field, JSON, field, JSON, ...
# A sample not seen before is stored and its field appended to the log; a known one changes
# nothing. A log older than this layout (holding the JSON rather than the field) or missing is
# rebuilt once from the hash, in one atomic step.
_ADD = """
if redis.call('LLEN', KEYS[2]) < redis.call('HLEN', KEYS[1]) then
  redis.call('DEL', KEYS[2])
  local fields = redis.call('HKEYS', KEYS[1])
  for i = 1, #fields, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(fields, i, math.min(i + 999, #fields)))
  end
end
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    added = added + 1
  end
end
return added
"""


# KEYS: state hash. ARGV: position, state. The state of a board folded up to `position` is kept
# only if it is further along than the one stored: any node may save, the furthest wins.
_SAVE_STATE = """
local at = tonumber(redis.call('HGET', KEYS[1], 'position') or '-1')
if at < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'position', ARGV[1], 'state', ARGV[2])
  return 1
end
return 0
"""


class BoardSamples:
    """The samples of the debate and pressure boards, and the judges' calibration records."""

    def __init__(self, redis: Redis, keys: Keys, cached: int = SAMPLES_CACHED) -> None:
        self.redis, self.keys = redis, keys
        self.cached = cached
        self._parsed: OrderedDict[str, Sample] = OrderedDict()  # field -> sample, LRU
        self._add = redis.register_script(_ADD)
        self._save_state = redis.register_script(_SAVE_STATE)

    def _keys(self, board: Board) -> list[str]:
        prefix = {"debate": "lb", "pressure": "pb", "calibration": "cb"}[board]
        return [self.keys.board(prefix, "samples"), self.keys.board(prefix, "log")]

    def _state_key(self, board: Board) -> str:
        prefix = {"debate": "lb", "pressure": "pb", "calibration": "cb"}[board]
        return self.keys.board(prefix, "state")

    async def save_state(self, board: Board, position: int, state: str) -> bool:
        """Keep a board's folded state (a node's tallies) for the next node's cold start."""
        saved = await self._save_state(keys=[self._state_key(board)], args=[position, state])
        return bool(saved)

    async def load_state(self, board: Board) -> str | None:
        """The furthest state any node saved (None: none yet)."""
        raw = await self.redis.hget(self._state_key(board), "state")
        return None if raw is None else str(raw)

    async def drop_state(self, board: Board) -> None:
        await self.redis.delete(self._state_key(board))

    async def add(self, samples: Sequence[Sample]) -> int:
        """Record the samples of a completed debate (keyed by match and side); returns how many
        were new."""
        if not samples:
            return 0
        tournament = await self.redis.hget(self.keys.match_tournament, samples[0].match_id)
        if tournament is not None:
            samples = [s.model_copy(update={"tournament": str(tournament)}) for s in samples]
        args = [x for s in samples for x in (f"{s.match_id}:{s.side}", _dump(s))]
        return int(await self._add(keys=self._keys("debate"), args=args))

    async def add_pressure(self, sample: PressureSample) -> int:
        """Record the sample of a completed pressure match (keyed by match)."""
        args = [sample.match_id, _dump(sample)]
        return int(await self._add(keys=self._keys("pressure"), args=args))

    async def add_calibration(self, sample: CalibrationSample) -> int:
        """Record the sample of a completed calibration match (keyed by match)."""
        args = [sample.match_id, _dump(sample)]
        return int(await self._add(keys=self._keys("calibration"), args=args))

    async def calibration_samples(self, match_ids: Sequence[str]) -> list[CalibrationSample]:
        if not match_ids:
            return []
        raw = await self.redis.hmget(self._keys("calibration")[0], list(match_ids))
        return [CalibrationSample.model_validate_json(v) for v in raw if v is not None]

    async def repair_log(self, board: Board = "debate") -> None:
        """Rebuild a log that lacks samples the hash holds (stored before the log existed)."""
        await self._add(keys=self._keys(board), args=[])

    async def log_length(self, board: Board = "debate") -> int:
        return int(await self.redis.llen(self._keys(board)[1]))

    async def read_log(self, board: Board, start: int, end: int) -> list[str]:
        """The JSON of the samples at log positions start..end (inclusive)."""
        samples_key, log_key = self._keys(board)
        fields = [str(f) for f in await self.redis.lrange(log_key, start, end)]
        if not fields:
            return []
        if fields[0].startswith("{"):  # a log of the older layout: rebuilt on the next add
            return fields
        values = await self.redis.hmget(samples_key, fields)
        return [str(v) for v in values if v is not None]

    async def samples(self, match_ids: Sequence[str]) -> list[Sample]:
        """The debate samples of these matches (a tournament's), read by key. A sample is
        written once (HSETNX): the ones parsed before are not read again (the `cached` most
        recently used are kept)."""
        if not match_ids:
            return []
        fields = [f"{m}:{side}" for m in match_ids for side in ("pro", "con")]
        known = {f: self._parsed[f] for f in fields if f in self._parsed}
        missing = [f for f in fields if f not in known]
        new: dict[str, Sample] = {}
        if missing:
            values = await self.redis.hmget(self.keys.lb_samples, missing)
            found = {f: str(v) for f, v in zip(missing, values, strict=True) if v is not None}
            raw = list(found.values())
            # a tournament's samples can be thousands: parsing them is CPU work, off the loop
            inline = len(raw) <= INLINE_PARSE
            parsed = _parse(raw) if inline else await asyncio.to_thread(_parse, raw)
            new = dict(zip(found, parsed, strict=True))
        out = []
        for f in fields:
            sample = known[f] if f in known else new.get(f)
            if sample is not None:
                out.append(sample)
                self._parsed[f] = sample
                self._parsed.move_to_end(f)
        while len(self._parsed) > self.cached:
            self._parsed.popitem(last=False)
        return out

    async def pressure_samples(self, match_ids: Sequence[str]) -> list[PressureSample]:
        if not match_ids:
            return []
        raw = await self.redis.hmget(self.keys.pressure_samples, list(match_ids))
        return [PressureSample.model_validate_json(v) for v in raw if v is not None]

    # judges' calibrations (arena judge-eval --record)
    async def calibrations(self) -> dict[str, Calibration]:
        raw = text_map(await self.redis.hgetall(self.keys.judge_accuracy))
        return {
            model: Calibration.model_validate({**json.loads(v), "judge": model})
            for model, v in raw.items()
        }

    async def calibration(self, judge: str) -> Calibration | None:
        raw = await self.redis.hget(self.keys.judge_accuracy, judge)
        if raw is None:
            return None
        return Calibration.model_validate({**json.loads(raw), "judge": judge})

    async def record_calibration(self, calibration: Calibration) -> None:
        if calibration.at is None:
            calibration = calibration.model_copy(update={"at": datetime.now(UTC)})
        data = calibration.model_dump_json(exclude={"judge"})
        await self.redis.hset(self.keys.judge_accuracy, calibration.judge, data)

    async def calibration_mark(self) -> str:
        """Changes whenever a calibration is recorded: readers cache rows under it."""
        raw: Any = await self.redis.hgetall(self.keys.judge_accuracy)
        return json.dumps(sorted(text_map(raw).items()))


def _dump(sample: Sample | PressureSample | CalibrationSample) -> str:
    return sample.model_dump_json(exclude_defaults=True)


def _parse(raw: list[str]) -> list[Sample]:
    return [Sample.model_validate_json(v) for v in raw]
