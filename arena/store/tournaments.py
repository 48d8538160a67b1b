"""Tournaments in Redis: the record, its schedule, the match of each slot, and the results.

The key schema is in arena/store/keys.py. A spec's identity hash maps to its tournament, so
running the same spec again finds the tournament it started and continues it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from arena.domain.tournaments import MatchResult, Slot, TournamentSpec
from arena.store.keys import Keys
from arena.store.matches import new_match_id
from arena.store.types import text_map

RESULTS_CACHED = 32  # tournaments whose parsed results (and slots) a node keeps

TournamentStatus = Literal["running", "completed", "cancelled", "budget_spent", "failed"]
ACTIVE_STATUSES = ("running",)


class TournamentRecord(BaseModel):
    id: str
    spec: TournamentSpec
    status: TournamentStatus
    created_at: datetime
    finished_at: datetime | None = None
    total: int
    identity: str
    tokens: int = 0
    error: str | None = None


def _decode(fields: dict[str, str]) -> TournamentRecord | None:
    if not fields:
        return None
    data: dict[str, Any] = dict(fields)
    data["spec"] = TournamentSpec.model_validate_json(fields["spec"])
    return TournamentRecord.model_validate(data)


class Tournaments:
    """Tournament records and their slots, matches and results."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        # parsed results of recent tournaments: a result is written once (HSETNX), so a node
        # reads and parses only the ones it has not seen (a page polls while a tournament runs)
        self._results: OrderedDict[str, tuple[dict[str, MatchResult], list[MatchResult]]] = (
            OrderedDict()
        )
        self._slots: OrderedDict[str, tuple[dict[str, Slot], list[Slot]]] = OrderedDict()

    async def create(self, spec: TournamentSpec, total: int) -> tuple[TournamentRecord, bool]:
        """The tournament of this spec, new or the one it started before (then True/False).
        An existing one takes the new spec's concurrency and budget, and runs again."""
        identity = spec.identity()
        new_id = new_match_id()
        if await self.redis.hsetnx(self.keys.tournament_specs, identity, new_id):
            fields = {
                "id": new_id,
                "spec": spec.model_dump_json(),
                "status": "running",
                "created_at": datetime.now(UTC).isoformat(),
                "total": str(total),
                "identity": identity,
                "tokens": "0",
            }
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.tournament(new_id), mapping=fields)  # type: ignore[arg-type]
                pipe.zadd(self.keys.tournaments, {new_id: 0})
                await pipe.execute()
            record = await self.get(new_id)
            assert record is not None
            return record, True
        existing = str(await self.redis.hget(self.keys.tournament_specs, identity))
        await self.redis.hset(
            self.keys.tournament(existing),
            mapping={"spec": spec.model_dump_json(), "status": "running", "error": ""},
        )
        await self.redis.hdel(self.keys.tournament(existing), "finished_at")
        await self.redis.delete(self.keys.tournament(existing, "cancel"))
        record = await self.get(existing)
        assert record is not None
        return record, False

    async def get(self, tournament_id: str) -> TournamentRecord | None:
        fields = text_map(await self.redis.hgetall(self.keys.tournament(tournament_id)))
        fields = {k: v for k, v in fields.items() if v != ""}
        return _decode(fields)

    async def recent(self, limit: int = 50) -> list[TournamentRecord]:
        """Newest first."""
        ids = await self.redis.zrevrangebylex(self.keys.tournaments, "+", "-", start=0, num=limit)
        records = [await self.get(str(i)) for i in ids]
        return [r for r in records if r is not None]

    async def finish(self, tournament_id: str, status: TournamentStatus, error: str = "") -> None:
        await self.redis.hset(
            self.keys.tournament(tournament_id),
            mapping={
                "status": status,
                "finished_at": datetime.now(UTC).isoformat(),
                "error": error,
            },
        )

    # the schedule
    async def slots(self, tournament_id: str) -> list[Slot]:
        """The schedule, by index; parsed off the event loop, new slots only (a slot is written
        once: a swiss round adds slots with new indexes)."""
        key = self.keys.tournament(tournament_id, "slots")
        count = int(await self.redis.hlen(key))
        known, ordered = self._slots.get(tournament_id, ({}, []))
        if len(known) > count:  # slots were removed: read them all again
            known = {}
        if len(known) < count:
            fields = [str(f) for f in await self.redis.hkeys(key) if str(f) not in known]
            raw = await self.redis.hmget(key, fields) if fields else []
            parsed = await asyncio.to_thread(_parse_slots, [str(v) for v in raw if v is not None])
            known = {**known, **{str(s.index): s for s in parsed}}
            ordered = sorted(known.values(), key=lambda s: s.index)
        self._slots[tournament_id] = (known, ordered)
        self._slots.move_to_end(tournament_id)
        while len(self._slots) > RESULTS_CACHED:
            self._slots.popitem(last=False)
        return list(ordered)

    async def add_slots(self, tournament_id: str, slots: list[Slot]) -> None:
        if slots:
            mapping: dict[Any, Any] = {str(s.index): s.model_dump_json() for s in slots}
            await self.redis.hset(self.keys.tournament(tournament_id, "slots"), mapping=mapping)

    async def match_ids(self, tournament_id: str) -> dict[int, str]:
        raw = text_map(await self.redis.hgetall(self.keys.tournament(tournament_id, "matches")))
        return {int(k): v for k, v in raw.items()}

    async def set_match(self, tournament_id: str, slot: int, match_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.tournament(tournament_id, "matches"), str(slot), match_id)
            pipe.hset(self.keys.match_tournament, match_id, tournament_id)
            await pipe.execute()

    async def tournament_of(self, match_id: str) -> str | None:
        found = await self.redis.hget(self.keys.match_tournament, match_id)
        return None if found is None else str(found)

    # results
    async def add_result(self, result: MatchResult) -> bool:
        """Record a finished match once; True the first time (its tokens are then counted)."""
        key = self.keys.tournament(result.tournament, "results")
        if not await self.redis.hsetnx(key, result.match, result.model_dump_json()):
            return False
        await self.redis.hincrby(self.keys.tournament(result.tournament), "tokens", result.tokens)
        return True

    async def results(self, tournament_id: str) -> list[MatchResult]:
        """Every result recorded so far, by slot; parsed off the event loop, new ones only."""
        key = self.keys.tournament(tournament_id, "results")
        count = int(await self.redis.hlen(key))
        known, ordered = self._results.get(tournament_id, ({}, []))
        if len(known) == count:
            if tournament_id in self._results:
                self._results.move_to_end(tournament_id)
            return ordered
        if len(known) > count:  # results were removed: read them all again
            known = {}
        fields = [str(f) for f in await self.redis.hkeys(key) if str(f) not in known]
        raw = await self.redis.hmget(key, fields) if fields else []
        parsed = await asyncio.to_thread(_parse_results, [str(v) for v in raw if v is not None])
        merged = {**known, **{r.match: r for r in parsed}}
        ordered = sorted(merged.values(), key=lambda r: r.slot)
        self._results[tournament_id] = (merged, ordered)
        self._results.move_to_end(tournament_id)
        while len(self._results) > RESULTS_CACHED:
            self._results.popitem(last=False)
        return ordered

    # running it
    async def lock(self, tournament_id: str, token: str, ttl_ms: int) -> bool:
        """Take, or keep for `ttl_ms`, the right to schedule this tournament's matches."""
        key = self.keys.tournament(tournament_id, "lock")
        if await self.redis.set(key, token, nx=True, px=ttl_ms):
            return True
        if await self.redis.get(key) == token:
            await self.redis.pexpire(key, ttl_ms)
            return True
        return False

    async def unlock(self, tournament_id: str, token: str) -> None:
        key = self.keys.tournament(tournament_id, "lock")
        if await self.redis.get(key) == token:
            await self.redis.delete(key)

    async def request_cancel(self, tournament_id: str) -> None:
        await self.redis.set(self.keys.tournament(tournament_id, "cancel"), "1")

    async def cancel_requested(self, tournament_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.tournament(tournament_id, "cancel")))


def lock_token() -> str:
    return secrets.token_hex(8)


def _parse_results(raw: list[str]) -> list[MatchResult]:
    return [MatchResult.model_validate_json(v) for v in raw]


def _parse_slots(raw: list[str]) -> list[Slot]:
    return [Slot.model_validate_json(v) for v in raw]
