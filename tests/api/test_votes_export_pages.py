"""The export's pages read a constant number of times from Redis and give what they gave before:
the same JSONL over a walk of pages, whichever of its matches are compacted, finished or still
running, and whatever this node remembers of them."""

from __future__ import annotations

from arena.crowd import turns as crowd_turns
from tests.api.conftest import Api, MakeApi
from tests.crowd.voted import State, expected_rows, voted_match


async def walk(api: Api, limit: int) -> tuple[str, int]:
    """Every page of the export, `limit` voted matches each: the JSONL and the number of pages."""
    text, pages, url = "", 0, f"/api/votes/export?limit={limit}"
    while url:
        page = await api.client.get(url)
        assert page.status_code == 200
        text, pages = text + page.text, pages + 1
        following = page.headers.get("x-next-cursor")
        url = f"/api/votes/export?limit={limit}&cursor={following}" if following else ""
    return text, pages


async def test_a_walk_of_pages_gives_the_rows_of_the_votes_cast(make_api: MakeApi) -> None:
    api = await make_api(votes_min=1, votes_min_ips=1, queue_max=100)
    states: list[State] = ["compacted", "compacted", "finished", "finished", "running", "compacted"]
    ids = [await voted_match(api.store, i, state) for i, state in enumerate(states)]
    expected = expected_rows(ids)
    crowd_turns._judged.clear()  # nothing remembered: every match read from Redis
    assert await walk(api, 2) == (expected, 3)
    assert await walk(api, 2) == (expected, 3)  # the finished ones remembered
    assert await walk(api, 1000) == (expected, 1)
    for match_id in ids[2:4]:  # compacted while remembered, then read from the packed key
        assert await api.store.compaction.compact(match_id) == "compacted"
    assert await walk(api, 4) == (expected, 2)
    crowd_turns._judged.clear()
    assert await walk(api, 4) == (expected, 2)
    assert await walk(api, 100) == (expected, 1)  # the default limit: one page
