"""The worker: claims queued matches, runs them through the engine, and resumes matches whose
worker died.

Delivery is at least once. A job stays pending in the queue's consumer group until its match
reaches a terminal state. While a match runs, its worker holds the match's lease (SET NX PX,
the heartbeat key) and refreshes it every heartbeat_seconds, together with the idle time of its
queue entry. A worker that dies stops both: its lease expires after 3 heartbeats (at most
reclaim_idle_seconds), and once its entry has been idle for reclaim_idle_seconds another worker
takes the job with XAUTOCLAIM, acquires the lease and calls run_match with every stored event,
so the engine resumes from the last completed turn. Every append is checked against the lease,
so a worker that was only stalled cannot write a duplicate turn once another has taken over.

On SIGTERM / SIGINT the worker stops claiming, interrupts its matches and hands their jobs back
(marked idle) so that another worker, or this one restarted, resumes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from redis.exceptions import RedisError

from arena.config import Settings
from arena.debate import run_match
from arena.errors import ArenaError
from arena.events import Event, MatchFailed, MatchSpec
from arena.lineup import build_lineup
from arena.personas import Library, load_library
from arena.store import LeaseLost, Store
from arena.store.queue import Job
from arena.store.streams import CoalescingSink
from arena.store.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5
CLAIM_BLOCK_MS = 500
RETRY_SECONDS = 1.0


class Worker:
    """Runs up to settings.worker_concurrency matches at once; `await run(stop)` returns once
    `stop` is set, leaving interrupted matches to be resumed."""

    def __init__(
        self, store: Store, settings: Settings, library: Library, name: str | None = None
    ) -> None:
        self.store, self.settings, self.library = store, settings, library
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.running: dict[str, asyncio.Task[None]] = {}  # queue entry id -> task
        self._stopping = False
        self.reclaim_ms = max(1, int(settings.reclaim_idle_seconds * 1000))
        self.lease_ms = max(
            1, int(min(settings.reclaim_idle_seconds, 3 * settings.heartbeat_seconds) * 1000)
        )

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s: up to %d matches at once", self.name, self.settings.worker_concurrency)
        stopped = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                free = self.settings.worker_concurrency - len(self.running)
                if free <= 0:
                    await asyncio.wait(
                        [stopped, *self.running.values()], return_when="FIRST_COMPLETED"
                    )
                    continue
                fetch = asyncio.create_task(self._fetch(free))
                await asyncio.wait([stopped, fetch], return_when="FIRST_COMPLETED")
                if not fetch.done():
                    # stopping: interrupt the matches now; jobs the pending claim still
                    # delivers go straight back
                    abandoning = asyncio.create_task(self._abandon())
                    for job in await fetch:
                        await self._hand_back(job)
                    await abandoning
                    return
                for job in fetch.result():
                    self._start(job)
        finally:
            stopped.cancel()
            await self._abandon()

    async def _fetch(self, count: int) -> list[Job]:
        try:
            jobs = await self.store.queue.reclaim(self.name, count, self.reclaim_ms)
            return jobs or await self.store.queue.claim(self.name, count, CLAIM_BLOCK_MS)
        except (RedisError, OSError) as exc:
            log.warning("worker %s: store unavailable (%s); retrying", self.name, exc)
            await asyncio.sleep(RETRY_SECONDS)
            return []

    def _start(self, job: Job) -> None:
        if job.entry_id in self.running:  # reclaimed an entry this worker is already running
            return
        task = asyncio.create_task(self._run_job(job), name=f"match:{job.match_id}")
        self.running[job.entry_id] = task
        task.add_done_callback(lambda _t: self.running.pop(job.entry_id, None))

    async def _abandon(self) -> None:
        self._stopping = True
        await cancel_and_wait(self.running.values())

    async def _run_job(self, job: Job) -> None:
        match_id, store = job.match_id, self.store
        token = f"{self.name}:{secrets.token_hex(4)}"
        if not await store.queue.acquire_lease(match_id, token, self.lease_ms):
            log.info("match %s: another worker holds it; leaving the job to it", match_id)
            return
        try:
            record = await store.begin_run(match_id, self.name)
            if record is None:
                log.warning("match %s: no record; dropping its job", match_id)
            elif record.finished:
                await store.finalize(match_id)  # a crash may have left the indexes behind
            else:
                await self._play(job, record.spec, token)
            await store.queue.ack(job.entry_id)
        except asyncio.CancelledError:
            if self._stopping:
                await self._hand_back(job)
            raise
        except LeaseLost:
            log.warning("match %s: another worker took it over; stopping here", match_id)
        except (RedisError, OSError) as exc:
            log.warning("match %s: store error (%s); the job will be retried", match_id, exc)
        finally:
            await _quietly(store.queue.release_lease(match_id, token))

    async def _hand_back(self, job: Job) -> None:
        """Leave an interrupted job for the next worker, or ack it if its match is over."""
        store = self.store
        with contextlib.suppress(RedisError, OSError):
            record = await store.get_match(job.match_id)
            if record is None or record.finished:
                await store.finalize(job.match_id)
                await store.queue.ack(job.entry_id)
            else:
                await store.queue.hand_back(self.name, job.entry_id, self.reclaim_ms)

    async def _play(self, job: Job, spec: MatchSpec, token: str) -> None:
        match_id, store = job.match_id, self.store
        history = await store.read_events(match_id)
        sink = store.event_sink(match_id, lease=token, lease_ms=self.lease_ms)
        cancel = asyncio.Event()
        runner = asyncio.current_task()
        assert runner is not None
        beat = asyncio.create_task(self._heartbeat(job, token, cancel, runner))
        try:
            log.info(
                "match %s: %s (%d events stored)",
                match_id,
                "resuming" if history else "starting",
                len(history),
            )
            await self._run_engine(match_id, spec, history, sink, cancel)
            await sink.flush()
        finally:
            await cancel_and_wait([beat])

    async def _run_engine(
        self,
        match_id: str,
        spec: MatchSpec,
        history: Sequence[Event],
        sink: CoalescingSink,
        cancel: asyncio.Event,
    ) -> None:
        try:
            lineup = build_lineup(match_id, spec, self.library, self.settings)
        except ArenaError as exc:
            log.warning("match %s: cannot start: %s", match_id, exc)
            await sink(MatchFailed(match_id=match_id, error=str(exc)))
            return
        try:
            await run_match(lineup, sink, history=history, cancel=cancel)
        except (LeaseLost, RedisError, OSError):
            raise
        except Exception as exc:  # a bug: fail the match rather than retry it forever
            log.exception("match %s: the engine raised", match_id)
            await sink.flush()
            await sink(MatchFailed(match_id=match_id, error=f"internal error: {exc!r}"))

    async def _heartbeat(
        self, job: Job, token: str, cancel: asyncio.Event, runner: asyncio.Task[Any]
    ) -> None:
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
                        log.warning("match %s: lease taken by another worker", job.match_id)
                        runner.cancel()
                        return
                    await store.queue.touch(self.name, job.entry_id)
            except (RedisError, OSError) as exc:
                log.warning("match %s: heartbeat failed (%s)", job.match_id, exc)
            await asyncio.sleep(min(CANCEL_POLL_SECONDS, interval))


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
    try:
        await Worker(store, settings, library).run(stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await store.close()
