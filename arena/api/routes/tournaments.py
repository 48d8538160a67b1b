"""Start, follow, cancel and export tournaments; each node runs a scheduler
(arena.tournaments.scheduler) for its share of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from arena.api.auth import WriterDep
from arena.api.deps import LibraryDep, ModelsDep, SettingsDep, StoreDep
from arena.api.schemas import UNAUTHORIZED, not_found
from arena.api.validation import ValidatedRoute
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.samples import judge_set
from arena.domain.tournaments import Slot, TournamentRequest, TournamentSpec
from arena.errors import ArenaError
from arena.leaderboard.calibration import CalibrationRow
from arena.leaderboard.pressure import PressureRow
from arena.leaderboard.rows import FEW_MATCHES
from arena.models.cache import ModelFactory
from arena.stats.ratings import Rating
from arena.stats.style import StyleControl
from arena.store import Store
from arena.store.tournaments import TournamentStatus
from arena.tournaments.calibration import calibration_leaderboard
from arena.tournaments.estimate import Estimate, estimate
from arena.tournaments.export import Snapshot, snapshot
from arena.tournaments.judges import JudgePanel
from arena.tournaments.results import (
    heatmap,
    matches_jsonl,
    pressure_heatmap,
    pressure_leaderboard,
    turns_csv,
)
from arena.tournaments.run import Progress, tournaments_of
from arena.tournaments.scheduler import Scheduler
from arena.tournaments.spec import resolve, schedule, total_matches

log = logging.getLogger(__name__)


class TournamentCreate(TournamentRequest):
    """A tournament to run: personas, motions, the design and how to run it (see Limits)."""


class TournamentCreated(BaseModel):
    id: str
    url: str
    total_matches: int
    resumed: bool = Field(description="the same spec was started before: it continues")
    estimate: Estimate


class TournamentSummary(BaseModel):
    id: str
    status: TournamentStatus
    design: str
    personas: list[str]
    motions: list[str]
    url: str
    progress: Progress


class SlotPublic(Slot):
    match: str | None
    status: str | None
    pro_holding: float | None = None
    con_holding: float | None = None


class TournamentRatings(BaseModel):
    """Adjusted holding (least-squares means), the same with style controlled (length and
    hedging), held-firmer Bradley-Terry ratings, and in a gauntlet the paired difference from
    the control; see docs/tournaments.md."""

    adjusted: list[Rating]
    held_firmer: list[Rating]
    control: list[Rating]
    matches: int
    turns: int
    style: StyleControl | None = Field(
        default=None, description="style-controlled adjusted holding and the covariates' effects"
    )
    anchor: str | None = Field(
        default=None, description="the persona pinned at 1000 on the held-firmer scale"
    )
    held_firmer_scale: str = Field(default="", description="how to read the held-firmer scale")


class TournamentDetail(BaseModel):
    id: str
    status: TournamentStatus
    error: str | None
    spec: TournamentSpec
    progress: Progress
    judge: str
    judge_calibration: dict[str, str | None]
    warnings: list[str]
    leaderboard: TournamentRatings
    heatmap: dict[str, dict[str, float]] = Field(
        description="persona x opponent mean holding (pressure: target persona x tactic)"
    )
    pressure: list[PressureRow] = Field(
        default_factory=list, description="pressure: the leaderboard, one row per persona x tactic"
    )
    pressure_heatmap: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="pressure: persona x tactic, mean ToF share (1: held)"
    )
    calibration: list[CalibrationRow] = Field(
        default_factory=list,
        description="calibration: firm and open, one row per persona (resistance, openness)",
    )
    judge_panel: JudgePanel = Field(
        description="the judges' agreement with each other and their position-swap consistency"
    )
    matches: list[SlotPublic]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    scheduler = Scheduler(app.state.store, app.state.settings, app.state.library)
    app.state.tournaments = scheduler
    adopting = asyncio.create_task(scheduler.adopt(), name="tournament-adopt")
    try:
        yield
    finally:
        scheduler.stop.set()  # queued matches stay queued for the workers
        await asyncio.gather(adopting, return_exceptions=True)
        await scheduler.close()


router = APIRouter(tags=["tournaments"], lifespan=lifespan, route_class=ValidatedRoute)


def _checked(
    body: TournamentCreate, library: Library, settings: Settings, models: ModelFactory
) -> TournamentSpec:
    try:
        spec = resolve(TournamentSpec.model_validate(body.model_dump()), library, settings)
        challenger = [spec.challenger_model] if spec.challenger_model else []
        for name in {*spec.models.values(), *spec.judges, *challenger}:
            models.require_available(name)
    except ArenaError as exc:
        raise RequestValidationError(
            [{"loc": ["body"], "msg": str(exc), "type": "value_error", "input": None}]
        ) from exc
    return spec


@router.post(
    "/api/tournaments",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses=UNAUTHORIZED,
)
async def create_tournament(
    body: TournamentCreate,
    request: Request,
    store: StoreDep,
    library: LibraryDep,
    settings: SettingsDep,
    models: ModelsDep,
) -> TournamentCreated:
    spec = _checked(body, library, settings, models)
    record, created = await tournaments_of(store).create(spec, total_matches(spec))
    scheduler: Scheduler = request.app.state.tournaments
    scheduler.kick(record.id)
    return TournamentCreated(
        id=record.id,
        url=f"/tournaments/{record.id}",
        total_matches=record.total,
        resumed=not created,
        estimate=estimate(spec),
    )


class TournamentPlan(BaseModel):
    spec: TournamentSpec
    total_matches: int
    schedule: list[Slot] = Field(description="every match; a swiss tournament's first round")
    estimate: Estimate


@router.post("/api/tournaments/plan", dependencies=[WriterDep], responses=UNAUTHORIZED)
async def plan_tournament(
    body: TournamentCreate, library: LibraryDep, settings: SettingsDep, models: ModelsDep
) -> TournamentPlan:
    """The schedule and the estimate of tokens and cost, without starting anything (a write:
    it prices a run)."""
    spec = _checked(body, library, settings, models)
    return TournamentPlan(
        spec=spec,
        total_matches=total_matches(spec),
        schedule=schedule(spec, settings),
        estimate=estimate(spec),
    )


@router.get("/api/tournaments")
async def list_tournaments(store: StoreDep) -> list[TournamentSummary]:
    t = tournaments_of(store)
    out = []
    for record in await t.recent(limit=50):
        snap_progress = await _progress(store, record.id)
        out.append(
            TournamentSummary(
                id=record.id,
                status=record.status,
                design=record.spec.design,
                personas=record.spec.personas,
                motions=record.spec.motions,
                url=f"/tournaments/{record.id}",
                progress=snap_progress,
            )
        )
    return out


async def _progress(store: Store, tournament_id: str) -> Progress:
    from arena.tournaments.run import progress

    found = await progress(store, tournament_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"tournament {tournament_id!r} not found")
    return found


@router.get("/api/tournaments/{tournament_id}", responses=not_found("tournament"))
async def get_tournament(tournament_id: str, store: StoreDep) -> TournamentDetail:
    snap = await snapshot(store, tournament_id, resamples=500)
    if snap is None:
        raise HTTPException(status_code=404, detail=f"tournament {tournament_id!r} not found")
    statuses = await store.statuses_of(snap.match_ids.values())
    # O(matches) of pure work: off the event loop, which other requests share
    return await asyncio.to_thread(_detail, snap, statuses)


def _detail(snap: Snapshot, statuses: dict[str, str | None]) -> TournamentDetail:
    results = {r.match: r for r in snap.results}
    slots = []
    for s in snap.slots:
        match_id = snap.match_ids.get(s.index)
        r = results.get(match_id or "")
        slots.append(
            SlotPublic(
                **s.model_dump(),
                match=match_id,
                status=statuses.get(match_id) if match_id else None,
                pro_holding=r.pro_holding if r else None,
                con_holding=r.con_holding if r else None,
            )
        )
    warnings = [
        f"judge {j} is uncalibrated: its scores are not checked against labelled turns"
        for j, label in snap.calibrations.items()
        if label is None
    ]
    warnings += [
        f"{r.persona} rests on {r.matches} matches (fewer than {FEW_MATCHES})"
        for r in snap.ratings.adjusted
        if r.matches < FEW_MATCHES
    ]
    ratings = snap.ratings
    spec = snap.record.spec
    pressure = pressure_leaderboard(snap.results) if spec.format == "pressure" else []
    calibration = calibration_leaderboard(snap.results) if spec.is_calibration else []
    return TournamentDetail(
        id=snap.record.id,
        status=snap.record.status,
        error=snap.record.error,
        spec=snap.record.spec,
        progress=snap.progress,
        judge=judge_set(snap.record.spec.judges),
        judge_calibration=snap.calibrations,
        warnings=warnings,
        leaderboard=TournamentRatings(
            adjusted=ratings.adjusted,
            held_firmer=ratings.held_firmer,
            control=ratings.control,
            matches=ratings.matches,
            turns=ratings.turns,
            style=ratings.style,
            anchor=ratings.anchor,
            held_firmer_scale=ratings.held_firmer_scale,
        ),
        heatmap=heatmap(snap.results),
        pressure=pressure,
        pressure_heatmap=pressure_heatmap(pressure),
        calibration=calibration,
        judge_panel=snap.panel,
        matches=slots,
    )


@router.post(
    "/api/tournaments/{tournament_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, **not_found("tournament")},
)
async def cancel_tournament(tournament_id: str, store: StoreDep) -> Progress:
    t = tournaments_of(store)
    if await t.get(tournament_id) is None:
        raise HTTPException(status_code=404, detail=f"tournament {tournament_id!r} not found")
    await t.request_cancel(tournament_id)
    return await _progress(store, tournament_id)


@router.get(
    "/api/tournaments/{tournament_id}/export",
    response_model=None,
    responses={
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}},
        **not_found("tournament"),
    },
)
async def export_tournament(
    tournament_id: str, store: StoreDep, format: Literal["csv", "jsonl"] = "csv"
) -> PlainTextResponse:
    """turns.csv (one row per turn) or matches.jsonl (one line per match)."""
    t = tournaments_of(store)
    if await t.get(tournament_id) is None:
        raise HTTPException(status_code=404, detail=f"tournament {tournament_id!r} not found")
    results = await t.results(tournament_id)
    name = f"tournament-{tournament_id}-{'turns.csv' if format == 'csv' else 'matches.jsonl'}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return PlainTextResponse(turns_csv(results), media_type="text/csv", headers=headers)
    return PlainTextResponse(
        matches_jsonl(results), media_type="application/x-ndjson", headers=headers
    )
