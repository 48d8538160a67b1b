"""uvicorn's sans-I/O WebSocket protocol with one addition: a way to write a pre-framed message.

Sending through ASGI costs about three times the socket write itself for each event and
spectator (the send coroutine, the sans-I/O connection building the frame, the join of its
output). A spectator's frames are the same bytes for every socket, so `arena serve` runs this
subclass, which offers the application an ASGI scope extension, `arena.websocket.write`: a
function that takes a whole WebSocket frame and writes it to the transport at once, or returns
False when it cannot (the transport is paused or closing, the connection is not open, or an
extension such as per-message deflate changes frames per connection). The caller then sends
through ASGI as usual, which waits for the transport or raises as it should. Under any other
ASGI server the extension is absent and everything goes through ASGI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN

WRITE_EXTENSION = "arena.websocket.write"

FrameWriter = Callable[[bytes], bool]


def text_frame(data: bytes) -> bytes:
    """A server's unmasked, unfragmented text frame carrying `data` (UTF-8)."""
    return WireFrame(Opcode.TEXT, data).serialize(mask=False)


class ArenaWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol, plus the `arena.websocket.write` extension."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)
        # the application's task is created but has not run yet: it sees the extension
        if scope is not None and not self.conn.extensions:
            scope["extensions"][WRITE_EXTENSION] = self.write_frame

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # the scope holds the writer, which holds this protocol: break the cycle, so that a
        # departed spectator's connection is freed without waiting for a full collection
        scope: dict[str, Any] | None = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(WRITE_EXTENSION, None)

    async def send(self, message: ASGISendEvent) -> None:
        # uvicorn raises RuntimeError for a message sent after the close frame, which its
        # keepalive sends on its own when pings go unanswered: for a data message that is a
        # client gone, not an application error
        if message["type"] == "websocket.send" and self.close_sent and self.handshake_complete:
            raise ClientDisconnected()
        if message["type"] == "websocket.close" and self._close_while_paused(message):
            return
        await super().send(message)

    def _close_while_paused(self, message: ASGISendEvent) -> bool:
        """Queue the close frame behind the unread data of a client that stopped reading.

        uvicorn waits for the transport to drain before any send, so a close sent to a
        spectator evicted for not reading would never be written, and a client that reads
        again later gets its data and then a connection cut without a close code. A close
        frame is a few bytes: it goes into the transport's buffer now, as uvicorn's own close
        does once the transport is writable, and the close timer ends the connection if the
        client never answers. True if it did so."""
        if (
            self.writable.is_set()
            or not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or self.transport.is_closing()
        ):
            return False
        code: int = message.get("code", 1000)  # type: ignore[assignment]
        reason: str = message.get("reason", "") or ""  # type: ignore[assignment]
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        return True

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole frame now; False when the caller must send through ASGI instead."""
        if (
            self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.conn.state is not OPEN
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True
