"""Matches that name ever new models (`ollama:` takes any name) keep the server's memory flat:
the adapters a node holds stay within ARENA_MODEL_CACHE, and the evicted ones are closed and
freed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from arena.config import Settings
from arena.models.cache import Models
from arena.models.openai import make_client
from tests.api.conftest import MakeApi
from tests.fakes import FunctionModel

SIZE = 3
MATCHES = 12
BATCH = 4  # the test settings queue at most 5 matches
UNREACHABLE = "http://127.0.0.1:9/v1"  # no request is made: the replies are the fake's


class SdkBacked(FunctionModel):
    """Plays like a FunctionModel and holds what a real `ollama:` adapter holds: an OpenAI SDK
    client with its connection pool."""

    def __init__(self, provider: str, model: str, settings: Settings) -> None:
        super().__init__(f"{provider}:{model}")
        self.client = make_client(provider, model, settings)

    async def aclose(self) -> None:
        await self.client.close()


async def test_many_distinct_models_keep_the_adapters_within_the_cache_and_close_the_rest(
    make_api: MakeApi, settings: Settings
) -> None:
    built: list[weakref.ref[SdkBacked]] = []
    closed: list[str] = []
    changed = asyncio.Condition()

    class Watched(SdkBacked):
        async def aclose(self) -> None:
            await super().aclose()
            async with changed:
                closed.append(self.name)
                changed.notify_all()

    def build(provider: str, model: str, settings: Settings) -> Watched:
        adapter = Watched(provider, model, settings)
        built.append(weakref.ref(adapter))
        return adapter

    models = Models(settings.model_copy(update={"ollama_base_url": UNREACHABLE}), SIZE, build)
    api = await make_api(run_worker=True, models=models)
    try:
        for start in range(0, MATCHES, BATCH):
            ids = []
            for i in range(start, start + BATCH):
                body = {
                    "motion": "ai-art",
                    "pro": {"persona": "pirate", "model": f"ollama:pro-{i}"},
                    "con": {"persona": "kantian", "model": f"ollama:con-{i}"},
                    "judge": "ollama:judge",
                    "rounds": 1,
                }
                created = await api.client.post("/api/matches", json=body)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            for match_id in ids:
                async with api.store.hub.subscribe(match_id) as sub:
                    assert [e.type async for e in sub][-1] == "match_completed"
        assert len(models) <= SIZE

        def all_evicted_closed() -> bool:
            return len(closed) == len(built) - len(models)

        async with asyncio.timeout(10), changed:  # the last matches give their models back
            await changed.wait_for(all_evicted_closed)
        assert len(built) == 2 * MATCHES + 1 and models.evicted == len(closed)
        assert len(set(closed)) == len(closed)  # each closed once

        gc.collect()
        alive = [adapter for ref in built if (adapter := ref()) is not None]
        assert len(alive) <= SIZE  # the closed ones were freed, not merely closed
        assert not any(adapter.client.is_closed() for adapter in alive)
        del alive
    finally:
        await models.aclose()
    assert len(closed) == len(built)
