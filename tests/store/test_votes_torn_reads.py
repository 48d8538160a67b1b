"""A compaction landing in the middle of a vote read counts no vote twice.

The reads of a match's votes are non-transactional pipelines (a page of matches spans hash slots
on a cluster), so another client's command may run between two of their commands. Compaction
folds the per-turn vote hashes into the ballots in one Lua script: a read that took the per-turn
hashes before it and the ballots after it would see every vote twice. Here the compaction is run
exactly there, between the real commands of the real pipeline, against a real Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from arena.store import Store
from arena.store.ballots import untorn
from arena.store.votes import CrowdVotes
from tests.store.test_compaction import eventful_match

Command = tuple[str, tuple[Any, ...], dict[str, Any]]  # a pipeline method, its arguments
Cut = Callable[[list[Command]], int | None]  # a pipeline's commands -> where to cut, or None


def before_read_of(key: str, among: str | None = None) -> Cut:
    """Cut before the first command reading `key`, in a pipeline that has an `among` command."""

    def cut(stack: list[Command]) -> int | None:
        if among is not None and all(name != among for name, _, _ in stack):
            return None
        return next((i for i, (_, args, _) in enumerate(stack) if args[0] == key), None)

    return cut


class _Halves:
    """A pipeline that notes its commands (hvals, hexists, hlen...) and runs them on real ones:
    as one pipeline, or, the first time `cut` cuts it, as two with `between` awaited at the cut.
    (It replays the commands by name, so it works with the cluster client's pipeline too.)"""

    def __init__(self, owner: Interleaving) -> None:
        self.owner, self.stack = owner, list[Command]()

    async def __aenter__(self) -> _Halves:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Callable[..., _Halves]:
        def note(*args: Any, **kwargs: Any) -> _Halves:
            self.stack.append((name, args, kwargs))
            return self

        return note

    async def execute(self) -> list[Any]:
        owner, stack = self.owner, self.stack
        owner.executed += 1
        at = None if owner.done else owner.cut(stack)
        if at is None:
            return await self._run(stack)
        owner.done = True
        replies = await self._run(stack[:at])
        await owner.between()
        return replies + await self._run(stack[at:])

    async def _run(self, commands: list[Command]) -> list[Any]:
        async with self.owner.redis.pipeline(transaction=False) as pipe:
            for name, args, kwargs in commands:
                getattr(pipe, name)(*args, **kwargs)
            return list(await pipe.execute())


class Interleaving:
    """The store's Redis client, but the first of its pipelines that `cut` cuts runs as two,
    with `between` run at the cut."""

    def __init__(self, redis: Redis, cut: Cut, between: Callable[[], Awaitable[object]]) -> None:
        self.redis, self.cut, self.between = redis, cut, between
        self.done, self.executed = False, 0

    def pipeline(self, transaction: bool = False) -> _Halves:
        assert not transaction  # the reads under test are non-transactional pipelines
        return _Halves(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redis, name)


async def test_a_compaction_between_the_hashes_and_the_ballots_is_not_counted_twice(
    store: Store,
) -> None:
    match_id = await eventful_match(store)
    honest = CrowdVotes(store.redis, store.keys)
    expected = (await honest.tallies(match_id, 6), await honest.ip_tallies(match_id, 6))
    assert sum(expected[0][0].values()) == 2 and sum(expected[0][1].values()) == 1

    async def compact() -> None:
        assert await store.compaction.compact(match_id) == "compacted"

    cut = Interleaving(store.redis, before_read_of(store.keys.ballots(match_id)), compact)
    votes = CrowdVotes(cut, store.keys)  # type: ignore[arg-type]
    assert await votes.tallies(match_id, 6) == expected[0]
    assert cut.done and cut.executed == 2  # the torn read, then one whole read
    assert await votes.ip_tallies(match_id, 6) == expected[1]
    page = await votes.page_tallies([(match_id, 6)])
    assert page[match_id] == expected


async def test_the_audit_counts_each_address_once_across_a_compaction(
    store: Store,
) -> None:
    match_id = await eventful_match(store)
    honest = CrowdVotes(store.redis, store.keys)
    expected = await honest.audit(match_id, 6)
    assert (expected[0].voters, expected[0].ips) == (2, 2)

    async def compact() -> None:
        assert await store.compaction.compact(match_id) == "compacted"

    # the audit's count of addresses (HLEN of each turn's, then the folded ones) is cut
    cut = Interleaving(
        store.redis, before_read_of(store.keys.ballot_ips(match_id), "hlen"), compact
    )
    assert await CrowdVotes(cut, store.keys).audit(match_id, 6) == expected  # type: ignore[arg-type]
    assert cut.done and cut.executed == 3  # its tallies, the torn count, one whole count


async def test_a_read_torn_by_a_compaction_would_count_twice(store: Store) -> None:
    """What `untorn` guards against, read off a real Redis: the per-turn hashes before the
    compaction and the ballots after it hold the same votes."""
    match_id = await eventful_match(store)
    k, r = store.keys, store.redis
    before = [await r.hexists(k.match(match_id), "packed")]
    before += [await r.hvals(k.votes(match_id, "votes", t)) for t in range(6)]
    assert await store.compaction.compact(match_id) == "compacted"
    after = [await r.hvals(k.ballots(match_id)), await r.hexists(k.match(match_id), "packed")]
    torn = before + after
    per_turn, ballots = torn[1:7], torn[7]
    assert sorted(map(str, per_turn[0])) == ["holds", "holds"] and len(ballots) == 2  # twice
    assert untorn(torn) is None
    assert untorn(torn, last_try=True) == torn[1:-1]
    whole = [True, *[[] for _ in range(6)], ballots, True]
    assert untorn(whole) == whole[1:-1]
