"""A board's state on one node, kept in step with the stored log of samples without stalling the
event loop or holding memory that grows with the matches.

The state (a Tally, a PressureTally) holds sums per group and the log position it has read. A
request asks for `current()`: a few new samples are folded in on the spot; a long backlog (a
node's cold start, a burst) is folded by one background task, in a thread, page by page, into a
copy that replaces the state when done, while requests keep the state they had. A node that has
no state yet starts from the one the furthest node saved in Redis (every SAVE_EVERY samples),
so a cold start folds only the samples since; with no state anywhere and a long log, a request
waits up to `warm_wait` seconds and then gets BoardNotReady (the API's 503 with Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, Self, TypeVar

from arena.store.samples import LOG_PAGE, Board, BoardSamples

log = logging.getLogger(__name__)

INLINE_MAX = 200  # new samples folded on the request path; more go to the background
SAVE_EVERY = 1000  # samples folded between two saves of the state to Redis
RETRY_AFTER_SECONDS = 2


class BoardNotReady(Exception):
    """The board is being built on this node (a cold start with no saved state): retry soon."""

    retry_after = RETRY_AFTER_SECONDS


class FoldState(Protocol):
    position: int

    def add(self, samples: Any) -> None: ...

    def copy(self) -> Self: ...

    def to_json(self) -> str: ...


S = TypeVar("S", bound=FoldState)


class Follower(Generic[S]):
    """One board's state on this node (see the module docstring)."""

    def __init__(
        self,
        samples: BoardSamples,
        board: Board,
        empty: Callable[[], S],
        load: Callable[[str], S],
        parse: Callable[[list[str]], list[object]],
        warm_wait: float = 0.3,
    ) -> None:
        self.samples, self.board = samples, board
        self.empty, self.load, self.parse = empty, load, parse
        self.warm_wait = warm_wait
        self.state: S | None = None
        self.saved_at = 0
        self._lock = asyncio.Lock()
        self._catch_up: asyncio.Task[None] | None = None
        self._saves: set[asyncio.Task[None]] = set()  # this node's saves still in flight

    async def current(self) -> S:
        """The state, up to date with the log when that is quick; never blocks the loop."""
        if self.state is None:
            async with self._lock:
                if self.state is None:
                    self.state = await self._start_state()
        total = await self.samples.log_length(self.board)
        state = self.state
        if total < state.position:  # the log was deleted (a test, an operator): start over
            await self.samples.drop_state(self.board)
            self.state = state = self.empty()
            self.saved_at = 0
        behind = total - state.position
        if behind <= 0:
            return state
        if behind <= INLINE_MAX and self._catch_up is None:
            async with self._lock:
                if self._catch_up is None and self.state is not None:
                    await self._fold_inline(total)
            assert self.state is not None
            return self.state
        self._start_catch_up()
        if state.position == 0 and self._catch_up is not None:  # nothing to show yet
            done, _ = await asyncio.wait({self._catch_up}, timeout=self.warm_wait)
            if not done:
                raise BoardNotReady(f"the {self.board} board is being built on this node")
            assert self.state is not None
            return self.state
        return state

    async def _start_state(self) -> S:
        saved = await self.samples.load_state(self.board)
        if saved is None:
            if self.board == "debate":
                await self.samples.repair_log(self.board)
            return self.empty()
        state = await asyncio.to_thread(self.load, saved)
        self.saved_at = state.position
        return state

    async def _fold_inline(self, total: int) -> None:
        assert self.state is not None
        raw = await self.samples.read_log(self.board, self.state.position, total - 1)
        parsed = self.parse(raw) if len(raw) <= 20 else await asyncio.to_thread(self.parse, raw)
        self.state.add(parsed)
        self.state.position += len(raw)
        self._maybe_save()

    def _start_catch_up(self) -> None:
        if self._catch_up is None:
            task = asyncio.create_task(self._run_catch_up(), name=f"board-{self.board}-catch-up")
            self._catch_up = task

    async def _run_catch_up(self) -> None:
        try:
            while True:
                assert self.state is not None
                start = self.state.position
                total = await self.samples.log_length(self.board)
                if start >= total:
                    return
                raw = await self.samples.read_log(
                    self.board, start, min(total, start + 5 * LOG_PAGE) - 1
                )
                if not raw:
                    return
                folded = await asyncio.to_thread(self._folded, self.state, raw)
                async with self._lock:
                    if self.state is not None and self.state.position == start:
                        self.state = folded
                self._maybe_save()
        except Exception:  # the next request starts another
            log.exception("the %s board's catch-up failed", self.board)
        finally:
            self._catch_up = None

    def _folded(self, state: S, raw: list[str]) -> S:
        """A copy of `state` with these samples folded in (in a thread: `state` is not touched)."""
        copy = state.copy()
        copy.add(self.parse(raw))
        copy.position += len(raw)
        return copy

    def _maybe_save(self) -> None:
        state = self.state
        if state is None or state.position - self.saved_at < SAVE_EVERY:
            return
        self.saved_at = state.position
        position, text = state.position, state.to_json()
        task = asyncio.create_task(self._save(position, text), name=f"board-{self.board}-save")
        for running in (_saving, self._saves):
            running.add(task)
            task.add_done_callback(running.discard)

    async def _save(self, position: int, text: str) -> None:
        try:
            await self.samples.save_state(self.board, position, text)
        except Exception as exc:  # another node or a later save will do it
            log.warning("could not save the %s board's state: %s", self.board, exc)

    async def aclose(self) -> None:
        """Stop the catch-up and let the saves in flight finish: a task still running when
        the store closes would open a connection that nothing closes."""
        task = self._catch_up
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*self._saves, return_exceptions=True)


_saving: set[asyncio.Task[None]] = set()
