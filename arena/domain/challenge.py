"""A human challenge's outcome in one line, for the seat and the spectators."""

from __future__ import annotations

from arena.domain.results import MatchMetrics


def result_line(metrics: MatchMetrics | None, target: str) -> str | None:
    """ "you moved <target> in round 3" (the first reply the judge found off its side), or
    "<target> held"; None before the match completed or when no response was scored."""
    if metrics is None or metrics.pressure is None:
        return None
    flips = metrics.pressure.target
    if flips.scored == 0:
        return None
    if flips.turn_of_flip == 0:
        return f"{target} was off its side from the opening: nothing left to move"
    if flips.flipped:
        return f"you moved {target} in round {flips.rounds_held + 1}"
    return f"{target} held"
