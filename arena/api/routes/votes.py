"""Crowd votes on turns (README "Crowd votes"): cast, tallies, judges' agreement, export.

With ARENA_VOTES=off every route here answers 404, as if voting did not exist."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from arena.api.client import client_address
from arena.api.deps import BoardDep, MatchDep, SettingsDep, StoreDep
from arena.api.schemas import ErrorDetail
from arena.api.validation import ValidatedRoute
from arena.api.ws.heap import collector_paused, freeze_warmed
from arena.config import Settings
from arena.crowd.board import CrowdBoard
from arena.crowd.export import export_rows
from arena.crowd.turns import voted_turns
from arena.crowd.votes import CrowdAgreement, crowd_figures, majority
from arena.domain.votes import VoteLabel
from arena.leaderboard.board import Leaderboard
from arena.stats.position import SwapRate, swap_rate
from arena.store import Store
from arena.store.votes import CrowdVotes
from arena.store.votes_secret import votes_secret

COOKIE = "arena_voter"
EXPORT_MAX = 1000  # voted matches per page of the export
RECENT_MATCHES = 20  # the latest matches whose judges /api/judges names before they finish
# a cursor is a match id: 16 characters of lowercase Crockford base32 (arena.store.matches)
CURSOR_PATTERN = r"^[0-9a-hjkmnp-tv-z]{16}$"
COOKIE_MAX_AGE = 365 * 24 * 3600

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    store, settings = app.state.store, app.state.settings
    # with votes off no route signs or hashes: no secret is needed, and none is made
    secret = (
        await votes_secret(store.redis, store.keys, settings) if settings.votes == "on" else None
    )
    votes = CrowdVotes(store.redis, store.keys, secret)
    app.state.votes = votes
    app.state.crowd = crowd = CrowdBoard(store, votes)
    warming = None
    if settings.votes == "on":
        warming = asyncio.create_task(_warm(crowd, settings), name="crowd-warm")
    try:
        yield
    finally:
        if warming is not None:
            warming.cancel()
            await asyncio.gather(warming, return_exceptions=True)
        await votes.aclose()


async def _warm(crowd: CrowdBoard, settings: Settings) -> None:
    """Read every voted match and compute the judges' figures once, in the background: the
    first /api/judges of a fresh node then reads only what changed since."""
    # the same switch as every other change to the collector's work (ARENA_GC_FREEZE_STEP)
    tuned = settings.gc_freeze_step > 0
    try:
        with collector_paused() if tuned else contextlib.nullcontext():
            await crowd.figures(settings.votes_min, settings.votes_min_ips)
    except Exception:
        log.warning("warming the crowd's labels failed; requests will read them", exc_info=True)
        return
    if tuned:
        freeze_warmed()


async def get_votes(request: Request, settings: SettingsDep) -> CrowdVotes:
    if settings.votes == "off":
        raise HTTPException(status_code=404, detail="crowd votes are off (ARENA_VOTES=off)")
    votes: CrowdVotes = request.app.state.votes
    return votes


VotesDep = Annotated[CrowdVotes, Depends(get_votes)]
router = APIRouter(prefix="/api", tags=["votes"], lifespan=lifespan, route_class=ValidatedRoute)
OFF: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "no such match or turn, or votes are off"}
}
WARMING: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorDetail,
        "description": "a fresh node is still reading the votes and no node stored figures "
        "yet: retry after Retry-After seconds",
    }
}
VOTE_ERRORS: dict[int | str, dict[str, Any]] = {
    **OFF,
    409: {"model": ErrorDetail, "description": "the turn is not completed yet"},
    429: {"model": ErrorDetail, "description": "too many votes: see Retry-After"},
}


class VoteCreate(BaseModel):
    label: VoteLabel


class TurnVotes(BaseModel):
    turn: int
    counts: dict[VoteLabel, int]
    total: int
    majority: VoteLabel | None
    mine: VoteLabel | None = None
    voters: int
    ips: int


class MatchVotes(BaseModel):
    match_id: str
    min_votes: int
    turns: list[TurnVotes]
    # per judge of the match, against the crowd majority over turns with min_votes votes
    agreement: dict[str, CrowdAgreement]
    agreement_label: dict[str, str]
    # Krippendorff's alpha (nominal) among the voters, over the match's voted turns
    alpha: float | None


class VoteAccepted(BaseModel):
    turn: int
    label: VoteLabel
    replaced: VoteLabel | None
    counts: dict[VoteLabel, int]


class JudgeInfo(BaseModel):
    judge: str
    calibration: str | None
    calibration_accuracy: float | None
    crowd: CrowdAgreement
    crowd_label: str
    # position swaps over every match judged with judge_swap (arena.stats.position)
    swap: SwapRate | None = None
    swap_label: str = "not swap-tested"


def _sign(secret: bytes, voter: str) -> str:
    return hmac.new(secret, b"voter:" + voter.encode(), hashlib.sha256).hexdigest()[:32]


async def _voter(request: Request, votes: CrowdVotes) -> str | None:
    """The spectator id of a correctly signed cookie; None for a missing or forged one."""
    raw = request.cookies.get(COOKIE, "")
    voter, _, signature = raw.partition(".")
    if not voter or len(voter) > 64:
        return None
    expected = _sign(votes.secret(), voter)
    return voter if hmac.compare_digest(signature.encode(), expected.encode()) else None


def _ip(request: Request, settings: SettingsDep) -> str:
    # the peer, or the client a trusted proxy names (arena/api/client.py)
    return client_address(request, settings.trusted_proxies)


@router.post("/matches/{match_id}/turns/{turn}/votes", status_code=200, responses=VOTE_ERRORS)
async def cast_vote(
    match_id: str,
    turn: int,
    body: VoteCreate,
    request: Request,
    response: Response,
    votes: VotesDep,
    settings: SettingsDep,
) -> VoteAccepted:
    """Vote on a completed turn: holds, wavers or switched. Public; one vote per spectator
    (a signed cookie) per turn, a new one replacing it; rate-limited per spectator and IP."""
    voter = await _voter(request, votes)
    ip_hash = votes.keyed_hash(_ip(request, settings))
    if voter is None:
        if not await votes.new_voter_allowed(ip_hash, settings.votes_new_voters_per_ip):
            raise HTTPException(
                status_code=429,
                detail="too many new voters from your address in the last hour: vote with "
                "the cookie you were given, or try again later",
                headers={"Retry-After": "600"},
            )
        voter = secrets.token_hex(16)
        response.set_cookie(
            COOKIE,
            f"{voter}.{_sign(votes.secret(), voter)}",
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    wait = await votes.rate_limit(voter, ip_hash, settings.votes_rate)
    if wait > 0:
        raise HTTPException(
            status_code=429,
            detail="too many votes: wait a moment",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    if turn < 0:
        raise HTTPException(status_code=404, detail=f"match {match_id!r} has no turn {turn}")
    cast = await votes.cast(match_id, turn, voter, body.label, ip_hash, settings.votes_per_ip)
    if cast.outcome == "no_match":
        raise HTTPException(status_code=404, detail=f"match {match_id!r} not found")
    if cast.outcome == "no_turn":
        raise HTTPException(status_code=404, detail=f"match {match_id!r} has no turn {turn}")
    if cast.outcome == "not_completed":
        raise HTTPException(status_code=409, detail=f"turn {turn} is not completed yet")
    if cast.outcome == "ip_cap":
        raise HTTPException(
            status_code=429,
            detail="too many spectators voted on this turn from your address",
            headers={"Retry-After": "3600"},
        )
    if cast.live:
        await votes.announce(match_id, turn)
    counts = (await votes.tallies(match_id, turn + 1))[turn]
    return VoteAccepted(turn=turn, label=body.label, replaced=cast.previous, counts=counts)


@router.get("/matches/{match_id}/votes", responses=OFF)
async def match_votes(
    record: MatchDep, request: Request, store: StoreDep, votes: VotesDep, settings: SettingsDep
) -> MatchVotes:
    """Per turn: the tally, the majority, your own vote, distinct voters and IPs; and how each
    judge of the match agrees with the crowd."""
    voter = await _voter(request, votes)
    mine = await votes.mine(record.id, record.total_turns, voter) if voter else {}
    audit = await votes.audit(record.id, record.total_turns)
    turns = [
        TurnVotes(
            turn=t,
            counts=a.counts,
            total=sum(a.counts.values()),
            majority=majority(a.counts, settings.votes_min),
            mine=mine.get(t),
            voters=a.voters,
            ips=a.ips,
        )
        for t, a in sorted(audit.items())
    ]
    labelled = [v.labels for v in await voted_turns(store, votes, [record.id])]
    figures = crowd_figures(
        labelled, settings.votes_min, settings.votes_min_ips, record.spec.judges
    )
    judged = {j: figures.of(j) for j in record.spec.judges}
    return MatchVotes(
        match_id=record.id,
        min_votes=settings.votes_min,
        turns=turns,
        agreement=judged,
        agreement_label={j: a.label for j, a in judged.items()},
        alpha=figures.alpha,
    )


async def judges_info(
    store: Store, crowd: CrowdBoard, board: Leaderboard, settings: Settings
) -> list[JudgeInfo]:
    """Every judge seen (the default judge, on the boards, in the latest matches, in
    calibrations, in votes or in position swaps) with its calibration, its agreement with the
    crowd and its position-swap figure (summed in Redis as matches finish). The
    crowd's labels are read incrementally and the agreement figures kept as running sums moved
    by the matches whose votes changed (CrowdBoard); every other read is O(judges) (two hashes, the
    board's judge sets) or O(RECENT_MATCHES)."""
    figures = await crowd.figures(settings.votes_min, settings.votes_min_ips)
    calibrations = await store.samples.calibrations()
    swaps = await store.judge_swap_totals()
    tally = await board.debate.current()
    on_boards = {name for s in tally.judge_sets() for name in s.judge.split("+")}
    recent, _ = await store.list_matches(limit=RECENT_MATCHES)
    playing = {j for r in recent for j in r.spec.judges}
    names = sorted(
        {settings.default_judge, *figures.judges, *calibrations, *on_boards, *playing, *swaps}
    )
    out = []
    for judge in names:
        agrees = figures.of(judge)
        c = calibrations.get(judge)
        t = swaps.get(judge)
        swap = swap_rate(t.pairs, t.inconsistent, t.unscored) if t else swap_rate(0, 0)
        out.append(
            JudgeInfo(
                judge=judge,
                calibration=c.label if c else None,
                calibration_accuracy=c.accuracy if c else None,
                crowd=agrees,
                crowd_label=agrees.label,
                swap=swap,
                swap_label=swap.label,
            )
        )
    return out


@router.get("/judges", tags=["leaderboard"], responses={**OFF, **WARMING})
async def judges(
    request: Request, store: StoreDep, board: BoardDep, votes: VotesDep, settings: SettingsDep
) -> list[JudgeInfo]:
    """Every judge seen (on the boards, in calibrations, votes or position swaps) with its
    recorded calibration, its agreement with the crowd ("no crowd votes yet" without any) and
    its position-swap inconsistency rate with n and a Wilson interval ("not swap-tested").
    A node still reading the votes at start-up answers with the figures a node last stored."""
    crowd: CrowdBoard = request.app.state.crowd
    return await judges_info(store, crowd, board, settings)


@router.get(
    "/votes/export",
    response_class=PlainTextResponse,
    responses={**OFF, 200: {"content": {"application/x-ndjson": {}}}},
)
async def export(
    request: Request,
    store: StoreDep,
    votes: VotesDep,
    settings: SettingsDep,
    min_votes: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX, description="voted matches")] = 100,
) -> PlainTextResponse:
    """Voted turns with a gold label (each address counted once, at least ARENA_VOTES_MIN_IPS
    addresses), as judge-eval JSONL (`arena judge-eval FILE`), one page of `limit` voted matches
    at a time: the next page's cursor is in the `X-Next-Cursor` header (and a `Link` to it),
    absent on the last page."""
    ids, following = await votes.voted_page(cursor, limit)
    turns = await voted_turns(store, votes, ids)
    rows = export_rows(turns, min_votes or settings.votes_min, settings.votes_min_ips)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    headers = {}
    if following is not None:
        query = urlencode({**request.query_params, "cursor": following})
        headers = {"X-Next-Cursor": following, "Link": f'<{request.url.path}?{query}>; rel="next"'}
    return PlainTextResponse(text, media_type="application/x-ndjson", headers=headers)
