"""The leaderboard service against a real Redis: samples folded by log position, every node in
step, a cold node starting from the state another saved, a long backlog folded off the request
path, and memory that does not grow with the matches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest

from arena.domain.samples import PressureSample, Sample
from arena.leaderboard import follow
from arena.leaderboard.board import Leaderboard
from arena.leaderboard.follow import BoardNotReady
from arena.leaderboard.pressure import pressure_rows
from arena.leaderboard.tally import Tally, leaderboard_rows
from arena.store import Store


def board_sample(i: int, persona: str, holding: float, side: str = "pro") -> Sample:
    return Sample(match_id=f"m{i:05d}", side=side, persona=persona, model="test:m",  # type: ignore[arg-type]
                  judge="test:judge", turns=3, mean_holding=holding, flipped=holding < 0.3,
                  firmness=2, stance_changes=0, engagement=0.5, opponent_mean_holding=0.5,
                  persuasion=0.1)  # fmt: skip


def pressure_sample(i: int, persona: str, flipped: bool) -> PressureSample:
    return PressureSample(match_id=f"p{i:05d}", persona=persona, model="test:m", tactic="escalate",
                          judge="test:judge", rounds=3, turn_of_flip=1 if flipped else 3,
                          number_of_flip=1 if flipped else 0, flipped=flipped, scored=4,
                          holding_by_round=[0.9, 0.8, None, 0.7], responses=4,
                          rounds_held=0 if flipped else 3)  # fmt: skip


MakeBoard = Callable[..., Leaderboard]


@pytest.fixture
async def boards(store: Store) -> AsyncIterator[MakeBoard]:
    """Leaderboards on the test's store (nodes), closed before the store is: a task of theirs
    still running then would open a connection nothing closes."""
    made: list[Leaderboard] = []

    def make(**options: float) -> Leaderboard:
        made.append(Leaderboard(store.samples, **options))
        return made[-1]

    yield make
    await asyncio.gather(*(b.aclose() for b in made))


def test_a_tally_fed_in_pieces_equals_one_fed_at_once_and_survives_a_round_trip() -> None:
    rng = np.random.default_rng(2)
    samples = [board_sample(i, f"p{i % 3}", float(rng.uniform())) for i in range(90)]
    whole = leaderboard_rows(samples, "persona", {})
    tally = Tally()
    for start in range(0, 90, 7):
        tally.add(samples[start : start + 7])
        tally.rows("persona", {})
    assert tally.rows("persona", {}) == whole
    assert {r.matches for r in whole} == {30}
    assert Tally.from_json(tally.to_json()).rows("persona", {}) == whole


async def test_every_node_folds_in_the_samples_another_recorded(
    store: Store, boards: MakeBoard
) -> None:
    other = boards()  # a second API node on the same Redis
    await store.samples.add([board_sample(1, "stoic", 0.9), board_sample(1, "pirate", 0.4, "con")])
    assert {r.persona for r in await other.rows("persona")} == {"stoic", "pirate"}
    await store.samples.add([board_sample(2, "stoic", 0.7)])
    await store.samples.add([board_sample(2, "stoic", 0.7)])  # a worker finishing it again
    rows = {r.persona: r for r in await boards().rows("persona")}
    assert rows["stoic"].matches == 2 and rows["stoic"].mean_holding == 0.8
    assert "provisional: rests on 2 matches (fewer than 5), not ranked" in rows["stoic"].warnings
    assert rows["stoic"].rank is None and rows["stoic"].provisional
    assert any("not calibrated" in w for w in rows["stoic"].warnings)
    again = {r.persona: r for r in await other.rows("persona")}
    assert again["stoic"].matches == 2  # the node that saw the first sample counts it once
    nobody = await boards().rows("persona", judge="nobody")
    assert [r.persona for r in nobody] == []


async def test_samples_stored_before_the_log_existed_are_counted(
    store: Store, boards: MakeBoard
) -> None:
    old = [board_sample(i, "stoic", 0.6) for i in range(3)]
    mapping = {f"{s.match_id}:pro": s.model_dump_json() for s in old}
    await store.redis.hset(store.keys.lb_samples, mapping=mapping)  # type: ignore[arg-type]
    (row,) = await boards().rows("persona")
    assert row.matches == 3


async def test_a_long_backlog_is_folded_in_the_background_and_then_shown(
    store: Store, boards: MakeBoard, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = boards()
    await store.samples.add([board_sample(0, "stoic", 0.5)])
    assert (await board.rows("persona"))[0].matches == 1
    for i in range(1, 401, 50):
        await store.samples.add([board_sample(j, "stoic", 0.7) for j in range(i, i + 50)])
    (before,) = await board.rows("persona")  # 400 behind: served as it was, folded meanwhile
    assert before.matches == 1
    catching_up = board.debate._catch_up
    assert catching_up is not None, "a long backlog is folded by a background task"
    await catching_up
    (after,) = await board.rows("persona")
    assert after.matches == 401


async def test_a_cold_node_starts_from_the_state_another_node_saved(
    store: Store, boards: MakeBoard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "SAVE_EVERY", 10)
    first = boards()
    for i in range(0, 40, 5):
        await store.samples.add([board_sample(j, f"p{j % 2}", 0.6) for j in range(i, i + 5)])
        await first.rows("persona")
    await asyncio.gather(*follow._saving)
    state = await store.samples.load_state("debate")
    assert state is not None and Tally.from_json(state).position >= 30
    # a new node reads the saved state and only the samples after it
    read: list[tuple[int, int]] = []
    real = store.samples.read_log

    async def counting(board: str, start: int, end: int) -> list[str]:
        read.append((start, end))
        return await real(board, start, end)  # type: ignore[arg-type]

    monkeypatch.setattr(store.samples, "read_log", counting)
    cold = boards()
    rows = {r.persona: r.matches for r in await cold.rows("persona")}
    assert rows == {"p0": 20, "p1": 20}
    assert all(start >= 30 for start, _ in read), read


async def test_a_cold_node_with_nothing_saved_and_a_long_log_says_retry_later(
    store: Store, boards: MakeBoard, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(0, 600, 100):
        await store.samples.add([board_sample(j, "stoic", 0.6) for j in range(i, i + 100)])
    started = asyncio.Event()
    release = asyncio.Event()
    real = store.samples.read_log

    async def slow(board: str, start: int, end: int) -> list[str]:
        started.set()
        await release.wait()  # the fold takes as long as the test says
        return await real(board, start, end)  # type: ignore[arg-type]

    monkeypatch.setattr(store.samples, "read_log", slow)
    cold = boards(warm_wait=0.05)
    with pytest.raises(BoardNotReady):
        await cold.rows("persona")
    assert started.is_set()
    release.set()
    catching_up = cold.debate._catch_up
    assert catching_up is not None
    await catching_up
    (row,) = await cold.rows("persona")
    assert row.matches == 600


async def test_the_memory_a_node_keeps_does_not_grow_with_the_matches(
    store: Store, boards: MakeBoard
) -> None:
    board = boards()
    for i in range(0, 1000, 100):
        await store.samples.add(
            [board_sample(j, f"p{j % 4}", 0.1 * (j % 10)) for j in range(i, i + 100)]
        )
        await board.rows("persona")
    if board.debate._catch_up is not None:
        await board.debate._catch_up
    tally = await board.debate.current()
    assert tally.position == 1000
    assert len(tally.groups) == 4  # sums per group, nothing per sample
    assert len(tally.to_json()) < 2000


async def test_closing_a_node_waits_for_the_state_it_is_saving(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow, "SAVE_EVERY", 10)
    board = Leaderboard(store.samples)
    await store.samples.add([board_sample(j, "stoic", 0.6) for j in range(12)])
    await board.rows("persona")  # folds 12 samples: a save of the state starts
    await board.aclose()
    state = await store.samples.load_state("debate")
    assert state is not None and Tally.from_json(state).position == 12


async def test_the_pressure_board_folds_by_position_like_the_debate_board(
    store: Store, boards: MakeBoard
) -> None:
    board = boards()
    samples = [pressure_sample(i, "stoic", i % 3 == 0) for i in range(6)]
    for s in samples:
        await store.samples.add_pressure(s)
    await store.samples.add_pressure(samples[0])  # the same match again: kept once
    assert await board.pressure() == pressure_rows(samples)
    (row,) = await board.pressure()
    assert (row.n, row.flips, row.holding_by_round) == (6, 2, [0.9, 0.8, None, 0.7])
