"""The spectator page: every page path serves frontend/index.html, whose script routes on
location.pathname; the rest of frontend/ is served under /static. The page is package data
(arena.frontend), found through the installed package, not the working directory."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

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


@router.get("/leaderboard")
async def leaderboard_page() -> FileResponse:
    return _index()


@router.get("/personas/{persona_id}")
async def persona_page(persona_id: str) -> FileResponse:
    return _index()


@router.get("/personas/{persona_id}/edit")
async def persona_editor_page(persona_id: str) -> FileResponse:
    return _index()


def mount_static(app: FastAPI, folder: Path | None = None) -> None:
    folder = folder or FRONTEND
    if folder is None:
        return  # an install without the page still serves the API
    app.mount("/static", StaticFiles(directory=folder), name="static")
