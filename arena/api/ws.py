"""The spectator WebSocket: the stored events of a match after `after`, then the live ones.

The store's hub does the replay, the hand-over to live events (no gap, no duplicate) and the
bounded lag per spectator; this module admits spectators and turns every outcome into a close
code: 1000 the match is over; 4000 the spectator fell behind or stopped reading (resume with
?after=); 4404 unknown match; 4400 a malformed `after`; 1011 the store failed (resume with
?after=); 1012 the server is restarting (resume with ?after=); 1013 this node is full (try again
later). Nothing a spectator's connection raises reaches the ASGI server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError
from starlette.websockets import WebSocketState

from arena.api.metrics import ApiMetrics
from arena.config import Settings
from arena.store import InvalidEventId, Store, StoreError, SubscriberOverflow, Subscription
from arena.store.hub import HubClosed, MatchNotFound
from arena.store.tasks import cancel_and_wait

log = logging.getLogger(__name__)

router = APIRouter(tags=["spectate"])

MAX_REASON_BYTES = 123  # a close frame is a control frame: 125 bytes, 2 of them the code
Close = tuple[int, str]


def reason(text: str) -> str:
    """`text` cut to fit a close frame, on a character boundary."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


@dataclass
class _Progress:
    last_id: str | None
    sending_since: float | None = None  # time.monotonic() when the send in flight began

    def behind(self) -> Close:
        return 4000, f"behind; resume with ?after={self.last_id or ''}"

    def stalled(self, timeout: float) -> bool:
        since = self.sending_since
        return since is not None and time.monotonic() - since > timeout


async def _pump(ws: WebSocket, sub: Subscription, progress: _Progress, metrics: ApiMetrics) -> None:
    async for frame in sub.frames():
        progress.sending_since = time.monotonic()
        await ws.send_text(frame.text)
        progress.sending_since = None
        progress.last_id = frame.id
        if frame.key > sub.live_after:
            metrics.event_lag.observe(max(0.0, time.time() - frame.ts))


async def _until_disconnect(ws: WebSocket) -> None:
    # spectators send nothing; reading is how a client that left is noticed while a match idles
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def _watch(
    ws: WebSocket, sub: Subscription, progress: _Progress, metrics: ApiMetrics, send_timeout: float
) -> Close | None:
    pump = asyncio.create_task(_pump(ws, sub, progress, metrics))
    listen = asyncio.create_task(_until_disconnect(ws))
    done: set[asyncio.Task[None]] = set()
    try:
        # the send timeout is checked here, not around each send: a timer per send per
        # spectator would cost more than the send
        while not done:
            done, _ = await asyncio.wait(
                (pump, listen), timeout=send_timeout / 2, return_when=asyncio.FIRST_COMPLETED
            )
            if not done and progress.stalled(send_timeout):
                return progress.behind()
    finally:
        # repeated cancels: one landing in a Redis read (a backfill) may be swallowed, and
        # nothing may be sent once this returns and the socket is closed
        await cancel_and_wait([pump, listen], retry=0.05)
    if pump not in done:
        return None  # the client left
    error = pump.exception()
    if error is not None:
        raise error
    return 1000, "match over"


async def _stream(
    ws: WebSocket,
    store: Store,
    metrics: ApiMetrics,
    send_timeout: float,
    progress: _Progress,
    match_id: str,
) -> Close | None:
    try:
        async with store.spectate(match_id, progress.last_id) as sub:
            return await _watch(ws, sub, progress, metrics, send_timeout)
    except WebSocketDisconnect:
        return None
    except SubscriberOverflow:
        return progress.behind()
    except InvalidEventId as exc:
        return 4400, str(exc)
    except MatchNotFound as exc:
        return 4404, str(exc)
    except HubClosed:
        return 1012, f"server restarting; resume with ?after={progress.last_id or ''}"
    except (RedisError, OSError, StoreError) as exc:
        # the hub's feed logs the failure once, not once per spectator
        log.debug("spectator of match %s: store unavailable: %s", match_id, exc)
        return 1011, f"store unavailable; resume with ?after={progress.last_id or ''}"


async def close_quietly(ws: WebSocket, close: Close, timeout: float) -> None:
    """Close with `close` unless the connection is already closed; a client that stopped
    reading may never take the close frame, so do not wait for it beyond `timeout`."""
    if WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state):
        return
    code, text = close
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        await asyncio.wait_for(ws.close(code, reason(text)), timeout)


# A plain Starlette route: FastAPI's dependency solving (and its thread pool, for the plain
# functions in deps.py) cost more than the rest of a join when a crowd arrives at once.
@router.websocket_route("/ws/matches/{match_id}")
async def spectate(websocket: WebSocket) -> None:
    """Every event of the match as JSON (with its `id`): the stored ones after `after`, then
    live ones until the match ends."""
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
    if not metrics.admit(settings.max_spectators):
        full = f"this node is full ({settings.max_spectators} spectators); try again later"
        await close_quietly(websocket, (1013, full), timeout)
        return
    progress = _Progress(last_id=after)
    try:
        close = await _stream(websocket, store, metrics, timeout, progress, match_id)
    except Exception as exc:  # a bug: end this spectator alone, with a code it can act on
        log.warning("spectator of match %s failed: %r", match_id, exc)
        close = 1011, f"internal error; resume with ?after={progress.last_id or ''}"
    finally:
        metrics.leave()
    if close is not None:
        metrics.closed(close[0])
        await close_quietly(websocket, close, timeout)
