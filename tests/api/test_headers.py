"""Security headers on every response (a strict Content-Security-Policy, nosniff, no framing, a
referrer policy, HSTS when set), their own policy for the API docs, and CORS: off unless origins
are allowed."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from arena.config import Settings
from tests.api.conftest import Api, MakeApi

PAGES = ["/", "/leaderboard", "/matches/nope", "/personas/pirate", "/static/app.js"]


def directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {name: values for name, *values in parts}


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    answers = [await api.client.get(path) for path in PAGES]
    answers += [
        await api.client.get("/api/personas"),
        await api.client.get("/api/matches/nope"),  # 404
        await api.client.post("/api/matches", json={}),  # 422
        await api.client.get("/api/nothing-here"),
    ]
    for r in answers:
        where = f"{r.request.method} {r.request.url.path} ({r.status_code})"
        assert r.headers["x-content-type-options"] == "nosniff", where
        assert r.headers["x-frame-options"] == "DENY", where
        assert r.headers["referrer-policy"] == "same-origin", where
        assert "strict-transport-security" not in r.headers, where  # not served over HTTPS
        policy = directives(r.headers["content-security-policy"])
        assert policy["default-src"] == ["'self'"], where
        assert policy["img-src"] == ["'self'", "data:"], where
        assert policy["frame-ancestors"] == ["'none'"], where
        assert policy["object-src"] == ["'none'"], where
        # the page's WebSocket, on the host it was served from, by either scheme
        assert policy["connect-src"] == ["'self'", "ws://arena.test", "wss://arena.test"], where
        assert "unsafe" not in r.headers["content-security-policy"], where
    assert [r.status_code for r in answers[-4:]] == [200, 404, 422, 404]


async def test_an_unhandled_error_carries_them_too(api: Api) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    app: FastAPI = api.app
    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://arena.test") as client:
        r = await client.get("/boom")
    assert r.status_code == 500
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    "host",
    ["evil.test; script-src *", "evil.test 'unsafe-inline'", "a.test,b.test", "a/b", ""],
)
async def test_a_forged_host_names_no_websocket_origin(api: Api, host: str) -> None:
    r = await api.client.get("/api/personas", headers={"host": host})
    policy = r.headers["content-security-policy"]
    assert directives(policy)["connect-src"] == ["'self'"]
    assert "*" not in policy and "unsafe" not in policy and "evil" not in policy


async def test_the_websocket_origin_follows_the_host_with_its_port(api: Api) -> None:
    for host in ("arena.example.org:8443", "127.0.0.1:8000", "[::1]:8000", "Arena.Example.ORG"):
        r = await api.client.get("/", headers={"host": host})
        sockets = directives(r.headers["content-security-policy"])["connect-src"][1:]
        assert sockets == [f"ws://{host.lower()}", f"wss://{host.lower()}"]


async def test_hsts_when_set(make_api: MakeApi) -> None:
    api = await make_api(hsts_seconds=31_536_000)
    for path in ("/", "/api/personas", "/api/matches/nope"):
        r = await api.client.get(path)
        assert r.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize("gzip_min_bytes", [1024, 1])
async def test_the_api_docs_allow_their_cdn_and_their_own_inline_script_only(
    make_api: MakeApi, gzip_min_bytes: int
) -> None:
    api = await make_api(gzip_min_bytes=gzip_min_bytes)  # 1: the page itself is gzipped
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        r = await api.client.get(path)
        assert r.status_code == 200, path
        inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
        policy = directives(r.headers["content-security-policy"])
        hashes = [
            f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in inline
        ]
        assert policy["script-src"] == ["https://cdn.jsdelivr.net", *hashes], path
        assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert r.headers["x-content-type-options"] == "nosniff"
    assert inline  # the redirect page starts Swagger UI's sign-in with one


ORIGIN = "https://blog.example.org"


async def test_cors_is_off_by_default(api: Api) -> None:
    r = await api.client.get("/api/personas", headers={"origin": ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    preflight = await api.client.options(
        "/api/matches",
        headers={"origin": ORIGIN, "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_answers_the_origins_allowed_and_no_other(make_api: MakeApi) -> None:
    api = await make_api(cors_origins=[ORIGIN])
    r = await api.client.get("/api/personas", headers={"origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "x-next-cursor" in r.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers  # tokens, never cookies
    other = await api.client.get("/api/personas", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = await api.client.options(
        "/api/matches",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("origin", ["https://blog.example.org/", "blog.example.org", "https://"])
def test_an_origin_with_a_path_or_no_scheme_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin: write scheme://host"):
        Settings(_env_file=None, cors_origins=[origin])
