"""Retries with backoff around a model stream, so that a turn's text is exactly one reply.

When a stream is cut after some text went out, what happens next depends on the model:

- A model that continues an assistant prefix (`ChatModel.continues_prefix`) is asked to continue
  the text listeners already have (`request.assistant_prefix` plus what this call passed on), and
  only what comes after it is passed on. Its continuation is checked (see `_Continuation`): a
  repeat of the prefix is dropped, and a reply that starts over is taken as a restart.
- Any other model is asked again from the start, with no prefix, and the stream yields a
  `Restart` first: the caller drops the text it has of this reply and starts it anew.

Either way, the TextDelta items after the last `Restart` join to exactly one reply.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TypeVar

from arena.errors import ModelError
from arena.models.base import ChatModel, Completion, GenerationRequest, TextDelta

T = TypeVar("T")
RetryHook = Callable[[int, ModelError, float], Awaitable[None]]

RESTART_AFTER_ERROR = "restarted after a provider error"
RESTART_STARTED_OVER = "restarted: the provider started its reply over"
RESTART_NO_CONTINUATION = "restarted: the provider cannot continue a reply"


@dataclass(frozen=True)
class Restart:
    """The reply starts again from nothing: drop the text received of it so far. `attempt` is
    the (1-based) attempt whose text follows; `reason` is meant for spectators."""

    reason: str
    attempt: int


RetryItem = TextDelta | Completion | Restart


def backoff_delay(attempt: int, error: ModelError, max_delay: float) -> float:
    """Delay before retry number `attempt` (1-based): the server's Retry-After if given, else
    exponential backoff with jitter, both capped at max_delay."""
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), max_delay)
    base: float = min(max_delay, 0.5 * (2 ** (attempt - 1)))
    return base * (0.5 + random.random() / 2)


async def _delay_or_raise(
    error: ModelError, attempt: int, max_attempts: int, max_delay: float, on_retry: RetryHook | None
) -> float:
    """Re-raise `error` when it is final or attempts are used up; else the delay before the
    retry (reported to `on_retry`)."""
    if not error.retryable or attempt >= max_attempts:
        raise error
    delay = backoff_delay(attempt, error, max_delay)
    if on_retry is not None:
        await on_retry(attempt, error, delay)
    return delay


async def stream_with_retry(
    model: ChatModel,
    request: GenerationRequest,
    *,
    max_attempts: int = 4,
    max_delay: float = 30.0,
    on_retry: RetryHook | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[RetryItem, None]:
    """Yield the deltas of one reply, retrying transient errors; ends with one Completion whose
    counts cover every attempt. Raises the last ModelError when attempts run out.

    `request.assistant_prefix` is text of this reply that listeners already have (a turn resumed
    after a crash). A model that cannot continue it gets a `Restart` first and a request without
    it. After a `Restart`, the deltas that follow are the whole reply.
    """
    continues = model.continues_prefix
    shown = request.assistant_prefix  # the text of this reply that listeners have
    attempt = 1
    tokens_in = tokens_out = 0
    ttft: float | None = None
    spent = 0.0
    if shown and not continues:
        shown = ""
        yield Restart(RESTART_NO_CONTINUATION, attempt)
    while True:
        check = _Continuation(shown) if shown else None
        current = replace(request, assistant_prefix=shown)
        try:
            async with aclosing(model.stream(current)) as items:
                async for item in items:
                    if isinstance(item, Completion):
                        tokens_in += item.tokens_in
                        tokens_out += item.tokens_out
                        if ttft is None and item.ttft_s is not None:
                            ttft = spent + item.ttft_s
                        spent += item.duration_s
                        yield replace(  # the last attempt's log-probabilities, if any
                            item,
                            tokens_in=tokens_in,
                            tokens_out=tokens_out,
                            ttft_s=ttft,
                            duration_s=spent,
                        )
                        return
                    text = item.text
                    if check is not None:
                        text = check.feed(text)
                        if check.started_over:
                            check = None
                            shown = ""
                            yield Restart(RESTART_STARTED_OVER, attempt)
                    if not text:
                        continue
                    shown += text
                    yield TextDelta(text)
        except ModelError as error:
            delay = await _delay_or_raise(error, attempt, max_attempts, max_delay, on_retry)
            attempt += 1
            if shown and not continues:
                shown = ""
                yield Restart(RESTART_AFTER_ERROR, attempt)  # before the wait: listeners know now
            await sleep(delay)


class _Continuation:
    """Checks what a model sends after being asked to continue `prefix`, and returns the part of
    it that extends the reply.

    The start of the stream is held back while it could still be a repeat of the prefix
    (compared with leading whitespace ignored). Then:

    - it repeats the whole prefix: the repeat is dropped and the rest passed on (the reply is
      the prefix plus what follows it, which is exactly what the model wrote);
    - it departs from the prefix after beginning with the prefix's first word (a whole word):
      the model started its reply over. `started_over` becomes true and the text is returned
      from its beginning, to be taken as the whole reply;
    - anything else is a continuation, passed on whole.

    A reply that starts over with a different first word cannot be told from a continuation by
    this test and is passed on as one.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.lstrip()
        words = self.prefix.split()
        self.first_word = words[0] if words else ""
        self.held = ""
        self.done = not self.prefix
        self.started_over = False

    def feed(self, text: str) -> str:
        if self.done:
            return text
        self.held += text
        candidate = self.held.lstrip()
        if self.prefix.startswith(candidate):
            return ""  # still a possible repeat: wait for more
        self.done = True
        if candidate.startswith(self.prefix):
            return candidate[len(self.prefix) :]
        if self._begins_with_first_word(candidate):
            self.started_over = True
            return candidate
        return self.held

    def _begins_with_first_word(self, text: str) -> bool:
        if not self.first_word or not text.startswith(self.first_word):
            return False
        after = text[len(self.first_word) : len(self.first_word) + 1]
        # the prefix's first word must end where the text's does ("Arr," not "Arrgh")
        return not after or after.isspace() or not self.first_word[-1].isalnum()


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 4,
    max_delay: float = 30.0,
    on_retry: RetryHook | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await `call()`, retrying transient ModelErrors with the same backoff as streams."""
    attempt = 1
    while True:
        try:
            return await call()
        except ModelError as error:
            await sleep(await _delay_or_raise(error, attempt, max_attempts, max_delay, on_retry))
            attempt += 1
