"""A spectator's sending side (arena/api/ws/spectate.py `_Spectator`) with an ASGI send written
for the test: what happens to a batch the transport cannot take at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from arena.api.prometheus import ApiMetrics
from arena.api.ws.spectate import _Spectator, _Stalled
from arena.store.frames import Frame


def batch(count: int) -> list[Frame]:
    now = time.time()
    return [Frame(f"1-{i}", (1, i), "token", now, f'{{"text":"t{i}"}}') for i in range(count)]


async def test_a_batch_left_in_flight_is_sent_in_order_by_flush() -> None:
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # every send waits a little: the transport is busy
        sent.append(message["text"])

    spectator = _Spectator(send, None, 5.0, ApiMetrics())
    frames = batch(5)
    assert spectator.deliver(frames) is False
    await spectator.flush()
    assert sent == [f.text for f in frames] and spectator.last_id == frames[-1].id


async def test_a_batch_left_in_flight_has_one_deadline_not_one_per_frame() -> None:
    """A client reading a frame now and then (each send 0.3 s, under the 0.5 s timeout) must not
    hold its connection for the timeout once per frame of a batch."""
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0.3)
        sent.append(message["text"])

    spectator = _Spectator(send, None, 0.5, ApiMetrics())
    assert spectator.deliver(batch(5)) is False
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(_Stalled):
        await spectator.flush()
    assert loop.time() - start < 1.0
    assert 0 < len(sent) < 5
    spectator.discard()
