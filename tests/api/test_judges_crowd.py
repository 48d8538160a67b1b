"""GET /api/judges against the crowd: the figures come from running sums built once per node and
moved by the matches whose votes changed (arena.crowd.board), equal to computing them afresh,
never stale after a vote; a fresh node builds them in the background at start-up, and stops
cleanly at shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from arena.api import create_app
from arena.api.routes import votes as votes_routes
from arena.config import Settings
from arena.crowd import board as crowd_board
from arena.crowd.board import CrowdBoard
from arena.crowd.sums import CrowdSums
from arena.crowd.turns import VotedTurn, voted_turns
from arena.crowd.votes import agreement
from arena.domain.records import MatchRecord
from arena.domain.votes import TurnLabels
from arena.models.base import GenerationRequest
from arena.store import Store
from arena.store.votes import CrowdVotes
from tests.api.conftest import Api, MakeApi
from tests.api.helpers import play, spec
from tests.fakes import firm_judge
from tests.polling import eventually

FIRM, CONTRARY, NEUTRAL = "local:smollm2", "ollama:contrary", "ollama:neutral"


def contrary_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """Says the speaker argues the other side: "switched"."""
    verdict = firm_judge(request, schema)
    return {**verdict, "stance": "con" if verdict["stance"] == "pro" else "pro"}


def neutral_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """Says the speaker argues neither side: "wavers"."""
    return {**firm_judge(request, schema), "stance": "neutral"}


class Spy:
    """Counts the builds of the crowd's sums from every voted match (`calls`) and the turns
    counted into or out of them (`folded`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = self.folded = 0
        build, add = crowd_board._sums, CrowdSums.add

        def counted(groups: list[list[TurnLabels]], min_votes: int, min_ips: int) -> CrowdSums:
            self.calls += 1
            return build(groups, min_votes, min_ips)

        def folded(sums: CrowdSums, turns: Iterable[TurnLabels], sign: int = 1) -> None:
            turns = list(turns)
            self.folded += len(turns)
            add(sums, turns, sign)

        monkeypatch.setattr(crowd_board, "_sums", counted)
        monkeypatch.setattr(CrowdSums, "add", folded)


def same(shown: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> bool:
    """The judges' figures alike, alpha to 1e-12 (summed in another order than afresh)."""

    def close(a: Any, b: Any) -> bool:
        if isinstance(b, float) and isinstance(a, float):
            return a == pytest.approx(b, abs=1e-12, rel=0)
        return bool(a == b)

    return all(
        shown[j].keys() == f.keys() and all(close(shown[j][k], v) for k, v in f.items())
        for j, f in expected.items()
    )


async def _played(api: Api) -> MatchRecord:
    judges = {"judges": [FIRM, CONTRARY, NEUTRAL]}
    record = await api.store.create_match(spec(rounds=2).model_copy(update=judges))
    await play(api.store, api.library, record, {CONTRARY: contrary_judge, NEUTRAL: neutral_judge})
    return record


async def _vote(api: Api, address: str, match: str, turn: int, label: str) -> None:
    """One spectator's vote from its own address (its own cookie jar)."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://arena.test") as client:
        response = await client.post(
            f"/api/matches/{match}/turns/{turn}/votes", json={"label": label}
        )
    assert response.status_code == 200, response.text


async def _voted(api: Api) -> list[MatchRecord]:
    """Two matches, votes on six turns from four addresses: the crowd mostly says the speakers
    hold, not always, so each judge agrees with it to a different degree."""
    records = [await _played(api), await _played(api)]
    ballots = {
        (0, 0): ["holds", "holds", "holds"],
        (0, 1): ["holds", "holds", "wavers", "switched"],
        (0, 2): ["switched", "switched", "holds"],
        (1, 0): ["wavers", "wavers", "wavers"],
        (1, 1): ["holds", "holds"],  # two addresses: no gold label
        (1, 3): ["holds", "switched", "holds", "holds"],
    }
    for (m, turn), labels in ballots.items():
        for i, label in enumerate(labels):
            await _vote(api, f"10.0.0.{i + 1}", records[m].id, turn, label)
    return records


async def _judges(api: Api) -> dict[str, dict[str, Any]]:
    response = await api.client.get("/api/judges")
    assert response.status_code == 200, response.text
    return {j["judge"]: j["crowd"] for j in response.json()}


async def _afresh(api: Api, records: list[MatchRecord]) -> dict[str, dict[str, Any]]:
    """Each judge's agreement computed from the labels read now, without the node's board."""
    votes: CrowdVotes = api.app.state.votes
    found: list[VotedTurn] = await voted_turns(api.store, votes, [r.id for r in records])
    labels = [v.labels for v in found]
    s: Settings = api.app.state.settings
    return {
        j: agreement(labels, j, s.votes_min, s.votes_min_ips).model_dump()
        for j in (FIRM, CONTRARY, NEUTRAL)
    }


async def test_the_cached_figures_are_the_uncached_ones(api: Api) -> None:
    records = await _voted(api)
    shown = await _judges(api)
    expected = await _afresh(api, records)
    assert same(shown, expected), (shown, expected)
    # five turns with a gold label (holds 3, switched 1, wavers 1), the judges told apart by it
    assert [expected[j]["turns"] for j in (FIRM, CONTRARY, NEUTRAL)] == [5, 5, 5]
    accuracy = [expected[j]["accuracy"] for j in (FIRM, CONTRARY, NEUTRAL)]
    assert accuracy == pytest.approx([3 / 5, 1 / 5, 1 / 5])


async def test_a_vote_moves_the_revision_and_the_next_request_shows_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = await _voted(api)
    spy = Spy(monkeypatch)
    crowd: CrowdBoard = api.app.state.crowd
    before = await _judges(api)
    revision, computed, folded = crowd.revision, spy.calls, spy.folded
    # unchanged votes: nothing is computed again, the same figures come back
    assert await _judges(api) == before and await _judges(api) == before
    assert (crowd.revision, spy.calls, spy.folded) == (revision, computed, folded)

    # a third address on (1, 1): the turn gets a gold label, "holds", as the firm judge said
    await _vote(api, "10.0.0.3", records[1].id, 1, "holds")
    after = await _judges(api)
    # nothing built again: the voted match alone moved the sums (its 3 voted turns out, 3 in)
    assert crowd.revision > revision and (spy.calls, spy.folded) == (computed, folded + 6)
    assert (after[FIRM]["turns"], after[FIRM]["accuracy"]) == (6, pytest.approx(4 / 6))
    afresh = await _afresh(api, records)
    assert same(after, afresh), (after, afresh)
    assert await _judges(api) == after and (spy.calls, spy.folded) == (computed, folded + 6)


async def test_a_fresh_node_warms_the_board_at_start_up(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await make_api()
    records = await _voted(first)
    expected = await _afresh(first, records)
    spy = Spy(monkeypatch)
    fresh = await make_api()  # another node on the same store
    crowd: CrowdBoard = fresh.app.state.crowd
    # no request yet: the start-up warm-up reads every voted match and computes the figures
    await eventually(lambda: spy.calls == 1, message="the figures were not computed at start-up")
    assert set(crowd.by_match) == {r.id for r in records}
    shown = await _judges(fresh)
    assert same(shown, expected), (shown, expected)
    assert spy.calls == 1  # the first request found them ready


async def test_start_up_does_not_wait_for_the_warm_up_and_shutdown_cancels_it(
    make_api: MakeApi, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _voted(await make_api())
    reading, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(store: Store, votes: CrowdVotes, ids: list[str]) -> list[VotedTurn]:
        reading.set()
        try:
            await asyncio.Event().wait()  # a store that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    monkeypatch.setattr(crowd_board, "voted_turns", stuck)
    app = create_app(settings, run_worker=False)
    async with asyncio.timeout(30), app.router.lifespan_context(app):
        await reading.wait()  # the warm-up is reading, and start-up went on
    assert cancelled.is_set()  # shutdown did not wait for the store to answer


async def test_a_failed_warm_up_is_logged_and_requests_still_answer(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = await make_api()
    records = await _voted(first)
    expected = await _afresh(first, records)
    real, failures = crowd_board.voted_turns, []

    async def once_down(store: Store, votes: CrowdVotes, ids: list[str]) -> list[VotedTurn]:
        if not failures:
            failures.append(ids)
            raise ConnectionError("store down")
        return await real(store, votes, ids)

    monkeypatch.setattr(crowd_board, "voted_turns", once_down)
    with caplog.at_level(logging.WARNING, logger="arena.api.routes.votes"):
        fresh = await make_api()
        await eventually(lambda: "warming the crowd's labels failed" in caplog.text)
    shown = await _judges(fresh)
    assert same(shown, expected), (shown, expected)


async def test_a_node_still_reading_the_votes_answers_with_the_stored_figures(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh node's first /api/judges does not wait for its read of every voted match: it
    gets the figures the last node stored; once the read is done, its own."""
    first = await make_api()
    records = await _voted(first)
    expected = await _judges(first)  # computed, and stored for the next node
    assert same(expected, await _afresh(first, records))
    reading, release = asyncio.Event(), asyncio.Event()
    real = crowd_board.voted_turns

    async def slow(store: Store, votes: CrowdVotes, ids: list[str]) -> list[VotedTurn]:
        reading.set()
        await release.wait()  # a long read of thousands of voted matches
        return await real(store, votes, ids)

    monkeypatch.setattr(crowd_board, "voted_turns", slow)
    fresh = await make_api()
    await asyncio.wait_for(reading.wait(), 30)
    async with asyncio.timeout(10):  # answered while the read is still held
        assert await _judges(fresh) == expected
    crowd: CrowdBoard = fresh.app.state.crowd
    assert crowd.by_match == {}  # nothing read yet: those were the stored figures
    release.set()
    await eventually(lambda: len(crowd.by_match) == len(records))
    assert same(await _judges(fresh), await _afresh(fresh, records))


async def test_stored_figures_of_other_minimums_are_not_served(
    make_api: MakeApi, settings: Settings
) -> None:
    first = await make_api()
    records = await _voted(first)
    await _judges(first)
    crowd: CrowdBoard = first.app.state.crowd
    assert await crowd._stored(settings.votes_min, settings.votes_min_ips) is not None
    assert await crowd._stored(settings.votes_min + 1, settings.votes_min_ips) is None
    other = await make_api(votes_min=settings.votes_min + 1)
    shown = await _judges(other)  # its own figures, read afresh
    assert same(shown, await _afresh(other, records))
    assert shown[FIRM]["turns"] < (await _judges(first))[FIRM]["turns"]


async def test_the_warm_up_freezes_what_it_built_once_done(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _voted(await make_api())
    frozen: list[int] = []
    monkeypatch.setattr(votes_routes, "freeze_warmed", lambda: frozen.append(1))
    fresh = await make_api()
    crowd: CrowdBoard = fresh.app.state.crowd
    await eventually(lambda: frozen == [1], message="the warm-up did not freeze the heap")
    assert len(crowd.by_match) == 2
    # the switch that turns every freeze off turns this one off too
    off = fresh.app.state.settings.model_copy(update={"gc_freeze_step": 0})
    await votes_routes._warm(CrowdBoard(fresh.store, fresh.app.state.votes), off)
    assert frozen == [1]
    await votes_routes._warm(
        CrowdBoard(fresh.store, fresh.app.state.votes), fresh.app.state.settings
    )
    assert frozen == [1, 1]


async def test_with_no_stored_figures_a_node_still_reading_says_retry_soon(
    make_api: MakeApi, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await make_api()
    records = await _voted(first)
    # a store no node of this version has served: no figures stored
    assert await first.store.redis.delete(first.store.keys.crowd_figures) == 1
    reading, release = asyncio.Event(), asyncio.Event()
    real = crowd_board.voted_turns

    async def slow(store: Store, votes: CrowdVotes, ids: list[str]) -> list[VotedTurn]:
        reading.set()
        await release.wait()
        return await real(store, votes, ids)

    monkeypatch.setattr(crowd_board, "voted_turns", slow)
    fresh = await make_api()
    await asyncio.wait_for(reading.wait(), 30)
    response = await fresh.client.get("/api/judges")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert "being read" in response.json()["detail"]
    release.set()
    crowd: CrowdBoard = fresh.app.state.crowd
    await eventually(lambda: crowd._figures is not None)
    assert same(await _judges(fresh), await _afresh(fresh, records))


@pytest.mark.parametrize("fails", [False, True])
async def test_no_collection_runs_while_the_warm_up_reads_and_it_is_back_after(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    await _voted(await make_api())
    assert gc.isenabled()
    seen: list[bool] = []
    real = crowd_board.voted_turns

    async def watched(store: Store, votes: CrowdVotes, ids: list[str]) -> list[VotedTurn]:
        seen.append(gc.isenabled())
        if fails:
            raise ConnectionError("store down")
        return await real(store, votes, ids)

    monkeypatch.setattr(crowd_board, "voted_turns", watched)
    fresh = await make_api()
    task = next(t for t in asyncio.all_tasks() if t.get_name() == "crowd-warm")
    await asyncio.wait_for(asyncio.shield(task), 30)
    assert seen and not any(seen)  # off while it read
    assert gc.isenabled()  # on again, whether it finished or failed
    crowd: CrowdBoard = fresh.app.state.crowd
    assert (crowd._sums is None) == fails
