"""Request bodies of bounded size, for every route: a 413 whose `detail` names the limit.

A body that declares its length (Content-Length) is refused before a byte of it is read; one
sent in chunks is counted as it arrives and refused as soon as it passes the limit, so no route
ever reads, parses or spools more than the limit (a persona import's files go to spooled
temporary files as they stream in, within the import's own, larger limit).

Starlette's RequestBodyLimitMiddleware does the counting too, but answers a declared length with
a plain-text "Content Too Large" that no handler can reword; this one answers in the API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arena.config import Settings

# an import request may carry this many files of the largest size a file may have (or up to
# arena.api.routes.cards.MAX_FILES smaller ones)
IMPORT_FILES_AT_FULL_SIZE = 4


@dataclass(frozen=True)
class BodyLimit:
    """At most `bytes` of request body, and what sets that number (for the message)."""

    bytes: int
    setting: str

    @property
    def detail(self) -> str:
        return f"the request body is larger than {self.bytes:,} bytes, the limit {self.setting}"


def body_limit(settings: Settings) -> BodyLimit:
    return BodyLimit(settings.max_body_bytes, "set by ARENA_MAX_BODY_BYTES")


def import_limit(settings: Settings) -> BodyLimit:
    """A persona import's: files of up to ARENA_PERSONA_FILE_MAX_BYTES each (cards with art),
    never less than any other request's."""
    size = IMPORT_FILES_AT_FULL_SIZE * settings.persona_file_max_bytes
    if size <= settings.max_body_bytes:
        return body_limit(settings)
    return BodyLimit(
        size, f"of an import, {IMPORT_FILES_AT_FULL_SIZE} x ARENA_PERSONA_FILE_MAX_BYTES"
    )


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit: the route that was reading
    it stops, and the app's HTTPException handler answers 413."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(status_code=413, detail=limit.detail)


class LimitBodies:
    """ASGI middleware: every HTTP request body within `default`, or within the limit `routes`
    gives its path."""

    def __init__(
        self, app: ASGIApp, default: BodyLimit, routes: Mapping[str, BodyLimit] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(route_path(scope), self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit.bytes:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.bytes:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # the app read its body after answering: nothing more can be said
                raise
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": limit.detail}, status_code=413)
    await response(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The request's path within the app (less the root path a proxy may mount it under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed length before the app sees it
