"""The spectator WebSocket: the stored events of a match after `after`, then the live ones.

The store's hub does the replay, the hand-over to live events (no gap, no duplicate) and the
bounded buffer per spectator; this module turns its outcomes into close codes:
1000 the match is over, 4000 the spectator fell behind (resume with ?after=), 4404 unknown match,
4400 a malformed `after`, 1011 the store failed.
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

from arena.api.deps import MetricsDep, StoreDep
from arena.api.metrics import ApiMetrics
from arena.errors import ArenaError
from arena.store import InvalidEventId, Store, StoreError, SubscriberOverflow, Subscription
from arena.store.streams import check_event_id

log = logging.getLogger(__name__)

router = APIRouter(tags=["spectate"])

# A client that stopped reading may never take the close frame; do not wait for it forever.
CLOSE_TIMEOUT = 10.0
Close = tuple[int, str]


def _id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass
class _Progress:
    last_id: str | None
    live_after: tuple[int, int]


async def _pump(ws: WebSocket, sub: Subscription, progress: _Progress, metrics: ApiMetrics) -> None:
    async for event in sub:
        await ws.send_text(event.model_dump_json())
        assert event.id is not None
        progress.last_id = event.id
        if _id_key(event.id) > progress.live_after:
            metrics.event_lag.observe(max(0.0, time.time() - event.ts.timestamp()))


async def _until_disconnect(ws: WebSocket) -> None:
    # spectators send nothing; reading is how a client that left is noticed while a match idles
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


def _behind(progress: _Progress) -> Close:
    return 4000, f"behind; resume with ?after={progress.last_id or ''}"


async def _outcome(
    store: Store, match_id: str, pump: asyncio.Task[None], progress: _Progress
) -> Close | None:
    exc = pump.exception()
    if exc is None:
        # 1000 promises the spectator has every event; if any is left, it must resume instead
        left = await store.read_events(match_id, after=progress.last_id, count=1)
        return _behind(progress) if left else (1000, "match over")
    if isinstance(exc, SubscriberOverflow):
        return _behind(progress)
    if isinstance(exc, WebSocketDisconnect):
        return None
    if isinstance(exc, (RedisError, OSError, StoreError)):
        log.warning("spectator stream failed: %s", exc)
        return 1011, f"store unavailable; resume with ?after={progress.last_id or ''}"
    raise exc


async def _stream(
    ws: WebSocket, store: Store, metrics: ApiMetrics, match_id: str, after: str | None
) -> Close | None:
    if await store.get_match(match_id) is None:
        return 4404, f"match {match_id} not found"
    live_after = _id_key(await store.events.last_id(match_id))
    progress = _Progress(last_id=after, live_after=live_after)
    async with store.hub.subscribe(match_id, after) as sub:
        pump = asyncio.create_task(_pump(ws, sub, progress, metrics))
        listen = asyncio.create_task(_until_disconnect(ws))
        try:
            done, _ = await asyncio.wait({pump, listen}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pump.cancel()
            listen.cancel()
            await asyncio.gather(pump, listen, return_exceptions=True)
    return await _outcome(store, match_id, pump, progress) if pump in done else None


async def _close(ws: WebSocket, close: Close) -> None:
    if WebSocketState.DISCONNECTED in (ws.client_state, ws.application_state):
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        await asyncio.wait_for(ws.close(*close), CLOSE_TIMEOUT)


@router.websocket("/ws/matches/{match_id}")
async def spectate(
    websocket: WebSocket,
    match_id: str,
    store: StoreDep,
    metrics: MetricsDep,
    after: str | None = None,
) -> None:
    """Every event of the match as JSON (with its `id`): the stored ones after `after`, then
    live ones until the match ends."""
    # accept first: a close before the handshake reaches the client as HTTP 403, not a code
    await websocket.accept()
    try:
        if after is not None:
            check_event_id(after)
    except InvalidEventId as exc:
        await _close(websocket, (4400, str(exc)[:120]))
        return
    metrics.spectators.inc()
    try:
        close = await _stream(websocket, store, metrics, match_id, after)
    except ArenaError as exc:
        close = 1011, str(exc)[:120]
    finally:
        metrics.spectators.dec()
    if close is not None:
        await _close(websocket, close)
