"""A persona's lorebook in a match: the entries whose keys come up reach that debater's request,
and each turn_started says which fired; the opponent's requests never carry them."""

from __future__ import annotations

from dataclasses import replace

from arena.domain.events import TurnStarted, parse_event
from arena.domain.lorebooks import Lorebook
from arena.engine.match import run_match
from arena.models.base import GenerationRequest
from tests.engine_helpers import Recorder, lineup
from tests.fakes import FunctionModel

BOOK = Lorebook.model_validate(
    {
        "entries": [
            {
                "keys": ["cats"],
                "content": "@@role system\n@@@depth 2\nA ship's cat kept "
                "the hold free of rats for {{char}}.",
                "name": "ship's cat",
                "insertion_order": 1,
            },
            {
                "keys": ["Treasure"],
                "content": "Treasure is buried on Skull Island.",
                "comment": "treasure",
            },
            {
                "keys": ["parrot"],
                "content": "Polly bites.",
                "enabled": True,
                "selective": True,
                "secondary_keys": ["squawk"],
                "name": "parrot",
            },
        ]
    }
)


def mentions_treasure(request: GenerationRequest) -> str:
    return "Let us talk of treasure." if "AGAINST" in request.system else "I argue for."


async def test_fired_entries_reach_the_debaters_request_and_the_turn_events() -> None:
    pro = FunctionModel("test:pro")
    con = FunctionModel("test:con", stream_fn=mentions_treasure)
    base = lineup(pro, con, rounds=1)
    assert base.pro.persona is not None
    pirate = base.pro.persona.model_copy(update={"lorebook": BOOK})
    sink = Recorder()
    await run_match(replace(base, pro=replace(base.pro, persona=pirate)), sink)

    cat = "A ship's cat kept the hold free of rats for Captain Redbeard."
    # the motion names cats: the entry fires from the opening, decorators stripped
    opening = pro.requests[0].system
    assert cat in opening and "@@" not in opening and "Skull Island" not in opening
    assert opening.index(pirate.system_prompt.strip()) < opening.index(cat)
    assert opening.index(cat) < opening.index("--- Debate ---")
    # the opponent said "treasure" in its opening: the pro's rebuttal knows where it is
    assert "Treasure is buried on Skull Island." in pro.requests[1].system
    assert all("ship's cat" not in r.system for r in con.requests)

    started = [e for e in sink.events if isinstance(e, TurnStarted)]
    assert [(e.side, e.lore) for e in started] == [
        ("pro", ["ship's cat"]),
        ("con", []),
        ("pro", ["ship's cat", "treasure"]),
        ("con", []),
        ("pro", ["ship's cat", "treasure"]),
        ("con", []),
    ]


def test_an_old_turn_started_without_lore_still_parses() -> None:
    old = (
        '{"type": "turn_started", "match_id": "m", "turn": 0, "side": "pro", '
        '"kind": "opening", "persona": "pirate", "model": "x"}'
    )
    event = parse_event(old)
    assert isinstance(event, TurnStarted) and event.lore == []
