"""Personas ranked by how firmly they hold their side."""

from __future__ import annotations

from fastapi import APIRouter

from arena.api.deps import LibraryDep, StoreDep
from arena.api.schemas import Leaderboard
from arena.board_stats import UNKNOWN_VERSION
from arena.personas import Library, persona_version
from arena.pressure_stats import PressureRow
from arena.store import GroupBy, LeaderboardRow

router = APIRouter(prefix="/api", tags=["leaderboard"])


@router.get("/leaderboard")
async def leaderboard(
    store: StoreDep,
    library: LibraryDep,
    by: GroupBy = "persona",
    judge: str | None = None,
    model: str | None = None,
    tournament: str | None = None,
    persona: str | None = None,
) -> Leaderboard:
    """Filters: one judge set, one model (rows by persona x model), one tournament (its rows
    gain the adjusted holding; see the README), one persona. Rows by persona_version say whether
    they are the persona's current version; other rows note the matches of older versions."""
    by = by if model is None else "persona_model"
    if tournament is not None:
        from arena.tournament_export import tournament_rows

        rows = await tournament_rows(store, tournament, by)
    else:
        rows = await store.leaderboard(by, judge, model)
    rows = [
        r
        for r in rows
        if (judge is None or r.judge == judge)
        and (model is None or r.model == model)
        and (persona is None or r.persona == persona)
    ]
    return Leaderboard(by=by, rows=mark_versions(rows, by, library))


def mark_versions(
    rows: list[LeaderboardRow], by: GroupBy, library: Library
) -> list[LeaderboardRow]:
    """Set `current` on rows by persona_version; on other rows, note the matches that played a
    version other than the persona's current one (all versions count in those rows)."""
    current = {
        row.persona: persona_version(library.personas[row.persona])
        for row in rows
        if row.persona in library.personas
    }
    for row in rows:
        now = current.get(row.persona)
        if by == "persona_version":
            row.current = None if now is None or row.version is None else row.version == now
            continue
        recorded = set(row.version_matches) - {UNKNOWN_VERSION}
        if now is None or not recorded or (recorded == {now} and len(row.version_matches) == 1):
            continue  # one version, the current one; or nothing known to compare
        older = sum(n for v, n in row.version_matches.items() if v != now)
        s = "es" if older != 1 else ""
        row.warnings = [
            *row.warnings,
            f"includes {older} match{s} of older versions: see by version",
        ]
    return rows


@router.get("/leaderboard/pressure")
async def pressure_leaderboard(store: StoreDep) -> list[PressureRow]:
    """Pressure matches, persona x tactic: mean Turn of Flip, flip rate with its Wilson 95%
    interval, holding per round, judge-probe agreement, n (definitions in the README)."""
    return await store.pressure_leaderboard()
