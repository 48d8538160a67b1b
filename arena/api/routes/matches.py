"""Create, list, inspect and cancel matches."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import PlainTextResponse

from arena.api.auth import WriterDep
from arena.api.deps import FilesDep, LibraryDep, MatchDep, ModelsDep, SettingsDep, StoreDep
from arena.api.match_body import build_match_spec
from arena.api.schemas import (
    UNAUTHORIZED,
    CancelAccepted,
    ErrorDetail,
    MatchCreate,
    MatchCreated,
    MatchDetail,
    MatchPage,
    MatchStatus,
    Transcript,
    not_found,
)
from arena.api.validation import ValidatedRoute
from arena.api.views import detail, fold_match, summary, transcript
from arena.domain.personas import Library
from arena.domain.records import MatchRecord
from arena.domain.tournaments import Slot
from arena.domain.transcript import to_markdown
from arena.store import QueueFull
from arena.tournaments.results import match_result, turns_csv

router = APIRouter(prefix="/api/matches", tags=["matches"], route_class=ValidatedRoute)

# a page cursor is a match id: 16 characters of lowercase Crockford base32 (arena.store.matches)
CURSOR_PATTERN = r"^[0-9a-hjkmnp-tv-z]{16}$"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses={
        **UNAUTHORIZED,
        429: {"model": ErrorDetail, "description": "the queue is full; see Retry-After"},
    },
)
async def create_match(
    body: MatchCreate,
    store: StoreDep,
    library: LibraryDep,
    settings: SettingsDep,
    models: ModelsDep,
) -> MatchCreated:
    spec = build_match_spec(body, library, settings, models)
    # a human challenger's seat: the token is shown once, in this answer; Redis keeps its hash
    token = secrets.token_urlsafe(24) if spec.human is not None else None
    try:
        record = await store.create_match(spec, seat_token=token)
    except QueueFull as exc:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail=str(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    return MatchCreated(
        id=record.id,
        status=record.status,
        url=f"/matches/{record.id}",
        ws_url=f"/ws/matches/{record.id}",
        # in the fragment: never sent to a server, so never in an access log
        seat_url=f"/matches/{record.id}/seat#token={token}" if token else None,
        seat_token=token,
    )


@router.get("")
async def list_matches(
    store: StoreDep,
    status: MatchStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR_PATTERN, description="the next_cursor of the previous page"),
    ] = None,
) -> MatchPage:
    records, next_cursor = await store.list_matches(status=status, limit=limit, cursor=cursor)
    return MatchPage(items=[summary(r) for r in records], next_cursor=next_cursor)


@router.get("/{match_id}", responses=not_found("match"))
async def get_match(record: MatchDep, store: StoreDep, library: FilesDep) -> MatchDetail:
    events = await store.read_events(record.id)
    calibrations = {judge: await store.judge_calibration(judge) for judge in record.spec.judges}
    accuracy = {judge: c.accuracy if c else None for judge, c in calibrations.items()}
    out = detail(record, fold_match(record, events), accuracy, target_name(record, library))
    out.judge_calibration = {judge: c.label if c else None for judge, c in calibrations.items()}
    return out


def target_name(record: MatchRecord, library: Library) -> str | None:
    """The name of a pressure match's target persona, for its result line."""
    if record.spec.pressure is None:
        return None
    persona = record.spec.debater(record.spec.pressure.target).persona
    return library.personas[persona].name if persona in library.personas else None


@router.post(
    "/{match_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, **not_found("match")},
)
async def cancel_match(record: MatchDep, store: StoreDep) -> CancelAccepted:
    updated = await store.request_cancel(record.id) or record
    return CancelAccepted(id=updated.id, status=updated.status)


@router.get(
    "/{match_id}/transcript",
    response_model=Transcript,
    responses={200: {"content": {"text/markdown": {}, "text/csv": {}}}, **not_found("match")},
)
async def get_transcript(
    record: MatchDep, store: StoreDep, format: Literal["json", "markdown", "csv"] = "json"
) -> Transcript | Response:
    """The transcript as JSON, Markdown, or csv: the match's turns.csv, with the columns of a
    tournament's (`author`: model, script, human or fallback)."""
    events = await store.read_events(record.id)
    if format == "csv":
        spec = record.spec
        slot = Slot(index=0, motion=spec.motion_id or spec.motion, pro=spec.pro.persona,
                    con=spec.con.persona)  # fmt: skip
        name = f"match-{record.id}-turns.csv"
        return PlainTextResponse(
            turns_csv([match_result("", slot, record, events)]),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    view = fold_match(record, events)
    if format == "markdown":
        return PlainTextResponse(to_markdown(view), media_type="text/markdown")
    return transcript(record, view)
