"""The spectator page: every page path serves frontend/index.html, whose script routes on
location.pathname; the rest of frontend/ is served under /static."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from arena.config import REPO_ROOT

FRONTEND = REPO_ROOT / "frontend"

router = APIRouter(tags=["pages"], include_in_schema=False)


def _index() -> FileResponse:
    index = FRONTEND / "index.html"
    if not index.is_file():
        raise HTTPException(status_code=404, detail=f"{index} not found: the page is not installed")
    return FileResponse(index, media_type="text/html")


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


def mount_static(app: FastAPI, folder: Path | None = None) -> None:
    # check_dir=False: the API still starts (and serves JSON) from an install without frontend/
    static = StaticFiles(directory=folder or FRONTEND, check_dir=False)
    app.mount("/static", static, name="static")
