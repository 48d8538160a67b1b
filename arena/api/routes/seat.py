"""The human challenger's seat: send a turn, say you are typing, reattach after a reload.

Only the holder of the match's seat token (X-Seat-Token, from the 201 that created the match)
writes; everyone else watches. A body of the wrong shape (or a malformed key) is a 422 first;
then the answers, in the order they are checked: 401 without the
header, 404 for a match without a seat, 409 once the match is over (410 once archived),
403 for a token that is not the seat's, 429 past the per-seat or per-address rate (with
Retry-After), 422 for an empty text or one over the match's word limit (naming `text`), 409
when no turn of the seat's is due, the turn was sent already or its time ran out; else 202.
The same idempotency key sent again gets the same 202 and stores nothing more.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arena.api.client import client_address
from arena.api.deps import MatchDep, SettingsDep, StoreDep
from arena.api.schemas import ErrorDetail, not_found
from arena.api.validation import ValidatedRoute
from arena.domain.records import MatchRecord
from arena.stats.style import word_count
from arena.store import Store

router = APIRouter(prefix="/api/matches", tags=["matches"], route_class=ValidatedRoute)

MAX_TEXT_CHARS = 20_000  # far over any word limit: the word count is the real bound

SeatToken = Annotated[
    str | None,
    Header(alias="X-Seat-Token", description="the seat token from the 201 of POST /api/matches"),
]


class SeatTurn(BaseModel):
    """A turn of the human challenger. `key` names this send: sending it again (a retry, a
    reload) stores nothing more and gets the same answer."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT_CHARS)
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class SeatTurnAccepted(BaseModel):
    match_id: str
    turn: int
    key: str
    status: str = "accepted"


class SeatState(BaseModel):
    """The seat as its holder sees it after a reload: what is due and what it sent."""

    match_id: str
    status: str
    handle: str | None
    word_limit: int
    turn_seconds: int
    awaiting_turn: int | None
    deadline: datetime | None
    sent: dict[int, str] = Field(description="turn -> the idempotency key of its text")


def _error(code: int, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code=code, detail=detail, headers=headers)


SEAT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "no X-Seat-Token header"},
    403: {"model": ErrorDetail, "description": "the token is not this match's seat token"},
    409: {"model": ErrorDetail, "description": "the match is over, or no turn of the seat's "
          "is due (not its turn, sent already, time ran out)"},
    429: {"model": ErrorDetail, "description": "too many sends; see Retry-After"},
    **not_found("match"),
}  # fmt: skip


async def _seat(record: MatchRecord, store: Store, token: str | None, writing: bool) -> None:
    if not token:
        raise _error(401, "the seat token is required: send it as the X-Seat-Token header")
    holds = await store.seats.holds(record.id, token)
    if holds is None or record.spec.human is None:
        raise _error(404, f"match {record.id!r} has no human challenger's seat")
    if writing and record.finished:
        raise _error(409, f"the match is over ({record.status}): no more turns")
    if not holds:
        raise _error(403, "this token is not the seat token of this match: only its holder writes")


async def _limit(store: Store, key: str, limit: int, who: str) -> None:
    wait = await store.seats.hit(key, limit)
    if wait:
        seconds = max(1, round(wait + 0.5))
        raise _error(
            429,
            f"too many turns sent {who}: at most {limit} a minute; retry in {seconds} s",
            {"Retry-After": str(seconds)},
        )


def _text_error(msg: str, value: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ["body", "text"], "msg": msg, "type": "value_error", "input": value[:200]}]
    )


@router.post(
    "/{match_id}/challenger/turns",
    status_code=status.HTTP_202_ACCEPTED,
    responses=SEAT_ERRORS,
)
async def send_turn(
    body: SeatTurn,
    record: MatchDep,
    store: StoreDep,
    settings: SettingsDep,
    request: Request,
    token: SeatToken = None,
) -> SeatTurnAccepted:
    """Send the human challenger's turn that is due (`awaiting_turn` of GET /api/matches/{id});
    the target answers it. Errors: see the module (docs: Take the challenger's seat)."""
    await _seat(record, store, token, writing=True)
    await _limit(store, store.keys.seat(record.id, "rate"), settings.seat_rate, "from this seat")
    address = client_address(request, settings.trusted_proxies)
    ip_hash = hashlib.sha256(f"seat:{address}".encode()).hexdigest()[:24]
    await _limit(store, store.keys.seat_ip(ip_hash), settings.seat_ip_rate, "from this address")
    text = body.text.strip()
    if not text:
        raise _text_error("the text is empty: write the challenger's turn", body.text)
    words, limit = word_count(text), record.spec.word_limit
    if words > limit:
        raise _text_error(f"the text has {words} words, over the match's limit of {limit}", text)
    sent = await store.seats.submit(record.id, text, body.key)
    if sent.outcome in ("ok", "again") and sent.turn is not None:
        return SeatTurnAccepted(match_id=record.id, turn=sent.turn, key=body.key)
    reasons = {
        "finished": f"the match is over ({sent.status}): no more turns",
        "waiting": "it is not the challenger's turn: wait until the target has answered",
        "taken": f"turn {sent.turn} was sent already (with another key)",
        "late": f"the time for turn {sent.turn} ran out: the fallback tactic speaks it",
        "gone": f"match {record.id!r} is gone",
    }
    raise _error(409, reasons.get(sent.outcome, sent.outcome))


@router.post(
    "/{match_id}/challenger/typing", status_code=status.HTTP_202_ACCEPTED, responses=SEAT_ERRORS
)
async def typing(
    record: MatchDep, store: StoreDep, settings: SettingsDep, token: SeatToken = None
) -> dict[str, bool]:
    """The seat is typing: spectators see "challenger is typing" (a `typing` event, at most one
    every ARENA_SEAT_TYPING_SECONDS). `sent` says whether this one went out."""
    await _seat(record, store, token, writing=True)
    if record.awaiting_turn is None or record.status != "running":
        return {"sent": False}
    sent = await store.seats.typing(record.id, record.awaiting_turn, settings.seat_typing_seconds)
    return {"sent": sent}


@router.get("/{match_id}/challenger", responses=SEAT_ERRORS)
async def seat_state(record: MatchDep, store: StoreDep, token: SeatToken = None) -> SeatState:
    """The seat after a reload: checks the token (401/403 as for a send) and says which turn is
    due, until when, and which turns the seat sent (with their keys)."""
    await _seat(record, store, token, writing=False)
    human = record.spec.human
    assert human is not None
    waiting = record.status == "running" and record.awaiting_turn is not None
    return SeatState(
        match_id=record.id,
        status=record.status,
        handle=human.handle,
        word_limit=record.spec.word_limit,
        turn_seconds=human.turn_seconds,
        awaiting_turn=record.awaiting_turn if waiting else None,
        deadline=record.deadline if waiting else None,
        sent=await store.seats.sent(record.id),
    )
