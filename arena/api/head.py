"""HEAD for every GET route, page and static file: link checkers and uptime monitors ask with
HEAD, which FastAPI's routes otherwise answer with 405.

A HEAD request runs as a GET and its response goes out without a body, with the headers the GET
would have had (its length, type, encoding). The server sees the request as it came: uvicorn
knows it was a HEAD and writes no body either.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: HEAD answered as GET without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] in ("http.response.body", "http.response.pathsend"):
                if not ended and not message.get("more_body", False):
                    ended = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        # a copy: the server keeps its own scope, which still says HEAD
        await self.app({**scope, "method": "GET"}, receive, headers_only)
