"""The worker: claims queued matches, runs them through the engine, and resumes matches whose
worker died.

Delivery is at least once. A job stays pending in the queue's consumer group until its match
reaches a terminal state. While a match runs, its worker holds the match's lease (SET PX, the
heartbeat key) and refreshes it every heartbeat_seconds, together with the idle time of its
queue entry. Every append is checked against the lease, so a worker that was only stalled cannot
write a duplicate turn once another has taken over; and a worker closes its sink before it
releases the lease, so nothing is written once the lease is gone.

Reclaim comes before new work. A worker that dies stops heartbeating: its lease expires after 3
heartbeats (at most reclaim_idle_seconds) and its entry goes idle. Every worker looks for entries
idle for reclaim_idle_seconds at least once per heartbeat, whether or not it has a free slot, and
before it claims new jobs. A worker whose slots are all busy still resumes an interrupted match:
it may run one match over its concurrency for that (never more than one over); new jobs are only
claimed into free slots. So an interrupted match resumes within reclaim_idle_seconds + one
heartbeat (+ the time to read its events), from its stored events: the engine keeps completed
turns and restarts, or continues, the turn that was cut. (Each worker resumes one match over its
concurrency at a time: a worker that died running more matches than there are workers left
has the rest resumed as slots free up.)

All of a job's handling runs inside its error handling (`_run_job`). A transient store error (a
Redis restart, a stale pooled connection, a failover) is retried by this worker with backoff,
from the stored events, keeping its lease token. Each attempt writes through a new sink, which
fences off every write of the attempts before it (arena/store/streams.py) before the attempt
reads the events it resumes from, so that a write of theirs arriving late is refused. A lost
lease ends the job quietly. Any other error is a failed delivery: recorded, and the job is
delivered again after reclaim_idle_seconds. The delivery cap (settings.max_deliveries) and the
dead-letter stream are described in arena/worker/recovery.py.

On SIGTERM / SIGINT the worker stops claiming, interrupts its matches and hands their jobs back
(marked idle, their delivery not counted) so that another worker, or this one restarted, resumes
them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from arena.config import Settings
from arena.domain.events import Event, MatchFailed
from arena.domain.personas import Library
from arena.domain.specs import MatchSpec
from arena.engine.lineup import build_lineup
from arena.engine.match import run_match
from arena.errors import ArenaError
from arena.models.cache import ModelFactory, Models
from arena.personas.library import load_library
from arena.store import LeaseLost, Store, StoreError
from arena.store.queue import Job
from arena.store.streams import CoalescingSink
from arena.tasks import cancel_and_wait, uninterrupted
from arena.worker.janitor import Janitor
from arena.worker.recovery import TRANSIENT_STORE_ERRORS, backoff, describe, give_up, sleep_unless
from arena.worker.seat import RedisSeat

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5
CLAIM_BLOCK_MS = 500
STORE_RETRY_SECONDS = 60.0  # how long a job keeps retrying store errors before it gives up


class Worker:
    """Runs up to settings.worker_concurrency matches at once (one more to resume an interrupted
    match); `await run(stop)` returns once `stop` is set, leaving interrupted matches to be
    resumed."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        library: Library,
        models: ModelFactory,
        name: str | None = None,
    ) -> None:
        self.store, self.settings, self.library, self.models = store, settings, library, models
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.running: dict[str, asyncio.Task[None]] = {}  # queue entry id -> task
        self._stopping = False
        self.reclaim_ms = max(1, int(settings.reclaim_idle_seconds * 1000))
        self.lease_ms = max(
            1, int(min(settings.reclaim_idle_seconds, 3 * settings.heartbeat_seconds) * 1000)
        )
        self.reclaim_every = settings.heartbeat_seconds

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s: up to %d matches at once", self.name, self.settings.worker_concurrency)
        stopped = asyncio.create_task(stop.wait())
        janitor = Janitor(self.store, self.settings, self.name)
        cleaning = asyncio.create_task(janitor.run(stop), name="janitor")
        next_reclaim, failures = 0.0, 0
        try:
            while not stop.is_set():
                try:
                    if self._free() > 0 or time.monotonic() >= next_reclaim:
                        next_reclaim = time.monotonic() + self.reclaim_every
                        await self._reclaim()
                    if self._free() <= 0:
                        timeout = max(0.0, next_reclaim - time.monotonic())
                        await asyncio.wait(
                            [stopped, *self.running.values()],
                            timeout=timeout,
                            return_when="FIRST_COMPLETED",
                        )
                    elif not await self._claim(stopped):
                        return
                    failures = 0
                except (RedisError, OSError) as exc:  # transient or not: keep the loop alive
                    failures += 1
                    delay = backoff(failures)
                    log.warning(
                        "worker %s: store unavailable (%s); retrying in %.1fs",
                        self.name, describe(exc), delay,
                    )  # fmt: skip
                    if "NOGROUP" in str(exc):  # a Redis that lost its data: queue again
                        with contextlib.suppress(RedisError, OSError):
                            await self.store.queue.ensure_group()
                    await sleep_unless(stop, delay)
        finally:
            stopped.cancel()
            await self._abandon()
            await cancel_and_wait([cleaning])

    def _free(self) -> int:
        return self.settings.worker_concurrency - len(self.running)

    async def _reclaim(self) -> None:
        """Resume interrupted matches first, one over the concurrency if every slot is busy."""
        room = self._free() + 1
        for job in await self.store.queue.reclaim(self.name, room, self.reclaim_ms):
            log.info("match %s: reclaimed its job %s", job.match_id, job.entry_id)
            self._start(job)

    async def _claim(self, stopped: asyncio.Task[Any]) -> bool:
        """Claim new jobs into the free slots; False once stopping."""
        fetch = asyncio.create_task(self.store.queue.claim(self.name, self._free(), CLAIM_BLOCK_MS))
        await asyncio.wait([stopped, fetch], return_when="FIRST_COMPLETED")
        if fetch.done():
            for job in fetch.result():
                self._start(job)
            return True
        # stopping: interrupt the matches now; jobs the pending claim still delivers go back
        abandoning = asyncio.create_task(self._abandon())
        with contextlib.suppress(RedisError, OSError):
            for job in await fetch:
                await self._hand_back(job, counted=False)
        await abandoning
        return False

    def _start(self, job: Job) -> None:
        if job.entry_id in self.running:  # reclaimed an entry this worker is already running
            return
        task = asyncio.create_task(self._run_job(job), name=f"match:{job.match_id}")
        self.running[job.entry_id] = task
        task.add_done_callback(lambda t: self._finished(job, t))

    def _finished(self, job: Job, task: asyncio.Task[None]) -> None:
        self.running.pop(job.entry_id, None)
        if not task.cancelled() and task.exception() is not None:  # _run_job lets nothing out
            log.error("match %s: job ended with an error", job.match_id, exc_info=task.exception())

    async def _abandon(self) -> None:
        self._stopping = True
        await cancel_and_wait(self.running.values())

    async def _run_job(self, job: Job) -> None:
        """Everything one delivery of a job does, inside its error handling."""
        token = f"{self.name}:{secrets.token_hex(4)}"
        delivery = _Delivery()
        give_up_at = time.monotonic() + STORE_RETRY_SECONDS
        try:
            for attempt in itertools.count(1):
                try:
                    await self._handle(job, token, delivery)
                    return
                except TRANSIENT_STORE_ERRORS as exc:
                    if time.monotonic() >= give_up_at:
                        raise
                    delay = backoff(attempt)
                    log.warning(
                        "match %s: store error (%s); retrying in %.1fs from the stored events",
                        job.match_id, describe(exc), delay,
                    )  # fmt: skip
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if self._stopping:  # the lease first, so that the next worker can take it at once
                await uninterrupted(self._release_and_hand_back(job, token, delivery))
            raise
        except LeaseLost:
            log.warning("match %s: another worker took it over; stopping here", job.match_id)
        except Exception as exc:
            log.exception("match %s: delivery %d failed", job.match_id, delivery.count)
            await self._failed(job, token, delivery, describe(exc))
        finally:
            await uninterrupted(_quietly(self.store.queue.release_lease(job.match_id, token)))

    async def _handle(self, job: Job, token: str, delivery: _Delivery) -> None:
        match_id, store, queue = job.match_id, self.store, self.store.queue
        if not await queue.acquire_lease(match_id, token, self.lease_ms):
            log.info("match %s: another worker holds it; leaving the job to it", match_id)
            return
        if not delivery.count:
            delivery.count = await queue.count_delivery(match_id)
            if delivery.count > self.settings.max_deliveries:
                error = await queue.last_error(match_id)
                await give_up(store, job, delivery.count - 1, error, self.name)
                return
        record = await store.begin_run(match_id, self.name)
        if record is None:
            log.warning("match %s: no record; dropping its job", match_id)
        elif record.finished:
            await store.finalize(match_id)  # a crash may have left the indexes behind
        else:
            await self._play(job, record.spec, token)
        await queue.ack(job)

    async def _failed(self, job: Job, token: str, delivery: _Delivery, error: str) -> None:
        """A failed delivery: remember why; the last one allowed gives up on the job."""
        queue = self.store.queue
        with contextlib.suppress(RedisError, OSError):
            await queue.record_failure(job.match_id, error)
            if delivery.count >= self.settings.max_deliveries and await queue.acquire_lease(
                job.match_id, token, self.lease_ms
            ):
                await give_up(self.store, job, delivery.count, error, self.name)

    async def _release_and_hand_back(self, job: Job, token: str, delivery: _Delivery) -> None:
        await _quietly(self.store.queue.release_lease(job.match_id, token))
        await self._hand_back(job, counted=delivery.count > 0)

    async def _hand_back(self, job: Job, *, counted: bool) -> None:
        """Leave an interrupted job for the next worker, or ack it if its match is over."""
        store = self.store
        try:
            record = await store.get_match(job.match_id)
            if record is None or record.finished:
                await store.finalize(job.match_id)
                await store.queue.ack(job)
                return
            if counted:
                await store.queue.uncount_delivery(job.match_id)
            await store.queue.hand_back(self.name, job, self.reclaim_ms)
        except Exception as exc:  # it is redelivered after reclaim_idle_seconds all the same
            log.warning("match %s: could not hand its job back (%s)", job.match_id, describe(exc))

    async def _play(self, job: Job, spec: MatchSpec, token: str) -> None:
        """Run the engine with a heartbeat beside it; whichever ends first ends both."""
        match_id, store = job.match_id, self.store
        sink = store.event_sink(match_id, lease=token, lease_ms=self.lease_ms)
        # before the read: no write of an earlier attempt with this lease can land after it
        await sink.fence()
        history = await store.read_events(match_id)
        cancel = asyncio.Event()
        log.info(
            "match %s: %s (%d events stored)",
            match_id,
            "resuming" if history else "starting",
            len(history),
        )
        engine = asyncio.create_task(self._run_engine(match_id, spec, history, sink, cancel))
        beat = asyncio.create_task(self._heartbeat(job, token, cancel))
        try:
            await asyncio.wait([engine, beat], return_when="FIRST_COMPLETED")
        finally:
            await uninterrupted(self._stop_play(engine, beat, sink))
        if engine.done() and not engine.cancelled():
            engine.result()  # the engine's store error, if any
        else:
            beat.result()  # LeaseLost

    @staticmethod
    async def _stop_play(
        engine: asyncio.Task[None], beat: asyncio.Task[None], sink: CoalescingSink
    ) -> None:
        await cancel_and_wait([engine, beat])
        await sink.aclose()

    async def _run_engine(
        self,
        match_id: str,
        spec: MatchSpec,
        history: Sequence[Event],
        sink: CoalescingSink,
        cancel: asyncio.Event,
    ) -> None:
        try:
            library = await self.store.personas.match_library(self.library, spec)
            lineup = build_lineup(match_id, spec, library, self.settings, self.models)
        except ArenaError as exc:
            log.warning("match %s: cannot start: %s", match_id, exc)
            await sink(MatchFailed(match_id=match_id, error=str(exc)))
            return
        try:
            seat = RedisSeat(self.store.seats, match_id) if spec.human is not None else None
            await run_match(lineup, sink, history=history, cancel=cancel, seat=seat)
            await sink.flush()
        except (RedisError, OSError, StoreError):
            raise  # the store's, not the match's: retried or given up by _run_job
        except Exception as exc:  # a bug: fail the match rather than retry it forever
            log.exception("match %s: the engine raised", match_id)
            await sink.flush()
            await sink(MatchFailed(match_id=match_id, error=f"internal error: {exc!r}"))
        finally:
            self.models.release(lineup.models())

    async def _heartbeat(self, job: Job, token: str, cancel: asyncio.Event) -> None:
        """Refresh the lease and the entry's idle time every heartbeat, and watch for a cancel
        request. Raises LeaseLost once another worker holds the match."""
        store, interval = self.store, self.settings.heartbeat_seconds
        next_beat = time.monotonic() + interval
        while True:
            try:
                if not cancel.is_set() and await store.cancel_requested(job.match_id):
                    log.info("match %s: cancel requested", job.match_id)
                    cancel.set()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + interval
                    if not await store.queue.extend_lease(job.match_id, token, self.lease_ms):
                        raise LeaseLost(f"match {job.match_id}: lease taken by another worker")
                    await store.queue.touch(self.name, job.entry_id)
            except TRANSIENT_STORE_ERRORS as exc:
                log.warning("match %s: heartbeat failed (%s)", job.match_id, describe(exc))
            await asyncio.sleep(min(CANCEL_POLL_SECONDS, interval))


@dataclass
class _Delivery:
    """One delivery of a job: its number since the match last made progress (0 until counted)."""

    count: int = 0


async def _quietly(operation: Awaitable[Any]) -> None:
    with contextlib.suppress(RedisError, OSError):
        await operation


async def run_worker(settings: Settings) -> None:
    """`arena worker`: run a Worker until SIGTERM or SIGINT."""
    library = load_library(settings.personas_dir)
    store = await Store.connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    models = Models(settings)
    try:
        await Worker(store, settings, library, models).run(stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await models.aclose()
        await store.close()
