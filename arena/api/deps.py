"""Dependencies of the routes, as `Annotated` aliases. The app's lifespan fills `app.state`.

All are `async def`: FastAPI runs a plain function dependency in its thread pool, a hop that
cost about a tenth of the event loop under a burst of requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from arena.api.prometheus import ApiMetrics
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.records import MatchRecord
from arena.leaderboard.board import Leaderboard
from arena.models.cache import ModelFactory
from arena.store import Store


async def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


async def get_store(conn: HTTPConnection) -> Store:
    store: Store = conn.app.state.store
    return store


async def get_library(conn: HTTPConnection) -> Library:
    """The persona files plus the personas saved in Redis (read per request: another node may
    have saved one)."""
    files: Library = conn.app.state.library
    store: Store = conn.app.state.store
    return await store.personas.library(files)


async def get_models(conn: HTTPConnection) -> ModelFactory:
    """The models this node builds (arena.models.cache.Models; a fake in tests)."""
    models: ModelFactory = conn.app.state.models
    return models


async def get_board(conn: HTTPConnection) -> Leaderboard:
    board: Leaderboard = conn.app.state.board
    return board


async def get_metrics(conn: HTTPConnection) -> ApiMetrics:
    metrics: ApiMetrics = conn.app.state.metrics
    return metrics


async def get_files(conn: HTTPConnection) -> Library:
    """The persona files alone: read-only, loaded at start."""
    files: Library = conn.app.state.library
    return files


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
LibraryDep = Annotated[Library, Depends(get_library)]
FilesDep = Annotated[Library, Depends(get_files)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
ModelsDep = Annotated[ModelFactory, Depends(get_models)]
BoardDep = Annotated[Leaderboard, Depends(get_board)]


async def get_match(match_id: str, store: StoreDep) -> MatchRecord:
    record = await store.get_match(match_id)
    if record is None:
        archived = await store.archived_on(match_id)
        if archived is not None:  # removed by an archive run (docs/operations.md)
            raise HTTPException(status_code=410, detail=archived_detail(match_id, archived))
        raise HTTPException(status_code=404, detail=f"match {match_id!r} not found")
    return record


def archived_detail(match_id: str, archived: datetime) -> str:
    return (
        f"match {match_id!r} was archived on {archived.isoformat(timespec='seconds')}: "
        "it is no longer served, see that day's archive"
    )


MatchDep = Annotated[MatchRecord, Depends(get_match)]
