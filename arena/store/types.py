"""Names shared by the store's modules."""

from __future__ import annotations

from typing import Any

from arena.errors import ArenaError

TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


Entry = tuple[str, dict[str, str]]


def text_map(value: Any) -> dict[str, str]:
    """A hash reply as str -> str (the client decodes responses)."""
    return {str(k): str(v) for k, v in (value or {}).items()}


def entries(reply: Any) -> list[Entry]:
    """The entries of an XRANGE reply, or of all streams of an XREAD / XREADGROUP reply."""
    if isinstance(reply, dict):  # RESP3 shape: {stream: [entries]}
        reply = list(reply.items())
    if reply and isinstance(reply[0], (list, tuple)) and isinstance(reply[0][1], list):
        return [e for _stream, stream_entries in reply for e in entries(stream_entries)]
    return [(str(eid), text_map(fields)) for eid, fields in reply or [] if fields is not None]


class StoreError(RuntimeError):
    """The store cannot be reached, started or used as expected; the message says what to check.

    Not an ArenaError: the engine treats ArenaError as a failure of the match (a model that
    gave up, a bad persona), while a store error is the infrastructure's, and the worker retries
    the job instead of failing its match."""


class QueueFull(ArenaError):
    """Too many matches are waiting; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, queued: int | None = None) -> None:
        self.retry_after = retry_after
        self.queued = queued
        waiting = "too many" if queued is None else str(queued)
        super().__init__(
            f"{waiting} matches are already queued: retry in {retry_after} s "
            "(or raise ARENA_QUEUE_MAX / run more workers)"
        )


class LeaseLost(StoreError):
    """Another worker took over this match; this worker must stop writing to it."""


class InvalidEventId(ArenaError):
    """`after` is not an event id."""
