"""Personas ranked by how firmly they hold their side."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from arena.api.deps import BoardDep, LibraryDep, StoreDep
from arena.api.schemas import Leaderboard
from arena.leaderboard.board import CalibrationView
from arena.leaderboard.human import HumanRow
from arena.leaderboard.pressure import PressureRow
from arena.leaderboard.rows import GroupBy
from arena.leaderboard.versions import Versions, current_versions

router = APIRouter(prefix="/api", tags=["leaderboard"])

VERSIONS = (
    "latest (default): each persona's latest version only, its older versions' matches counted "
    "in `older_matches`; all: every version pooled in one row"
)


@router.get("/leaderboard")
async def leaderboard(
    store: StoreDep,
    board: BoardDep,
    library: LibraryDep,
    by: GroupBy = "persona",
    versions: Annotated[Versions, Query(description=VERSIONS)] = "latest",
    judge: str | None = None,
    model: str | None = None,
    tournament: str | None = None,
    persona: str | None = None,
) -> Leaderboard:
    """One judge set's board (`judge`, by default the set with most matches: scores of
    different judges are not comparable; `judge_sets` lists them). Filters: one model (rows by
    persona x model), one tournament (its rows gain the adjusted holding), one persona. Rows with
    fewer than 5 matches are provisional: listed after the ranked ones, without a rank. A
    persona's latest version is its version in the library now, or, once it is no longer there,
    the one it played last; rows by persona_version list every version and say which is
    current."""
    by = by if model is None else "persona_model"
    current = current_versions(library.personas)
    if tournament is not None:
        from arena.tournaments.export import tournament_rows

        view = await tournament_rows(store, tournament, by, current, versions, judge)
    else:
        view = await board.view(by, current, versions, judge, model)

    def shown(row_judge: str, row_model: str | None, row_persona: str) -> bool:
        return (
            (view.judge is None or row_judge == view.judge)
            and (model is None or row_model == model)
            and (persona is None or row_persona == persona)
        )

    return Leaderboard(
        by=by,
        versions=view.versions,
        rows=[r for r in view.rows if shown(r.judge, r.model, r.persona)],
        older_only=[o for o in view.older_only if shown(o.judge, o.model, o.persona)],
        judge=view.judge,
        judge_sets=view.judge_sets,
    )


@router.get("/leaderboard/pressure")
async def pressure_leaderboard(board: BoardDep) -> list[PressureRow]:
    """Pressure matches, persona x tactic: mean Turn of Flip, flip rate with its Wilson 95%
    interval, holding per round, judge-probe agreement, n (definitions in the README)."""
    return await board.pressure()


@router.get("/leaderboard/human")
async def human_leaderboard(board: BoardDep) -> list[HumanRow]:
    """Hardest to move: per persona, its flip rate against human challengers (n, flips, Wilson
    95% interval) beside its flip rate against scripted tactics on the same motions; ranked by
    the human rate's upper bound, lowest first (docs: Take the challenger's seat)."""
    return await board.human()


@router.get("/leaderboard/calibration")
async def calibration_leaderboard(
    board: BoardDep, by: Literal["persona", "persona_model"] = "persona", judge: str | None = None
) -> CalibrationView:
    """Firm and open: per persona, resistance to pressure (1 - the regressive flip rate: a true
    starting side given up under pressure) and openness to evidence (the progressive flip rate:
    a false starting side given up when shown the evidence), each with n and a Wilson 95%
    interval, of one judge set (default: the one with most matches). Definitions: docs, Metrics."""
    return await board.calibration(by == "persona_model", judge)
