"""Create, list, inspect and cancel matches."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import PlainTextResponse

from arena.api.auth import WriterDep
from arena.api.deps import LibraryDep, MatchDep, ModelsDep, SettingsDep, StoreDep
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
from arena.domain.transcript import to_markdown
from arena.store import QueueFull

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
    try:
        record = await store.create_match(spec)
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
async def get_match(record: MatchDep, store: StoreDep) -> MatchDetail:
    events = await store.read_events(record.id)
    calibrations = {judge: await store.judge_calibration(judge) for judge in record.spec.judges}
    accuracy = {judge: c.accuracy if c else None for judge, c in calibrations.items()}
    out = detail(record, fold_match(record, events), accuracy)
    out.judge_calibration = {judge: c.label if c else None for judge, c in calibrations.items()}
    return out


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
    responses={200: {"content": {"text/markdown": {}}}, **not_found("match")},
)
async def get_transcript(
    record: MatchDep, store: StoreDep, format: Literal["json", "markdown"] = "json"
) -> Transcript | Response:
    view = fold_match(record, await store.read_events(record.id))
    if format == "markdown":
        return PlainTextResponse(to_markdown(view), media_type="text/markdown")
    return transcript(record, view)
