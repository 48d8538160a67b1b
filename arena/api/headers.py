"""Security headers on every HTTP response: a strict Content-Security-Policy, nosniff, no
framing, a referrer policy, and Strict-Transport-Security when ARENA_HSTS_SECONDS is set.

The page's policy allows only its own files (it has no inline script or style, and sets styles
through the CSSOM, which a policy does not govern), data: images (its favicon) and connections to
its own origin, the WebSocket's named as ws: and wss: of the Host it was served from: CSP's
'self' covers ws: only in browsers that follow CSP 3. So an injection, should one ever slip
through, is a blocked request rather than a script.

FastAPI's API docs (/docs, /redoc) load Swagger UI and ReDoc from a CDN and start them with an
inline script: those pages get a policy of their own, which allows that CDN, those scripts by
their hashes, and inline styles (ReDoc writes its own), and nothing else.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arena.api.limits import route_path
from arena.config import Settings

PAGE_POLICY = (
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    "default-src 'none'",
    f"style-src {CDN} https://fonts.googleapis.com 'unsafe-inline'",
    "font-src https://fonts.gstatic.com",
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
# a Host header as browsers send it: a name or an IPv6 literal, and a port; anything else
# (spaces, semicolons: a policy of the client's own making) names no WebSocket origin
HOST = re.compile(r"(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


@lru_cache(maxsize=64)
def page_policy(host: str) -> str:
    """The page's policy when it was served from `host` (the request's Host header)."""
    host = host.lower()
    sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
    return "; ".join((*PAGE_POLICY, f"connect-src 'self'{sockets}"))


def docs_policy(html: bytes) -> str:
    """The API docs' policy: their CDN, and the inline scripts of `html` by their hashes."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(html)
    )
    return "; ".join((f"script-src {CDN} {hashes}".rstrip(), *DOCS_POLICY))


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response (WebSockets pass through).
    `docs` are the paths of the API docs pages (see the module's docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings, docs: Iterable[str] = ()) -> None:
        self.app = app
        self.docs = frozenset(docs)
        self.fixed = [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cross-origin-opener-policy", "same-origin"),
        ]
        if settings.hsts_seconds:
            self.fixed.append(("strict-transport-security", f"max-age={settings.hsts_seconds}"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if route_path(scope) in self.docs:
            await self.app(scope, receive, self._docs_sender(send))
            return
        policy = page_policy(Headers(scope=scope).get("host", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(message, policy)
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, start: Message, policy: str) -> None:
        start.setdefault("headers", [])
        headers = MutableHeaders(scope=start)
        for name, value in self.fixed:
            headers.setdefault(name, value)
        headers.setdefault("content-security-policy", policy)

    def _docs_sender(self, send: Send) -> Send:
        """A docs page is one small HTML body: held until complete, to hash its scripts."""
        start: Message | None = None
        body = b""

        async def held(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body", False):
                return
            gzipped = Headers(raw=start.get("headers", [])).get("content-encoding") == "gzip"
            self._add(start, docs_policy(gzip.decompress(body) if gzipped else body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return held
