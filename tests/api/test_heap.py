"""The heap policy: freeze as a crowd grows, hand back once it has halved, freeze again only
after a full collection has had the garbage of those who left."""

from __future__ import annotations

import gc

from arena.api.ws.heap import HeapPolicy, heap_policy
from tests.polling import eventually


class FakeGc:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.collections = 0

    def policy(self, step: int) -> HeapPolicy:
        return HeapPolicy(
            step,
            freeze=lambda: self.calls.append("freeze"),
            unfreeze=lambda: self.calls.append("unfreeze"),
            collections=lambda: self.collections,
        )


def test_the_heap_is_frozen_each_step_up_and_handed_back_when_the_crowd_halves() -> None:
    fake = FakeGc()
    policy = fake.policy(500)
    seen = [policy.observe(n) for n in (0, 499, 500, 900, 1000, 1600, 900, 800)]
    assert seen == [None, None, "freeze", None, "freeze", "freeze", None, "unfreeze"]
    assert policy.frozen_at is None
    # no full collection yet: freezing now would freeze the garbage of the 800 who left
    assert [policy.observe(n) for n in (800, 3000)] == [None, None]
    fake.collections += 1
    # nor for a small crowd, which would then never be handed back
    assert policy.observe(480) is None
    assert policy.observe(700) == "freeze" and policy.frozen_at == 700
    assert policy.observe(350) == "unfreeze"
    assert fake.calls == ["freeze", "freeze", "freeze", "unfreeze", "freeze", "unfreeze"]
    policy.close()  # not frozen: nothing to hand back
    assert fake.calls[-1] == "unfreeze" and len(fake.calls) == 6


def test_a_small_crowd_never_freezes_the_heap() -> None:
    fake = FakeGc()
    policy = fake.policy(500)
    assert {policy.observe(n) for n in (0, 10, 400, 0, 499, 2)} == {None}
    assert fake.calls == []


async def test_the_policy_drives_the_collector_and_leaves_it_as_it_found_it() -> None:
    assert gc.get_freeze_count() == 0
    crowd = [0]
    async with heap_policy(2, lambda: crowd[0], interval=0.01) as policy:
        assert policy is not None
        crowd[0] = 3
        await eventually(lambda: gc.get_freeze_count() > 0 and policy.frozen_at == 3,
                         timeout=5, message="the heap was not frozen at 3")
        crowd[0] = 1
        await eventually(lambda: gc.get_freeze_count() == 0 and policy.frozen_at is None,
                         timeout=5, message="the heap was not handed back at 1")
        gc.collect()
        crowd[0] = 2
        await eventually(lambda: gc.get_freeze_count() > 0 and policy.frozen_at == 2,
                         timeout=5, message="the heap was not frozen again at 2")
    # closed while frozen: handed back
    assert gc.get_freeze_count() == 0
    async with heap_policy(0, lambda: 10_000) as off:
        assert off is None
