"""What a tournament page reads on every poll: the schedule, parsed once per slot and kept for a
bounded number of tournaments, and a tournament's samples, parsed off the event loop when
there are many."""

from __future__ import annotations

from arena.domain.samples import Sample
from arena.domain.tournaments import Slot, TournamentSpec
from arena.store import Store
from arena.store.samples import INLINE_PARSE, BoardSamples
from arena.store.tournaments import RESULTS_CACHED, Tournaments


def slots(start: int, n: int, round_: int) -> list[Slot]:
    return [Slot(index=i, round=round_, motion="m", pro=f"p{i}", con=f"c{i}")
            for i in range(start, start + n)]  # fmt: skip


async def new_tournament(store: Store, name: str) -> str:
    spec = TournamentSpec(personas=[f"{name}-a", f"{name}-b"], motions=["m"], judges=["j"])
    record, _ = await store.tournaments.create(spec, 2)
    return record.id


async def test_slots_another_node_adds_are_read_and_the_cache_is_bounded(store: Store) -> None:
    tid = await new_tournament(store, "swiss")
    other = Tournaments(store.redis, store.keys)  # another node, scheduling the next round
    await other.add_slots(tid, slots(5, 5, 1))
    await other.add_slots(tid, slots(0, 5, 1))
    assert await store.tournaments.slots(tid) == slots(0, 10, 1)
    await other.add_slots(tid, slots(10, 3, 2))
    found = await store.tournaments.slots(tid)
    assert found == [*slots(0, 10, 1), *slots(10, 3, 2)]
    found.clear()  # a caller changing the list it got changes nothing kept
    assert len(await store.tournaments.slots(tid)) == 13
    for n in range(RESULTS_CACHED + 5):
        other_id = await new_tournament(store, f"t{n}")
        await other.add_slots(other_id, slots(0, 1, 0))
        assert await store.tournaments.slots(other_id) == slots(0, 1, 0)
    assert len(store.tournaments._slots) == RESULTS_CACHED
    assert await store.tournaments.slots(tid) == [*slots(0, 10, 1), *slots(10, 3, 2)]


def samples(n: int, start: int = 0) -> list[Sample]:
    return [
        Sample(match_id=f"t{i:03d}", side=side, persona=f"p{i % 4}", model="test:m",
               judge="test:j", turns=3, mean_holding=0.5 + i / 1000, flipped=False, firmness=2,
               stance_changes=0, engagement=0.5, opponent_mean_holding=0.5, persuasion=None)
        for i in range(start, start + n) for side in ("pro", "con")
    ]  # fmt: skip


async def test_many_samples_of_a_tournament_are_all_read(store: Store) -> None:
    made = samples(INLINE_PARSE)
    await store.samples.add(made)
    ids = [f"t{i:03d}" for i in range(INLINE_PARSE)] + ["never-played"]
    assert await store.samples.samples(ids) == made  # more than are parsed on the loop
    assert await store.samples.samples(ids[:3]) == made[:6]


async def test_a_match_that_finishes_later_is_read_and_the_samples_kept_are_bounded(
    store: Store,
) -> None:
    node = BoardSamples(store.redis, store.keys, cached=10)
    await store.samples.add(samples(20))
    ids = [f"t{i:03d}" for i in range(25)]
    assert await node.samples(ids) == samples(20)
    assert len(node._parsed) == 10  # the 10 most recently read
    await store.samples.add(samples(5, start=20))  # five more matches of the tournament finish
    assert await node.samples(ids) == samples(25)
    assert await node.samples(ids[:3]) == samples(3)
    assert len(node._parsed) == 10
