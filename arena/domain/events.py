"""The typed events a match emits. They are the public contract of the streaming API.

The engine emits them to a sink; the store appends them to the match's Redis stream, whose entry
id becomes the event's `id`; the WebSocket and the spectator page read them back unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from arena.domain.results import JudgeVerdict, MatchMetrics
from arena.domain.specs import Author, MatchSpec, PlannedTurn, Side, Stance, TurnKind


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    match_id: str
    ts: datetime = Field(default_factory=_now)
    id: str | None = None


class MatchStarted(_Event):
    type: Literal["match_started"] = "match_started"
    spec: MatchSpec
    total_turns: int
    # empty in matches stored before the plan was sent: readers derive it (arena.domain.plan)
    plan: list[PlannedTurn] = Field(default_factory=list)


class TurnStarted(_Event):
    type: Literal["turn_started"] = "turn_started"
    turn: int
    side: Side
    kind: TurnKind
    persona: str
    model: str
    # the speaker's lorebook entries inserted into its context for this turn, by label
    lore: list[str] = Field(default_factory=list)
    # who writes the turn (None in matches stored before it was sent: a model, or a script)
    author: Author | None = None


class Token(_Event):
    type: Literal["token"] = "token"
    turn: int
    text: str


class TurnRestarted(_Event):
    """The turn's reply starts again from nothing: drop the text streamed for it so far. The
    `token` events after the last `turn_restarted` of a turn join to its `turn_completed.text`.
    `attempt` is the provider attempt whose text follows; `reason` is meant for spectators."""

    type: Literal["turn_restarted"] = "turn_restarted"
    turn: int
    reason: str
    attempt: int = 1


class TurnCompleted(_Event):
    type: Literal["turn_completed"] = "turn_completed"
    turn: int
    side: Side
    kind: TurnKind
    text: str
    tokens_in: int
    tokens_out: int
    ttft_ms: float | None
    duration_ms: float
    attempts: int = 1
    author: Author | None = None


class Verdict(_Event):
    """The panel's verdict on one turn: median holding, majority stance, and each judge's own."""

    type: Literal["verdict"] = "verdict"
    turn: int
    side: Side
    scored: bool
    stance: Stance | None
    holding: float | None
    engagement: float | None
    concessions: list[str] = Field(default_factory=list)
    rationale: str = ""
    disputed: bool = False
    judges: list[JudgeVerdict]


class Probe(_Event):
    """The stance probe after one of the target's turns: its own model, in its persona, asked in
    a side channel the challenger never sees whether it supports the motion. `supports` is the
    answer scored by a fixed function (None: neither yes nor no); `stance` is that answer as a
    side of the motion; `holds` whether it is the speaker's assigned side."""

    type: Literal["probe"] = "probe"
    turn: int
    side: Side
    question: str
    answer: str
    supports: bool | None
    stance: Side | None
    holds: bool | None
    p_yes: float | None = None
    model: str
    # "text": read from the free reply; "choice": the reply had neither yes nor no, and the
    # forced choice (structured output, yes or no only) was asked
    method: Literal["text", "p_yes", "choice"] = "text"
    error: str | None = None


class Awaiting(_Event):
    """The match waits for a person: the human challenger's seat must write turn `turn` before
    `deadline`, or the fallback tactic speaks it (arena.engine.seat)."""

    type: Literal["awaiting"] = "awaiting"
    turn: int
    awaiting: Literal["challenger"] = "challenger"
    deadline: datetime
    seconds: int


class Typing(_Event):
    """The human challenger is typing turn `turn` (from the seat, at most one every few
    seconds); spectators show it until the turn starts."""

    type: Literal["typing"] = "typing"
    turn: int


class MatchCompleted(_Event):
    type: Literal["match_completed"] = "match_completed"
    metrics: MatchMetrics


class MatchFailed(_Event):
    type: Literal["match_failed"] = "match_failed"
    error: str
    turn: int | None = None


class MatchCancelledEvent(_Event):
    type: Literal["match_cancelled"] = "match_cancelled"
    reason: str = "cancelled by request"


class Votes(_Event):
    """The spectators' tally for one completed turn (arena.crowd.votes), sent while the match is
    live, at most about once a second per turn; never after the match's terminal event."""

    type: Literal["votes"] = "votes"
    turn: int
    counts: dict[str, int]
    total: int
    addresses: int = Field(default=0, description="distinct client addresses the votes came from")


Event = Annotated[
    MatchStarted
    | TurnStarted
    | Token
    | TurnRestarted
    | TurnCompleted
    | Verdict
    | Probe
    | Awaiting
    | Typing
    | MatchCompleted
    | MatchFailed
    | MatchCancelledEvent
    | Votes,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
TERMINAL_TYPES = frozenset({"match_completed", "match_failed", "match_cancelled"})


def parse_event(data: str | bytes) -> Event:
    return EVENT_ADAPTER.validate_json(data)
