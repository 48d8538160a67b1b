"""Running a tournament: its matches go on the match queue, any worker plays them.

One scheduler at a time holds a tournament's lock. It keeps up to `concurrency` of its matches
queued or running, records each finished match's results once, and stops scheduling when the
tournament is cancelled, when `stop` is set (Ctrl-C), or when the tokens of its finished matches
reach the budget. Resuming is running again: slots whose match completed are kept, slots whose
match is still queued or running are waited for, slots whose match failed or was cancelled get a
new match; a completed match is never played again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel

from arena.config import Settings
from arena.domain.claims import Claim
from arena.domain.personas import Library
from arena.domain.tournaments import Slot, TournamentSpec
from arena.errors import ArenaError
from arena.personas.library import load_claims
from arena.personas.tactics import Tactics, load_tactics
from arena.stats.ratings import game_score
from arena.store import QueueFull, Store
from arena.store.tournaments import (
    TournamentRecord,
    Tournaments,
    TournamentStatus,
    lock_token,
)
from arena.tournaments.results import match_result
from arena.tournaments.spec import match_spec, schedule, swiss_round

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
QUEUE_FULL_WAIT = 1.0  # the queue drains match by match: look again soon, not Retry-After


class Progress(BaseModel):
    status: TournamentStatus
    total: int
    done: int
    running: int
    queued: int
    failed: int
    cancelled: int
    tokens: int
    eta_seconds: float | None = None


class AlreadyRunning(ArenaError):
    """Another scheduler holds this tournament's lock."""


def tournaments_of(store: Store) -> Tournaments:
    return store.tournaments


async def progress(store: Store, tournament_id: str) -> Progress | None:
    """The tournament's progress as stored (any node can answer)."""
    t = tournaments_of(store)
    record = await t.get(tournament_id)
    if record is None:
        return None
    ids = await t.match_ids(tournament_id)
    counts = dict.fromkeys(("completed", "running", "queued", "failed", "cancelled"), 0)
    for status in (await store.statuses_of(ids.values())).values():
        if status in counts:
            counts[status] += 1
    return Progress(
        status=record.status,
        total=record.total,
        done=counts["completed"],
        running=counts["running"],
        queued=counts["queued"],
        failed=counts["failed"],
        cancelled=counts["cancelled"],
        tokens=record.tokens,
    )


class TournamentRun:
    """Schedules one tournament until it is over, cancelled, out of budget, or stopped."""

    def __init__(
        self,
        store: Store,
        library: Library,
        settings: Settings,
        tournament_id: str,
        on_progress: Callable[[Progress], Awaitable[None] | None] | None = None,
        poll: float = POLL_SECONDS,
    ) -> None:
        self.store, self.library, self.settings = store, library, settings
        self.id = tournament_id
        self.t = tournaments_of(store)
        self.on_progress, self.poll = on_progress, poll
        self.token = lock_token()
        # a scheduler that died frees the tournament as fast as a worker frees its match
        self.lock_ms = max(1000, int(settings.reclaim_idle_seconds * 1000), int(poll * 4000))
        self.statuses: dict[int, str] = {}  # slot -> status of its current match
        self.failed: set[int] = set()  # failed in this run: not scheduled again until a rerun
        self.finished_here = 0
        self.started = time.monotonic()
        self._tactics: Tactics | None = None
        self._claims: Mapping[str, Claim] | None = None

    async def run(self, stop: asyncio.Event | None = None) -> Progress:
        stop = stop or asyncio.Event()
        if not await self.t.lock(self.id, self.token, self.lock_ms):
            raise AlreadyRunning(f"tournament {self.id} is being scheduled by another process")
        try:
            return await self._run(stop)
        finally:
            await self.t.unlock(self.id, self.token)

    async def _load(self) -> tuple[TournamentRecord, list[Slot], dict[int, str]]:
        """The schedule (expanded the first time) and the slots' matches; records matches that
        finished while no scheduler watched; forgets failed ones, to play them again."""
        record = await self.t.get(self.id)
        if record is None:
            raise ArenaError(f"tournament {self.id!r} not found")
        slots = await self.t.slots(self.id)
        if not slots:
            slots = schedule(record.spec, self.settings)
            await self.t.add_slots(self.id, slots)
        matches = await self.t.match_ids(self.id)
        recorded = {r.match: r.status for r in await self.t.results(self.id)}
        by_index = {s.index: s for s in slots}
        statuses = await self.store.statuses_of(matches.values())
        for index, match_id in list(matches.items()):
            # a match an archive run removed (only once recorded) keeps its recorded status
            status = statuses[match_id] or recorded.get(match_id) or "failed"
            if status in ("completed", "failed", "cancelled") and match_id not in recorded:
                await self._record(by_index[index], match_id)
            if status in ("failed", "cancelled"):
                del matches[index]
            else:
                self.statuses[index] = status
        return record, slots, matches

    async def _run(self, stop: asyncio.Event) -> Progress:
        record, slots, matches = await self._load()
        spec = record.spec
        while True:
            await self.t.lock(self.id, self.token, self.lock_ms)
            await self._poll(slots, matches)
            if spec.design == "swiss":
                slots = await self._next_swiss_round(spec, slots, matches)
            tokens = (await self.t.get(self.id) or record).tokens
            in_flight = [i for i, s in self.statuses.items() if s in ("queued", "running")]
            pending = [s for s in slots if s.index not in matches and s.index not in self.failed]
            over_budget = spec.budget_tokens is not None and tokens >= spec.budget_tokens
            if await self.t.cancel_requested(self.id):
                for index in in_flight:
                    await self.store.request_cancel(matches[index])
                await self.t.finish(self.id, "cancelled")
                return await self._report("cancelled", record.total, tokens)
            if stop.is_set():
                return await self._report("running", record.total, tokens)
            if not in_flight and (not pending or over_budget):
                end: TournamentStatus = (
                    "budget_spent" if pending else "failed" if self.failed else "completed"
                )
                error = f"{len(self.failed)} matches failed: run again to play them again"
                await self.t.finish(self.id, end, error if end == "failed" else "")
                return await self._report(end, record.total, tokens)
            if not over_budget:
                for slot in pending[: spec.concurrency - len(in_flight)]:
                    if not await self._schedule(spec, slot, matches):
                        break
            await self._report("running", record.total, tokens)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll)

    async def _schedule(self, spec: TournamentSpec, slot: Slot, matches: dict[int, str]) -> bool:
        try:
            if spec.is_pressure and self._tactics is None:
                self._tactics = load_tactics(self.settings.personas_dir)
            if spec.is_calibration and self._claims is None:
                self._claims = load_claims(self.settings.personas_dir)
            created = await self.store.create_match(
                match_spec(spec, slot, self.library, self._tactics, self._claims)
            )
        except QueueFull:
            await asyncio.sleep(QUEUE_FULL_WAIT)
            return False
        matches[slot.index] = created.id
        self.statuses[slot.index] = created.status
        await self.t.set_match(self.id, slot.index, created.id)
        return True

    async def _poll(self, slots: list[Slot], matches: dict[int, str]) -> None:
        by_index = {s.index: s for s in slots}
        active = [i for i, status in self.statuses.items() if status in ("queued", "running")]
        statuses = await self.store.statuses_of(matches[i] for i in active)
        for index in active:
            now = statuses[matches[index]] or "failed"
            self.statuses[index] = now
            if now in ("completed", "failed", "cancelled"):
                self.finished_here += 1
                await self._record(by_index[index], matches[index])
                if now != "completed":
                    self.failed.add(index)

    async def _record(self, slot: Slot, match_id: str) -> None:
        record = await self.store.get_match(match_id)
        if record is None:
            return
        events = await self.store.read_events(match_id)
        await self.t.add_result(match_result(self.id, slot, record, events))

    async def _next_swiss_round(
        self, spec: TournamentSpec, slots: list[Slot], matches: dict[int, str]
    ) -> list[Slot]:
        current = max(s.round for s in slots)
        this_round = [s for s in slots if s.round == current]
        if current >= spec.swiss_rounds or any(
            self.statuses.get(s.index) != "completed" for s in this_round
        ):
            return slots
        points: dict[str, float] = {}
        for result in await self.t.results(self.id):
            if result.pro_holding is None or result.con_holding is None:
                continue
            score = game_score(result.pro_holding, result.con_holding)
            points[result.pro] = points.get(result.pro, 0.0) + score
            points[result.con] = points.get(result.con, 0.0) + 1 - score
        met = {frozenset((s.pro, s.con)) for s in slots}
        added = swiss_round(spec, current + 1, points, met, start=len(slots))
        await self.t.add_slots(self.id, added)
        return [*slots, *added]

    async def _report(self, status: TournamentStatus, total: int, tokens: int) -> Progress:
        counts = {k: sum(1 for s in self.statuses.values() if s == k) for k in
                  ("completed", "running", "queued", "failed", "cancelled")}  # fmt: skip
        left = total - counts["completed"]
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.finished_here * left if self.finished_here and left else None
        report = Progress(
            status=status,
            total=total,
            done=counts["completed"],
            running=counts["running"],
            queued=counts["queued"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            tokens=tokens,
            eta_seconds=None if eta is None else round(eta, 1),
        )
        if self.on_progress is not None:
            maybe = self.on_progress(report)
            if maybe is not None:
                await maybe
        return report
