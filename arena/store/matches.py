"""Match records: the hash that holds one match, how events update it, and time-sortable ids."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from arena.domain.events import (
    Awaiting,
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchStarted,
    TurnCompleted,
    TurnStarted,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.records import MatchRecord
from arena.domain.results import MatchMetrics
from arena.domain.specs import MatchSpec, Side

PACKED = "packed"  # the record field of a compacted match (arena.store.compaction)
# a hash whose values are all this short stays a listpack/ziplist: a few bytes a field rather
# than a hash table's ~70 (Redis' hash-max-listpack-value default)
SMALL_VALUE = 64
# read by the store's scripts: never moved out of a compacted record's hash
_KEPT = frozenset({"id", "status", "total_turns", "created_at", "finished_at"})

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


def first_id_at(ms: int) -> str:
    """The lowest id a match created at `ms` (or later) can have."""
    return _base32(ms, 10) + "0" * 6


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


def _holding(fields: dict[str, str]) -> dict[Side, float | None]:
    """Each side's mean holding over its scored verdicts (the `h:<turn>` fields)."""
    scores: dict[Side, list[float]] = {"pro": [], "con": []}
    for key, value in fields.items():
        if key.startswith("h:"):
            side, _, holding = value.partition(":")
            if side in ("pro", "con"):
                scores["pro" if side == "pro" else "con"].append(float(holding))
    return {
        side: round(statistics.fmean(values), 4) if values else None
        for side, values in scores.items()
    }


def decode_record(fields: dict[str, str]) -> MatchRecord | None:
    """The record from its hash. A compacted record must come with the fields its packed key
    holds (arena.store.packed: spec, metrics)."""
    if "id" not in fields:
        return None
    if PACKED in fields:
        turns_done = len(parse_turns(fields.get("done", "")))
        holding = json.loads(fields.get("holding") or "{}")
    else:
        turns_done = len([k for k in fields if k.startswith("t:")])
        holding = _holding(fields)
    metrics = fields.get("metrics")
    return MatchRecord(
        id=fields["id"],
        status=fields["status"],
        spec=MatchSpec.model_validate_json(fields["spec"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        started_at=_time(fields.get("started_at")),
        finished_at=_time(fields.get("finished_at")),
        error=fields.get("error") or None,
        turns_done=turns_done,
        total_turns=int(fields["total_turns"]),
        holding={"pro": holding.get("pro"), "con": holding.get("con")},
        metrics=MatchMetrics.model_validate_json(metrics) if metrics else None,
        worker=fields.get("worker") or None,
        awaiting_turn=int(fields["awaiting"]) if fields.get("awaiting") else None,
        deadline=_time(fields.get("deadline")),
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
    if isinstance(event, Awaiting):  # a human challenger's turn: the seat may write it
        return {"awaiting": str(event.turn), "deadline": event.deadline.isoformat()}
    if isinstance(event, TurnStarted) and event.author in ("human", "fallback"):
        return {"awaiting": "", "deadline": ""}
    if isinstance(event, Verdict):
        if event.scored and event.holding is not None:
            return {f"h:{event.turn}": f"{event.side}:{event.holding}"}
        return {}
    # a finished match waits for nobody: readers look at `awaiting` only while it runs
    finished = {"finished_at": event.ts.isoformat()}
    if isinstance(event, MatchCompleted):
        return {"status": "completed", "metrics": event.metrics.model_dump_json(), **finished}
    if isinstance(event, MatchFailed):
        return {"status": "failed", "error": event.error, **finished}
    if isinstance(event, MatchCancelledEvent):
        return {"status": "cancelled", "error": event.reason, **finished}
    return {}


def parse_turns(done: str) -> list[int]:
    """The turns of a `done` field: "0-5,7" is 0, 1, 2, 3, 4, 5, 7."""
    out: list[int] = []
    for part in filter(None, done.split(",")):
        first, _, last = part.partition("-")
        out += range(int(first), int(last or first) + 1)
    return out


def turn_ranges(turns: list[int]) -> str:
    """The inverse of parse_turns: sorted turns as ranges."""
    parts: list[str] = []
    ordered = sorted(set(turns))
    start = 0
    for i, turn in enumerate(ordered):
        if i + 1 == len(ordered) or ordered[i + 1] != turn + 1:
            first = ordered[start]
            parts.append(str(turn) if first == turn else f"{first}-{turn}")
            start = i + 1
    return ",".join(parts)


@dataclass(frozen=True)
class CompactRecord:
    """How compaction rewrites a finished record: `set` and `drop` in its hash, `moved` into
    the packed key. Per-turn fields become two summary fields that decode_record reads; the
    spec, the metrics and any other long value move out, so the hash stays a listpack."""

    set: dict[str, str]
    drop: list[str]
    moved: dict[str, str]


def compact_record(fields: dict[str, str]) -> CompactRecord:
    turns = [int(k[2:]) for k in fields if k.startswith("t:")]
    holding = json.dumps(_holding(fields), separators=(",", ":"))
    moved = {
        k: v
        for k, v in fields.items()
        if k not in _KEPT
        and not k.startswith(("t:", "h:"))
        and k != "appended"
        and (k in ("spec", "metrics") or len(v.encode()) > SMALL_VALUE)
    }
    drop = [k for k in fields if k.startswith(("t:", "h:")) or k == "appended" or k in moved]
    return CompactRecord({PACKED: "1", "done": turn_ranges(turns), "holding": holding}, drop, moved)
