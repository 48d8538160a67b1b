"""Redis storage: match records, per-match event streams, the job queue, the fan-out hub and
the leaderboard. The key schema is documented in arena/store/keys.py."""

from arena.store.hub import SubscriberOverflow, Subscription
from arena.store.leaderboard import Calibration, GroupBy, LeaderboardRow
from arena.store.matches import MatchRecord
from arena.store.server import EmbeddedServer
from arena.store.store import Store, StoreCounters
from arena.store.streams import CoalescingSink
from arena.store.types import (
    InvalidEventId,
    LeaseLost,
    MatchStatus,
    QueueFull,
    StoreError,
)

__all__ = [
    "Calibration",
    "CoalescingSink",
    "EmbeddedServer",
    "GroupBy",
    "InvalidEventId",
    "LeaderboardRow",
    "LeaseLost",
    "MatchRecord",
    "MatchStatus",
    "QueueFull",
    "Store",
    "StoreCounters",
    "StoreError",
    "SubscriberOverflow",
    "Subscription",
]
