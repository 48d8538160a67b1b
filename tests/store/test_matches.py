import pytest

from arena.domain.events import MatchFailed
from arena.store import QueueFull, Store
from tests.store.helpers import spec


async def test_matches_are_listed_newest_first_with_cursor_pages(store: Store) -> None:
    ids = [(await store.create_match(spec())).id for _ in range(5)]
    page, cursor = await store.list_matches(limit=2)
    assert [m.id for m in page] == ids[::-1][:2] and cursor is not None
    page2, cursor2 = await store.list_matches(limit=2, cursor=cursor)
    page3, cursor3 = await store.list_matches(limit=2, cursor=cursor2)
    assert [m.id for m in page2 + page3] == ids[::-1][2:]
    assert cursor3 is None


async def test_listing_filters_by_status_and_persona(store: Store) -> None:
    first = await store.create_match(spec(pro="stoic"))
    second = await store.create_match(spec())
    await store.event_sink(first.id)(MatchFailed(match_id=first.id, error="boom"))
    failed, _ = await store.list_matches(status="failed")
    queued, _ = await store.list_matches(status="queued")
    assert [m.id for m in failed] == [first.id] and failed[0].error == "boom"
    assert [m.id for m in queued] == [second.id]
    stoic, _ = await store.list_matches(persona="stoic")
    assert [m.id for m in stoic] == [first.id]
    assert (await store.list_matches(status="queued", persona="stoic"))[0] == []


async def test_a_full_queue_refuses_new_matches(store: Store) -> None:
    for _ in range(store.settings.queue_max):
        await store.create_match(spec())
    with pytest.raises(QueueFull) as caught:
        await store.create_match(spec())
    assert caught.value.retry_after > 0
    assert len((await store.list_matches(limit=50))[0]) == store.settings.queue_max
    counters = await store.counters()
    assert counters.matches["queued"] == store.settings.queue_max


async def test_cancelling_a_queued_match_is_immediate(store: Store) -> None:
    record = await store.create_match(spec())
    cancelled = await store.request_cancel(record.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    events = await store.read_events(record.id)
    assert [e.type for e in events] == ["match_cancelled"]
    assert (await store.list_matches(status="cancelled"))[0][0].id == record.id
    assert (await store.list_matches(status="queued"))[0] == []
    # a worker that picks the job up later sees it finished and does not run it
    again = await store.begin_run(record.id, "late-worker")
    assert again is not None and again.status == "cancelled"


async def test_cancel_of_an_unknown_match_is_none(store: Store) -> None:
    assert await store.request_cancel("nope") is None
    assert await store.get_match("nope") is None


async def test_statuses_of_many_matches_come_in_one_call(store: Store) -> None:
    first = await store.create_match(spec())
    second = await store.create_match(spec())
    await store.event_sink(first.id)(MatchFailed(match_id=first.id, error="boom"))
    found = await store.statuses_of([first.id, second.id, "no-such-match", first.id])
    assert found == {first.id: "failed", second.id: "queued", "no-such-match": None}
    assert await store.statuses_of([]) == {}
