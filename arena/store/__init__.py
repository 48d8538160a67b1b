"""Redis storage: match records, per-match event streams, the job queue, the fan-out hub, the
boards' samples, saved personas, tournaments and votes. Persistence only: it imports the domain,
nothing above it. The key schema is documented in arena/store/keys.py."""

from arena.store.hub import SubscriberOverflow, Subscription
from arena.store.server import EmbeddedServer
from arena.store.store import Store, StoreCounters
from arena.store.streams import CoalescingSink
from arena.store.types import InvalidEventId, LeaseLost, QueueFull, StoreError

__all__ = [
    "CoalescingSink",
    "EmbeddedServer",
    "InvalidEventId",
    "LeaseLost",
    "QueueFull",
    "Store",
    "StoreCounters",
    "StoreError",
    "SubscriberOverflow",
    "Subscription",
]
