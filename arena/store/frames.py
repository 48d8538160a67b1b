"""Events as spectators receive them: each serialised once per node, ordered by its id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arena.domain.events import EVENT_ADAPTER, TERMINAL_TYPES, Event
from arena.store.streams import check_event_id
from arena.store.types import InvalidEventId

# what a frame costs besides its text (the Frame, its id and key objects), so that a window of
# many tiny events is bounded too
FRAME_OVERHEAD = 300
MAX_ID_PART = 2**64 - 1

EventKey = tuple[int, int]
Deliver = Callable[[list["Frame"]], bool]


def event_key(event_id: str) -> EventKey:
    """The order of an event id; InvalidEventId unless it is one that Redis accepts."""
    check_event_id(event_id)
    ms, _, seq = event_id.partition("-")
    key = int(ms), int(seq)
    if max(key) > MAX_ID_PART:
        raise InvalidEventId(f"{event_id!r} is not an event id: each part is at most 2^64-1")
    return key


def frame_key(entry_id: str) -> EventKey:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


@dataclass(slots=True, eq=False)
class Frame:
    """One event as spectators receive it: `text` is its JSON (with `id`), made once per node
    and sent as is to every socket. `wire` is where the sending side keeps the frame's bytes on
    the wire once it has made them (arena/api/ws/spectate.py), so they too are made once per
    node and live exactly as long as the frame stays in its match's window. Nothing else
    changes a frame."""

    id: str
    key: EventKey
    type: str
    ts: float
    text: str
    wire: bytes = b""

    @classmethod
    def of(cls, event: Event) -> Frame:
        assert event.id is not None
        return cls(
            event.id, frame_key(event.id), event.type, event.ts.timestamp(), event.model_dump_json()
        )

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    @property
    def event(self) -> Event:
        return EVENT_ADAPTER.validate_json(self.text)

    @property
    def size(self) -> int:
        return len(self.text) + FRAME_OVERHEAD
