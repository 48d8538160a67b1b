"""The leaderboards of one node: tallies folded from the stored samples (arena.store.samples),
and the rows readers see.

A node keeps per-group tallies in memory and reads only the log entries it has not folded, so a
request costs the same at 100,000 matches as at 100; the intervals of changed groups are
recomputed in a thread, off the event loop, and the rows are cached until a sample or a
calibration changes. Rows by persona (x model) are tallied twice: every version pooled, and split
by version, from which a view keeps each persona's latest (arena.leaderboard.versions).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from arena.domain.samples import PressureSample, Sample
from arena.leaderboard.pressure import PressureRow, pressure_rows
from arena.leaderboard.rows import GroupBy, LeaderboardRow
from arena.leaderboard.tally import Tally
from arena.leaderboard.versions import BoardView, Versions, board_view, splits
from arena.store.samples import LOG_PAGE, BoardSamples

TallyKey = tuple[GroupBy, bool]  # persona or persona_model; split by version or not
TALLIES: tuple[TallyKey, ...] = (
    ("persona", False),
    ("persona_model", False),
    ("persona", True),
    ("persona_model", True),
)


def _tally_key(by: GroupBy, split: bool) -> TallyKey:
    return ("persona", True) if by == "persona_version" else (by, split)


class Leaderboard:
    """The debate board's rows and the pressure board's, from the stored samples."""

    def __init__(self, samples: BoardSamples) -> None:
        self.samples = samples
        self._tallies = _new_tallies()
        self._read = 0  # log entries folded into the tallies
        self._sync = asyncio.Lock()
        self._cache: dict[Any, list[LeaderboardRow]] = {}
        self._refreshing: dict[TallyKey, asyncio.Task[None]] = {}
        self._pressure: list[PressureSample] = []

    async def aclose(self) -> None:
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _catch_up(self) -> None:
        """Fold the log entries this node has not seen into its tallies."""
        if self._read == 0:
            await self.samples.repair_log("debate")
        total = await self.samples.log_length("debate")
        if total < self._read:  # the log was deleted: start over
            self._tallies = _new_tallies()
            self._read = 0
        while self._read < total:
            end = min(total, self._read + LOG_PAGE) - 1
            raw = await self.samples.read_log("debate", self._read, end)
            if not raw:
                break
            parsed = await asyncio.to_thread(_parse, raw)
            for tally in self._tallies.values():
                tally.add(parsed)
            self._read += end - self._read + 1

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
        calibrations = await self.samples.calibrations()
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

    async def pressure(self) -> list[PressureRow]:
        """Persona x tactic rows of the pressure matches (arena.leaderboard.pressure)."""
        total = await self.samples.log_length("pressure")
        if total < len(self._pressure):
            self._pressure = []
        while len(self._pressure) < total:
            start = len(self._pressure)
            raw = await self.samples.read_log("pressure", start, start + LOG_PAGE - 1)
            if not raw:
                break
            self._pressure += [PressureSample.model_validate_json(v) for v in raw]
        return pressure_rows(self._pressure)


def _new_tallies() -> dict[TallyKey, Tally]:
    return {key: Tally(*key) for key in TALLIES}


def _parse(raw: list[str]) -> list[Sample]:
    return [Sample.model_validate_json(v) for v in raw]
