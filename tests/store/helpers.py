"""Specs and events for store tests."""

from __future__ import annotations

from arena.domain.events import Token, TurnCompleted, TurnStarted
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.leaderboard.board import Leaderboard
from arena.leaderboard.rows import GroupBy, LeaderboardRow
from arena.store import Store

MOTION = "This house believes that cats are better than dogs."


def spec(pro: str = "pirate", con: str = "kantian", rounds: int = 1) -> MatchSpec:
    return MatchSpec(
        motion=MOTION,
        pro=DebaterSpec(persona=pro, model="test:pro"),
        con=DebaterSpec(persona=con, model="test:con"),
        rounds=rounds,
        judges=["test:judge"],
    )


def turn_started(match_id: str, turn: int = 0) -> TurnStarted:
    side = "pro" if turn % 2 == 0 else "con"
    return TurnStarted(
        match_id=match_id, turn=turn, side=side, kind="opening", persona="pirate", model="test:pro"
    )


def token(match_id: str, text: str, turn: int = 0) -> Token:
    return Token(match_id=match_id, turn=turn, text=text)


def turn_completed(match_id: str, text: str, turn: int = 0) -> TurnCompleted:
    side = "pro" if turn % 2 == 0 else "con"
    return TurnCompleted(
        match_id=match_id,
        turn=turn,
        side=side,
        kind="opening",
        text=text,
        tokens_in=10,
        tokens_out=len(text.split()),
        ttft_ms=1.0,
        duration_ms=2.0,
    )


async def board_rows(store: Store, by: GroupBy = "persona", **filters: str) -> list[LeaderboardRow]:
    """The leaderboard's rows as a fresh node computes them from the stored samples."""
    board = Leaderboard(store.samples)
    try:
        return await board.rows(by, **filters)
    finally:
        await board.aclose()
