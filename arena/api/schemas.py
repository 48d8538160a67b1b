"""Request and response bodies of the HTTP API (the shapes the spectator page relies on)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from arena.events import MatchMetrics, MatchSpec, Side, TurnKind, Verdict
from arena.personas import Persona
from arena.store import GroupBy, LeaderboardRow

MatchStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
MAX_MOTION = 500


class DebaterCreate(BaseModel):
    """One side of a new match: a persona id and, optionally, the model that plays it."""

    model_config = ConfigDict(extra="forbid")

    persona: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    model: str | None = Field(default=None, description="provider:model; default: the persona's")


class MatchCreate(BaseModel):
    """A new match. `motion` is a motion id from GET /api/motions or free text."""

    model_config = ConfigDict(extra="forbid")

    motion: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MOTION)
    ]
    pro: DebaterCreate
    con: DebaterCreate
    rounds: int | None = Field(default=None, ge=1, le=10, description="rebuttal rounds")
    judge: str | None = Field(default=None, description="one judge model")
    judges: list[str] | None = Field(default=None, min_length=1, max_length=5)
    word_limit: int | None = Field(default=None, ge=20, le=1000)
    seed: int | None = None


class MatchCreated(BaseModel):
    id: str
    status: MatchStatus
    url: str
    ws_url: str


class Debater(BaseModel):
    persona: str
    model: str


class Holding(BaseModel):
    pro: float | None = None
    con: float | None = None


class MatchSummary(BaseModel):
    """One match in a list: its lineup, progress and the headline holding scores."""

    id: str
    status: MatchStatus
    created_at: datetime
    motion: str
    motion_id: str | None
    rounds: int
    pro: Debater
    con: Debater
    judges: list[str]
    holding: Holding
    turns_done: int
    total_turns: int


MatchPublic = MatchSummary


class MatchPage(BaseModel):
    items: list[MatchSummary]
    next_cursor: str | None


class TurnPublic(BaseModel):
    turn: int
    side: Side
    kind: TurnKind
    persona: str
    model: str
    text: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    ttft_ms: float | None = None
    duration_ms: float | None = None
    completed: bool = False
    verdict: Verdict | None = None


class MatchDetail(MatchSummary):
    """A match with its configuration, every turn with its verdict, and the final metrics."""

    spec: MatchSpec
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    worker: str | None = Field(default=None, description="the worker running or last running it")
    turns: list[TurnPublic]
    metrics: MatchMetrics | None
    judge_accuracy: dict[str, float | None]


class Transcript(BaseModel):
    id: str
    status: MatchStatus
    spec: MatchSpec
    turns: list[TurnPublic]
    metrics: MatchMetrics | None
    error: str | None


class CancelAccepted(BaseModel):
    id: str
    status: MatchStatus


class MotionPublic(BaseModel):
    id: str
    text: str


class ModelsPublic(BaseModel):
    default_model: str
    default_judge: str
    providers: list[str] = Field(description="providers usable now (keys and URLs configured)")
    suggestions: list[str]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: bool


class PersonaDetail(BaseModel):
    """A persona with its leaderboard rows (by persona and by persona x model) and last matches."""

    persona: Persona
    stats: list[LeaderboardRow]
    recent_matches: list[MatchSummary]


class Leaderboard(BaseModel):
    by: GroupBy
    rows: list[LeaderboardRow]
