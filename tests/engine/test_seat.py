"""The engine with a person in the challenger's seat: the turn comes from a HumanTurnSource (an
in-memory one here; the worker's reads Redis), a crash mid-turn resumes it without losing or
doubling it, and no source at all leaves every turn to the fallback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from arena.domain.events import Awaiting, Event, Token, TurnCompleted, TurnStarted
from arena.domain.specs import DebaterSpec, HumanSeat, pressure_spec
from arena.domain.transcript import fold
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.personas.tactics import load_tactics
from tests.engine_helpers import PERSONAS, Recorder, library
from tests.fakes import FunctionModel

HUMAN_TEXT = "Surely you can see that the other side has a point here."


class Seat:
    """A seat whose texts are set up front (turn -> text); a turn without one is silent."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.opened: list[int] = []

    async def open_turn(self, turn: int, seconds: int) -> datetime:
        self.opened.append(turn)
        return datetime.now(UTC) + timedelta(seconds=seconds)

    async def wait_turn(self, turn: int, deadline: datetime) -> str | None:
        await asyncio.sleep(0)
        return self.texts.get(turn)


def human_lineup(silent_turns: int = 2) -> Lineup:
    lib = library()
    spec = pressure_spec(
        motion="This house believes that cats are better than dogs.", motion_id=None,
        target=DebaterSpec(persona="stoic", model="test:target"), side="con",
        tactic="disagree", rounds=2, challenger_persona=None, challenger_model=None,
        probe=False, judges=["test:judge"], word_limit=40,
        human=HumanSeat(turn_seconds=30, silent_turns=silent_turns),
    )  # fmt: skip
    return Lineup(
        match_id="m-seat", spec=spec,
        pro=Debater("pro", None, None),
        con=Debater("con", lib.persona("stoic"), FunctionModel("test:target")),
        judges=[FunctionModel("test:judge")], max_attempts=1, max_delay=0.0,
        tactic=load_tactics(PERSONAS).tactic("disagree"),
    )  # fmt: skip


async def test_the_seats_text_is_the_challengers_turn() -> None:
    sink = Recorder()
    seat = Seat({1: HUMAN_TEXT, 3: "And yet?"})
    lineup = human_lineup()
    await run_match(lineup, sink, seat=seat)
    done = {e.turn: e for e in sink.events if isinstance(e, TurnCompleted)}
    assert done[1].text == HUMAN_TEXT and done[1].author == "human"
    assert done[3].text == "And yet?" and done[0].author == done[2].author == "model"
    assert seat.opened == [1, 3]
    assert [e.turn for e in sink.events if isinstance(e, Awaiting)] == [1, 3]
    assert sink.events[-1].type == "match_completed"
    # the target answers the person's words as the user's message, unchanged
    target = lineup.con.model
    assert isinstance(target, FunctionModel)
    assert target.requests[1].messages[-1].content == HUMAN_TEXT


@pytest.mark.parametrize("cut_at_token", [1, 4])
async def test_a_crash_mid_human_turn_resumes_it_once(cut_at_token: int) -> None:
    first = Recorder()
    lineup = human_lineup()

    async def crashing(event: Event) -> None:
        tokens = sum(isinstance(e, Token) and e.turn == 1 for e in first.events)
        if isinstance(event, Token) and event.turn == 1 and tokens >= cut_at_token:
            raise RuntimeError("the worker died")
        await first(event)

    with pytest.raises(RuntimeError):
        await run_match(lineup, crashing, seat=Seat({1: HUMAN_TEXT}))
    resumed = Recorder()
    resumed.events = list(first.events)
    await run_match(lineup, resumed, history=first.events, seat=Seat({1: HUMAN_TEXT}))
    events = resumed.events
    assert [e.turn for e in events if isinstance(e, TurnStarted) and e.turn == 1] == [1]
    assert [e.text for e in events if isinstance(e, TurnCompleted) and e.turn == 1] == [HUMAN_TEXT]
    view = fold(events)
    assert view.turns[1].text == HUMAN_TEXT and view.turns[1].author == "human"
    assert view.status == "completed"


async def test_without_a_source_every_turn_is_the_fallbacks() -> None:
    sink = Recorder()
    await run_match(human_lineup(silent_turns=0), sink)
    started = [e for e in sink.events if isinstance(e, TurnStarted)]
    assert [e.author for e in started] == ["model", "fallback", "model", "fallback", "model"]
    assert sink.events[-1].type == "match_completed"
