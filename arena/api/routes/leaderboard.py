"""Personas ranked by how firmly they hold their side."""

from __future__ import annotations

from fastapi import APIRouter

from arena.api.deps import StoreDep
from arena.api.schemas import Leaderboard
from arena.pressure_stats import PressureRow
from arena.store import GroupBy

router = APIRouter(prefix="/api", tags=["leaderboard"])


@router.get("/leaderboard")
async def leaderboard(
    store: StoreDep,
    by: GroupBy = "persona",
    judge: str | None = None,
    model: str | None = None,
    tournament: str | None = None,
) -> Leaderboard:
    """Filters: one judge set, one model (rows by persona x model), one tournament (its rows
    gain the adjusted holding; see the README)."""
    if tournament is not None:
        from arena.tournament_export import tournament_rows

        rows = [
            r
            for r in await tournament_rows(
                store, tournament, by if model is None else "persona_model"
            )
            if (judge is None or r.judge == judge) and (model is None or r.model == model)
        ]
        return Leaderboard(by=by if model is None else "persona_model", rows=rows)
    return Leaderboard(
        by=by if model is None else "persona_model", rows=await store.leaderboard(by, judge, model)
    )


@router.get("/leaderboard/pressure")
async def pressure_leaderboard(store: StoreDep) -> list[PressureRow]:
    """Pressure matches, persona x tactic: mean Turn of Flip, flip rate with its Wilson 95%
    interval, holding per round, judge-probe agreement, n (definitions in the README)."""
    return await store.pressure_leaderboard()
