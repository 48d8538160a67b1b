"""/static serves the page's files, never the Python that makes frontend/ a package."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from arena.api.routes.pages import FRONTEND, mount_static
from tests.api.conftest import Api


async def test_the_package_marker_of_the_page_is_not_served(api: Api) -> None:
    assert FRONTEND is not None and (FRONTEND / "__init__.py").is_file()
    assert (await api.client.get("/static/__init__.py")).status_code == 404
    assert (await api.client.get("/static/./__init__.py")).status_code == 404
    assert (await api.client.get("/static/app.js")).status_code == 200


async def test_python_files_and_bytecode_are_404_and_the_rest_is_served(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("SECRET = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"\x00bytecode")
    (tmp_path / "__pycache__" / "notes.txt").write_text("cached\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "tool.PY").write_text("SECRET = 2\n")
    (tmp_path / "page.js").write_text("export const a = 1;\n")
    (tmp_path / "python.js").write_text("export const b = 2;\n")  # .py only as a suffix
    app = FastAPI()
    mount_static(app, tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://arena.test") as client:
        for path in (
            "/static/__init__.py",
            "/static/__pycache__/__init__.cpython-312.pyc",
            "/static/__pycache__/notes.txt",
            "/static/sub/tool.PY",
            "/static/sub/../__init__.py",
        ):
            r = await client.get(path)
            assert r.status_code == 404, path
            assert "SECRET" not in r.text and "bytecode" not in r.text
        for path, text in (("/static/page.js", "a = 1"), ("/static/python.js", "b = 2")):
            r = await client.get(path)
            assert r.status_code == 200 and text in r.text, path
