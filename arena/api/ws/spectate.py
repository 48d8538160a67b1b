"""The spectator WebSocket: the stored events of a match after `after`, then the live ones.

The store's hub does the replay, the hand-over to live events (no gap, no duplicate) and the
bounded lag per spectator; this module admits spectators and turns every outcome into a close
code: 1000 the match is over; 4000 the spectator fell behind or stopped reading (resume with
?after=); 4404 unknown match; 4410 the match was archived (the reason says when); 4400 a
malformed `after`; 1011 the store failed (resume with ?after=); 1012 the server is restarting
(resume with ?after=); 1013 this node is full (try again later). Nothing a spectator's
connection raises reaches the ASGI server.

Sending is the hot path (one send per event per spectator): a spectator replays its backlog in
chunks from its own task, then, once caught up, lets the match's feed push each live event to it
from one loop over all spectators (see `_Spectator`). Only a spectator whose socket is full falls
back to its own task, which finishes the send within the send timeout or closes with 4000.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any, cast

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError
from starlette.routing import WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocketState

from arena.api.client import client_address
from arena.api.deps import archived_detail
from arena.api.prometheus import ApiMetrics
from arena.api.ws.protocol import WRITE_EXTENSION, FrameWriter, text_frame
from arena.config import Settings
from arena.store import InvalidEventId, Store, StoreError, SubscriberOverflow, Subscription
from arena.store.hub import EventKey, Frame, HubClosed, MatchNotFound
from arena.tasks import cancel_and_wait

log = logging.getLogger(__name__)

router = APIRouter(tags=["spectate"])

MAX_REASON_BYTES = 123  # a close frame is a control frame: 125 bytes, 2 of them the code
Close = tuple[int, str]


def reason(text: str) -> str:
    """`text` cut to fit a close frame, on a character boundary."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


CHUNK = 64  # frames a replaying spectator sends before it lets the others run


_now = time.time


def _framed(frame: Frame) -> bytes:
    """`frame` as a WebSocket frame, made once per node (kept on the frame)."""
    wire = frame.wire
    if not wire:
        wire = frame.wire = text_frame(frame.text.encode())
    return wire


class _Wire:
    """The bytes of the last batch of frames: the feed hands one batch to every spectator in
    turn, so it is framed and joined once, not once per socket."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        # one tuple, replaced whole: a server thread never sees one batch with another's bytes
        self.last: tuple[list[Frame] | None, bytes] = (None, b"")

    def of(self, frames: list[Frame]) -> bytes:
        last = self.last
        if last[0] is frames:
            return last[1]
        wire = _framed(frames[0]) if len(frames) == 1 else b"".join(map(_framed, frames))
        self.last = frames, wire
        return wire


_wire = _Wire().of


class _ClientGone(Exception):
    """The client closed the connection while a frame was being sent."""


class _Stalled(Exception):
    """A send did not complete within the send timeout: the client stopped reading."""


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, None, None]:
    """Run `coro`, which suspended on `waiting` when it was first stepped, to its end: what a
    task awaiting it would have done (an exception thrown in, such as a cancellation, goes to
    where it waits)."""
    while True:
        try:
            yield waiting
        except BaseException as exc:
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                waiting = coro.send(None)
            except StopIteration:
                return


class _Spectator:
    """One connection's sending side. `deliver` takes a batch of frames (a replay chunk, or the
    live events of one read, which the feed hands to every caught-up spectator in one loop, so
    a thousand spectators cost no task wake-ups). Under `arena serve` a batch is one write of
    pre-framed bytes (ws_protocol.py); otherwise, or when the transport is full, each frame
    goes through the ASGI send, stepped by hand: it completes without suspending unless the
    transport is paused, and a send that would wait is finished by the connection's own task
    (`flush`), with the frames after it."""

    __slots__ = (
        "_error",
        "_pending",
        "_rest",
        "lag",
        "last_id",
        "live_after",
        "send",
        "timeout",
        "write",
    )

    def __init__(
        self,
        send: Send,
        last_id: str | None,
        timeout: float,
        metrics: ApiMetrics,
        write: FrameWriter | None = None,
    ) -> None:
        # an ASGI server's send is a coroutine function (uvicorn's, Starlette's wrappers)
        self.send = cast(Callable[[Message], Coroutine[Any, Any, None]], send)
        self.write = write  # `arena serve`'s protocol writes whole frames (ws_protocol.py)
        self.last_id, self.timeout = last_id, timeout
        self.lag = metrics.event_lag
        self.live_after: EventKey = (0, 0)
        self._pending: tuple[Coroutine[Any, Any, None], Any, Frame] | None = None
        self._rest: list[Frame] = []  # frames after the pending one, not sent yet
        self._error: BaseException | None = None

    def behind(self) -> Close:
        return 4000, f"behind; resume with ?after={self.last_id or ''}"

    def _sent(self, frame: Frame, now: float) -> None:
        self.last_id = frame.id
        if frame.key > self.live_after:
            self.lag.observe(max(0.0, now - frame.ts))

    def deliver(self, frames: list[Frame]) -> bool:
        """Send `frames` now; False if some are left in flight (`flush()` finishes them) or the
        send failed (`flush()` raises it)."""
        write = self.write
        if write is not None and write(_wire(frames)):
            now = _now()
            for frame in frames:
                self._sent(frame, now)
            return True
        for index, frame in enumerate(frames):
            coro = self.send({"type": "websocket.send", "text": frame.text})
            try:
                waiting = coro.send(None)
            except StopIteration:
                self._sent(frame, _now())
                continue
            except Exception as exc:
                self._error = exc
                return False
            self._pending = coro, waiting, frame
            self._rest = frames[index + 1 :]
            return False
        return True

    async def flush(self) -> None:
        """Finish the sends left by `deliver`, each within the send timeout, or raise what
        they raised: _ClientGone, _Stalled."""
        error, self._error = self._error, None
        if error is not None:
            if isinstance(error, OSError):  # ClientDisconnected, WebSocketDisconnect's cause
                raise _ClientGone() from error
            raise error
        if self._pending is None:
            return
        coro, waiting, frame = self._pending
        self._pending = None
        try:
            # one deadline for the whole batch: a client reading a frame now and then must not
            # hold its connection for the send timeout once per frame
            async with asyncio.timeout(self.timeout):
                await _resume(coro, waiting)
                self._sent(frame, _now())
                rest, self._rest = self._rest, []
                for frame in rest:
                    await self.send({"type": "websocket.send", "text": frame.text})
                    self._sent(frame, _now())
        except TimeoutError:
            raise _Stalled() from None
        except OSError as exc:
            raise _ClientGone() from exc
        finally:
            coro.close()

    def discard(self) -> None:
        if self._pending is not None:
            self._pending[0].close()
            self._pending = None
        self._rest = []

    async def run(self, sub: Subscription, listen: asyncio.Task[None]) -> Close | None:
        self.live_after = sub.live_after
        async for frame in sub.backfill():  # an `after` older than the window: a rare path
            if not self.deliver([frame]):
                await self.flush()
        while True:
            chunk = sub.take(CHUNK)
            if chunk:
                if not self.deliver(chunk):
                    await self.flush()
                if chunk[-1].terminal:
                    return 1000, "match over"
                if len(chunk) == CHUNK:  # a replay: let the live fan-out and others run
                    await asyncio.sleep(0)
                    if listen.done():
                        return None
                continue
            if sub.finished:
                return 1000, "match over"
            if not await self._pushed(sub, listen):
                return None

    async def _pushed(self, sub: Subscription, listen: asyncio.Task[None]) -> bool:
        """Let the feed push to this spectator until it releases it; False if the client left."""
        released = sub.push(self.deliver)
        if released is None:
            await asyncio.sleep(0)  # never a loop that starves the others
            return True  # the feed is over: take() tells how
        try:
            await asyncio.wait((released, listen), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sub.unpush()
        if listen.done():
            return False
        await self.flush()
        return True


async def _until_disconnect(receive: Receive) -> None:
    # spectators send nothing; reading is how a client that left is noticed while a match idles
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def _watch(spectator: _Spectator, sub: Subscription, receive: Receive) -> Close | None:
    listen = asyncio.create_task(_until_disconnect(receive))
    try:
        return await spectator.run(sub, listen)
    except _ClientGone:
        return None
    except _Stalled:
        return spectator.behind()
    finally:
        spectator.discard()
        await cancel_and_wait([listen], retry=0.05)


async def _stream(
    store: Store, spectator: _Spectator, receive: Receive, match_id: str
) -> Close | None:
    try:
        async with store.spectate(match_id, spectator.last_id) as sub:
            return await _watch(spectator, sub, receive)
    except WebSocketDisconnect:
        return None
    except SubscriberOverflow:
        return spectator.behind()
    except InvalidEventId as exc:
        return 4400, str(exc)
    except MatchNotFound as exc:
        archived = await store.archived_on(match_id)
        if archived is not None:
            return 4410, archived_detail(match_id, archived)
        return 4404, str(exc)
    except HubClosed:
        return 1012, f"server restarting; resume with ?after={spectator.last_id or ''}"
    except (RedisError, OSError, StoreError) as exc:
        # the hub's feed logs the failure once, not once per spectator
        log.debug("spectator of match %s: store unavailable: %s", match_id, exc)
        return 1011, f"store unavailable; resume with ?after={spectator.last_id or ''}"


async def close_quietly(ws: WebSocket, close: Close, timeout: float) -> None:
    """Close with `close` unless the connection is already closed; a client that stopped
    reading may never take the close frame, so do not wait for it beyond `timeout`."""
    if WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state):
        return
    code, text = close
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        await asyncio.wait_for(ws.close(code, reason(text)), timeout)


async def spectate(scope: Scope, receive: Receive, send: Send) -> None:
    """Every event of the match as JSON (with its `id`): the stored ones after `after`, then
    live ones until the match ends."""
    websocket = WebSocket(scope, receive, send)
    match_id: str = websocket.path_params["match_id"]
    after = websocket.query_params.get("after")
    state = websocket.app.state
    store: Store = state.store
    metrics: ApiMetrics = state.metrics
    settings: Settings = state.settings
    timeout = settings.spectator_send_timeout
    try:
        # accept first: a close before the handshake reaches the client as HTTP 403, not a code
        await websocket.accept()
    except (WebSocketDisconnect, OSError, RuntimeError):
        return  # the client left during the handshake
    address = client_address(websocket, settings.trusted_proxies)
    if not metrics.admit(settings.max_spectators, address, settings.max_spectators_per_ip):
        if metrics.open >= settings.max_spectators:
            full = f"this node is full ({settings.max_spectators} spectators); try again later"
        else:
            full = (f"your address holds {settings.max_spectators_per_ip} spectators on this "
                    "node already; close one or try again later")  # fmt: skip
        await close_quietly(websocket, (1013, full), timeout)
        return
    # frames go straight to the ASGI send: the WebSocket's state checks and the exception
    # wrappers around its send would cost as much as the send itself, once per event and
    # spectator
    write = cast("FrameWriter | None", scope.get("extensions", {}).get(WRITE_EXTENSION))
    spectator = _Spectator(send, after, timeout, metrics, write)
    try:
        close = await _stream(store, spectator, receive, match_id)
    except Exception as exc:  # a bug: end this spectator alone, with a code it can act on
        log.warning("spectator of match %s failed: %r", match_id, exc)
        close = 1011, f"internal error; resume with ?after={spectator.last_id or ''}"
    finally:
        metrics.leave(address)
    if close is not None:
        metrics.closed(close[0])
        await close_quietly(websocket, close, timeout)


# A plain ASGI endpoint, not a FastAPI or Starlette function route: FastAPI's dependency solving
# (and its thread pool) cost more than the rest of a join when a crowd arrives at once, and
# Starlette's session wrapper adds a layer around every send.
class _Endpoint:
    # an instance, not a function: Starlette wraps a function endpoint in a WebSocket session
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await spectate(scope, receive, send)


router.routes.append(WebSocketRoute("/ws/matches/{match_id}", _Endpoint(), name="spectate"))
