"""A compacted finished match as one string key: its format, and reading it back.

The value is a small document, compressed with zlib where that makes it smaller:

    arena-packed 1
    {"spec": "...", "metrics": "..."}         the record fields moved out of the hash (JSON)
    <event id>\\t<event JSON>                   one line per event kept, in stream order

Event JSON is written as the stream held it (without its id), so a packed event reads back
exactly as the stream entry did. Each node decompresses a packed match once and keeps it in a
small LRU (`PackedCache`): a crowd replaying a finished match, or a listing of finished matches,
costs one GET per match per node, not one per request. Whether the key still exists is checked
by every read (it is removed when the match is archived), never answered from the cache alone.
"""

from __future__ import annotations

import bisect
import json
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.client import NEVER_DECODE

from arena.store.keys import Keys
from arena.store.types import Entry, StoreError

MAGIC = b"arena-packed 1\n"
ZLIB_LEVEL = 9
CACHE_MATCHES = 256  # decompressed finished matches kept per store (about 15 KB each)

EventKey = tuple[int, int]


def _key(entry_id: str) -> EventKey:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class PackedMatch:
    """A compacted match: the record fields moved out of its hash, and its kept events."""

    fields: dict[str, str]
    entries: list[Entry]
    _keys: list[EventKey] = field(default_factory=list, repr=False)

    def after(self, after: str | None, count: int | None = None) -> list[Entry]:
        """The kept events after the id `after` (any id: one of a dropped event resumes at the
        next kept one), at most `count`."""
        start = 0 if after is None else bisect.bisect_right(self._keys, _key(after))
        end = None if count is None else start + count
        return self.entries[start:end]


def pack(fields: dict[str, str], entries: Sequence[Entry]) -> bytes:
    lines = [json.dumps(fields, ensure_ascii=False, separators=(",", ":"))]
    lines += [f"{entry_id}\t{data['e']}" for entry_id, data in entries]
    plain = MAGIC + "\n".join(lines).encode()
    packed = zlib.compress(plain, ZLIB_LEVEL)
    return packed if len(packed) < len(plain) else plain


def unpack(data: bytes) -> PackedMatch:
    if not data.startswith(MAGIC):
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise StoreError(f"a packed match is corrupt: {exc}") from exc
        if not data.startswith(MAGIC):
            raise StoreError("a packed match has an unknown format: upgrade the arena")
    head, *lines = data[len(MAGIC) :].decode().split("\n")
    entries: list[Entry] = []
    for line in lines:
        entry_id, _, text = line.partition("\t")
        entries.append((entry_id, {"e": text}))
    return PackedMatch(json.loads(head), entries, [_key(i) for i, _ in entries])


class PackedCache:
    """The packed matches decompressed on this node, least recently used first."""

    def __init__(self, size: int = CACHE_MATCHES) -> None:
        self.size = size
        self._items: OrderedDict[str, PackedMatch] = OrderedDict()

    def get(self, key: str) -> PackedMatch | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: str, packed: PackedMatch) -> None:
        self._items[key] = packed
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, key: str) -> None:
        self._items.pop(key, None)


class PackedMatches:
    """Reads packed matches through one client, decompressing each once (the cache may be
    shared by the clients of one store)."""

    def __init__(self, redis: Redis, keys: Keys, cache: PackedCache | None = None) -> None:
        self.redis, self.keys = redis, keys
        self.cache = cache if cache is not None else PackedCache()

    async def get(self, match_id: str, known: bool = False) -> PackedMatch | None:
        """The packed match; None if it has none. With `known`, the caller has just seen that
        the key exists, and a cached copy is used without asking Redis."""
        key = self.keys.packed(match_id)
        if known and (cached := self.cache.get(key)) is not None:
            return cached
        # the value is binary: read without the client's decoding
        raw = await self.redis.execute_command(  # type: ignore[no-untyped-call]
            "GET", key, **{NEVER_DECODE: []}
        )
        return self._decoded(key, raw)

    async def many(self, match_ids: Iterable[str]) -> dict[str, PackedMatch]:
        """The packed matches of those ids that have one (read in one round trip)."""
        found: dict[str, PackedMatch] = {}
        missing = []
        for match_id in dict.fromkeys(match_ids):
            cached = self.cache.get(self.keys.packed(match_id))
            if cached is None:
                missing.append(match_id)
            else:
                found[match_id] = cached
        if missing:
            async with self.redis.pipeline(transaction=False) as pipe:
                for match_id in missing:
                    pipe.execute_command("GET", self.keys.packed(match_id), **{NEVER_DECODE: []})
                replies = await pipe.execute()
            for match_id, raw in zip(missing, replies, strict=True):
                packed = self._decoded(self.keys.packed(match_id), raw)
                if packed is not None:
                    found[match_id] = packed
        return found

    def _decoded(self, key: str, raw: Any) -> PackedMatch | None:
        if raw is None:
            self.cache.forget(key)
            return None
        packed = unpack(raw if isinstance(raw, bytes) else str(raw).encode())
        self.cache.put(key, packed)
        return packed
