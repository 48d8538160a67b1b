"""The leaderboards of one node: the debate board and the pressure board, folded from the stored
samples (arena.store.samples) and kept current by arena.leaderboard.follow.

A request costs the same at 100,000 matches as at 100: the node holds sums per group (a few
hundred groups, not the samples), folds in the samples stored since its last request, and
computes rows from the sums (O(groups)); rows are cached until a sample or a calibration
changes. A cold node starts from the state another node saved in Redis.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from arena.domain.records import Calibration
from arena.domain.samples import CalibrationSample, PressureSample, Sample
from arena.leaderboard.calibration import CalibrationRow, CalibrationTally
from arena.leaderboard.follow import Follower
from arena.leaderboard.human import HumanRow
from arena.leaderboard.pressure import PressureRow, PressureTally
from arena.leaderboard.rows import GroupBy, JudgeSet, LeaderboardRow
from arena.leaderboard.tally import Tally
from arena.leaderboard.versions import BoardView, Versions, board_view, splits
from arena.store.samples import BoardSamples

CACHED_VIEWS = 64


def _marks(calibrations: Mapping[str, Calibration]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((j, c.model_dump_json()) for j, c in calibrations.items()))


def _parse(raw: list[str]) -> list[object]:
    return [Sample.model_validate_json(v) for v in raw]


def _parse_pressure(raw: list[str]) -> list[object]:
    return [PressureSample.model_validate_json(v) for v in raw]


def _parse_calibration(raw: list[str]) -> list[object]:
    return [CalibrationSample.model_validate_json(v) for v in raw]


class CalibrationView(BaseModel):
    """The calibration board of one judge set (by default the one with most matches)."""

    judge: str | None
    judge_sets: list[str]
    rows: list[CalibrationRow]


class Leaderboard:
    """The debate board's rows and the pressure board's, from the stored samples."""

    def __init__(self, samples: BoardSamples, warm_wait: float = 0.3) -> None:
        self.samples = samples
        self.debate: Follower[Tally] = Follower(
            samples, "debate", Tally, Tally.from_json, _parse, warm_wait
        )
        self.pressure_board: Follower[PressureTally] = Follower(
            samples, "pressure", PressureTally, PressureTally.from_json, _parse_pressure, warm_wait
        )
        self.calibration_board: Follower[CalibrationTally] = Follower(
            samples,
            "calibration",
            CalibrationTally,
            CalibrationTally.from_json,
            _parse_calibration,
            warm_wait,
        )
        self._cache: dict[Any, tuple[list[LeaderboardRow], dict[str, str]]] = {}
        # finished views, shared by the requests of one board position (CACHED_VIEWS at most)
        self._views: OrderedDict[Any, BoardView] = OrderedDict()
        self._sets: tuple[tuple[int, int], list[JudgeSet]] | None = None

    async def aclose(self) -> None:
        await asyncio.gather(
            self.debate.aclose(), self.pressure_board.aclose(), self.calibration_board.aclose()
        )

    async def rows(
        self, by: GroupBy, judge: str | None = None, model: str | None = None
    ) -> list[LeaderboardRow]:
        """Rows grouped `by` (by persona or persona x model: every version pooled, without the
        notes of a view), optionally of one judge set or one model (persona x model rows)."""
        if model is not None:
            by = "persona_model"
        tally = await self.debate.current()
        calibrations = await self.samples.calibrations()
        rows, _ = self._cached_rows(tally, calibrations, by, False, judge)
        return [row.model_copy() for row in rows if model is None or row.model == model]

    async def view(
        self,
        by: GroupBy,
        current: Mapping[str, str],
        versions: Versions = "latest",
        judge: str | None = None,
        model: str | None = None,
    ) -> BoardView:
        """The board as readers see it (arena.leaderboard.versions): one judge set (by default
        the one with most matches), by default each persona's latest version, `current` the
        library's versions now. The view is shared by every request at the same board
        position: read it, do not change it."""
        if model is not None:
            by = "persona_model"
        tally = await self.debate.current()
        calibrations = await self.samples.calibrations()
        return self._view(tally, calibrations, by, current, versions, judge, model)

    async def persona_view(
        self, persona: str, by: GroupBy, current: Mapping[str, str]
    ) -> list[LeaderboardRow]:
        """A persona's rows under every judge set it played for, each ranked within its set
        (shared with other requests at the same board position: read them, do not change them)."""
        tally = await self.debate.current()
        calibrations = await self.samples.calibrations()
        out = []
        for judge_set in self._judge_sets(tally):
            view = self._view(tally, calibrations, by, current, "latest", judge_set.judge, None)
            out += [row for row in view.rows if row.persona == persona]
        return out

    def _judge_sets(self, tally: Tally) -> list[JudgeSet]:
        key = (tally.position, id(tally))
        if self._sets is None or self._sets[0] != key:
            self._sets = (key, tally.judge_sets())
        return self._sets[1]

    def _view(
        self,
        tally: Tally,
        calibrations: Mapping[str, Calibration],
        by: GroupBy,
        current: Mapping[str, str],
        versions: Versions,
        judge: str | None,
        model: str | None,
    ) -> BoardView:
        """One view, computed once per board position (no await in here: a request that
        finds no view computes and stores it before any other request runs)."""
        sets = self._judge_sets(tally)
        chosen = judge if judge is not None else (sets[0].judge if sets else None)
        at = (tally.position, id(tally), _marks(calibrations))
        key = (by, versions, chosen, model, at, tuple(sorted(current.items())))
        found = self._views.get(key)
        if found is not None:
            self._views.move_to_end(key)
            return found
        rows, last_played = self._cached_rows(tally, calibrations, by, splits(by, versions), chosen)
        copies = [row.model_copy() for row in rows if model is None or row.model == model]
        view = board_view(by, versions, copies, last_played, current)
        found = view.model_copy(update={"judge": chosen, "judge_sets": sets})
        self._views[key] = found
        while len(self._views) > CACHED_VIEWS:
            self._views.popitem(last=False)
        return found

    def _cached_rows(
        self,
        tally: Tally,
        calibrations: Mapping[str, Calibration],
        by: GroupBy,
        split: bool,
        judge: str | None,
    ) -> tuple[list[LeaderboardRow], dict[str, str]]:
        """The rows of one grouping (of one judge set, or each set ranked apart) and the
        personas' last played versions, shared: copy a row before changing it."""
        key = (by, split, judge, tally.position, id(tally), _marks(calibrations))
        found = self._cache.get(key)
        if found is None:
            found = (tally.rows(by, calibrations, split, judge), dict(tally.last_played))
            if len(self._cache) >= CACHED_VIEWS:
                self._cache.clear()
            self._cache[key] = found
        return found

    async def pressure(self) -> list[PressureRow]:
        """Persona x tactic rows of the pressure matches (arena.leaderboard.pressure)."""
        return (await self.pressure_board.current()).rows()

    async def human(self) -> list[HumanRow]:
        """Hardest to move: flip rates against human challengers beside scripted tactics on
        the same motions (arena.leaderboard.human)."""
        return (await self.pressure_board.current()).human_rows()

    async def calibration(
        self, by_model: bool = False, judge: str | None = None
    ) -> CalibrationView:
        """Firm and open: resistance to pressure and openness to evidence per persona
        (arena.leaderboard.calibration), of one judge set."""
        tally = await self.calibration_board.current()
        sets = tally.judge_sets()
        chosen = judge if judge is not None else (sets[0] if sets else None)
        rows = tally.rows(by_model, chosen) if chosen is not None else []
        return CalibrationView(judge=chosen, judge_sets=sets, rows=rows)
