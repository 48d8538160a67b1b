"""Build lineups from the bundled personas and function-backed models."""

from __future__ import annotations

from pathlib import Path

from arena.domain.events import Event
from arena.domain.personas import Library
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.engine.lineup import Debater, Lineup
from arena.personas.library import load_library
from tests.fakes import FunctionModel

PERSONAS = Path(__file__).resolve().parent.parent / "personas"


def library() -> Library:
    return load_library(PERSONAS)


def lineup(
    pro: FunctionModel | None = None,
    con: FunctionModel | None = None,
    judges: list[FunctionModel] | None = None,
    rounds: int = 1,
    match_id: str = "m-test",
) -> Lineup:
    lib = library()
    pro = pro or FunctionModel("test:pro")
    con = con or FunctionModel("test:con")
    judges = judges or [FunctionModel("test:judge")]
    spec = MatchSpec(
        motion="This house believes that cats are better than dogs.",
        pro=DebaterSpec(persona="pirate", model=pro.name),
        con=DebaterSpec(persona="kantian", model=con.name),
        rounds=rounds,
        judges=[j.name for j in judges],
    )
    return Lineup(
        match_id=match_id,
        spec=spec,
        pro=Debater("pro", lib.persona("pirate"), pro),
        con=Debater("con", lib.persona("kantian"), con),
        judges=list(judges),
        max_attempts=3,
        max_delay=0.01,
    )


class Recorder:
    """An event sink that keeps what it is given; `fail_after` simulates a crash."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.events: list[Event] = []
        self.fail_after = fail_after

    async def __call__(self, event: Event) -> None:
        if self.fail_after is not None and len(self.events) >= self.fail_after:
            raise RuntimeError("simulated crash")
        self.events.append(event.model_copy(update={"id": f"{len(self.events) + 1}-0"}))

    def of_type(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]
