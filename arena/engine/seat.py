"""A person in the challenger's seat of a pressure match (MatchSpec.human).

The engine never reads the seat's input itself: it asks a `HumanTurnSource` (the worker's reads
Redis, arena.worker.seat; tests pass one in memory) to start a turn's countdown and to wait for
the text. A turn the seat leaves silent until its deadline is spoken by the match's fallback
tactic (the spec's scripted tactic) and marked `author: "fallback"`; the `silent_turns`-th
silent turn in a row ends the match instead (cancelled, the reason says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from arena.domain.specs import Author, HumanSeat, PlannedTurn
from arena.errors import MatchCancelled


class HumanTurnSource(Protocol):
    """Where a human challenger's turns come from."""

    async def open_turn(self, turn: int, seconds: int) -> datetime:
        """Start the countdown of `turn` once; returns its deadline, the same on every call
        for that turn (a resumed match keeps the countdown it had)."""
        ...

    async def wait_turn(self, turn: int, deadline: datetime) -> str | None:
        """The text the seat sent for `turn`, once it is there; None once `deadline` passed
        without one. The turn is closed then: text sent after it is refused."""
        ...


class NoSeat:
    """A seat nobody can write to (a human match run without a source, e.g. from the CLI):
    every turn is silent at once."""

    async def open_turn(self, turn: int, seconds: int) -> datetime:
        return datetime.now(UTC)

    async def wait_turn(self, turn: int, deadline: datetime) -> str | None:
        return None


class SeatSilent(MatchCancelled):
    """The seat left `silent_turns` turns in a row to the fallback: the match ends."""


def silent_run(
    plan: Sequence[PlannedTurn], authors: Mapping[int, Author | None], before: int
) -> int:
    """The challenger's turns before turn `before` spoken by the fallback, in a row, counted
    back from the last one."""
    run = 0
    for planned in reversed([p for p in plan if p.role == "challenger" and p.index < before]):
        if authors.get(planned.index) != "fallback":
            break
        run += 1
    return run


def check_silence(seat: HumanSeat, run: int) -> None:
    """Raise SeatSilent when this silent turn (the `run`-th in a row) ends the match."""
    if seat.silent_turns and run >= seat.silent_turns:
        raise SeatSilent(
            f"the challenger's seat was silent for {run} turns in a row "
            f"(the match ends after {seat.silent_turns})"
        )
