"""The voted turns of a page of matches: a constant number of round trips to Redis whatever the
number of matches, and a bounded memory of finished matches on each node."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from redis.asyncio.connection import AbstractConnection

from arena.config import Settings
from arena.crowd import turns as crowd_turns
from arena.crowd.export import export_rows
from arena.crowd.turns import VotedTurn, voted_turns
from arena.store import Store
from arena.store.votes import CrowdVotes
from tests.crowd.voted import State, expected_rows, voted_match

T = TypeVar("T")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store = await Store.connect(settings.model_copy(update={"queue_max": 100}))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    crowd_turns._judged.clear()
    yield
    crowd_turns._judged.clear()


class Trips:
    """Counts the writes of commands to Redis: one per command, one per pipeline."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = AbstractConnection.send_packed_command

        async def counted(conn: AbstractConnection, *args: Any, **kwargs: Any) -> None:
            self.count += 1
            await send(conn, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    async def of(self, call: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        before = self.count
        result = await call()
        return result, self.count - before


def jsonl(turns: list[VotedTurn]) -> str:
    """The export's JSONL of these turns (ARENA_VOTES_MIN=1, ARENA_VOTES_MIN_IPS=1)."""
    rows = export_rows(turns, 1, 1)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


async def test_a_page_reads_redis_a_constant_number_of_times(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.settings.redis_cluster:
        pytest.skip("a cluster pipeline writes once per node: counted here on one server")
    compacted: list[State] = ["compacted"] * 6
    states = [*compacted, "finished", "finished"]
    ids = [await voted_match(store, i, state) for i, state in enumerate(states)]
    votes, trips = CrowdVotes(store.redis, store.keys), Trips(monkeypatch)
    await store.redis.ping()  # the pool's connections opened before counting
    # compacted and finished alike, nothing remembered: records (2), tallies (2: the finished
    # ones' per-turn hashes), events (1; the packed keys came with the records)
    one, first = await trips.of(lambda: voted_turns(store, votes, ids[:1]))
    crowd_turns._judged.clear()
    every, cold = await trips.of(lambda: voted_turns(store, votes, ids))
    assert first <= 4 and cold <= 5  # was 3 per match: 24 here
    assert jsonl(every) == expected_rows(ids) and jsonl(one) == expected_rows(ids[:1])
    # remembered: the tallies alone
    again, warm = await trips.of(lambda: voted_turns(store, votes, ids))
    assert warm <= 2 and jsonl(again) == expected_rows(ids)


async def test_finished_matches_are_remembered_up_to_a_bound_least_recently_used_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crowd_turns, "JUDGED_CACHE", 2)
    states: list[State] = ["compacted", "finished", "compacted", "finished", "running"]
    ids = [await voted_match(store, i, state) for i, state in enumerate(states)]
    votes = CrowdVotes(store.redis, store.keys)

    def remembered() -> list[str]:
        return [match_id for _, match_id in crowd_turns._judged]

    assert jsonl(await voted_turns(store, votes, ids)) == expected_rows(ids)
    assert remembered() == ids[2:4]  # never the running one
    await voted_turns(store, votes, [ids[0]])
    assert remembered() == [ids[3], ids[0]]
    await voted_turns(store, votes, [ids[3]])  # read again: the most recently used
    await voted_turns(store, votes, [ids[1]])
    assert remembered() == [ids[3], ids[1]]
    assert jsonl(await voted_turns(store, votes, ids)) == expected_rows(ids)


async def test_a_remembered_match_that_is_gone_is_left_out(store: Store) -> None:
    ids = [await voted_match(store, i, "compacted") for i in range(2)]
    votes = CrowdVotes(store.redis, store.keys)
    assert jsonl(await voted_turns(store, votes, ids)) == expected_rows(ids)
    assert await store.retention.remove(ids[0], 6, ["pirate", "kantian"])
    turns = await voted_turns(store, votes, ids)
    assert {t.labels.match_id for t in turns} == {ids[1]}
