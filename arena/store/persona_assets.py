"""The files a saved persona's card brought (CHARX assets, a PNG card's image), kept in Redis
beside it: one hash per persona, path -> base64 (the store's clients decode replies as text).

Bounded: an import keeps at most ARENA_PERSONA_FILE_MAX_BYTES of them per persona (the CHARX
reader's limit on what it unpacks), and they are deleted with the persona.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from arena.store.keys import Keys


class PersonaAssets:
    """Read a saved persona's files; writes go into the transaction that saves the persona."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys

    async def get(self, persona_id: str, path: str) -> bytes | None:
        raw = await self.redis.hget(self.keys.persona_assets(persona_id), path)
        return None if raw is None else base64.b64decode(raw)

    async def all(self, persona_id: str) -> dict[str, bytes]:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.persona_assets(persona_id))
        return {str(path): base64.b64decode(data) for path, data in raw.items()}

    async def sizes(self, persona_id: str) -> dict[str, int]:
        """Each kept file's size in bytes, without reading the files."""
        key = self.keys.persona_assets(persona_id)
        paths = [str(p) for p in await self.redis.hkeys(key)]
        if not paths:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for path in paths:
                pipe.hstrlen(key, path)
            lengths = await pipe.execute()
        return {path: int(n) * 3 // 4 for path, n in zip(paths, lengths, strict=True)}

    def replace(self, pipe: Pipeline, persona_id: str, files: Mapping[str, bytes]) -> None:
        """Queue, on `pipe`, the persona's files replaced by `files` (none: all deleted)."""
        key = self.keys.persona_assets(persona_id)
        pipe.delete(key)
        if files:
            encoded = {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}
            pipe.hset(key, mapping=encoded)  # type: ignore[arg-type]
