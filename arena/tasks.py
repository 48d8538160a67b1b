"""Stopping background tasks reliably."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], retry: float = 0.5) -> None:
    """Cancel tasks and wait until they are done. The cancel is repeated because redis-py can
    swallow a cancellation that lands while it reads a reply (the command then just returns),
    so a single cancel() may leave a loop running. `retry` is the wait between cancels: short
    for tasks with no cleanup, longer for tasks whose cleanup a repeated cancel would cut."""
    tasks = list(tasks)
    pending = [t for t in tasks if not t.done()]
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=retry)
        pending = [t for t in pending if not t.done()]
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def uninterrupted(operation: Awaitable[T]) -> T:
    """Await `operation` to the end even if the caller is cancelled meanwhile (cleanup that must
    not be cut short, like releasing a lease); the cancellation is passed on afterwards."""
    task = asyncio.ensure_future(operation)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller sees
        raise asyncio.CancelledError
    return task.result()
