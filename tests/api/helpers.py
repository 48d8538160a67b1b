"""Matches for API tests: created through the store, played by function-backed models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from arena.domain.events import Event, MatchFailed, MatchStarted, Token, TurnStarted
from arena.domain.personas import Library
from arena.domain.records import MatchRecord
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.store import Store
from tests.fakes import FunctionModel, StructuredFn, firm_judge

MOTION = "This house believes that cats are better than dogs."


def spec(rounds: int = 1) -> MatchSpec:
    return MatchSpec(
        motion=MOTION,
        pro=DebaterSpec(persona="pirate", model="local:smollm2"),
        con=DebaterSpec(persona="kantian", model="local:smollm2"),
        rounds=rounds,
        judges=["local:smollm2"],
    )


async def play(
    store: Store,
    library: Library,
    record: MatchRecord,
    judging: Mapping[str, StructuredFn] | None = None,
) -> None:
    """Run the real engine on a stored match, with test models standing in for the spec's: each
    judge a `judging` function by name, tests.fakes.firm_judge by default."""
    s = record.spec
    lineup = Lineup(
        match_id=record.id,
        spec=s,
        pro=Debater("pro", library.persona(s.pro.persona), FunctionModel(s.pro.model)),
        con=Debater("con", library.persona(s.con.persona), FunctionModel(s.con.model)),
        judges=[
            FunctionModel(j, structured_fn=(judging or {}).get(j, firm_judge)) for j in s.judges
        ],
        max_attempts=1,
        max_delay=0.0,
    )
    sink = store.event_sink(record.id)
    await run_match(lineup, sink)
    await sink.flush()


def opening(record: MatchRecord) -> list[Event]:
    """match_started and the start of the first turn."""
    return [
        MatchStarted(match_id=record.id, spec=record.spec, total_turns=record.total_turns),
        TurnStarted(
            match_id=record.id,
            turn=0,
            side="pro",
            kind="opening",
            persona=record.spec.pro.persona,
            model=record.spec.pro.model,
        ),
    ]


def tokens(record: MatchRecord, texts: Iterable[str]) -> list[Event]:
    return [Token(match_id=record.id, turn=0, text=text) for text in texts]


def failed(record: MatchRecord) -> MatchFailed:
    return MatchFailed(match_id=record.id, error="the test ended it", turn=0)


async def emit(store: Store, match_id: str, events: Iterable[Event]) -> list[str]:
    """Append events one entry each; returns their ids. Other events go through the store's
    sink, which keeps the counters and finishes the match as it does for the worker."""
    sink = store.event_sink(match_id)
    ids = []
    for event in events:
        if isinstance(event, Token):  # the sink would merge consecutive tokens
            ids.append(await store.events.append(match_id, event))
        else:
            await sink(event)
            ids.append(await store.events.last_id(match_id))
    return ids
