"""Match records: the hash that holds one match, how events update it, and time-sortable ids."""

from __future__ import annotations

import secrets
import statistics
import time
from datetime import UTC, datetime

from arena.domain.events import (
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchStarted,
    TurnCompleted,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.records import MatchRecord
from arena.domain.results import MatchMetrics
from arena.domain.specs import MatchSpec, Side

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


_last: tuple[int, int] = (0, 0)


def new_match_id(now_ms: int | None = None) -> str:
    """10 characters of creation time (ms, base32) + 6 random: lexical order = creation order.
    Ids made in the same millisecond by this process count up from the first (like ULIDs)."""
    global _last
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = secrets.randbits(29)
    if ms <= _last[0]:
        ms, rand = _last[0], _last[1] + 1
    _last = (ms, rand)
    return _base32(ms, 10) + _base32(rand, 6)


def _base32(value: int, width: int) -> str:
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(width)))


def new_record_fields(match_id: str, spec: MatchSpec) -> dict[str, str]:
    return {
        "id": match_id,
        "status": "queued",
        "spec": spec.model_dump_json(),
        "created_at": datetime.now(UTC).isoformat(),
        "total_turns": str(len(plan_turns(spec))),
    }


def decode_record(fields: dict[str, str]) -> MatchRecord | None:
    if "id" not in fields:
        return None
    completed = [k for k in fields if k.startswith("t:")]
    scores: dict[Side, list[float]] = {"pro": [], "con": []}
    for key, value in fields.items():
        if key.startswith("h:"):
            side, _, holding = value.partition(":")
            if side in ("pro", "con"):
                scores["pro" if side == "pro" else "con"].append(float(holding))
    metrics = fields.get("metrics")
    return MatchRecord(
        id=fields["id"],
        status=fields["status"],
        spec=MatchSpec.model_validate_json(fields["spec"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        started_at=_time(fields.get("started_at")),
        finished_at=_time(fields.get("finished_at")),
        error=fields.get("error") or None,
        turns_done=len(completed),
        total_turns=int(fields["total_turns"]),
        holding={
            side: round(statistics.fmean(values), 4) if values else None
            for side, values in scores.items()
        },
        metrics=MatchMetrics.model_validate_json(metrics) if metrics else None,
        worker=fields.get("worker") or None,
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def record_updates(event: Event) -> dict[str, str]:
    """The record fields an event sets. Every update is keyed by turn or overwrites a scalar,
    so applying an event twice leaves the record as applying it once."""
    if isinstance(event, MatchStarted):
        # the spec as played: with each persona's version
        return {"total_turns": str(event.total_turns), "spec": event.spec.model_dump_json()}
    if isinstance(event, TurnCompleted):
        return {f"t:{event.turn}": event.side}
    if isinstance(event, Verdict):
        if event.scored and event.holding is not None:
            return {f"h:{event.turn}": f"{event.side}:{event.holding}"}
        return {}
    finished = {"finished_at": event.ts.isoformat()}
    if isinstance(event, MatchCompleted):
        return {"status": "completed", "metrics": event.metrics.model_dump_json(), **finished}
    if isinstance(event, MatchFailed):
        return {"status": "failed", "error": event.error, **finished}
    if isinstance(event, MatchCancelledEvent):
        return {"status": "cancelled", "error": event.reason, **finished}
    return {}
