"""Ctrl-C in the CLI's long runs: the first press asks the run to stop cleanly, the second quits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def first_press_stops(stop: asyncio.Event, notice: Callable[[], None]) -> Callable[[], None]:
    """A SIGINT handler: on the first press `notice()` and set `stop`; on the next, raise
    KeyboardInterrupt."""
    presses = 0

    def on_interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        notice()
        stop.set()

    return on_interrupt
