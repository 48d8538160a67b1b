"""The debate engine: a pure async turn loop that emits typed events to a sink.

It knows nothing of HTTP, WebSockets or Redis. Turn k is judged while turn k+1 is generated.
Given the events already stored for a match (`history`) it resumes where they stop: completed
turns are kept, a turn cut mid-stream is continued from the text already streamed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from arena.agreement import panel_agreement
from arena.errors import ArenaError, MatchCancelled, ModelError
from arena.events import (
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchMetrics,
    MatchSpec,
    MatchStarted,
    Side,
    Token,
    TurnCompleted,
    TurnStarted,
    Verdict,
)
from arena.judge import JudgeContext, aggregate, judge_turn
from arena.metrics import debater_metrics
from arena.models.base import ChatModel, Completion, GenerationRequest
from arena.models.retry import stream_with_retry
from arena.personas import Persona
from arena.transcript import TranscriptView, TurnView, fold
from arena.turns import PlannedTurn, conversation, debate_instructions, plan_turns

log = logging.getLogger(__name__)

EventSink = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Debater:
    side: Side
    persona: Persona
    model: ChatModel


@dataclass(frozen=True)
class Lineup:
    """A match ready to run: its spec with personas and models resolved."""

    match_id: str
    spec: MatchSpec
    pro: Debater
    con: Debater
    judges: list[ChatModel]
    max_attempts: int = 4
    max_delay: float = 30.0

    def debater(self, side: Side) -> Debater:
        return self.pro if side == "pro" else self.con


def max_tokens_for(word_limit: int) -> int:
    # about 1.3 tokens per English word, with room to finish the sentence
    return int(word_limit * 1.6) + 24


class _Match:
    def __init__(
        self, lineup: Lineup, sink: EventSink, view: TranscriptView, cancel: asyncio.Event | None
    ) -> None:
        self.lineup, self.sink, self.view = lineup, sink, view
        self.cancel = cancel or asyncio.Event()
        self.texts: dict[int, tuple[Side, str]] = {t.turn: (t.side, t.text) for t in view.completed}
        self.verdicts: dict[int, Verdict] = dict(view.verdicts)
        self.judging: list[asyncio.Task[None]] = []
        self.plan = plan_turns(lineup.spec.rounds)

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise MatchCancelled("cancelled by request")

    async def speak(self, planned: PlannedTurn, partial: TurnView | None) -> None:
        """Speak a turn, or continue it from the text already streamed when `partial` is the
        same turn cut off by a crash (no second turn_started, no repeated text)."""
        prefix = partial.text if partial is not None else ""
        spec, debater = self.lineup.spec, self.lineup.debater(planned.side)
        persona = debater.persona
        history = [self.texts[i] for i in sorted(self.texts) if i < planned.index]
        temperature = spec.temperature if spec.temperature is not None else persona.temperature
        request = GenerationRequest(
            system=debate_instructions(
                persona, planned.side, spec.motion, planned.kind, spec.word_limit
            ),
            messages=conversation(planned.side, history, planned.kind),
            max_tokens=min(persona.max_tokens or 10_000, max_tokens_for(spec.word_limit)),
            temperature=temperature,
            seed=None if spec.seed is None else spec.seed + planned.index,
            assistant_prefix=prefix,
        )
        if partial is None:
            await self.sink(
                TurnStarted(
                    match_id=self.lineup.match_id,
                    turn=planned.index,
                    side=planned.side,
                    kind=planned.kind,
                    persona=persona.id,
                    model=debater.model.name,
                )
            )
        attempts = 1

        async def on_retry(attempt: int, error: ModelError, delay: float) -> None:
            nonlocal attempts
            attempts = attempt + 1
            log.warning("turn %d: %s; retry %d in %.1fs", planned.index, error, attempt, delay)

        text, done = prefix, None
        async for item in stream_with_retry(
            debater.model,
            request,
            max_attempts=self.lineup.max_attempts,
            max_delay=self.lineup.max_delay,
            on_retry=on_retry,
        ):
            self._check_cancel()
            if isinstance(item, Completion):
                done = item
            elif item.text:
                text += item.text
                await self.sink(
                    Token(match_id=self.lineup.match_id, turn=planned.index, text=item.text)
                )
        assert done is not None  # stream_with_retry always ends with a Completion
        self.texts[planned.index] = (planned.side, text)
        await self.sink(
            TurnCompleted(
                match_id=self.lineup.match_id,
                turn=planned.index,
                side=planned.side,
                kind=planned.kind,
                text=text,
                tokens_in=done.tokens_in,
                tokens_out=done.tokens_out,
                ttft_ms=None if done.ttft_s is None else round(done.ttft_s * 1000, 1),
                duration_ms=round(done.duration_s * 1000, 1),
                attempts=attempts,
            )
        )

    def judge_context(self, planned: PlannedTurn) -> JudgeContext:
        before = [i for i in sorted(self.texts) if i < planned.index]
        own = [i for i in before if self.texts[i][0] == planned.side]
        theirs = [i for i in before if self.texts[i][0] != planned.side]
        return JudgeContext(
            motion=self.lineup.spec.motion,
            side=planned.side,
            text=self.texts[planned.index][1],
            own_opening=self.texts[own[0]][1] if own else None,
            opponent_last=self.texts[theirs[-1]][1] if theirs else None,
            position=1 if planned.side == "pro" else 2,
        )

    async def judge(self, planned: PlannedTurn) -> None:
        ctx = self.judge_context(planned)
        verdicts = await asyncio.gather(
            *(
                judge_turn(
                    j, ctx, max_attempts=self.lineup.max_attempts, max_delay=self.lineup.max_delay
                )
                for j in self.lineup.judges
            )
        )
        panel = aggregate(list(verdicts))
        verdict = Verdict(
            match_id=self.lineup.match_id,
            turn=planned.index,
            side=planned.side,
            scored=panel.scored,
            stance=panel.stance,
            holding=panel.holding,
            engagement=panel.engagement,
            concessions=panel.concessions,
            rationale=panel.rationale,
            disputed=panel.disputed,
            judges=panel.judges,
        )
        self.verdicts[planned.index] = verdict
        await self.sink(verdict)

    def start_judging(self, planned: PlannedTurn) -> None:
        if not self.lineup.judges:  # an unjudged run (benchmarks): no verdicts at all
            return
        self.judging.append(asyncio.create_task(self.judge(planned)))

    def metrics(self) -> MatchMetrics:
        spec = self.lineup.spec
        verdicts = [self.verdicts[i] for i in sorted(self.verdicts)]
        per_side = {p.side: 0 for p in self.plan}
        for p in self.plan:
            per_side[p.side] += 1
        return MatchMetrics(
            pro=debater_metrics(spec, "pro", verdicts, per_side["pro"]),
            con=debater_metrics(spec, "con", verdicts, per_side["con"]),
            judges=[j.name for j in self.lineup.judges],
            agreement=panel_agreement([j.name for j in self.lineup.judges], verdicts),
        )

    async def run(self) -> MatchMetrics:
        if self.view.spec is None:
            await self.sink(
                MatchStarted(
                    match_id=self.lineup.match_id, spec=self.lineup.spec, total_turns=len(self.plan)
                )
            )
        partial = self.view.partial
        for planned in self.plan:
            if planned.index in self.texts:
                if planned.index not in self.verdicts:
                    self.start_judging(planned)
                continue
            self._check_cancel()
            same = partial if partial is not None and partial.turn == planned.index else None
            await self.speak(planned, same)
            self.start_judging(planned)
        await asyncio.gather(*self.judging)
        metrics = self.metrics()
        await self.sink(MatchCompleted(match_id=self.lineup.match_id, metrics=metrics))
        return metrics

    async def stop_judging(self) -> None:
        for task in self.judging:
            task.cancel()
        await asyncio.gather(*self.judging, return_exceptions=True)


async def run_match(
    lineup: Lineup,
    sink: EventSink,
    *,
    history: Sequence[Event] = (),
    cancel: asyncio.Event | None = None,
) -> MatchMetrics | None:
    """Run (or resume) a match, emitting events to `sink`; ends with exactly one terminal event.
    Returns the metrics when the match completes, None when it failed or was cancelled."""
    view = fold(history)
    if view.status in ("completed", "failed", "cancelled"):
        return view.metrics
    match = _Match(lineup, sink, view, cancel)
    try:
        return await match.run()
    except MatchCancelled as exc:
        await match.stop_judging()
        await sink(MatchCancelledEvent(match_id=lineup.match_id, reason=str(exc)))
    except ArenaError as exc:
        await match.stop_judging()
        turn = max(match.texts, default=-1) + 1
        await sink(MatchFailed(match_id=lineup.match_id, error=str(exc), turn=turn))
    return None
