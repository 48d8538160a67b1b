"""Each judge's position swaps summed in Redis: a match counts once, however often it is
finalized, and judge names with colons survive the field layout."""

from __future__ import annotations

import pytest

from arena.domain.results import SwapTally
from arena.store import Store


async def test_a_match_counts_once_and_totals_add_up(store: Store) -> None:
    first = [SwapTally(judge="openai:gpt-4o", pairs=6, inconsistent=2, unscored=1),
             SwapTally(judge="local:smollm2", pairs=6, inconsistent=0)]  # fmt: skip
    assert await store.judge_swaps.add("m1", first) is True
    assert await store.judge_swaps.add("m1", first) is False  # finalized again: no change
    assert await store.judge_swaps.add("m2", [SwapTally(judge="openai:gpt-4o", pairs=4)])
    assert await store.judge_swaps.add("m3", []) is False
    totals = await store.judge_swap_totals()
    assert totals["openai:gpt-4o"] == SwapTally(
        judge="openai:gpt-4o", pairs=10, inconsistent=2, unscored=1
    )
    assert totals["local:smollm2"].pairs == 6 and totals["local:smollm2"].inconsistent == 0


async def test_the_counted_set_keeps_a_week_of_ids(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arena.store import judges

    clock = [1_000_000.0]
    monkeypatch.setattr(judges.time, "time", lambda: clock[0])
    tally = [SwapTally(judge="j", pairs=1)]
    for i in range(5):
        assert await store.judge_swaps.add(f"old{i}", tally)
    clock[0] += judges.COUNTED_DAYS * 86_400 + 1
    assert await store.judge_swaps.add("new", tally)
    counted = await store.redis.zrange(store.keys.judge_swaps_counted, 0, -1)
    assert [c.decode() if isinstance(c, bytes) else c for c in counted] == ["new"]
    assert (await store.judge_swap_totals())["j"].pairs == 6  # the totals keep every match
