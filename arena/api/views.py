"""Build the response bodies from store records and folded events."""

from __future__ import annotations

from collections.abc import Sequence

from arena.api.schemas import (
    Debater,
    Holding,
    MatchDetail,
    MatchSummary,
    Transcript,
    TurnPublic,
)
from arena.domain.events import Event
from arena.domain.records import MatchRecord
from arena.domain.transcript import TranscriptView, TurnView, fold


def summary(record: MatchRecord) -> MatchSummary:
    spec = record.spec
    return MatchSummary(
        id=record.id,
        status=record.status,
        created_at=record.created_at,
        format=spec.format,
        motion=spec.motion,
        motion_id=spec.motion_id,
        rounds=spec.rounds,
        pro=Debater(persona=spec.pro.persona, model=spec.pro.model),
        con=Debater(persona=spec.con.persona, model=spec.con.model),
        judges=list(spec.judges),
        holding=Holding(pro=record.holding.get("pro"), con=record.holding.get("con")),
        turns_done=record.turns_done,
        total_turns=record.total_turns,
    )


def turn(view: TurnView) -> TurnPublic:
    return TurnPublic(
        turn=view.turn,
        side=view.side,
        kind=view.kind,
        persona=view.persona,
        model=view.model,
        text=view.text,
        tokens_in=view.tokens_in if view.completed else None,
        tokens_out=view.tokens_out if view.completed else None,
        ttft_ms=view.ttft_ms,
        duration_ms=view.duration_ms,
        completed=view.completed,
        verdict=view.verdict,
        probe=view.probe,
    )


def detail(
    record: MatchRecord, view: TranscriptView, accuracy: dict[str, float | None]
) -> MatchDetail:
    return MatchDetail(
        **summary(record).model_dump(),
        spec=record.spec,
        started_at=record.started_at,
        finished_at=record.finished_at,
        error=record.error,
        worker=record.worker,
        turns=[turn(t) for t in view.ordered],
        plan=view.plan,
        metrics=record.metrics or view.metrics,
        judge_accuracy=accuracy,
    )


def transcript(record: MatchRecord, view: TranscriptView) -> Transcript:
    return Transcript(
        id=record.id,
        status=record.status,
        spec=record.spec,
        turns=[turn(t) for t in view.ordered],
        metrics=record.metrics or view.metrics,
        error=record.error,
    )


def fold_match(record: MatchRecord, events: Sequence[Event]) -> TranscriptView:
    """The events folded into turns; the record is the authority on spec and status (a queued
    match has no match_started yet)."""
    view = fold(events)
    view.spec = view.spec or record.spec
    view.status = record.status
    return view
