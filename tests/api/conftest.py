"""Apps under test: in-process through ASGITransport for HTTP, a real uvicorn on a loopback port
for WebSockets. Both run the app's own lifespan against the session's Redis (tests/conftest.py);
the worker is off, tests drive matches through the store's sink."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from arena.api import create_app
from arena.api.ws.protocol import ArenaWebSocketProtocol
from arena.config import Settings
from arena.domain.personas import Library
from arena.store import Store
from tests.polling import eventually

STARTUP_TIMEOUT = 60.0


class _AppState:
    """The running app's store and persona library, for tests that set data up directly."""

    app: FastAPI

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store

    @property
    def library(self) -> Library:
        library: Library = self.app.state.library
        return library


@dataclass
class Api(_AppState):
    app: FastAPI
    client: httpx.AsyncClient


@dataclass
class Live(_AppState):
    app: FastAPI
    http: str
    ws: str


MakeApi = Callable[..., Awaitable[Api]]
MakeLive = Callable[..., Awaitable[Live]]


@pytest.fixture
async def make_api(settings: Settings) -> AsyncIterator[MakeApi]:
    """Build an app with settings overrides, run its lifespan, and give a client for it."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(*, run_worker: bool = False, models: Any = None, **overrides: Any) -> Api:
            app = create_app(
                settings.model_copy(update=overrides), run_worker=run_worker, models=models
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://arena.test"
            )
            await stack.enter_async_context(client)
            return Api(app, client)

        yield make


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api()


async def _serve(
    app: FastAPI,
    stack: contextlib.AsyncExitStack,
    ws: type[asyncio.Protocol] | str = ArenaWebSocketProtocol,
    deflate: bool = False,
) -> Live:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    # as `arena serve` runs it (arena/cli/app.py), unless a test asks for another protocol
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", ws=ws, ws_per_message_deflate=deflate
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def stop() -> None:
        server.should_exit = True
        await task
        sock.close()

    stack.push_async_callback(stop)
    def started() -> bool:
        if task.done():
            task.result()  # uvicorn failed to start: its error, not a timeout
        return server.started

    # uvicorn offers a flag, not an event, for "listening"
    await eventually(started, timeout=STARTUP_TIMEOUT, interval=0.01,
                     message="uvicorn did not start listening")
    return Live(app, f"http://{host}:{port}", f"ws://{host}:{port}")


@pytest.fixture
async def make_live(settings: Settings) -> AsyncIterator[MakeLive]:
    """Start the app under uvicorn on a free loopback port (lifespan included), with the
    WebSocket protocol of `arena serve` unless `ws` names another (and `deflate` offered)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(
            ws: type[asyncio.Protocol] | str = ArenaWebSocketProtocol,
            deflate: bool = False,
            **overrides: Any,
        ) -> Live:
            app = create_app(settings.model_copy(update=overrides), run_worker=False)
            return await _serve(app, stack, ws, deflate)

        yield make


@pytest.fixture
async def live(make_live: MakeLive) -> Live:
    return await make_live()
