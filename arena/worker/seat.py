"""The worker's HumanTurnSource: a human challenger's turns read from the match's seat in Redis
(arena.store.seats), where any API node stores what the seat sends."""

from __future__ import annotations

import asyncio
from datetime import datetime

from arena.store.seats import Seats

POLL_SECONDS = 0.2


class RedisSeat:
    """The seat of one match (arena.engine.seat.HumanTurnSource)."""

    def __init__(self, seats: Seats, match_id: str, poll_seconds: float = POLL_SECONDS) -> None:
        self.seats, self.match_id, self.poll_seconds = seats, match_id, poll_seconds

    async def open_turn(self, turn: int, seconds: int) -> datetime:
        return await self.seats.open_turn(self.match_id, turn, seconds)

    async def wait_turn(self, turn: int, deadline: datetime) -> str | None:
        # Redis decides when the deadline passed (its clock, in the same script as the sends):
        # polling it a few times a second costs one small script call
        while True:
            decided, text = await self.seats.poll(self.match_id, turn)
            if decided:
                return text
            await asyncio.sleep(self.poll_seconds)
