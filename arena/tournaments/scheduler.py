"""The tournament scheduler of one API node.

A tournament's matches go on the match queue like any other; the scheduler only decides which
to queue next. Every API node runs one: a tournament that no node is scheduling (its node
stopped) is taken over by the next node that looks, within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from arena.config import Settings
from arena.domain.personas import Library
from arena.store import Store, StoreError
from arena.tournaments.run import AlreadyRunning, TournamentRun, tournaments_of

log = logging.getLogger(__name__)


ADOPT_SECONDS = 5.0


class Scheduler:
    """Runs this node's share of the tournaments: the ones it started, and orphans."""

    def __init__(self, store: Store, settings: Settings, files: Library) -> None:
        self.store, self.settings, self.files = store, settings, files
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stop = asyncio.Event()  # set at shutdown: schedulers stop queueing

    def kick(self, tournament_id: str) -> None:
        if tournament_id not in self.tasks:
            task = asyncio.create_task(self._run(tournament_id), name=f"tournament:{tournament_id}")
            self.tasks[tournament_id] = task
            task.add_done_callback(lambda _: self.tasks.pop(tournament_id, None))

    async def _run(self, tournament_id: str) -> None:
        library = await self.store.personas.library(self.files)
        runner = TournamentRun(self.store, library, self.settings, tournament_id)
        with contextlib.suppress(AlreadyRunning):
            await runner.run(self.stop)

    async def adopt(self) -> None:
        stop = self.stop
        while not stop.is_set():
            try:
                for record in await tournaments_of(self.store).recent(limit=100):
                    if record.status == "running":
                        self.kick(record.id)
            except (RedisError, OSError, StoreError) as exc:
                log.warning("tournaments: cannot look for orphans: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), ADOPT_SECONDS)

    async def close(self) -> None:
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
