import pytest

from arena.domain.events import MatchCompleted, Verdict
from arena.domain.records import Calibration
from arena.domain.results import DebaterMetrics, MatchMetrics
from arena.domain.samples import Sample, persuasion
from arena.leaderboard.tally import leaderboard_rows
from arena.stats.intervals import mean_interval
from arena.store import Store
from tests.store.helpers import board_rows, spec


def metrics(pro: str, con: str, pro_holding: float, con_holding: float) -> MatchMetrics:
    def side(s: str, persona: str, holding: float, flipped: bool) -> DebaterMetrics:
        return DebaterMetrics(
            side=s, persona=persona, model=f"test:{s}", turns=3, scored_turns=3,
            mean_holding=holding, min_holding=holding, switch_turn=4 if flipped else None,
            turns_of_firmness=3, stance_changes=1 if flipped else 0, mean_engagement=0.5,
        )  # fmt: skip

    return MatchMetrics(
        pro=side("pro", pro, pro_holding, False),
        con=side("con", con, con_holding, con_holding < 0.5),
        judges=["test:judge"],
    )


def verdict(match_id: str, turn: int, holding: float) -> Verdict:
    side = "pro" if turn % 2 == 0 else "con"
    return Verdict(match_id=match_id, turn=turn, side=side, scored=True, stance=side,
                   holding=holding, engagement=0.5, judges=[])  # fmt: skip


async def complete(
    store: Store, pro: str, con: str, pro_h: float, con_h: float, version: str | None = None
) -> str:
    """A completed match; `version` the version both personas played (None: not recorded)."""
    played = spec(pro=pro, con=con)
    for side in (played.pro, played.con):
        side.version = version
    record = await store.create_match(played)
    sink = store.event_sink(record.id)
    # con opens firm and gives ground later: pro persuaded it by 0.9 - mean(0.5, 0.3) = 0.5
    for turn, holding in ((0, pro_h), (1, 0.9), (2, pro_h), (3, 0.5), (4, pro_h), (5, 0.3)):
        await sink(verdict(record.id, turn, holding))
    await sink(MatchCompleted(match_id=record.id, metrics=metrics(pro, con, pro_h, con_h)))
    return record.id


async def test_completing_a_match_updates_the_leaderboard_once(store: Store) -> None:
    match_id = await complete(store, "stoic", "pirate", 0.9, 0.567)
    rows = await board_rows(store)
    assert {r.persona: r.matches for r in rows} == {"stoic": 1, "pirate": 1}
    await store.finalize(match_id)  # a worker re-running after a crash
    await store.finalize(match_id)
    again = await board_rows(store)
    assert [(r.persona, r.matches, r.turns) for r in again] == [
        (r.persona, r.matches, r.turns) for r in rows
    ]
    stoic = next(r for r in rows if r.persona == "stoic")
    assert stoic.persuasion == 0.5
    assert stoic.judge == "test:judge" and stoic.holding_ci == (0.0, 1.0)  # one match
    assert (await store.list_matches(status="completed"))[0][0].id == match_id


async def test_rows_rank_by_the_lower_bound_of_the_holding_interval(store: Store) -> None:
    # "stoic" has the best mean but one match; "pirate" is a little lower, five times
    await complete(store, "stoic", "life-coach", 0.99, 0.2)
    holdings = (0.8, 0.85, 0.82, 0.78, 0.8)
    for holding in holdings:
        await complete(store, "pirate", "life-coach", holding, 0.2)
    rows = await board_rows(store)
    order = [r.persona for r in rows]
    pirate = rows[order.index("pirate")]
    expected = mean_interval(5, sum(holdings), sum(h * h for h in holdings))
    assert pirate.matches == 5 and pirate.holding_ci == pytest.approx(expected, abs=1e-4)
    assert pirate.holding_ci[0] < pirate.mean_holding < pirate.holding_ci[1]  # type: ignore[operator]
    # ranked rows first, by shared rank; stoic's one match is listed after them, unranked
    assert [(r.persona, r.rank, r.provisional) for r in rows] == [
        ("pirate", 1, False), ("life-coach", 2, False), ("stoic", None, True),
    ]  # fmt: skip
    by_model = await board_rows(store, by="persona_model")
    assert {(r.persona, r.model) for r in by_model} >= {("pirate", "test:pro")}


async def test_judge_accuracy_is_recorded_and_shown_on_rows(store: Store) -> None:
    assert await store.judge_calibration("test:judge") is None
    await store.record_judge_calibration(Calibration(judge="test:judge", accuracy=0.83, n=120))
    found = await store.judge_calibration("test:judge")
    assert found is not None and found.accuracy == 0.83
    await complete(store, "stoic", "pirate", 0.9, 0.6)
    assert {r.judge_accuracy for r in await board_rows(store)} == {0.83}


def test_persuasion_needs_an_opening_and_a_later_turn() -> None:
    assert persuasion([verdict("m", 1, 0.9)]) is None
    assert persuasion([verdict("m", 3, 0.4), verdict("m", 1, 0.8)]) == 0.4


def test_flip_rate_has_a_wilson_interval() -> None:
    samples = [
        Sample(
            match_id=f"m{i}",
            side="pro",
            persona="p",
            model="m",
            judge="j",
            turns=3,
            mean_holding=0.5,
            flipped=i < 5,
            firmness=1,
            stance_changes=0,
            engagement=None,
            opponent_mean_holding=None,
            persuasion=None,
        )
        for i in range(10)
    ]
    (row,) = leaderboard_rows(samples, "persona", {})
    assert row.flip_rate == 0.5 and row.flip_ci == (0.2366, 0.7634)


async def test_rows_by_persona_version_and_the_versions_of_a_persona_row(store: Store) -> None:
    await complete(store, "stoic", "pirate", 0.9, 0.5)  # recorded before versions: unknown
    await complete(store, "stoic", "pirate", 0.8, 0.5, version="aaaaaaaaaaaa")
    await complete(store, "stoic", "pirate", 0.7, 0.5, version="bbbbbbbbbbbb")
    await complete(store, "stoic", "pirate", 0.6, 0.5, version="bbbbbbbbbbbb")
    rows = await board_rows(store, by="persona_version")
    stoic = {r.version: (r.matches, r.mean_holding) for r in rows if r.persona == "stoic"}
    assert stoic == {None: (1, 0.9), "aaaaaaaaaaaa": (1, 0.8), "bbbbbbbbbbbb": (2, 0.65)}
    assert all(r.model is None and r.current is None for r in rows)
    # the persona row counts every version and says how many matches each played
    (row,) = [r for r in await board_rows(store) if r.persona == "stoic"]
    assert row.matches == 4 and row.version is None
    assert row.version_matches == {"unknown": 1, "aaaaaaaaaaaa": 1, "bbbbbbbbbbbb": 2}
    # a sample stored before samples had a version reads as unknown
    old = Sample.model_validate_json(SAMPLE.model_dump_json(exclude={"version"}))
    assert old.version is None
    (unknown,) = leaderboard_rows([old], "persona_version", {})
    assert unknown.version is None and unknown.version_matches == {"unknown": 1}


SAMPLE = Sample(
    match_id="m", side="pro", persona="p", model="m", judge="j", turns=3, mean_holding=0.5,
    flipped=False, firmness=1, stance_changes=0, engagement=None, opponent_mean_holding=None,
    persuasion=None, version="cccccccccccc",
)  # fmt: skip
