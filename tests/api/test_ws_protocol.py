"""`arena serve`'s WebSocket protocol (arena/api/ws/protocol.py) against a real uvicorn: the
frames it writes whole are the ones the ASGI send would have made, it offers the writer only
where frames are the same for every socket, and it never buffers past the transport's limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.utils import ClientDisconnected
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from arena.api.ws.protocol import WRITE_EXTENSION, ArenaWebSocketProtocol, FrameWriter, text_frame
from tests.api.conftest import MakeLive
from tests.api.helpers import emit, failed, opening, spec, tokens
from tests.polling import eventually

pytestmark = pytest.mark.slow

# one of each length encoding of a frame header: 7 bits, 16 bits, 64 bits
TEXTS = ["short", "é" * 100 + "x" * 200, "long " * 20_000]


@contextlib.asynccontextmanager
async def serving(app: Any, *, deflate: bool = False, **config: Any) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    uvicorn_config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        ws=ArenaWebSocketProtocol,
        ws_per_message_deflate=deflate,
        **config,
    )
    server = uvicorn.Server(uvicorn_config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started, timeout=10, interval=0.01,
                         message="uvicorn did not start listening")
        yield f"ws://{host}:{port}/"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def silent_client(url: str) -> AsyncIterator[None]:
    """A WebSocket client that completes the handshake, then reads nothing: not the data, not
    the pings."""
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await reader.readuntil(b"\r\n\r\n")
    try:
        yield
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class WriterApp:
    """Accepts, then sends each of TEXTS through the writer when it is offered (through ASGI
    otherwise) and records what the writer answered."""

    def __init__(self) -> None:
        self.offered: bool | None = None
        self.written: list[bool] = []
        self.after_close: bool | None = None
        self.done = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        write: FrameWriter | None = scope["extensions"].get(WRITE_EXTENSION)
        self.offered = write is not None
        for text in TEXTS:
            if write is not None and write(text_frame(text.encode())):
                self.written.append(True)
            else:
                self.written.append(False)
                await send({"type": "websocket.send", "text": text})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        if write is not None:
            self.after_close = write(text_frame(b"too late"))
        self.done.set()


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
async def test_whole_frames_reach_the_client_as_sent_and_only_without_deflate(
    deflate: bool,
) -> None:
    app = WriterApp()
    async with serving(app, deflate=deflate) as url:
        async with connect(url, proxy=None, max_size=2**21) as ws:
            received = [await ws.recv() for _ in TEXTS]
        await asyncio.wait_for(app.done.wait(), 5)
    assert received == TEXTS
    # per-message deflate compresses per connection: the same bytes cannot serve every socket
    assert app.offered is (not deflate)
    assert app.written == [not deflate] * len(TEXTS)
    assert app.after_close in (None, False)


async def test_the_writer_refuses_once_the_transport_is_full_instead_of_buffering() -> None:
    """A client that stops reading: the writer gives up at the transport's high-water mark
    (the caller then waits on ASGI's send, within the send timeout), never buffering more."""
    outcome: dict[str, Any] = {}
    frame = text_frame(b"x" * 65_536)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        write: FrameWriter = scope["extensions"][WRITE_EXTENSION]
        sent = 0
        while sent < 512 * 2**20 and write(frame):
            sent += len(frame)
            await asyncio.sleep(0)
        outcome["sent"] = sent
        outcome["refused"] = not write(frame)
        await send({"type": "websocket.close", "code": 1000})

    async with serving(app) as url, silent_client(url):
        await eventually(lambda: "refused" in outcome, timeout=20,
                         message="the writer never refused a frame")
    assert outcome["refused"]
    assert outcome["sent"] < 512 * 2**20  # the kernel's buffers, then the high-water mark


@pytest.mark.parametrize(
    ("ws", "deflate"),
    [(ArenaWebSocketProtocol, False), ("websockets-sansio", False), (ArenaWebSocketProtocol, True)],
    ids=["arena", "asgi", "arena-deflate"],
)
async def test_spectators_get_the_same_events_whichever_way_frames_are_sent(
    make_live: MakeLive, ws: Any, deflate: bool
) -> None:
    live = await make_live(ws=ws, deflate=deflate)
    record = await live.store.create_match(spec())
    stored = await emit(live.store, record.id, [*opening(record), *tokens(record, TEXTS)])
    async with connect(
        f"{live.ws}/ws/matches/{record.id}", proxy=None, max_size=2**21
    ) as spectator:
        replay = [json.loads(await spectator.recv()) for _ in stored]
        later = await emit(live.store, record.id, [*tokens(record, TEXTS), failed(record)])
        events = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                events.append(json.loads(await spectator.recv()))
        assert spectator.close_code == 1000
    assert [e["id"] for e in replay] == stored
    assert [e["id"] for e in events] == later
    texts = [e["text"] for e in replay + events if e["type"] == "token"]
    assert texts == TEXTS * 2


async def test_a_send_after_a_keepalive_timeout_is_a_client_gone_not_an_app_error() -> None:
    """uvicorn closes a connection whose pings go unanswered; the writer declines from then on
    and a data message sent through ASGI raises an OSError (the spectator left)."""
    outcome: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        write: FrameWriter = scope["extensions"][WRITE_EXTENSION]
        # the client never answers the pings: uvicorn closes the connection and says so
        while (await receive())["type"] != "websocket.disconnect":
            pass
        outcome["write"] = write(text_frame(b"late"))
        try:
            await send({"type": "websocket.send", "text": "late"})
        except Exception as exc:
            outcome["raised"] = exc

    async with serving(app, ws_ping_interval=0.1, ws_ping_timeout=0.1) as url, silent_client(url):
        await eventually(lambda: "raised" in outcome, timeout=10,
                         message="the late send never raised")
    assert outcome["write"] is False
    assert isinstance(outcome["raised"], OSError), outcome["raised"]


async def test_a_data_message_between_the_close_frame_and_the_disconnect_is_a_client_gone() -> None:
    """The moment between uvicorn's keepalive sending its close frame and the transport's
    connection_lost: plain uvicorn raises RuntimeError (what the app would count as its own
    failure) there."""
    protocol = ArenaWebSocketProtocol.__new__(ArenaWebSocketProtocol)
    protocol.close_sent, protocol.handshake_complete = True, True
    with pytest.raises(ClientDisconnected):
        await protocol.send({"type": "websocket.send", "text": "late"})


def test_the_uvicorn_internals_the_writer_uses_are_still_there() -> None:
    """arena.api.ws.protocol subclasses uvicorn's sans-I/O protocol and reads its attributes: a
    uvicorn release that renames them must fail here, loudly, not degrade spectators quietly."""
    import inspect

    import uvicorn
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    source = inspect.getsource(WebSocketsSansIOProtocol)
    for name in ("self.conn", "self.transport", "self.writable", "self.close_sent",
                 "self.handshake_complete", "self.disconnected", "async def send",
                 "def handle_connect", "def connection_lost"):  # fmt: skip
        assert name in source, f"uvicorn {uvicorn.__version__} has no {name}: update the writer"
    assert ArenaWebSocketProtocol.__mro__[1] is WebSocketsSansIOProtocol
