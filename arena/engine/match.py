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
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing

from arena.domain.events import (
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchStarted,
    Probe,
    Token,
    TurnCompleted,
    TurnRestarted,
    TurnStarted,
    Verdict,
)
from arena.domain.plan import opponent, plan_turns
from arena.domain.results import MatchMetrics, PressureMetrics
from arena.domain.specs import SCRIPTED, PlannedTurn, Side
from arena.domain.transcript import TranscriptView, TurnView, fold
from arena.engine.judge import JudgeContext, aggregate, judge_turn
from arena.engine.lineup import Lineup
from arena.engine.pressure import (
    challenger_conversation,
    challenger_instructions,
    target_conversation,
    target_instructions,
)
from arena.engine.probe import QUESTION, probe_request, run_probe, stance_of
from arena.engine.prompts import conversation, debate_instructions
from arena.errors import ArenaError, MatchCancelled, ModelError
from arena.models.base import ChatModel, Completion, GenerationRequest
from arena.models.retry import Restart, RetryHook, stream_with_retry
from arena.stats.agreement import panel_agreement
from arena.stats.debater import debater_metrics
from arena.stats.sycophancy import flip_metrics, probe_metrics

log = logging.getLogger(__name__)

EventSink = Callable[[Event], Awaitable[None]]

RESUMED_REASON = "restarted: resumed after a worker restart"


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
        self.probes: dict[int, Probe] = dict(view.probes)
        self.judging: list[asyncio.Task[None]] = []
        # the plan of a match that started is the one it sent; a new match computes it once
        self.plan = view.plan or plan_turns(lineup.spec)
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

    def _check_cancel(self) -> None:
        """Stop the turn loop when the match was cancelled, or a judge task failed (its sink
        broke): no point speaking turns that cannot be stored."""
        for task in self.judging:
            failure = task.exception() if task.done() and not task.cancelled() else None
            if failure is not None:
                raise failure
        if self.cancel.is_set():
            raise MatchCancelled("cancelled by request")

    def _history(self, before: int) -> list[tuple[Side, str]]:
        return [self.texts[i] for i in sorted(self.texts) if i < before]

    def _request(self, planned: PlannedTurn, prefix: str) -> GenerationRequest:
        """What the speaker of `planned` is told: a debater, the target or a model challenger."""
        spec, seat = self.lineup.spec, self.lineup.debater(planned.side)
        persona, history = seat.persona, self._history(planned.index)
        if planned.role == "challenger":
            assert self.lineup.tactic is not None
            system = challenger_instructions(
                self.lineup.tactic, persona, planned.side, spec.motion, spec.word_limit
            )
            messages = challenger_conversation(planned.side, history)
        else:
            assert persona is not None
            if planned.role == "target":
                system = target_instructions(
                    persona, planned.side, spec.motion, planned.kind, spec.word_limit
                )
                messages = target_conversation(planned.side, history, spec.motion)
            else:
                system = debate_instructions(
                    persona, planned.side, spec.motion, planned.kind, spec.word_limit
                )
                messages = conversation(planned.side, history, planned.kind)
        own_temperature = persona.temperature if persona is not None else None
        own_max = persona.max_tokens if persona is not None and persona.max_tokens else 10_000
        return GenerationRequest(
            system=system,
            messages=messages,
            max_tokens=min(own_max, max_tokens_for(spec.word_limit)),
            temperature=spec.temperature if spec.temperature is not None else own_temperature,
            seed=None if spec.seed is None else spec.seed + planned.index,
            assistant_prefix=prefix,
        )

    async def _restart(self, planned: PlannedTurn, reason: str, attempt: int) -> None:
        await self.emit(
            TurnRestarted(
                match_id=self.lineup.match_id, turn=planned.index, reason=reason, attempt=attempt
            )
        )

    async def speak(self, planned: PlannedTurn, partial: TurnView | None) -> None:
        """Speak a turn. When `partial` is the same turn cut off by a crash (no second
        turn_started), continue it from the text already streamed if the model can, else emit
        turn_restarted and speak it afresh."""
        seat = self.lineup.debater(planned.side)
        match_id = self.lineup.match_id
        model_name = seat.model.name if seat.model is not None else SCRIPTED
        if partial is None:
            persona = (
                seat.persona.id
                if seat.persona is not None
                else self.lineup.spec.debater(planned.side).persona
            )
            await self.emit(
                TurnStarted(
                    match_id=match_id,
                    turn=planned.index,
                    side=planned.side,
                    kind=planned.kind,
                    persona=persona,
                    model=model_name,
                )
            )
        prefix = partial.text if partial is not None else ""
        if seat.model is None:
            text, done, attempts = await self._say_line(planned, prefix)
        else:
            text, done, attempts = await self._generate(planned, seat.model, prefix)
        self.texts[planned.index] = (planned.side, text)
        await self.emit(
            TurnCompleted(
                match_id=match_id,
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

    async def _say_line(self, planned: PlannedTurn, prefix: str) -> tuple[str, Completion, int]:
        """A scripted challenger's turn: the tactic's line for the round, streamed as word
        tokens like a model's reply (no model call). A turn cut off mid-line continues it."""
        spec, tactic = self.lineup.spec, self.lineup.tactic
        assert tactic is not None
        line = tactic.line(planned.round, spec.motion, opponent(planned.side))
        if not line.startswith(prefix):
            await self._restart(planned, RESUMED_REASON, 1)
            prefix = ""
        rest = line[len(prefix) :]
        parts = [p for p in re.split(r"(?=\s)", rest) if p]
        for part in parts:
            self._check_cancel()
            await self.emit(Token(match_id=self.lineup.match_id, turn=planned.index, text=part))
        return line, Completion(0, len(parts), None, 0.0, "stop"), 1

    async def _generate(
        self, planned: PlannedTurn, model: ChatModel, prefix: str
    ) -> tuple[str, Completion, int]:
        match_id = self.lineup.match_id
        if prefix and not model.continues_prefix:
            log.info("match %s turn %d: %s", match_id, planned.index, RESUMED_REASON)
            await self._restart(planned, RESUMED_REASON, 1)
            prefix = ""
        request = self._request(planned, prefix)
        attempts = 1

        async def on_retry(attempt: int, error: ModelError, delay: float) -> None:
            nonlocal attempts
            attempts = attempt + 1
            log.warning(
                "match %s turn %d (%s): attempt %d failed: %s; retrying in %.1fs",
                match_id, planned.index, model.name, attempt, error, delay,
            )  # fmt: skip

        text, done = prefix, None
        stream = stream_with_retry(
            model,
            request,
            max_attempts=self.lineup.max_attempts,
            max_delay=self.lineup.max_delay,
            on_retry=on_retry,
        )
        async with aclosing(stream):
            async for item in stream:
                self._check_cancel()
                if isinstance(item, Completion):
                    done = item
                elif isinstance(item, Restart):
                    text = ""
                    log.warning(
                        "match %s turn %d (%s): %s (attempt %d)",
                        match_id, planned.index, model.name, item.reason, item.attempt,
                    )  # fmt: skip
                    await self._restart(planned, item.reason, item.attempt)
                elif item.text:
                    text += item.text
                    await self.emit(Token(match_id=match_id, turn=planned.index, text=item.text))
        assert done is not None  # stream_with_retry always ends with a Completion
        return text, done, attempts

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
            position=1 if self._opens(planned.side) else 2,
        )

    def _opens(self, side: Side) -> bool:
        return bool(self.plan) and self.plan[0].side == side

    def _judge_retry_hook(self, planned: PlannedTurn, judge: ChatModel) -> RetryHook:
        async def on_retry(attempt: int, error: ModelError, delay: float) -> None:
            log.warning(
                "match %s turn %d judge %s: attempt %d failed: %s; retrying in %.1fs",
                self.lineup.match_id, planned.index, judge.name, attempt, error, delay,
            )  # fmt: skip

        return on_retry

    async def judge(self, planned: PlannedTurn) -> None:
        ctx = self.judge_context(planned)
        verdicts = await asyncio.gather(
            *(
                judge_turn(
                    j,
                    ctx,
                    max_attempts=self.lineup.max_attempts,
                    max_delay=self.lineup.max_delay,
                    on_retry=self._judge_retry_hook(planned, j),
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
        await self.emit(verdict)

    def start_judging(self, planned: PlannedTurn) -> None:
        # an unjudged run (benchmarks) has no verdicts at all; a challenger's turn is not judged
        if not self.lineup.judges or not planned.judged:
            return
        self.judging.append(asyncio.create_task(self.judge(planned)))

    def probing(self, planned: PlannedTurn) -> bool:
        pressure = self.lineup.spec.pressure
        return planned.role == "target" and pressure is not None and pressure.probe

    async def probe(self, planned: PlannedTurn) -> None:
        """Ask the target's own model, after its turn and out of the challenger's sight, whether
        it supports the motion; score the answer by a fixed function."""
        spec, seat = self.lineup.spec, self.lineup.debater(planned.side)
        assert seat.persona is not None and seat.model is not None
        history = self._history(planned.index + 1)
        request = probe_request(
            target_instructions(seat.persona, planned.side, spec.motion, "reply", spec.word_limit),
            target_conversation(planned.side, history, spec.motion),
            spec.motion,
        )
        answer, supports, method, error, p_yes = await run_probe(
            seat.model,
            request,
            max_attempts=self.lineup.max_attempts,
            max_delay=self.lineup.max_delay,
        )
        stance = stance_of(supports)
        probe = Probe(
            match_id=self.lineup.match_id,
            turn=planned.index,
            side=planned.side,
            question=QUESTION,
            answer=answer,
            supports=supports,
            stance=stance,
            holds=None if stance is None else stance == planned.side,
            p_yes=p_yes,
            model=seat.model.name,
            method=method,
            error=error,
        )
        self.probes[planned.index] = probe
        await self.emit(probe)

    def metrics(self) -> MatchMetrics:
        spec = self.lineup.spec
        verdicts = [self.verdicts[i] for i in sorted(self.verdicts)]
        per_side = {p.side: 0 for p in self.plan}
        for p in self.plan:
            per_side[p.side] += 1
        flips = []
        sides: tuple[Side, ...] = (
            (spec.pressure.target,) if spec.pressure is not None else ("pro", "con")
        )
        for side in sides:
            judged = [p.index for p in self.plan if p.side == side and p.judged]
            flips.append(flip_metrics(side, [self.verdicts.get(i) for i in judged]))
        pressure = None
        if spec.pressure is not None:
            target = spec.pressure.target
            probe = None
            if spec.pressure.probe:
                probe = probe_metrics(
                    target,
                    self.verdicts,
                    {turn: p.holds for turn, p in sorted(self.probes.items())},
                )
            pressure = PressureMetrics(target=flips[0], tactic=spec.pressure.tactic, probe=probe)
        return MatchMetrics(
            pro=debater_metrics(spec, "pro", verdicts, per_side.get("pro", 0)),
            con=debater_metrics(spec, "con", verdicts, per_side.get("con", 0)),
            judges=[j.name for j in self.lineup.judges],
            agreement=panel_agreement([j.name for j in self.lineup.judges], verdicts),
            flips=flips,
            pressure=pressure,
        )

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
                if self.probing(planned) and planned.index not in self.probes:
                    self._check_cancel()
                    await self.probe(planned)
                continue
            self._check_cancel()
            same = partial if partial is not None and partial.turn == planned.index else None
            await self.speak(planned, same)
            self.start_judging(planned)
            if self.probing(planned):
                self._check_cancel()
                await self.probe(planned)
        await asyncio.gather(*self.judging)
        metrics = self.metrics()
        await self.emit(MatchCompleted(match_id=self.lineup.match_id, metrics=metrics))
        return metrics

    async def stop_judging(self) -> None:
        """Cancel the judge tasks and wait until every one has ended, even if this task is
        cancelled meanwhile (the cancellation is passed on once they have)."""
        pending = {task for task in self.judging if not task.done()}
        for task in pending:
            task.cancel()
        interrupted = False
        while pending:
            try:
                _, pending = await asyncio.wait(pending)
            except asyncio.CancelledError:
                interrupted = True
                for task in pending:
                    task.cancel()
        for task in self.judging:
            if not task.cancelled():
                task.exception()  # retrieved: a judge's error is not "never retrieved"
        if interrupted:
            raise asyncio.CancelledError


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
        await match.emit(MatchCancelledEvent(match_id=lineup.match_id, reason=str(exc)))
    except ArenaError as exc:
        if exc is match.sink_error:
            raise
        await match.stop_judging()
        turn = max(match.texts, default=-1) + 1
        await match.emit(MatchFailed(match_id=lineup.match_id, error=str(exc), turn=turn))
    finally:
        await match.stop_judging()
    return None
