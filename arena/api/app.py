"""The FastAPI app: JSON API, spectator WebSocket, metrics and the static spectator page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import cast

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, ExceptionHandler

import arena
from arena.api.head import HeadAsGet
from arena.api.headers import SecurityHeaders
from arena.api.limits import LimitBodies, body_limit, import_limit
from arena.api.prometheus import ApiMetrics
from arena.api.routes import (
    cards,
    claims,
    health,
    leaderboard,
    matches,
    pages,
    personas,
    seat,
    tournaments,
    votes,
)
from arena.api.ws import spectate as ws
from arena.api.ws.heap import heap_policy, start_up_frozen
from arena.config import Settings, get_settings
from arena.crowd.board import CrowdNotReady
from arena.leaderboard.board import Leaderboard
from arena.leaderboard.follow import BoardNotReady
from arena.models.cache import ModelFactory, Models
from arena.personas.library import load_library
from arena.store import Store, StoreError
from arena.worker.worker import Worker

log = logging.getLogger(__name__)

DESCRIPTION = """
Live matches stream over a WebSocket (not listed below, as OpenAPI cannot describe one):
`/ws/matches/{id}?after=<event id>` sends each event as JSON with its `id`, first the stored ones
after `after`, then live ones. Close codes: 1000 the match is over; 4000 you fell behind, reconnect
with `?after=<last id you saw>`; 4404 unknown match; 4410 the match was archived (the reason
gives the date); 4400 `after` is not an event id; 1011 the store failed and 1012 the server is
restarting (both: resume with `?after=`); 1013 this node is full, or your address holds its
share of spectators (try again later).

Writes need `Authorization: Bearer <ARENA_API_TOKEN>` when the server sets a token.
"""

TAGS = [
    {"name": "matches", "description": "Create, follow and cancel debates."},
    {"name": "personas", "description": "Personas, motions and available models."},
    {"name": "leaderboard", "description": "Who holds their ground best."},
    {"name": "tournaments", "description": "Designed experiments: many matches, adjusted ratings."},
    {"name": "votes", "description": "Spectators' votes on turns; judges against the crowd."},
    {"name": "spectate", "description": "Live events of a match over a WebSocket."},
    {"name": "health", "description": "Liveness and Prometheus metrics."},
]


@contextlib.asynccontextmanager
async def _worker(app: FastAPI) -> AsyncIterator[None]:
    # its own store, so its own connection pool: no burst of HTTP requests can make a match
    # wait for a Redis connection
    store = await Store.connect(app.state.settings)
    stop = asyncio.Event()
    worker = Worker(store, app.state.settings, app.state.library, app.state.models)
    task = asyncio.create_task(worker.run(stop), name="worker")
    try:
        yield
    finally:
        stop.set()
        # run() hands interrupted matches back to the queue before it returns
        await asyncio.gather(task, return_exceptions=True)
        await store.close()


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.library = load_library(settings.personas_dir)
    store = await Store.connect(settings)
    app.state.store = store
    app.state.board = Leaderboard(store.samples)
    own_models = app.state.models is None
    if own_models:
        app.state.models = Models(settings)
    try:
        async with contextlib.AsyncExitStack() as stack:
            metrics: ApiMetrics = app.state.metrics
            await stack.enter_async_context(
                heap_policy(settings.gc_freeze_step, lambda: metrics.open)
            )
            if app.state.run_worker:
                await stack.enter_async_context(_worker(app))
            if settings.gc_freeze_step > 0:
                stack.enter_context(start_up_frozen())
            # watched from here: what serving costs, not what starting did
            await stack.enter_async_context(metrics.loop.running())
            yield
    finally:
        await app.state.board.aclose()
        if own_models:
            await app.state.models.aclose()  # after the worker: its matches used them
            app.state.models = None
        await store.close()


async def _store_down(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    if isinstance(conn, WebSocket):  # the handlers run for WebSockets too, with no response
        log.warning("WebSocket %s: store unavailable: %s", conn.url.path, exc)
        close = 1011, "store unavailable, retry shortly"
        await ws.close_quietly(conn, close, conn.app.state.settings.spectator_send_timeout)
        return None
    log.warning("%s %s: store unavailable: %s", conn.scope["method"], conn.url.path, exc)
    return JSONResponse(
        {"detail": "store unavailable, retry shortly"},  # the log has the cause, not the client
        status_code=503,
        headers={"Retry-After": "5"},
    )


class ArenaApi(FastAPI):
    """The app, with its security headers outside every other layer: a 500 from Starlette's
    server-error handler, outermost of FastAPI's own, carries them too."""

    def build_middleware_stack(self) -> ASGIApp:
        docs = (self.docs_url, self.redoc_url, self.swagger_ui_oauth2_redirect_url)
        settings: Settings = self.state.settings
        return SecurityHeaders(super().build_middleware_stack(), settings, filter(None, docs))


def _http_middleware(app: FastAPI, settings: Settings) -> None:
    """From the inside out: request body limits; gzip (HTTP only: WebSocket frames pass
    untouched), outside the limits so that they see the app's answers as it sends them; CORS
    for the origins allowed; HEAD outermost, so that its headers are the compressed GET's."""
    uploads = {str(app.url_path_for("import_personas")): import_limit(settings)}
    app.add_middleware(LimitBodies, default=body_limit(settings), routes=uploads)
    if settings.gzip_min_bytes:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=6)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Link", "Retry-After", "X-Next-Cursor"],
        )
    app.add_middleware(HeadAsGet)


async def _board_not_ready(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    retry = getattr(exc, "retry_after", 2)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(retry)})


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool = True,
    models: ModelFactory | None = None,
) -> FastAPI:
    """The app. Its lifespan connects the store, loads the personas and, with `run_worker`,
    runs a Worker in the same process. `models` builds the models of matches (default: an
    arena.models.cache.Models of the settings, closed at shutdown)."""
    app = ArenaApi(
        title="Persona Arena",
        version=arena.__version__,
        summary="Debates between language-model personas, judged for how firmly they hold a side.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
    )
    app.state.settings = settings = settings or get_settings()
    app.state.run_worker = run_worker
    app.state.models = models
    app.state.metrics = ApiMetrics()
    for router in (
        matches.router,
        seat.router,
        personas.router,
        claims.router,
        leaderboard.router,
        health.router,
    ):
        app.include_router(router)
    app.include_router(cards.router)  # a persona's files: import, export, assets, lorebooks
    app.include_router(tournaments.router)  # its lifespan runs the tournament scheduler
    app.include_router(votes.router)  # its lifespan keeps the crowd votes service
    app.include_router(ws.router)
    app.include_router(pages.router)
    pages.mount_static(app)
    _http_middleware(app, settings)
    # Starlette calls one handler for requests and WebSockets alike; its types name them apart
    store_down = cast(ExceptionHandler, _store_down)
    app.add_exception_handler(RedisError, store_down)
    app.add_exception_handler(StoreError, store_down)
    # a node building its leaderboard from scratch (no saved state anywhere): 503, retry soon
    app.add_exception_handler(BoardNotReady, cast(ExceptionHandler, _board_not_ready))
    app.add_exception_handler(CrowdNotReady, cast(ExceptionHandler, _board_not_ready))
    return app
