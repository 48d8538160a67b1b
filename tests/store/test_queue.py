from arena.store import Store
from tests.store.helpers import spec, turn_completed, turn_started


async def test_reclaim_takes_only_jobs_idle_long_enough(store: Store) -> None:
    records = [await store.create_match(spec()) for _ in range(2)]
    jobs = await store.queue.claim("dead", 2, 100)
    assert [j.match_id for j in jobs] == [r.id for r in records]
    assert await store.queue.reclaim("rescuer", 5, 60_000) == []
    await store.queue.hand_back("dead", jobs[1], 60_000)  # idle as if for a minute
    assert await store.queue.reclaim("rescuer", 5, 60_000) == [jobs[1]]
    assert await store.queue.reclaim("other", 5, 60_000) == []  # taken: idle again from now
    assert (await store.counters()).jobs_reclaimed == 1


async def test_reclaim_finds_an_idle_job_behind_many_busy_ones(store: Store) -> None:
    # XAUTOCLAIM with COUNT 1 looks at 10 pending entries only; an idle job behind 12 busy ones
    # must still be found
    store.settings = store.settings.model_copy(update={"queue_max": 20})
    for _ in range(13):
        await store.create_match(spec())
    jobs = await store.queue.claim("busy", 13, 100)
    assert len(jobs) == 13
    await store.queue.hand_back("busy", jobs[-1], 60_000)
    assert await store.queue.reclaim("rescuer", 1, 60_000) == [jobs[-1]]


async def test_deliveries_count_until_a_turn_is_completed(store: Store) -> None:
    record = await store.create_match(spec())
    assert [await store.queue.count_delivery(record.id) for _ in range(3)] == [1, 2, 3]
    await store.queue.uncount_delivery(record.id)  # handed back on shutdown: not a failure
    assert await store.queue.count_delivery(record.id) == 3
    await store.queue.record_failure(record.id, "boom")
    assert await store.queue.last_error(record.id) == "boom"
    sink = store.event_sink(record.id)
    await sink(turn_started(record.id))
    await sink(turn_completed(record.id, "Arr."))
    assert await store.queue.count_delivery(record.id) == 1  # progress: a fresh count
    assert await store.queue.last_error(record.id) is None
    assert await store.queue.count_delivery("no-such-match") == 0


async def test_a_dead_letter_acknowledges_the_job_and_is_kept(store: Store) -> None:
    record = await store.create_match(spec())
    (job,) = await store.queue.claim("w", 1, 100)
    await store.queue.count_delivery(record.id)
    await store.queue.dead_letter(job, 5, "it kept failing", "w")
    assert await store.queue.pending() == 0
    (letter,) = await store.queue.dead_letters()
    assert (letter.match_id, letter.entry_id, letter.deliveries, letter.error, letter.worker) == (
        record.id, job.entry_id, 5, "it kept failing", "w",
    )  # fmt: skip
    assert (await store.counters()).jobs_dead_lettered == 1
    assert not await store.redis.exists(store.keys.deliveries(record.id))


async def test_the_lease_is_taken_again_by_its_holder_but_not_by_another(store: Store) -> None:
    record = await store.create_match(spec())
    assert await store.queue.acquire_lease(record.id, "a:1", 10_000)
    assert await store.queue.acquire_lease(record.id, "a:1", 10_000)  # a retry after an error
    assert not await store.queue.acquire_lease(record.id, "b:1", 10_000)
