"""The match engine: a pure async turn loop that emits typed events to a sink.

It plays both formats from the match's turn plan (arena.domain.plan), computed once and sent in
`match_started`: a debate (two debaters, every turn judged) and a pressure match (a target, whose
turns are judged and probed, and a challenger, a model or a tactic's fixed lines).

It knows nothing of HTTP, WebSockets or Redis. Turn k is judged while turn k+1 is generated.
Given the events already stored for a match (`history`) it resumes where they stop: completed
turns are kept, and a turn cut mid-stream is continued from the text already streamed when the
debater's model can continue a reply (`ChatModel.continues_prefix`), or else restarted.

A turn's text is exactly one reply. When a reply has to start again (a provider error on a model
that cannot continue, a model that started over, a resume on such a model), the engine emits
`turn_restarted` and the tokens after it are the whole turn: they join to `turn_completed.text`,
which is what the judge scores.

Judge tasks live inside `run_match`: whatever way it exits (completed, cancelled, failed, an
error from the sink, its own cancellation), they are cancelled and awaited before it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from arena.domain.events import (
    Awaiting,
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchStarted,
    Probe,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.results import MatchMetrics
from arena.domain.specs import Author, PlannedTurn, Side
from arena.domain.transcript import TranscriptView, TurnView, fold
from arena.engine.judging import JudgeTasks, judge_context, panel_verdict
from arena.engine.lineup import Lineup
from arena.engine.probing import probe_turn, probes
from arena.engine.scoring import match_metrics
from arena.engine.seat import HumanTurnSource, NoSeat, check_silence, silent_run
from arena.engine.speaking import RESUMED_REASON, Speaker, max_tokens_for
from arena.errors import ArenaError, MatchCancelled

EventSink = Callable[[Event], Awaitable[None]]


def partial_deadline() -> datetime:
    # a turn cut off mid-stream was sent already: its text is there, no need to wait for it
    return datetime.now(UTC)


__all__ = ["RESUMED_REASON", "EventSink", "HumanTurnSource", "max_tokens_for", "run_match"]


class _Match:
    def __init__(
        self,
        lineup: Lineup,
        sink: EventSink,
        view: TranscriptView,
        cancel: asyncio.Event | None,
        seat: HumanTurnSource | None = None,
    ) -> None:
        self.lineup, self.sink, self.view = lineup, sink, view
        self.cancel = cancel or asyncio.Event()
        self.seat = seat or NoSeat()
        self.authors: dict[int, Author | None] = {t.turn: t.author for t in view.ordered}
        self.texts: dict[int, tuple[Side, str]] = {t.turn: (t.side, t.text) for t in view.completed}
        self.verdicts: dict[int, Verdict] = dict(view.verdicts)
        self.probes: dict[int, Probe] = dict(view.probes)
        self.judging = JudgeTasks()
        # the plan of a match that started is the one it sent; a new match computes it once
        self.plan = view.plan or plan_turns(lineup.spec)
        self.speaker = Speaker(lineup, self.texts, self.emit, self.check)
        # An error raised by the sink (a lost lease, a store error) belongs to the caller:
        # it is re-raised as is, never reported as a model failure through that same sink.
        self.sink_error: BaseException | None = None

    async def emit(self, event: Event) -> None:
        try:
            await self.sink(event)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self.sink_error = exc
            raise

    def check(self) -> None:
        """Stop the turn loop when the match was cancelled, or a judge task failed (its sink
        broke): no point speaking turns that cannot be stored."""
        self.judging.check()
        if self.cancel.is_set():
            raise MatchCancelled("cancelled by request")

    def start_judging(self, planned: PlannedTurn) -> None:
        # an unjudged run (benchmarks) has no verdicts at all; a challenger's turn is not judged
        if not self.lineup.judges or not planned.judged:
            return
        opener = self.plan[0].side if self.plan else None
        ctx = judge_context(self.lineup, opener, planned, self.texts)

        async def judge() -> None:
            verdict = await panel_verdict(self.lineup, planned, ctx)
            self.verdicts[planned.index] = verdict
            await self.emit(verdict)

        self.judging.start(judge)

    async def probe(self, planned: PlannedTurn) -> None:
        self.check()
        found = await probe_turn(self.lineup, planned, self.speaker.history(planned.index + 1))
        self.probes[planned.index] = found
        await self.emit(found)

    async def human_turn(self, planned: PlannedTurn, partial: TurnView | None) -> str:
        """A turn of the human challenger: the seat's text, or the fallback's line once the
        countdown ends (arena.engine.seat). A turn cut off by a crash is spoken again by the
        author it had."""
        seat = self.lineup.spec.human
        assert seat is not None
        index = planned.index
        if partial is not None:
            text = await self.seat.wait_turn(index, partial_deadline())
            human = text if partial.author == "human" else None
        else:
            deadline = await self.seat.open_turn(index, seat.turn_seconds)
            await self.emit(
                Awaiting(
                    match_id=self.lineup.match_id,
                    turn=index,
                    deadline=deadline,
                    seconds=seat.turn_seconds,
                )
            )
            human = await self.until_cancelled(self.seat.wait_turn(index, deadline))
            if human is None:
                check_silence(seat, silent_run(self.plan, self.authors, index) + 1)
        self.authors[index] = "human" if human is not None else "fallback"
        return await self.speaker.speak(planned, partial, human=human)

    async def until_cancelled(self, waiting: Awaitable[str | None]) -> str | None:
        """Wait for the seat, but stop as soon as the match is cancelled."""
        task = asyncio.ensure_future(waiting)
        stop = asyncio.create_task(self.cancel.wait())
        try:
            await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.check()
        return task.result()

    async def run(self) -> MatchMetrics:
        if self.view.spec is None:
            await self.emit(
                MatchStarted(
                    match_id=self.lineup.match_id,
                    spec=self.lineup.spec,
                    total_turns=len(self.plan),
                    plan=self.plan,
                )
            )
        partial = self.view.partial
        for planned in self.plan:
            if planned.index in self.texts:
                if planned.index not in self.verdicts:
                    self.start_judging(planned)
                if probes(self.lineup, planned) and planned.index not in self.probes:
                    await self.probe(planned)
                continue
            self.check()
            same = partial if partial is not None and partial.turn == planned.index else None
            if planned.role == "challenger" and self.lineup.spec.human is not None:
                text = await self.human_turn(planned, same)
            else:
                text = await self.speaker.speak(planned, same)
            self.texts[planned.index] = (planned.side, text)
            self.start_judging(planned)
            if probes(self.lineup, planned):
                await self.probe(planned)
        await self.judging.wait()
        judges = [j.name for j in self.lineup.judges]
        metrics = match_metrics(self.lineup.spec, self.plan, self.verdicts, self.probes, judges)
        await self.emit(MatchCompleted(match_id=self.lineup.match_id, metrics=metrics))
        return metrics


async def run_match(
    lineup: Lineup,
    sink: EventSink,
    *,
    history: Sequence[Event] = (),
    cancel: asyncio.Event | None = None,
    seat: HumanTurnSource | None = None,
) -> MatchMetrics | None:
    """Run (or resume) a match, emitting events to `sink`; ends with exactly one terminal event.
    Returns the metrics when the match completes, None when it failed or was cancelled. `seat`
    gives a human challenger's turns (MatchSpec.human); without it they are all silent."""
    view = fold(history)
    if view.status in ("completed", "failed", "cancelled"):
        return view.metrics
    match = _Match(lineup, sink, view, cancel, seat)
    try:
        return await match.run()
    except MatchCancelled as exc:
        await match.judging.stop()
        await match.emit(MatchCancelledEvent(match_id=lineup.match_id, reason=str(exc)))
    except ArenaError as exc:
        if exc is match.sink_error:
            raise
        await match.judging.stop()
        turn = max(match.texts, default=-1) + 1
        await match.emit(MatchFailed(match_id=lineup.match_id, error=str(exc), turn=turn))
    finally:
        await match.judging.stop()
    return None
