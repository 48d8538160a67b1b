"""The adapters a process has built, by name, in a bounded LRU.

A model name comes from requests (`ollama:` and `openai-compatible:` accept any model), so the
adapters built must be bounded: an adapter holds an SDK client with its connection pool (about
0.8 MB), and a process that kept one per name ever asked for would grow without end. `Models`
keeps the `size` most recently used; an evicted adapter is closed once no match uses it any more
(a match takes its adapters with `get` and gives them back with `release`), so eviction never
breaks a reply mid-stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from arena.config import Settings
from arena.models.base import ChatModel
from arena.models.registry import build_model, parse_model_name, require_available

log = logging.getLogger(__name__)


class ModelFactory(Protocol):
    """Where the engine's callers get models: `Models` in the arena, a fake in tests."""

    def get(self, name: str) -> ChatModel:
        """The adapter for `provider:model`, in use until `release`d."""
        ...

    def release(self, models: Iterable[ChatModel]) -> None:
        """Models a match no longer uses."""
        ...

    def require_available(self, name: str) -> None:
        """Raise the ArenaError that would stop `name` from being used (bad name, no key)."""
        ...

    async def aclose(self) -> None:
        """Close every client; called once, at shutdown."""
        ...


Build = Callable[[str, str, Settings], ChatModel]


class Models:
    """Adapters built on first use by `build` (provider, model, settings) and kept in an LRU of
    `size` (settings.model_cache)."""

    def __init__(
        self, settings: Settings, size: int | None = None, build: Build = build_model
    ) -> None:
        self.settings = settings
        self.size = max(1, size if size is not None else settings.model_cache)
        self._build = build
        self._cache: OrderedDict[str, ChatModel] = OrderedDict()
        self._users: dict[int, int] = {}  # id(adapter) -> matches using it
        self._retired: dict[int, ChatModel] = {}  # evicted, closed when no longer used
        self._closing: set[asyncio.Task[None]] = set()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._cache)

    def require_available(self, name: str) -> None:
        require_available(name, self.settings)

    def get(self, name: str) -> ChatModel:
        require_available(name, self.settings)
        provider, model = parse_model_name(name)
        key = f"{provider}:{model}"
        adapter = self._cache.get(key)
        if adapter is None:
            adapter = self._build(provider, model, self.settings)
            self._cache[key] = adapter
        self._cache.move_to_end(key)
        self._users[id(adapter)] = self._users.get(id(adapter), 0) + 1
        self._evict()
        return adapter

    def release(self, models: Iterable[ChatModel]) -> None:
        for adapter in models:
            users = self._users.get(id(adapter), 0) - 1
            if users > 0:
                self._users[id(adapter)] = users
                continue
            self._users.pop(id(adapter), None)
            retired = self._retired.pop(id(adapter), None)
            if retired is not None:
                self._close_later(retired)

    def _evict(self) -> None:
        while len(self._cache) > self.size:
            _, adapter = self._cache.popitem(last=False)
            self.evicted += 1
            if self._users.get(id(adapter), 0) > 0:
                self._retired[id(adapter)] = adapter
            else:
                self._close_later(adapter)

    def _close_later(self, adapter: ChatModel) -> None:
        """Close an evicted adapter's client on the running loop (none running: nothing to
        close, the client was never used from a loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(_close(adapter), name=f"close-model:{adapter.name}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close every adapter: call it once, at shutdown, from the loop that used them. Closes
        that eviction started are awaited too, so no client outlives the loop."""
        adapters = [*self._cache.values(), *self._retired.values()]
        self._cache.clear()
        self._retired.clear()
        self._users.clear()
        for adapter in adapters:
            await _close(adapter)
        await asyncio.gather(*self._closing)


async def _close(adapter: ChatModel) -> None:
    close = getattr(adapter, "aclose", None)  # the local model holds no client
    if close is None:
        return
    try:
        await close()
    except Exception as exc:  # closing a client that failed is not worth a crash
        log.warning("model %s: closing its client failed: %s", adapter.name, exc)
