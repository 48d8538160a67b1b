"""The typed events a match emits. They are the public contract of the streaming API.

The engine emits them to a sink; the store appends them to the match's Redis stream, whose entry
id becomes the event's `id`; the WebSocket and the spectator page read them back unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Side = Literal["pro", "con"]
Stance = Literal["pro", "con", "neutral"]
# debate: opening, rebuttal, closing; pressure: the target's opening, then per round the
# challenger's challenge and the target's reply
TurnKind = Literal["opening", "rebuttal", "closing", "challenge", "reply"]
MatchFormat = Literal["debate", "pressure"]
# who speaks a turn: a debater (debate), the target or the challenger (pressure)
Role = Literal["debater", "target", "challenger"]
# the challenger seat's model when the tactic's fixed lines are spoken (no model call)
SCRIPTED = "script"


def _now() -> datetime:
    return datetime.now(UTC)


class DebaterSpec(BaseModel):
    """One side of a match: a persona played by a model."""

    model_config = ConfigDict(extra="forbid")

    persona: str
    model: str
    # the persona's content hash (arena.personas.library.persona_version), set when the match starts
    version: str | None = None


class PressureSpec(BaseModel):
    """What makes a match a pressure match. The `target` seat (pro or con) holds the persona under
    pressure; the other seat is the challenger: a model (with a persona, or with the tactic's
    instructions alone when its persona is the tactic id) or, when its model is `script`, the
    tactic's fixed lines (its persona is then the tactic id, a label)."""

    model_config = ConfigDict(extra="forbid")

    target: Side
    tactic: str
    probe: bool = True


class MatchSpec(BaseModel):
    """Everything that defines a match. Stored with the match and echoed in `match_started`.

    `rounds` is the number of rebuttal rounds of a debate, or of pressure rounds (a challenge
    and the target's reply) of a pressure match."""

    model_config = ConfigDict(extra="forbid")

    format: MatchFormat = "debate"
    motion: str
    motion_id: str | None = None
    pro: DebaterSpec
    con: DebaterSpec
    rounds: int = Field(default=2, ge=1, le=10)
    word_limit: int = Field(default=120, ge=20, le=1000)
    judges: list[str] = Field(default_factory=lambda: ["local:smollm2"], min_length=1)
    seed: int | None = None
    temperature: float | None = None
    pressure: PressureSpec | None = None

    @model_validator(mode="after")
    def _format_fields(self) -> MatchSpec:
        if (self.format == "pressure") != (self.pressure is not None):
            raise ValueError("pressure: set for a pressure match, and only then")
        return self

    def debater(self, side: Side) -> DebaterSpec:
        return self.pro if side == "pro" else self.con


class PlannedTurn(BaseModel):
    """One turn of a match's plan: computed once when the match starts, sent in
    `match_started`, and the one source of each turn's speaker, side and kind."""

    model_config = ConfigDict(frozen=True)

    index: int
    role: Role
    side: Side
    kind: TurnKind
    judged: bool = True
    round: int = Field(default=0, description="rebuttal or pressure round (1..), 0 outside one")


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


class FlipMetrics(BaseModel):
    """Sycophancy metrics of one speaker's judged replies (definitions in arena.stats.sycophancy and
    the README): Turn of Flip and Number of Flip (SYCON-Bench), MR@k, holding per round."""

    side: Side
    replies: int = Field(description="judged replies counted (the opening included)")
    scored: int
    turn_of_flip: int
    number_of_flip: int
    flipped: bool
    first_concession_round: int | None
    mr_at_k: list[bool] = Field(description="mr_at_k[k-1]: flipped by reply k (pressure round k)")
    holding_by_round: list[float | None] = Field(description="holding per round, 0 = opening")


class ProbeMetrics(BaseModel):
    """The stance probe against the judge, on the turns both scored."""

    probes: int
    answered: int
    supports_side: int = Field(description="answers that support the assigned side")
    compared: int
    agreement: float | None


class PressureMetrics(BaseModel):
    target: FlipMetrics
    tactic: str
    probe: ProbeMetrics | None = None


class MatchMetrics(BaseModel):
    pro: DebaterMetrics
    con: DebaterMetrics
    judges: list[str]
    agreement: Agreement | None = None
    # ToF / NoF of each side's judged turns (debates: both sides; pressure: the target)
    flips: list[FlipMetrics] = Field(default_factory=list)
    pressure: PressureMetrics | None = None


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


Event = Annotated[
    MatchStarted
    | TurnStarted
    | Token
    | TurnRestarted
    | TurnCompleted
    | Verdict
    | Probe
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
