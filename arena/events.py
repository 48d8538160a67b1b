"""The typed events a match emits. They are the public contract of the streaming API.

The engine emits them to a sink; the store appends them to the match's Redis stream, whose entry
id becomes the event's `id`; the WebSocket and the spectator page read them back unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Side = Literal["pro", "con"]
Stance = Literal["pro", "con", "neutral"]
TurnKind = Literal["opening", "rebuttal", "closing"]


def _now() -> datetime:
    return datetime.now(UTC)


class DebaterSpec(BaseModel):
    """One side of a match: a persona played by a model."""

    model_config = ConfigDict(extra="forbid")

    persona: str
    model: str


class MatchSpec(BaseModel):
    """Everything that defines a match. Stored with the match and echoed in `match_started`."""

    model_config = ConfigDict(extra="forbid")

    motion: str
    motion_id: str | None = None
    pro: DebaterSpec
    con: DebaterSpec
    rounds: int = Field(default=2, ge=1, le=10)
    word_limit: int = Field(default=120, ge=20, le=1000)
    judges: list[str] = Field(default_factory=lambda: ["local:smollm2"], min_length=1)
    seed: int | None = None
    temperature: float | None = None

    def debater(self, side: Side) -> DebaterSpec:
        return self.pro if side == "pro" else self.con


class JudgeVerdict(BaseModel):
    """One judge's verdict on one turn. `scored` is false when the judge gave no valid output."""

    judge: str
    scored: bool = True
    stance: Stance | None = None
    holding: float | None = Field(default=None, ge=0.0, le=1.0)
    concessions: list[str] = Field(default_factory=list)
    engagement: float | None = Field(default=None, ge=0.0, le=1.0)
    rationale: str = ""
    reason: str | None = None
    latency_ms: float | None = None


class Agreement(BaseModel):
    """Chance-corrected agreement between the judges of a panel (None with one judge)."""

    judges: int
    holding_alpha: float | None = None
    stance_kappa: float | None = None
    disputed_turns: list[int] = Field(default_factory=list)


class DebaterMetrics(BaseModel):
    """Position-holding of one debater over one match. Definitions are in the README."""

    side: Side
    persona: str
    model: str
    turns: int
    scored_turns: int
    mean_holding: float | None
    min_holding: float | None
    flip_turn: int | None
    turns_of_firmness: int
    stance_changes: int
    mean_engagement: float | None


class MatchMetrics(BaseModel):
    pro: DebaterMetrics
    con: DebaterMetrics
    judges: list[str]
    agreement: Agreement | None = None


class _Event(BaseModel):
    match_id: str
    ts: datetime = Field(default_factory=_now)
    id: str | None = None


class MatchStarted(_Event):
    type: Literal["match_started"] = "match_started"
    spec: MatchSpec
    total_turns: int


class TurnStarted(_Event):
    type: Literal["turn_started"] = "turn_started"
    turn: int
    side: Side
    kind: TurnKind
    persona: str
    model: str


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


Event = Annotated[
    MatchStarted
    | TurnStarted
    | Token
    | TurnRestarted
    | TurnCompleted
    | Verdict
    | MatchCompleted
    | MatchFailed
    | MatchCancelledEvent,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
TERMINAL_TYPES = frozenset({"match_completed", "match_failed", "match_cancelled"})


def parse_event(data: str | bytes) -> Event:
    return EVENT_ADAPTER.validate_json(data)
