"""What the worker does when things go wrong: which store errors are worth retrying, how long to
wait between tries, and giving up on a job that keeps failing (the delivery cap).

A job whose delivery fails (its handling raised, or its worker died) stays pending and is
delivered again once it has been idle for reclaim_idle_seconds. Each delivery that takes the
match's lease is counted (arena/store/queue.py: completing a turn resets the count, a graceful
hand-back gives its delivery back). A delivery that finds the count over settings.max_deliveries,
or fails as the last one allowed, gives up: the match ends as `match_failed` with "gave up after
N deliveries: <last error>" and the job moves to the dead-letter stream (`{P}:dead`), counted in
/metrics as arena_jobs_dead_lettered.
"""

from __future__ import annotations

import asyncio
import logging
import random

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, TryAgainError
from redis.exceptions import TimeoutError as RedisTimeoutError

from arena.domain.events import MatchFailed
from arena.store import Store
from arena.store.matches import record_updates
from arena.store.queue import Job

log = logging.getLogger(__name__)

# Errors of a store that is restarting, failing over or briefly unreachable (including a stale
# pooled connection and BusyLoadingError while Redis replays its AOF): retried with backoff.
# Any other error is a failed delivery.
TRANSIENT_STORE_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    TryAgainError,
    OSError,  # includes the builtin TimeoutError
)

BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
NO_ERROR_RECORDED = "its worker stopped while running it (killed or crashed?)"


def backoff(attempt: int) -> float:
    """Seconds to wait before try number `attempt` + 1 (1-based): exponential with jitter."""
    base: float = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** (attempt - 1))
    return base * (0.5 + random.random() / 2)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake up as soon as `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def give_up(store: Store, job: Job, deliveries: int, error: str | None, worker: str) -> str:
    """End the match as failed (if it is not over already) and dead-letter its job. Called by
    the worker holding the match's lease. Returns the error the match now carries.

    The match is failed first: a worker dying in between leaves a finished match whose job the
    next delivery simply acknowledges."""
    message = f"gave up after {deliveries} deliveries: {error or NO_ERROR_RECORDED}"
    event = MatchFailed(match_id=job.match_id, error=message)
    if await store.transition(job.match_id, ("queued", "running"), record_updates(event), event):
        await store.finalize(job.match_id)
    await store.queue.dead_letter(job, deliveries, error or NO_ERROR_RECORDED, worker)
    log.error("match %s: %s; its job %s is dead-lettered", job.match_id, message, job.entry_id)
    return message
