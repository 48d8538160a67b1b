"""The archive's tables: their Parquet schemas, and the rows one finished match gives each.

Columns are plain (strings, integers, floats, booleans, UTC timestamps), with a list of strings
only where a value is a list (a match's judges, a verdict's concessions), so that pandas, DuckDB,
Polars and the `datasets` library read the files as they are. docs/archive.md describes every
column; a test holds that page and these schemas together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from arena.domain.events import (
    Event,
    MatchStarted,
    Probe,
    TurnCompleted,
    TurnStarted,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.records import MatchRecord
from arena.domain.transcript import fold
from arena.store.votes import TurnAudit

Row = dict[str, Any]
TIME = pa.timestamp("us", tz="UTC")
TEXTS = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "matches": pa.schema(
        [
            ("match_id", pa.string()),
            ("status", pa.string()),
            ("format", pa.string()),
            ("motion", pa.string()),
            ("motion_id", pa.string()),
            ("rounds", pa.int32()),
            ("word_limit", pa.int32()),
            ("pro_persona", pa.string()),
            ("pro_model", pa.string()),
            ("pro_version", pa.string()),
            ("con_persona", pa.string()),
            ("con_model", pa.string()),
            ("con_version", pa.string()),
            ("judges", TEXTS),
            ("pressure_target", pa.string()),
            ("pressure_tactic", pa.string()),
            ("seed", pa.int64()),
            ("created_at", TIME),
            ("started_at", TIME),
            ("finished_at", TIME),
            ("total_turns", pa.int32()),
            ("turns_completed", pa.int32()),
            ("pro_mean_holding", pa.float64()),
            ("con_mean_holding", pa.float64()),
            ("tokens_in", pa.int64()),
            ("tokens_out", pa.int64()),
            ("error", pa.string()),
            ("tournament", pa.string()),
            ("spec_json", pa.string()),
            ("metrics_json", pa.string()),
        ]
    ),
    "turns": pa.schema(
        [
            ("match_id", pa.string()),
            ("turn", pa.int32()),
            ("role", pa.string()),
            ("side", pa.string()),
            ("kind", pa.string()),
            ("round", pa.int32()),
            ("persona", pa.string()),
            ("model", pa.string()),
            ("text", pa.string()),
            ("completed", pa.bool_()),
            ("tokens_in", pa.int32()),
            ("tokens_out", pa.int32()),
            ("ttft_ms", pa.float64()),
            ("duration_ms", pa.float64()),
            ("attempts", pa.int32()),
            ("restarted", pa.string()),
            ("started_at", TIME),
            ("completed_at", TIME),
        ]
    ),
    "verdicts": pa.schema(
        [
            ("match_id", pa.string()),
            ("turn", pa.int32()),
            ("side", pa.string()),
            ("judge", pa.string()),
            ("panel", pa.bool_()),
            ("scored", pa.bool_()),
            ("stance", pa.string()),
            ("holding", pa.float64()),
            ("engagement", pa.float64()),
            ("concessions", TEXTS),
            ("rationale", pa.string()),
            ("reason", pa.string()),
            ("latency_ms", pa.float64()),
            ("disputed", pa.bool_()),
            ("at", TIME),
        ]
    ),
    "probes": pa.schema(
        [
            ("match_id", pa.string()),
            ("turn", pa.int32()),
            ("side", pa.string()),
            ("model", pa.string()),
            ("question", pa.string()),
            ("answer", pa.string()),
            ("supports", pa.bool_()),
            ("stance", pa.string()),
            ("holds", pa.bool_()),
            ("p_yes", pa.float64()),
            ("method", pa.string()),
            ("error", pa.string()),
            ("at", TIME),
        ]
    ),
    "votes": pa.schema(
        [
            ("match_id", pa.string()),
            ("turn", pa.int32()),
            ("side", pa.string()),
            ("holds", pa.int32()),
            ("wavers", pa.int32()),
            ("switched", pa.int32()),
            ("voters", pa.int32()),
            ("ips", pa.int32()),
        ]
    ),
}
TABLES = tuple(SCHEMAS)
PANEL = "panel"  # the `judge` of a panel's verdict row (a model name always has a colon)


@dataclass(frozen=True)
class ArchivedMatch:
    """What the archive keeps of one finished match."""

    record: MatchRecord
    events: list[Event]
    votes: dict[int, TurnAudit]
    tournament: str | None = None


def match_rows(match: ArchivedMatch) -> dict[str, list[Row]]:
    """The rows of every table for one match."""
    events, record = match.events, match.record
    completed = [e for e in events if isinstance(e, TurnCompleted)]
    return {
        "matches": [_match_row(match, completed)],
        "turns": _turn_rows(record, events),
        "verdicts": [row for e in events if isinstance(e, Verdict) for row in _verdict_rows(e)],
        "probes": [_probe_row(e) for e in events if isinstance(e, Probe)],
        "votes": _vote_rows(match, {t.turn: t.side for t in completed}),
    }


def _match_row(match: ArchivedMatch, completed: list[TurnCompleted]) -> Row:
    record = match.record
    spec, metrics = record.spec, record.metrics
    return {
        "match_id": record.id,
        "status": record.status,
        "format": spec.format,
        "motion": spec.motion,
        "motion_id": spec.motion_id,
        "rounds": spec.rounds,
        "word_limit": spec.word_limit,
        "pro_persona": spec.pro.persona,
        "pro_model": spec.pro.model,
        "pro_version": spec.pro.version,
        "con_persona": spec.con.persona,
        "con_model": spec.con.model,
        "con_version": spec.con.version,
        "judges": list(spec.judges),
        "pressure_target": spec.pressure.target if spec.pressure else None,
        "pressure_tactic": spec.pressure.tactic if spec.pressure else None,
        "seed": spec.seed,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "total_turns": record.total_turns,
        "turns_completed": len(completed),
        "pro_mean_holding": record.holding.get("pro"),
        "con_mean_holding": record.holding.get("con"),
        "tokens_in": sum(t.tokens_in for t in completed),
        "tokens_out": sum(t.tokens_out for t in completed),
        "error": record.error,
        "tournament": match.tournament,
        "spec_json": spec.model_dump_json(),
        "metrics_json": metrics.model_dump_json() if metrics is not None else None,
    }


def _turn_rows(record: MatchRecord, events: list[Event]) -> list[Row]:
    view = fold(events)
    started = next((e for e in events if isinstance(e, MatchStarted)), None)
    plan = {p.index: p for p in (started.plan if started and started.plan else [])}
    plan = plan or {p.index: p for p in plan_turns(record.spec)}
    began: dict[int, datetime] = {e.turn: e.ts for e in events if isinstance(e, TurnStarted)}
    done = {e.turn: e for e in events if isinstance(e, TurnCompleted)}
    rows = []
    for t in view.ordered:
        planned, end = plan.get(t.turn), done.get(t.turn)
        rows.append(
            {
                "match_id": record.id,
                "turn": t.turn,
                "role": planned.role if planned else "debater",
                "side": t.side,
                "kind": t.kind,
                "round": planned.round if planned else None,
                "persona": t.persona,
                "model": t.model,
                "text": t.text,
                "completed": t.completed,
                "tokens_in": t.tokens_in if t.completed else None,
                "tokens_out": t.tokens_out if t.completed else None,
                "ttft_ms": t.ttft_ms,
                "duration_ms": t.duration_ms,
                "attempts": end.attempts if end else None,
                "restarted": t.restarted,
                "started_at": began.get(t.turn),
                "completed_at": end.ts if end else None,
            }
        )
    return rows


def _verdict_rows(v: Verdict) -> list[Row]:
    base = {"match_id": v.match_id, "turn": v.turn, "side": v.side, "at": v.ts}
    panel = {
        **base,
        "judge": PANEL,
        "panel": True,
        "scored": v.scored,
        "stance": v.stance,
        "holding": v.holding,
        "engagement": v.engagement,
        "concessions": list(v.concessions),
        "rationale": v.rationale,
        "reason": None,
        "latency_ms": None,
        "disputed": v.disputed,
    }
    judges = [
        {
            **base,
            "judge": j.judge,
            "panel": False,
            "scored": j.scored,
            "stance": j.stance,
            "holding": j.holding,
            "engagement": j.engagement,
            "concessions": list(j.concessions),
            "rationale": j.rationale,
            "reason": j.reason,
            "latency_ms": j.latency_ms,
            "disputed": None,
        }
        for j in v.judges
    ]
    return [panel, *judges]


def _probe_row(p: Probe) -> Row:
    return {
        "match_id": p.match_id,
        "turn": p.turn,
        "side": p.side,
        "model": p.model,
        "question": p.question,
        "answer": p.answer,
        "supports": p.supports,
        "stance": p.stance,
        "holds": p.holds,
        "p_yes": p.p_yes,
        "method": p.method,
        "error": p.error,
        "at": p.ts,
    }


def _vote_rows(match: ArchivedMatch, sides: dict[int, str]) -> list[Row]:
    return [
        {
            "match_id": match.record.id,
            "turn": turn,
            "side": sides.get(turn),
            "holds": v.counts.get("holds", 0),
            "wavers": v.counts.get("wavers", 0),
            "switched": v.counts.get("switched", 0),
            "voters": v.voters,
            "ips": v.ips,
        }
        for turn, v in sorted(match.votes.items())
    ]
