"""Retries with backoff around a model stream, never showing listeners the same text twice.

When a stream is cut after some text went out, the retry asks the model to continue that text
(`assistant_prefix`) and passes on only what comes after it; a provider that repeats the prefix
has the repeat stripped.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from arena.errors import ModelError
from arena.models.base import ChatModel, Completion, GenerationRequest, StreamItem, TextDelta

T = TypeVar("T")
RetryHook = Callable[[int, ModelError, float], Awaitable[None]]


def backoff_delay(attempt: int, error: ModelError, max_delay: float) -> float:
    """Delay before retry number `attempt` (1-based): the server's Retry-After if given, else
    exponential backoff with jitter, both capped at max_delay."""
    if error.retry_after is not None:
        return min(max(error.retry_after, 0.0), max_delay)
    base: float = min(max_delay, 0.5 * (2 ** (attempt - 1)))
    return base * (0.5 + random.random() / 2)


async def _pause_or_raise(
    error: ModelError,
    attempt: int,
    max_attempts: int,
    max_delay: float,
    on_retry: RetryHook | None,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Re-raise `error` when it is final or attempts are used up; else wait before the retry."""
    if not error.retryable or attempt >= max_attempts:
        raise error
    delay = backoff_delay(attempt, error, max_delay)
    if on_retry is not None:
        await on_retry(attempt, error, delay)
    await sleep(delay)


async def stream_with_retry(
    model: ChatModel,
    request: GenerationRequest,
    *,
    max_attempts: int = 4,
    max_delay: float = 30.0,
    on_retry: RetryHook | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[StreamItem]:
    """Yield the deltas of one reply, retrying transient errors; ends with one Completion whose
    counts cover the whole reply. Raises the last ModelError when attempts run out."""
    emitted = ""
    attempt = 1
    tokens_in = tokens_out = 0
    ttft: float | None = None
    spent = 0.0
    while True:
        echo = _EchoFilter(emitted)
        current = replace(request, assistant_prefix=request.assistant_prefix + emitted)
        try:
            async for item in model.stream(current):
                if isinstance(item, Completion):
                    tokens_in += item.tokens_in
                    tokens_out += item.tokens_out
                    if ttft is None and item.ttft_s is not None:
                        ttft = spent + item.ttft_s
                    spent += item.duration_s
                    yield Completion(tokens_in, tokens_out, ttft, spent, item.finish_reason)
                    return
                text = echo.feed(item.text)
                if not text:
                    continue
                emitted += text
                yield TextDelta(text)
        except ModelError as error:
            await _pause_or_raise(error, attempt, max_attempts, max_delay, on_retry, sleep)
            attempt += 1


class _EchoFilter:
    """Holds back the start of a continued stream while it could still be a repeat of `prefix`.

    A repeat of the whole prefix is dropped; as soon as the text departs from the prefix, what was
    held back is released, since the model is continuing rather than repeating.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.lstrip()
        self.held = ""
        self.done = not self.prefix

    def feed(self, text: str) -> str:
        if self.done:
            return text
        self.held += text
        candidate = self.held.lstrip()
        if len(candidate) >= len(self.prefix):
            self.done = True
            if candidate.startswith(self.prefix):
                return candidate[len(self.prefix) :]
            return self.held
        if self.prefix.startswith(candidate):
            return ""
        self.done = True
        return self.held


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
            await _pause_or_raise(error, attempt, max_attempts, max_delay, on_retry, sleep)
            attempt += 1
