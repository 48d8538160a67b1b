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
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel

from arena.domain.records import Calibration
from arena.domain.samples import CalibrationSample, PressureSample, Sample
from arena.leaderboard.calibration import CalibrationRow, CalibrationTally
from arena.leaderboard.follow import Follower
from arena.leaderboard.human import HumanRow
from arena.leaderboard.pressure import PressureRow, PressureTally
from arena.leaderboard.rows import GroupBy, JudgeSet, LeaderboardRow
from arena.leaderboard.tally import Tally
from arena.leaderboard.versions import BoardView, Versions, board_view, persona_rows, splits
from arena.store.samples import BoardSamples

CACHED_VIEWS = 64
INLINE_GROUPS = 400  # a tally this small is ranked on the event loop (a few ms); larger: a thread

Ranked = tuple[list[LeaderboardRow], dict[str, str]]  # rows, and each persona's last played
T = TypeVar("T")


def _rows_of(
    tally: Tally,
    by: GroupBy,
    calibrations: Mapping[str, Calibration],
    split: bool,
    judge: str | None,
) -> Ranked:
    return tally.rows(by, calibrations, split, judge), tally.last_played


def _make_view(
    by: GroupBy,
    versions: Versions,
    current: Mapping[str, str],
    model: str | None,
    judge: str | None,
    sets: list[JudgeSet],
    rows: list[LeaderboardRow],
    last_played: Mapping[str, str],
) -> BoardView:
    copies = [row.model_copy() for row in rows if model is None or row.model == model]
    view = board_view(by, versions, copies, last_played, current)
    return view.model_copy(update={"judge": judge, "judge_sets": sets})


async def _then(
    rows: asyncio.Future[Ranked],
    make: Callable[[list[LeaderboardRow], dict[str, str]], T],
    inline: bool,
) -> T:
    found = await asyncio.shield(rows)
    return make(*found) if inline else await asyncio.to_thread(make, *found)


def _done(value: T) -> asyncio.Future[T]:
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _recall(cache: OrderedDict[Any, asyncio.Future[T]], key: Any) -> asyncio.Future[T] | None:
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _remember(
    cache: OrderedDict[Any, asyncio.Future[T]], key: Any, found: asyncio.Future[T]
) -> None:
    """Keep `found` for the next requests (the CACHED_VIEWS most recent); one that fails is
    dropped, so that the next request computes it again."""

    def failed(future: asyncio.Future[T]) -> None:
        if future.cancelled() or future.exception() is not None:
            if cache.get(key) is future:
                del cache[key]

    cache[key] = found
    found.add_done_callback(failed)
    while len(cache) > CACHED_VIEWS:
        cache.popitem(last=False)


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

    def __init__(
        self, samples: BoardSamples, warm_wait: float = 0.3, inline_groups: int = INLINE_GROUPS
    ) -> None:
        self.samples = samples
        self.inline_groups = inline_groups
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
        # rows and finished views (done, or being computed), shared by the requests of one
        # board position (`_at`); CACHED_VIEWS of each at most
        self._cache: OrderedDict[Any, asyncio.Future[Ranked]] = OrderedDict()
        self._views: OrderedDict[Any, asyncio.Future[BoardView]] = OrderedDict()
        self._sets: tuple[tuple[int, int], list[JudgeSet]] | None = None
        self._at: tuple[int, int, tuple[tuple[str, str], ...]] | None = None  # their position

    async def aclose(self) -> None:
        pending = [f for c in (self._cache, self._views) for f in c.values() if not f.done()]
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
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
        rows, _ = await asyncio.shield(self._rows(tally, calibrations, by, False, judge))
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
        view = self._start_view(tally, calibrations, by, current, versions, judge, model)
        return await asyncio.shield(view)

    async def persona_view(
        self, persona: str, by: GroupBy, current: Mapping[str, str]
    ) -> list[LeaderboardRow]:
        """A persona's rows under every judge set it played for, each ranked within its set:
        the rows of the view with `current` (which names no other persona), computed from
        that persona's rows alone, ranked among the others' rows of the view every persona
        page shares (computed once per board position)."""
        tally = await self.debate.current()
        calibrations = await self.samples.calibrations()
        out = []
        for judge_set in self._judge_sets(tally):
            # both of the same board position: nothing is awaited before both are started
            split = self._rows(tally, calibrations, by, True, judge_set.judge)
            view = self._start_view(tally, calibrations, by, {}, "latest", judge_set.judge)
            shared = await asyncio.shield(view)
            rows, last_played = await asyncio.shield(split)
            mine = [row.model_copy() for row in rows if row.persona == persona]
            if not mine:
                continue
            others = [row for row in shared.rows if row.persona != persona]
            out += persona_rows(mine, last_played, current, others)
        return out

    def _enter(self, tally: Tally, calibrations: Mapping[str, Calibration]) -> None:
        """Rows and views are kept for one board position (and calibrations): a new one
        drops them, whose rows no request will show again."""
        at = (tally.position, id(tally), _marks(calibrations))
        if at != self._at:
            self._at = at
            self._cache.clear()
            self._views.clear()

    def _judge_sets(self, tally: Tally) -> list[JudgeSet]:
        key = (tally.position, id(tally))
        if self._sets is None or self._sets[0] != key:
            self._sets = (key, tally.judge_sets())
        return self._sets[1]

    def _start_view(
        self,
        tally: Tally,
        calibrations: Mapping[str, Calibration],
        by: GroupBy,
        current: Mapping[str, str],
        versions: Versions,
        judge: str | None,
        model: str | None = None,
    ) -> asyncio.Future[BoardView]:
        """One view, computed once per board position: the requests that ask while it is
        being computed wait for the same computation."""
        sets = self._judge_sets(tally)
        chosen = judge if judge is not None else (sets[0].judge if sets else None)
        self._enter(tally, calibrations)
        key = (by, versions, chosen, model, tuple(sorted(current.items())))
        found = _recall(self._views, key)
        if found is None:
            rows = self._rows(tally, calibrations, by, splits(by, versions), chosen)
            make = partial(_make_view, by, versions, dict(current), model, chosen, sets)
            inline = len(tally.groups) <= self.inline_groups
            if rows.done() and inline:
                found = _done(make(*rows.result()))
            else:
                found = asyncio.ensure_future(_then(rows, make, inline))
            _remember(self._views, key, found)
        return found

    def _rows(
        self,
        tally: Tally,
        calibrations: Mapping[str, Calibration],
        by: GroupBy,
        split: bool,
        judge: str | None,
    ) -> asyncio.Future[tuple[list[LeaderboardRow], dict[str, str]]]:
        """The rows of one grouping (of one judge set, or each set ranked apart) and the
        personas' last played versions, shared: copy a row before changing it. A large tally
        is ranked in a thread, on a snapshot (the loop folds new samples meanwhile)."""
        self._enter(tally, calibrations)
        key = (by, split, judge)
        found = _recall(self._cache, key)
        if found is None:
            snap = tally.snapshot()
            work = partial(_rows_of, snap, by, dict(calibrations), split, judge)
            if len(snap.groups) <= self.inline_groups:
                found = _done(work())
            else:
                found = asyncio.ensure_future(asyncio.to_thread(work))
            _remember(self._cache, key, found)
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
