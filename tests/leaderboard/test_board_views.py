"""Views of the board shared by the requests of one board position: the persona page's rows are
the full view's rows of that persona, a new match gives new views, and the views kept are
bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from arena.domain.samples import Sample
from arena.leaderboard.board import CACHED_VIEWS, Leaderboard
from arena.leaderboard.rows import GroupBy, LeaderboardRow
from arena.leaderboard.tally import Tally
from arena.leaderboard.versions import view_of
from arena.store import Store

PERSONAS = ("stoic", "pirate", "cynic", "kantian")
BASE = {"stoic": 0.9, "pirate": 0.3, "cynic": 0.6, "kantian": 0.75}  # apart: ranks differ


def sample(i: int, rng: np.random.Generator, persona: str | None = None) -> Sample:
    """Matches of four personas on two models, two versions (and unrecorded ones), under a
    judge and a panel, with holdings spread so that ranks differ."""
    who = persona or PERSONAS[i % len(PERSONAS)]
    version = ("v1", "v2", None)[int(rng.integers(3))]
    holding = round(min(1.0, max(0.0, BASE[who] + float(rng.normal(0, 0.05)))), 2)
    return Sample(match_id=f"m{i:05d}", side="pro" if i % 2 else "con", persona=who,  # type: ignore[arg-type]
                  model=("test:a", "test:b")[int(rng.integers(2))],
                  judge=("test:j", "test:j+test:k")[int(rng.integers(2))], turns=3,
                  mean_holding=holding, flipped=holding < 0.3, firmness=2, stance_changes=0,
                  engagement=0.5, opponent_mean_holding=0.5, persuasion=0.1,
                  version=version)  # fmt: skip


def reference(
    samples: list[Sample], persona: str, by: GroupBy, now: dict[str, str]
) -> list[LeaderboardRow]:
    """The persona page's rows as they were computed before views were shared: for each judge
    set, the whole view (of these samples alone), filtered to the persona."""
    tally = Tally()
    tally.add(samples)
    out = []
    for judge_set in tally.judge_sets():
        view = view_of(samples, by, "latest", {}, now, judge_set.judge)
        out += [row for row in view.rows if row.persona == persona]
    return out


@pytest.fixture
async def board(store: Store) -> AsyncIterator[Leaderboard]:
    made = Leaderboard(store.samples)
    yield made
    await made.aclose()


@pytest.mark.parametrize("by", ["persona", "persona_model"])
async def test_a_persona_page_shows_the_full_views_rows_of_that_persona(
    store: Store, board: Leaderboard, by: GroupBy
) -> None:
    rng = np.random.default_rng(5)
    samples = [sample(i, rng) for i in range(160)]
    await store.samples.add(samples)
    shown = {}
    for persona, now in [("stoic", {"stoic": "v1"}), ("pirate", {"pirate": "v2"}),
                         ("cynic", {}), ("kantian", {"kantian": "v9"})]:  # fmt: skip
        shown[persona] = await board.persona_view(persona, by, now)
        assert shown[persona] == reference(samples, persona, by, now)
    assert len(board._views) == 2  # one per judge set, shared by the four persona pages
    assert {r.judge for r in shown["stoic"]} == {"test:j", "test:j+test:k"}  # both judge sets
    assert shown["cynic"] and shown["kantian"] == []  # no match of v9: no row
    ranks = {r.rank for rows in shown.values() for r in rows}
    assert len(ranks - {None}) > 1  # ranks differ: a row's rank is among the whole set's


async def test_a_new_match_gives_new_views_and_a_fixed_position_computes_one(
    store: Store, board: Leaderboard
) -> None:
    rng = np.random.default_rng(6)
    samples = [sample(i, rng) for i in range(40)]
    await store.samples.add(samples)
    now = {"stoic": "v1"}
    first = await board.view("persona", now)
    assert await board.view("persona", now) is first  # same position: the same view
    before = await board.persona_view("stoic", "persona", now)
    extra = sample(1000, rng, "stoic").model_copy(update={"version": "v1", "judge": "test:j"})
    await store.samples.add([extra])
    samples.append(extra)
    after = await board.persona_view("stoic", "persona", now)
    assert after == reference(samples, "stoic", "persona", now)
    mine = [r for r in after if r.judge == "test:j"]
    old = [r for r in before if r.judge == "test:j"]
    assert [r.matches for r in mine] == [r.matches + 1 for r in old]
    view = await board.view("persona", now)
    assert view is not first
    # this position's: the two (one per judge set) persona pages share, and this one; the
    # previous position's are dropped
    assert len(board._views) == 3
    assert view.rows == view_of(samples, "persona", "latest", {}, now).rows


async def test_the_views_kept_are_bounded(store: Store, board: Leaderboard) -> None:
    rng = np.random.default_rng(7)
    await store.samples.add([sample(i, rng) for i in range(40)])
    for n in range(CACHED_VIEWS + 20):  # a distinct library each time: a distinct view
        view = await board.view("persona", {"stoic": f"x{n}"})
        assert all(r.current is False for r in view.rows if r.persona == "stoic")
        assert len(board._views) <= CACHED_VIEWS
    assert len(board._views) == CACHED_VIEWS


def test_a_snapshot_keeps_the_rows_it_was_taken_with_while_the_tally_folds_on() -> None:
    rng = np.random.default_rng(8)
    samples = [sample(i, rng) for i in range(80)]
    tally = Tally()
    tally.add(samples[:40])
    snap = tally.snapshot()
    before = snap.rows("persona", {}, True)
    tally.add(samples[40:])  # the loop folds new matches while a thread reads the snapshot
    assert snap.rows("persona", {}, True) == before
    assert tally.rows("persona", {}, True) != before
    fresh = Tally()
    fresh.add(samples)
    assert tally.rows("persona", {}, True) == fresh.rows("persona", {}, True)


async def test_a_large_board_is_ranked_off_the_loop_once_for_the_requests_waiting(
    store: Store,
) -> None:
    board = Leaderboard(store.samples, inline_groups=0)  # every tally counts as large
    try:
        rng = np.random.default_rng(9)
        samples = [sample(i, rng) for i in range(120)]
        await store.samples.add(samples)
        now = {"pirate": "v2"}
        views = await asyncio.gather(*(board.view("persona_model", now) for _ in range(6)))
        assert all(v is views[0] for v in views)  # one computation for the six requests
        assert views[0].rows == view_of(samples, "persona_model", "latest", {}, now).rows
        for by in ("persona", "persona_model"):
            rows = await board.persona_view("pirate", by, now)
            assert rows == reference(samples, "pirate", by, now) and rows
        extra = sample(2000, rng, "pirate").model_copy(update={"version": "v2"})
        await store.samples.add([extra])
        samples.append(extra)
        rows = await board.persona_view("pirate", "persona", now)
        assert rows == reference(samples, "pirate", "persona", now)
    finally:
        await board.aclose()
