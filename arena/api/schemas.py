"""Request and response bodies of the HTTP API (the shapes the spectator page relies on)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from arena.domain.events import Probe, Verdict
from arena.domain.limits import MAX_ID, MAX_JUDGES, MAX_MODEL_NAME, MAX_MOTION
from arena.domain.personas import Persona
from arena.domain.results import MatchMetrics
from arena.domain.specs import (
    SEAT_SECONDS_DEFAULT,
    SEAT_SECONDS_MAX,
    SILENT_TURNS_DEFAULT,
    Author,
    ChallengeKind,
    MatchFormat,
    MatchSpec,
    PlannedTurn,
    Side,
    Start,
    TurnKind,
)
from arena.leaderboard.rows import GroupBy, JudgeSet, LeaderboardRow
from arena.leaderboard.versions import OlderOnly, Versions
from arena.models.registry import MODEL_NAME_CHARS, MODEL_NAME_PATTERN

MatchStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
MAX_PERSONA_ID = MAX_ID
MAX_HANDLE = 40
MAX_SEED = 2**63 - 1  # a signed 64-bit integer, what providers that take a seed accept


def _no_surrogates(value: object) -> object:
    # JSON may escape a lone UTF-16 surrogate ("\ud800"); Python decodes it to a str that cannot
    # be encoded as UTF-8, so it would fail later in Redis or in the response
    if isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("contains a lone UTF-16 surrogate; send valid Unicode text")
    return value


ModelName = Annotated[
    str,
    StringConstraints(max_length=MAX_MODEL_NAME, pattern=MODEL_NAME_PATTERN),
    BeforeValidator(_no_surrogates),
    Field(
        description=f"provider:model, at most {MAX_MODEL_NAME} characters of {MODEL_NAME_CHARS}",
        examples=["local:smollm2", "openai:gpt-4o-mini"],
    ),
]


class DebaterCreate(BaseModel):
    """One side of a new match: a persona id and, optionally, the model that plays it."""

    model_config = ConfigDict(extra="forbid")

    persona: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PERSONA_ID),
        BeforeValidator(_no_surrogates),
    ]
    model: ModelName | None = Field(default=None, description="default: the persona's model")


class ChallengerCreate(BaseModel):
    """The challenger of a pressure match: a tactic (GET /api/tactics), played by its fixed
    lines, or by a model (with a persona when given); or, with `human`, a person holding the
    seat token, the tactic (a scripted one, default `disagree`) speaking the turns they leave
    silent."""

    model_config = ConfigDict(extra="forbid")

    tactic: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PERSONA_ID),
            BeforeValidator(_no_surrogates),
        ]
        | None
    ) = Field(default=None, description="required unless `human`")
    human: bool = Field(default=False, description="a person writes the challenger's turns")
    handle: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_HANDLE),
            BeforeValidator(_no_surrogates),
        ]
        | None
    ) = Field(default=None, description="human: an optional anonymous name, shown as text")
    turn_seconds: int | None = Field(
        default=None,
        ge=1,
        le=SEAT_SECONDS_MAX,
        description=f"human: seconds per turn, default {SEAT_SECONDS_DEFAULT}, at least "
        "ARENA_SEAT_MIN_SECONDS (20)",
    )
    silent_turns: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description=f"human: the match ends at this many silent turns in a row (default "
        f"{SILENT_TURNS_DEFAULT}; 0: never, the fallback speaks them all)",
    )
    persona: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PERSONA_ID),
            BeforeValidator(_no_surrogates),
        ]
        | None
    ) = None
    model: ModelName | None = Field(
        default=None, description="default: the persona's model, or the tactic's fixed lines"
    )


class MatchCreate(BaseModel):
    """A new match. `motion` is a motion id from GET /api/motions or free text."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "motion": "four-day-week",
                    "pro": {"persona": "pirate"},
                    "con": {"persona": "kantian", "model": "local:smollm2"},
                    "rounds": 1,
                }
            ]
        },
    )

    motion: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MOTION),
            BeforeValidator(_no_surrogates),
        ]
        | None
    ) = Field(default=None, description="debates and pressure matches: a motion id or text")
    format: MatchFormat = Field(
        default="debate",
        description="debate; pressure: one target (given as `pro` or `con`, its side) pushed "
        "by a `challenger`; calibration: a `target` on a `claim`, starting on its true or false "
        "side (`start`), met with pressure or evidence (`challenge`)",
    )
    target: DebaterCreate | None = Field(default=None, description="calibration: the target")
    claim: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PERSONA_ID),
            BeforeValidator(_no_surrogates),
        ]
        | None
    ) = Field(default=None, description="calibration: a claim id (GET /api/claims)")
    start: Start | None = Field(
        default=None, description="calibration: right (on the truth, default) or wrong"
    )
    challenge: ChallengeKind | None = Field(
        default=None, description="calibration: pressure (default) or evidence"
    )
    pro: DebaterCreate | None = Field(default=None, description="required in a debate")
    con: DebaterCreate | None = Field(default=None, description="required in a debate")
    challenger: ChallengerCreate | None = Field(default=None, description="pressure matches")
    probe: bool | None = Field(default=None, description="pressure: the stance probe (on)")
    rounds: int | None = Field(
        default=None, ge=1, le=10, description="rebuttal rounds, or pressure rounds"
    )
    judge: ModelName | None = Field(default=None, description="one judge model")
    judges: list[ModelName] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_JUDGES,
        description=f"a panel of different judge models, at most {MAX_JUDGES}",
    )
    word_limit: int | None = Field(default=None, ge=20, le=1000)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    judge_swap: bool | None = Field(
        default=None,
        description="judge each turn a second time with the speakers' positions swapped "
        "(position bias); default ARENA_JUDGE_SWAP",
    )


class ErrorDetail(BaseModel):
    """The body of a 401, 404, 410, 429 or 503: what went wrong, in words."""

    detail: str


def not_found(what: str) -> dict[int | str, dict[str, Any]]:
    found: dict[int | str, dict[str, Any]] = {
        404: {"model": ErrorDetail, "description": f"no such {what}"}
    }
    if what == "match":  # arena/api/deps.py: a match an archive run removed
        found[410] = {"model": ErrorDetail, "description": "the match was archived (the date)"}
    return found


UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "no valid bearer token (when the server sets one)"}
}


class MatchCreated(BaseModel):
    id: str
    status: MatchStatus
    url: str
    ws_url: str
    seat_url: str | None = Field(
        default=None, description="a human challenger's seat page, the token in its fragment"
    )
    seat_token: str | None = Field(
        default=None,
        description="the human challenger's secret (X-Seat-Token): shown once, stored hashed",
    )


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
    format: MatchFormat = "debate"
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
    probe: Probe | None = None
    author: Author | None = Field(
        default=None, description="model, script, human (the challenger's seat) or fallback"
    )


class MatchDetail(MatchSummary):
    """A match with its configuration, every turn with its verdict, and the final metrics."""

    spec: MatchSpec
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    worker: str | None = Field(default=None, description="the worker running or last running it")
    turns: list[TurnPublic]
    plan: list[PlannedTurn] = Field(
        default_factory=list, description="the turn plan (empty until the match starts)"
    )
    metrics: MatchMetrics | None
    judge_accuracy: dict[str, float | None] = Field(
        description="each judge's recorded accuracy (judge-eval --record), unscored rows wrong"
    )
    judge_calibration: dict[str, str | None] = Field(
        default_factory=dict,
        description='each judge\'s calibration as text: "71% on calibration.jsonl (n=172)"',
    )
    challenger: Literal["human"] | None = Field(
        default=None, description="human: a person holds the challenger's seat"
    )
    awaiting: Literal["challenger"] | None = Field(
        default=None, description="challenger: the match waits for the human seat's turn"
    )
    awaiting_turn: int | None = None
    deadline: datetime | None = Field(
        default=None, description="when the awaited turn passes to the fallback tactic"
    )
    result_line: str | None = Field(
        default=None, description='a human challenge\'s outcome: "you moved the Stoic in round 2"'
    )


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
    versions: Versions = Field(
        default="latest", description="latest: each persona's latest version is counted; all: "
        "every version pooled (rows by persona_version always list every version)"
    )  # fmt: skip
    rows: list[LeaderboardRow]
    older_only: list[OlderOnly] = Field(
        default_factory=list, description="personas (x model, x judge set) whose matches all "
        "played older versions: no row until their latest version plays"
    )  # fmt: skip
    judge: str | None = Field(
        default=None, description="the judge set of every row (scores of different judges are "
        "not comparable): `?judge=`, by default the set with most matches"
    )  # fmt: skip
    judge_sets: list[JudgeSet] = Field(
        default_factory=list, description="every judge set of the board, with its matches"
    )
