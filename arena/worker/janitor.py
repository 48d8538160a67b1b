"""The janitor every worker process runs beside its matches: it compacts finished matches once
they are due (arena.store.compaction) and, with ARENA_RETENTION_DAYS set, once a day archives
and removes the finished matches older than that (arena.archive.run).

Any number of workers run one each: a due match is taken by one janitor at a time, and the daily
retention run by the one janitor that sets the day's mark (`{P}:retention_run`, SET NX with a
day's expiry). Where the archive goes: ARENA_ARCHIVE_DIR, a folder per run named by its time.
Without ARENA_ARCHIVE_DIR the janitor removes nothing (it logs why, once a day) unless
ARENA_RETENTION_PRUNE_WITHOUT_ARCHIVE=true, which deletes old matches without keeping them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError

from arena.config import Settings
from arena.store import Store, StoreError
from arena.worker.recovery import backoff, describe, sleep_unless

log = logging.getLogger(__name__)

BATCH = 20  # matches compacted before the janitor looks at the clock again
DAY_SECONDS = 24 * 3600
RETRY_SECONDS = 3600  # a retention run that failed is tried again after an hour


class Janitor:
    """Compaction when due, retention once a day; `await run(stop)` until `stop` is set."""

    def __init__(self, store: Store, settings: Settings, name: str) -> None:
        self.store, self.settings, self.name = store, settings, name
        self.poll = max(0.05, settings.heartbeat_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        failures, backfilled = 0, False
        while not stop.is_set():
            try:
                if not backfilled:
                    queued = await self.store.compaction.backfill()
                    if queued:
                        log.info("janitor: %d matches finished before compaction are due", queued)
                    backfilled = True
                await self.compact_due(stop)
                if self.settings.retention_days is not None:
                    await self.retention()
                delay = await self.store.compaction.next_due()
                delay = self.poll if delay is None else min(self.poll, delay)
                failures = 0
            except (RedisError, OSError, StoreError) as exc:
                failures += 1
                delay = backoff(failures)
                log.warning("janitor: store unavailable (%s); retrying", describe(exc))
            await sleep_unless(stop, delay)

    async def compact_due(self, stop: asyncio.Event | None = None) -> int:
        """Compact every match due now; returns how many were compacted."""
        compaction, done = self.store.compaction, 0
        while not (stop is not None and stop.is_set()):
            due = await compaction.take(BATCH)
            if not due:
                break
            for match_id in due:
                try:
                    if await compaction.compact(match_id) == "compacted":
                        done += 1
                except (RedisError, OSError, StoreError):
                    raise
                except Exception:  # this match alone: it is taken again after RETRY_MS
                    log.exception("janitor: could not compact match %s", match_id)
        return done

    async def retention(self) -> None:
        """Today's retention run, if no janitor has taken it yet."""
        settings, redis, key = self.settings, self.store.redis, self.store.keys.retention_run
        assert settings.retention_days is not None
        if not await redis.set(key, self.name, nx=True, ex=DAY_SECONDS):
            return
        out = settings.archive_dir
        if out is None and not settings.retention_prune_without_archive:
            log.warning(
                "janitor: ARENA_RETENTION_DAYS is set but ARENA_ARCHIVE_DIR is not: nothing is "
                "removed. Set an archive folder, or ARENA_RETENTION_PRUNE_WITHOUT_ARCHIVE=true "
                "to delete old matches without keeping them"
            )
            return
        now = datetime.now(UTC)
        before = now - timedelta(days=settings.retention_days)
        run_dir = None if out is None else out / now.strftime("%Y%m%dT%H%M%SZ")
        from arena.archive.run import archive  # pyarrow only where retention is on

        try:
            report = await archive(self.store, before, run_dir, prune=True)
        except Exception:
            log.exception("janitor: the retention run failed; trying again in an hour")
            await redis.set(key, self.name, ex=RETRY_SECONDS)
            return
        log.info(
            "janitor: archived %d matches created before %s to %s, removed %d",
            report.archived, before.isoformat(), run_dir or "nowhere", report.removed,
        )  # fmt: skip
