"""Waiting for a condition with a deadline: the one polling loop of the tests.

Use these where there is no event to await (another process's state, an HTTP endpoint, a flag
set by a library). Each returns the predicate's first truthy value, so the caller can use what
it waited for; past the deadline it fails the test with `message` (a string, or a function
called then, e.g. to attach a log's tail). Exceptions of the types in `ignore` count as "not
yet" (a server still starting); any other propagates at once (a process that exited).

An absence is asserted after waiting for a positive event that proves the window has passed,
never after a fixed sleep.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Message = str | Callable[[], str]
TIMEOUT = 30.0
INTERVAL = 0.05


def _fail(message: Message, timeout: float, last: object) -> AssertionError:
    text = message() if callable(message) else message
    return AssertionError(f"{text} (not within {timeout:g} s; last seen: {last!r})")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = TIMEOUT,
    message: Message = "the condition did not hold",
    interval: float = INTERVAL,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except ignore as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _fail(message, timeout, last)
        time.sleep(interval)


async def eventually(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = TIMEOUT,
    message: Message = "the condition did not hold",
    interval: float = INTERVAL,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """The async `wait_until`: `predicate` may be a plain or an async function."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
        except ignore as exc:
            last = exc
        else:
            if value:
                return value  # type: ignore[return-value]
            last = value
        if time.monotonic() >= deadline:
            raise _fail(message, timeout, last)
        await asyncio.sleep(interval)
