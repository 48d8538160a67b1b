"""A crowd of spectators joining a running match at once, against a real uvicorn with the
in-process worker: the match is not disturbed and every spectator gets every event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from arena.api import create_app
from arena.config import Settings
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.models.base import GenerationRequest
from arena.store import Store
from tests.api.conftest import Live, _serve
from tests.api.test_ws import drain
from tests.fakes import FakeModels, FunctionModel, words
from tests.polling import eventually

pytestmark = pytest.mark.slow

CROWD = 300


def speech(request: GenerationRequest) -> list[str]:
    side = "FOR" if "FOR (PRO)" in request.system else "AGAINST"
    return words(" ".join([f"I argue {side} the motion and hold that position firmly."] * 6))


@pytest.fixture
def fast_models(settings: Settings) -> FakeModels:
    """Debaters that stream about 60 words in 0.3 s, and a judge that answers at once."""
    return FakeModels(lambda name: FunctionModel(name, stream_fn=speech, delay=0.005), settings)


@pytest.fixture
async def node(settings: Settings, fast_models: FakeModels) -> AsyncIterator[Live]:
    """An API node with its worker. The spectators get 4 Redis connections: enough for a crowd
    of any size if joining needs no connection of its own. The whole crowd comes from one
    loopback address, so the per-address cap is lifted."""
    async with contextlib.AsyncExitStack() as stack:
        app = create_app(
            settings.model_copy(
                update={"spectator_pool_size": 4, "max_spectators_per_ip": CROWD + 10}
            ),
            run_worker=True,
            models=fast_models,
        )
        yield await _serve(app, stack)


def match_spec() -> MatchSpec:
    return MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona="pirate", model="ollama:pro"),
        con=DebaterSpec(persona="kantian", model="ollama:con"),
        rounds=2,
        judges=["ollama:judge"],
    )


async def turns(store: Store, match_id: str) -> list[tuple[Any, ...]]:
    """What a match said and how it was judged, without timings or token chunking."""
    out: list[tuple[Any, ...]] = []
    for event in await store.read_events(match_id):
        if event.type == "turn_completed":
            out.append((event.type, event.turn, event.side, event.text))
        elif event.type == "verdict":
            out.append((event.type, event.turn, event.stance, event.holding))
        elif event.type != "token":
            out.append((event.type,))
    return out


async def finished(store: Store, match_id: str) -> str:
    async def status() -> str | None:
        record = await store.get_match(match_id)
        assert record is not None
        return record.status if record.finished else None

    return await eventually(status, timeout=60, message=f"match {match_id} did not finish")


async def test_a_crowd_joining_at_once_neither_disturbs_the_match_nor_misses_an_event(
    node: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store = node.store
    quiet = await store.create_match(match_spec())  # the same match, with nobody watching
    assert await finished(store, quiet.id) == "completed"

    record = await store.create_match(match_spec())
    path = f"{node.ws}/ws/matches/{record.id}"

    async def watch() -> tuple[list[str], int]:
        async with connect(path, proxy=None, open_timeout=60) as ws:
            events, code, _ = await drain(ws)
        return [e["id"] for e in events], code

    async with asyncio.timeout(120):
        crowd = await asyncio.gather(*(watch() for _ in range(CROWD)))
    assert await finished(store, record.id) == "completed"
    stored = [e.id for e in await store.read_events(record.id)]
    assert all(seen == (stored, 1000) for seen in crowd)
    assert await turns(store, record.id) == await turns(store, quiet.id)
    problems = [r.getMessage() for r in caplog.records if r.name.startswith("arena")]
    assert problems == []
