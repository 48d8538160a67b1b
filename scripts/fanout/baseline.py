"""The fan-out baseline: a bare `websockets` server that replays a match's events with
`websockets.broadcast`, to measure the arena's spectator path against in the same run.

It serves any path. A spectator first gets the events already sent (like a late joiner's replay
in the arena), then every new event as it is broadcast; after the last event every connection is
closed with 1000. Each event is serialised once, when its time comes, with `ts` = that time.

    python scripts/fanout/baseline.py --port 8102 --events events.jsonl

`events.jsonl` holds one `{"at": <seconds after start>, "event": {...}}` per line. The server
prints `ready <port>` once it listens, starts the replay when a line arrives on stdin, prints
`done <count>` after the last event, and serves late joiners until it is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

try:  # websockets >= 13
    from websockets.asyncio.server import ServerConnection as Connection
    from websockets.asyncio.server import broadcast, serve
except ImportError:  # the legacy implementation, same names at the top level
    from websockets import broadcast, serve  # type: ignore[no-redef,attr-defined]
    from websockets.legacy.server import (  # type: ignore[assignment,no-redef]
        WebSocketServerProtocol as Connection,
    )


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Replay:
    def __init__(self, events: list[tuple[float, dict[str, Any]]]) -> None:
        self.events = events
        self.history: list[str] = []
        self.clients: set[Connection] = set()
        self.over = False

    async def handler(self, ws: Connection) -> None:
        sent = 0
        try:
            # No await between the last check of `history` and joining `clients`: no gap, no
            # repeat.
            while sent < len(self.history):
                await ws.send(self.history[sent])
                sent += 1
            if self.over:
                await ws.close(1000, "match over")
                return
            self.clients.add(ws)
            await ws.wait_closed()
        except ConnectionClosed:
            pass  # the spectator left during its replay
        finally:
            self.clients.discard(ws)

    async def run(self) -> None:
        start, start_wall = time.monotonic(), time.time()
        for at, event in self.events:
            # sleep even when late: a replay that never yields would starve accept() and reads
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            # `ts` is when the event is due, as the arena's is when it was made: a server that
            # falls behind its schedule shows it in the spectators' lag
            ts = _iso(start_wall + at)
            message = json.dumps({**event, "ts": ts}, separators=(",", ":"))
            self.history.append(message)
            broadcast(self.clients, message)
        self.over = True
        print(f"done {len(self.history)}", flush=True)
        await asyncio.gather(
            *(ws.close(1000, "match over") for ws in list(self.clients)), return_exceptions=True
        )


def load_events(path: Path) -> list[tuple[float, dict[str, Any]]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(float(row["at"]), dict(row["event"])) for row in rows]


async def main_async(port: int, events_path: Path) -> None:
    replay = Replay(load_events(events_path))
    loop = asyncio.get_running_loop()
    async with serve(replay.handler, "127.0.0.1", port, backlog=4096):
        print(f"ready {port}", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        await replay.run()
        await asyncio.Event().wait()  # late joiners still get the replay, until stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=Path, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(main_async(args.port, args.events))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
