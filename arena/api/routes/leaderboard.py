"""Personas ranked by how firmly they hold their side."""

from __future__ import annotations

from fastapi import APIRouter

from arena.api.deps import StoreDep
from arena.api.schemas import Leaderboard
from arena.store import GroupBy

router = APIRouter(prefix="/api", tags=["leaderboard"])


@router.get("/leaderboard")
async def leaderboard(store: StoreDep, by: GroupBy = "persona") -> Leaderboard:
    return Leaderboard(by=by, rows=await store.leaderboard(by))
