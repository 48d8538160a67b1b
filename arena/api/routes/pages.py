"""The spectator page: every page path serves frontend/index.html, whose script routes on
location.pathname; the rest of frontend/ is served under /static. The page is package data
(arena.frontend), found through the installed package, not the working directory."""

from __future__ import annotations

from pathlib import Path, PurePath

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from arena.config import package_folder

FRONTEND = package_folder("arena.frontend")

router = APIRouter(tags=["pages"], include_in_schema=False)


def _index() -> FileResponse:
    if FRONTEND is None or not (FRONTEND / "index.html").is_file():
        raise HTTPException(
            status_code=404,
            detail="the page is not installed (package arena.frontend): reinstall the arena",
        )
    return FileResponse(FRONTEND / "index.html", media_type="text/html")


@router.get("/")
async def home() -> FileResponse:
    return _index()


@router.get("/matches/{match_id}")
async def match_page(match_id: str) -> FileResponse:
    return _index()


@router.get("/matches/{match_id}/seat")
async def seat_page(match_id: str) -> FileResponse:
    return _index()


@router.get("/leaderboard")
async def leaderboard_page() -> FileResponse:
    return _index()


@router.get("/personas/{persona_id}")
async def persona_page(persona_id: str) -> FileResponse:
    return _index()


@router.get("/personas/{persona_id}/edit")
async def persona_editor_page(persona_id: str) -> FileResponse:
    return _index()


class PageFiles(StaticFiles):
    """frontend/ is a Python package only so that it installs as package data (arena.frontend):
    its __init__.py and bytecode are not part of the page, so they are not served (404)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        parts = PurePath(path.lower()).parts
        if "__pycache__" in parts or (parts and parts[-1].endswith((".py", ".pyc", ".pyo"))):
            raise StarletteHTTPException(status_code=404)
        return await super().get_response(path, scope)


def mount_static(app: FastAPI, folder: Path | None = None) -> None:
    folder = folder or FRONTEND
    if folder is None:
        return  # an install without the page still serves the API
    app.mount("/static", PageFiles(directory=folder), name="static")


@router.get("/tournaments/{tournament_id}", include_in_schema=False)
async def tournament_page(tournament_id: str) -> FileResponse:
    return _index()
