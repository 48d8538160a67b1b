"""Speaking a turn: what its speaker is told, and its reply streamed as token events, from a
model (with retries: a turn's text is exactly one reply) or from a tactic's fixed lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing

from arena.domain.events import Event, Token, TurnCompleted, TurnRestarted, TurnStarted
from arena.domain.plan import opponent
from arena.domain.specs import HUMAN, SCRIPTED, Author, PlannedTurn, Side
from arena.domain.transcript import TurnView
from arena.engine.lineup import Lineup
from arena.engine.pressure import (
    challenger_conversation,
    challenger_instructions,
    target_conversation,
    target_instructions,
)
from arena.engine.prompts import conversation, debate_instructions
from arena.errors import ModelError
from arena.models.base import ChatModel, Completion, GenerationRequest
from arena.models.retry import Restart, stream_with_retry
from arena.personas.lorebook import NO_LORE, Activation, Scene, activate, char_name

log = logging.getLogger(__name__)

RESUMED_REASON = "restarted: resumed after a worker restart"


def max_tokens_for(word_limit: int) -> int:
    # about 1.3 tokens per English word, with room to finish the sentence
    return int(word_limit * 1.6) + 24


class Speaker:
    """Speaks the turns of one match: emits turn_started, the tokens (and turn_restarted when a
    reply starts over) and turn_completed through `emit`; `check` is called between tokens and
    raises to stop (a cancel, a failed judge task)."""

    def __init__(
        self,
        lineup: Lineup,
        texts: Mapping[int, tuple[Side, str]],
        emit: Callable[[Event], Awaitable[None]],
        check: Callable[[], None],
    ) -> None:
        self.lineup, self.texts, self.emit, self.check = lineup, texts, emit, check

    def history(self, before: int) -> list[tuple[Side, str]]:
        return [self.texts[i] for i in sorted(self.texts) if i < before]

    def lore(self, planned: PlannedTurn) -> Activation:
        """The entries of the speaker's lorebook that fire for `planned`, matched against the
        motion and the turns so far (arena.personas.lorebook)."""
        persona = self.lineup.debater(planned.side).persona
        if persona is None or persona.lorebook is None:
            return NO_LORE
        history = self.history(planned.index)
        spoken = sum(1 for side, _ in history if side == planned.side)
        scene = Scene(self.lineup.spec.motion, [text for _, text in history], spoken)
        return activate(persona.lorebook, scene, char_name(persona.lorebook, persona.name))

    def request(self, planned: PlannedTurn, prefix: str) -> GenerationRequest:
        """What the speaker of `planned` is told: a debater, the target or a model challenger."""
        spec, seat = self.lineup.spec, self.lineup.debater(planned.side)
        persona, history = seat.persona, self.history(planned.index)
        if planned.role == "challenger":
            assert self.lineup.tactic is not None
            system = challenger_instructions(
                self.lineup.tactic,
                persona,
                planned.side,
                spec.motion,
                spec.word_limit,
                evidence=spec.calibration.evidence if spec.calibration is not None else "",
            )
            messages = challenger_conversation(planned.side, history)
        else:
            assert persona is not None
            if planned.role == "target":
                system = target_instructions(
                    persona,
                    planned.side,
                    spec.motion,
                    planned.kind,
                    spec.word_limit,
                    claim=spec.calibration is not None,
                )
                messages = target_conversation(
                    planned.side, history, spec.motion, claim=spec.calibration is not None
                )
            else:
                system = debate_instructions(
                    persona, planned.side, spec.motion, planned.kind, spec.word_limit
                )
                messages = conversation(planned.side, history, planned.kind)
        if persona is not None:
            system = self.lore(planned).system(system, persona.system_prompt)
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

    async def speak(
        self, planned: PlannedTurn, partial: TurnView | None, human: str | None = None
    ) -> str:
        """Speak a turn; returns its text. When `partial` is the same turn cut off by a crash (no
        second turn_started), continue it from the text already streamed if the model can, else
        emit turn_restarted and speak it afresh. `human` is the text a person in the
        challenger's seat sent for it; a human seat's turn without it is the fallback's."""
        seat = self.lineup.debater(planned.side)
        match_id = self.lineup.match_id
        author: Author = "model" if seat.model is not None else "script"
        model_name = seat.model.name if seat.model is not None else SCRIPTED
        persona = (
            seat.persona.id
            if seat.persona is not None
            else self.lineup.spec.debater(planned.side).persona
        )
        human_seat = self.lineup.spec.human
        if human_seat is not None and planned.role == "challenger":
            author = "human" if human is not None else "fallback"
            if human is not None:
                model_name, persona = HUMAN, human_seat.handle or HUMAN
        if partial is None:
            await self.emit(
                TurnStarted(
                    match_id=match_id,
                    turn=planned.index,
                    side=planned.side,
                    kind=planned.kind,
                    persona=persona,
                    model=model_name,
                    lore=self.lore(planned).labels,
                    author=author,
                )
            )
        prefix = partial.text if partial is not None else ""
        if human is not None:
            text, done, attempts = await self._say(planned, human, prefix)
        elif seat.model is None:
            text, done, attempts = await self._say_line(planned, prefix)
        else:
            text, done, attempts = await self._generate(planned, seat.model, prefix)
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
                author=author,
            )
        )
        return text

    async def _say_line(self, planned: PlannedTurn, prefix: str) -> tuple[str, Completion, int]:
        """A scripted challenger's turn: the tactic's line for the round, streamed as word
        tokens like a model's reply (no model call). A turn cut off mid-line continues it."""
        spec, tactic = self.lineup.spec, self.lineup.tactic
        assert tactic is not None
        calibration = spec.calibration
        line = tactic.line(
            planned.round,
            spec.motion,
            opponent(planned.side),
            evidence=calibration.evidence if calibration is not None else "",
            claim=calibration is not None,
        )
        return await self._say(planned, line, prefix)

    async def _say(
        self, planned: PlannedTurn, line: str, prefix: str
    ) -> tuple[str, Completion, int]:
        """A text known in full (a tactic's line, a person's turn) streamed as word tokens, so
        spectators see it arrive like a reply; its words count as the turn's tokens out."""
        if not line.startswith(prefix):
            await self._restart(planned, RESUMED_REASON, 1)
            prefix = ""
        rest = line[len(prefix) :]
        parts = [p for p in re.split(r"(?=\s)", rest) if p]
        for part in parts:
            self.check()
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
        request = self.request(planned, prefix)
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
                self.check()
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
