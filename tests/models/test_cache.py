"""The LRU of model adapters: bounded, and an evicted adapter's client is closed, but never
under a match that still uses it."""

from __future__ import annotations

import asyncio

from arena.config import Settings
from arena.models.cache import Models


class Adapter:
    """A stand-in adapter whose `aclose` records that its client was closed."""

    def __init__(self, provider: str, model: str, settings: Settings) -> None:
        self.name = f"{provider}:{model}"
        self.closed = asyncio.Event()
        self.closes = 0

    async def aclose(self) -> None:
        self.closes += 1
        self.closed.set()


async def closed(adapter: Adapter) -> None:
    async with asyncio.timeout(5):
        await adapter.closed.wait()


def models_of(settings: Settings, size: int) -> tuple[Models, list[Adapter]]:
    built: list[Adapter] = []

    def build(provider: str, model: str, settings: Settings) -> Adapter:
        built.append(Adapter(provider, model, settings))
        return built[-1]

    return Models(settings, size=size, build=build), built  # type: ignore[arg-type]


async def test_beyond_its_size_the_least_recently_used_adapter_is_evicted_and_closed(
    settings: Settings,
) -> None:
    models, built = models_of(settings, size=2)
    a, b = models.get("ollama:a"), models.get("ollama:b")
    models.release([a, b])
    assert models.get("ollama:a") is a  # used again: now b is the least recently used
    models.release([a])

    c = models.get("ollama:c")
    models.release([c])
    await closed(built[1])
    assert (len(models), models.evicted) == (2, 1)
    assert not built[0].closed.is_set() and not built[2].closed.is_set()

    assert models.get("ollama:b") is not b  # built anew after its eviction
    assert len(built) == 4 and len(models) == 2
    await closed(built[0])  # a, now the least recently used, went out
    await models.aclose()
    assert [adapter.closes for adapter in built] == [1, 1, 1, 1]


async def test_an_evicted_adapter_a_match_still_uses_is_closed_only_after_its_release(
    settings: Settings,
) -> None:
    models, built = models_of(settings, size=1)
    busy = models.get("ollama:busy")  # a match is using it
    idle = models.get("ollama:idle")  # evicts busy, which is still in use
    models.release([idle])
    models.release([models.get("ollama:next")])  # evicts idle, not in use: closed at once
    await closed(built[1])
    # busy was evicted before idle: had its close been started, it would have run first
    assert not built[0].closed.is_set()

    models.release([busy])
    await closed(built[0])
    await models.aclose()
    assert [adapter.closes for adapter in built] == [1, 1, 1]


async def test_shutdown_closes_cached_and_busy_adapters_once(settings: Settings) -> None:
    models, built = models_of(settings, size=1)
    models.get("ollama:busy")  # never released: its match was still running at shutdown
    models.get("ollama:last")
    await models.aclose()
    assert [adapter.closes for adapter in built] == [1, 1] and len(models) == 0
