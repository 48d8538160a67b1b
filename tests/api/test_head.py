"""HEAD answers every GET page, static file and API read as its GET would, without the body; in
process and through uvicorn (which must write no body on the connection either)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Api, MakeLive

PATHS = [
    "/",
    "/leaderboard",
    "/matches/01abc",
    "/tournaments/01abc",
    "/personas/pirate",
    "/personas/pirate/edit",
    "/personas/new",
    "/static/app.js",
    "/static/style.css",
    "/api/personas",
    "/api/matches",
    "/healthz",
]


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_head_is_the_get_without_its_body(api: Api, encoding: str) -> None:
    for path in PATHS:
        headers = {"accept-encoding": encoding}
        get = await api.client.get(path, headers=headers)
        head = await api.client.head(path, headers=headers)
        assert (head.status_code, get.status_code) == (200, 200), path
        assert head.content == b"", path
        for name in ("content-type", "content-length", "content-encoding", "etag", "vary"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
        assert head.headers["x-content-type-options"] == "nosniff"


async def test_head_of_what_has_no_get_is_refused_as_before(api: Api) -> None:
    assert (await api.client.head("/api/nothing-here")).status_code == 404
    assert (await api.client.head("/static/nothing.js")).status_code == 404
    assert (await api.client.head("/api/matches/x/cancel")).status_code == 405  # POST only


@pytest.mark.slow
async def test_head_through_uvicorn_sends_no_body_and_keeps_the_connection(
    make_live: MakeLive,
) -> None:
    live = await make_live()
    async with httpx.AsyncClient(base_url=live.http) as client:
        for path in ("/", "/static/app.js", "/api/personas"):
            head = await client.head(path)
            assert head.status_code == 200 and head.content == b"", path
            assert int(head.headers["content-length"]) > 0
            # a body written after a HEAD's headers would be read as the next answer
            get = await client.get(path)
            assert get.status_code == 200 and len(get.content) > 0, path
