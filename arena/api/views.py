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
from arena.domain.challenge import result_line
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
        author=view.author,
    )


def detail(
    record: MatchRecord,
    view: TranscriptView,
    accuracy: dict[str, float | None],
    target_name: str | None = None,
) -> MatchDetail:
    """The match in full; a human challenge's also says whose turn it waits for and, once it
    completed, its result line (`target_name`: the target persona's name)."""
    human = record.spec.human is not None and record.spec.pressure is not None
    waiting = human and record.status == "running" and record.awaiting_turn is not None
    metrics = record.metrics or view.metrics
    target = None
    if human and record.spec.pressure is not None:
        target = target_name or record.spec.debater(record.spec.pressure.target).persona
    return MatchDetail(
        challenger="human" if human else None,
        awaiting="challenger" if waiting else None,
        awaiting_turn=record.awaiting_turn if waiting else None,
        deadline=record.deadline if waiting else None,
        result_line=result_line(metrics, target) if target is not None else None,
        **summary(record).model_dump(),
        spec=record.spec,
        started_at=record.started_at,
        finished_at=record.finished_at,
        error=record.error,
        worker=record.worker,
        turns=[turn(t) for t in view.ordered],
        plan=view.plan,
        metrics=metrics,
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
