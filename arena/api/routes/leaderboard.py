"""Personas ranked by how firmly they hold their side."""

from __future__ import annotations

from fastapi import APIRouter

from arena.api.deps import StoreDep
from arena.api.schemas import Leaderboard
from arena.pressure_stats import PressureRow
from arena.store import GroupBy

router = APIRouter(prefix="/api", tags=["leaderboard"])


@router.get("/leaderboard")
async def leaderboard(store: StoreDep, by: GroupBy = "persona") -> Leaderboard:
    return Leaderboard(by=by, rows=await store.leaderboard(by))


@router.get("/leaderboard/pressure")
async def pressure_leaderboard(store: StoreDep) -> list[PressureRow]:
    """Pressure matches, persona x tactic: mean Turn of Flip, flip rate with its Wilson 95%
    interval, holding per round, judge-probe agreement, n (definitions in the README)."""
    return await store.pressure_leaderboard()
