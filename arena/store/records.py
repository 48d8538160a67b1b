"""Reading match records: the record hash, completed from the packed key once the match is
compacted (its spec and metrics moved there: arena.store.compaction), one or many at a time."""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from arena.domain.records import MatchRecord
from arena.store.keys import Keys
from arena.store.matches import PACKED, decode_record
from arena.store.packed import PackedMatches
from arena.store.types import text_map


class Records:
    """The records of matches, as every reader sees them before and after compaction."""

    def __init__(self, redis: Redis, keys: Keys, packed: PackedMatches) -> None:
        self.redis, self.keys, self.packed = redis, keys, packed

    async def get(self, match_id: str) -> MatchRecord | None:
        fields = text_map(await self.redis.hgetall(self.keys.match(match_id)))
        if PACKED in fields:
            packed = await self.packed.get(match_id, known=True)
            # no packed key: the match was archived since its record was read
            fields = {} if packed is None else {**packed.fields, **fields}
        return decode_record(fields)

    async def many(self, match_ids: Iterable[str]) -> list[MatchRecord | None]:
        """The record of each match (None for an unknown one), in two round trips at most."""
        ids = list(match_ids)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for match_id in ids:
                pipe.hgetall(self.keys.match(match_id))
            found = [text_map(fields) for fields in await pipe.execute()]
        packed = await self.packed.many(i for i, f in zip(ids, found, strict=True) if PACKED in f)
        records = []
        for match_id, fields in zip(ids, found, strict=True):
            if PACKED in fields:
                match = packed.get(match_id)
                fields = {} if match is None else {**match.fields, **fields}
            records.append(decode_record(fields))
        return records

    async def statuses(self, match_ids: Iterable[str]) -> dict[str, str | None]:
        """The status of each match (None for an unknown one), in one round trip."""
        ids = list(dict.fromkeys(match_ids))
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for match_id in ids:
                pipe.hget(self.keys.match(match_id), "status")
            found = await pipe.execute()
        return {
            i: None if status is None else str(status) for i, status in zip(ids, found, strict=True)
        }

    async def page(
        self, index: str, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[MatchRecord], str | None]:
        """Newest first from the lexical zset `index`, of `status` if given; `cursor` is the
        `next_cursor` of the previous page."""
        items: list[MatchRecord] = []
        position = cursor
        while True:
            top = "+" if position is None else "(" + position
            ids = [
                str(i)
                for i in await self.redis.zrevrangebylex(index, top, "-", start=0, num=limit + 1)
            ]
            for match_id, record in zip(ids, await self.many(ids), strict=True):
                if len(items) == limit:
                    return items, items[-1].id
                position = match_id
                if record is not None and status in (None, record.status):
                    items.append(record)
            if len(ids) <= limit:
                return items, None
