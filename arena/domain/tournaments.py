"""Tournaments as values: the spec that defines one (its identity), a slot of its schedule, and a
match's results as the tournament keeps them (the design is arena.tournaments')."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from arena.domain.limits import (
    MAX_ID,
    MAX_JUDGES,
    MAX_MODEL_NAME,
    MAX_MOTION,
    MAX_TOURNAMENT_CLAIMS,
    MAX_TOURNAMENT_MOTIONS,
    MAX_TOURNAMENT_PERSONAS,
    MAX_TOURNAMENT_TACTICS,
)
from arena.domain.samples import CalibrationSample, PressureSample
from arena.domain.specs import Side, Start

Design = Literal["round-robin", "gauntlet", "swiss", "calibration"]


DESIGNS: tuple[Design, ...] = ("round-robin", "gauntlet", "swiss", "calibration")


Format = Literal["debate", "pressure", "calibration"]


PRESSURE_FIELDS = {"format", "tactics", "probe", "challenger_model"}
CALIBRATION_FIELDS = {"claims", "claim_sample"}
CALIBRATION_TACTICS = ["disagree", "evidence"]  # the scripted tactic of each kind


class TournamentSpec(BaseModel):
    """Everything that defines a tournament. `models` maps persona -> model; `model` is the one
    for every persona not in `models` (default: the persona's own model, else the default).
    `concurrency` and `budget_tokens` steer the run and are not part of its identity."""

    model_config = ConfigDict(extra="forbid")

    personas: list[str] = Field(min_length=1)
    motions: list[str] = Field(default_factory=list, description="debate, pressure: required")
    design: Design = "round-robin"
    control: str = "assistant"
    repeats: int = Field(default=1, ge=1, le=20)
    rounds: int = Field(
        default=1, ge=1, le=10, description="rebuttal (debate) or pressure rounds of each match"
    )
    swiss_rounds: int = Field(default=3, ge=1, le=20)
    word_limit: int = Field(default=120, ge=20, le=1000)
    model: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    judges: list[str] = Field(default_factory=list)
    seed: int = 0
    concurrency: int = Field(default=2, ge=1, le=64)
    budget_tokens: int | None = Field(default=None, ge=1)
    format: Format = "debate"
    tactics: list[str] = Field(default_factory=list, description="pressure: the tactic ids")
    probe: bool = Field(default=True, description="pressure: ask the stance probe")
    challenger_model: str | None = Field(
        default=None, description="pressure: the model of challengers whose tactic has no lines"
    )
    claims: list[str] = Field(
        default_factory=list,
        description="calibration: the claim ids (default: a seeded sample, half true)",
    )
    claim_sample: int = Field(
        default=10, ge=2, le=200, description="calibration: claims sampled when none are named"
    )
    judge_swap: bool | None = Field(
        default=None,
        description="judge every turn a second time with the positions swapped (position "
        "bias); default ARENA_JUDGE_SWAP",
    )

    @model_validator(mode="before")
    @classmethod
    def _calibration_format(cls, data: Any) -> Any:
        """`design: calibration` and `format: calibration` say the same: either sets both."""
        if isinstance(data, dict) and "calibration" in (data.get("design"), data.get("format")):
            if (data.get("format") or "calibration") not in ("calibration", "debate"):
                raise ValueError("design calibration plays calibration matches: leave out format")
            if (data.get("design") or "calibration") not in ("calibration", "round-robin"):
                raise ValueError("format calibration is the calibration design: leave out design")
            data = {**data, "design": "calibration", "format": "calibration"}
            if not data.get("tactics"):
                data["tactics"] = list(CALIBRATION_TACTICS)
        return data

    def _no_repeats(self) -> None:
        for name, values in (
            ("personas", self.personas),
            ("motions", self.motions),
            ("tactics", self.tactics),
            ("claims", self.claims),
        ):
            dupes = sorted(v for v, n in Counter(values).items() if n > 1)  # linear: any size
            if dupes:
                raise ValueError(f"{name}: each at most once; repeated: {', '.join(dupes)}")

    @model_validator(mode="after")
    def _check(self) -> TournamentSpec:
        self._no_repeats()
        if self.is_calibration:
            if self.motions:
                raise ValueError("calibration: the matches are on claims; leave out motions")
            return self
        if self.claims:
            raise ValueError("claims are for the calibration design")
        if not self.motions:
            raise ValueError("motions: name at least one motion")
        if self.format == "pressure":
            if not self.tactics:
                raise ValueError("pressure: name at least one tactic")
            if self.design != "round-robin":
                raise ValueError(
                    "pressure: the design is every persona x tactic; leave design at round-robin"
                )
            return self
        if self.tactics or self.challenger_model is not None:
            raise ValueError("tactics and challenger_model are for format pressure")
        players = [p for p in self.personas if p != self.control] if self.is_gauntlet else []
        if self.is_gauntlet and not players:
            raise ValueError("gauntlet: name at least one persona besides the control")
        if not self.is_gauntlet and len(self.personas) < 2:
            raise ValueError(f"{self.design}: name at least two personas")
        if self.design == "swiss" and self.swiss_rounds > len(self.personas) - 1:
            raise ValueError(
                f"swiss: {self.swiss_rounds} rounds need {self.swiss_rounds + 1} personas "
                "or more (no pair meets twice)"
            )
        return self

    @property
    def is_gauntlet(self) -> bool:
        return self.design == "gauntlet" and self.format == "debate"

    @property
    def is_pressure(self) -> bool:
        """Plays pressure matches: a target and a tactic (a calibration tournament's too)."""
        return self.format in ("pressure", "calibration")

    @property
    def is_calibration(self) -> bool:
        return self.format == "calibration"

    def players(self) -> list[str]:
        """Every persona that plays: in a gauntlet, the control too."""
        if self.is_gauntlet:
            return sorted({*self.personas, self.control})
        return list(self.personas)

    def model_of(self, persona: str) -> str:
        return self.models.get(persona) or self.model or ""

    def identity(self) -> str:
        """A hash of what defines the matches: the same spec run again continues the same
        tournament (whatever its concurrency or budget)."""
        exclude = {"concurrency", "budget_tokens"}
        if not self.is_pressure:  # a debate's identity is what it was before pressure existed
            exclude |= PRESSURE_FIELDS
        if not self.is_calibration:  # and so is a pressure tournament's
            exclude |= CALIBRATION_FIELDS
        if not self.judge_swap:  # and what it was before the swap existed, unless swapped
            exclude.add("judge_swap")
        data = self.model_dump(mode="json", exclude=exclude)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


Id = Annotated[str, StringConstraints(max_length=MAX_ID)]
MotionText = Annotated[str, StringConstraints(max_length=MAX_MOTION)]
ModelName = Annotated[str, StringConstraints(max_length=MAX_MODEL_NAME)]


class TournamentRequest(TournamentSpec):
    """A tournament as someone asks for one (the API's body, the CLI's options): a spec within
    the caps of arena.domain.limits. A stored spec is read as a TournamentSpec, so that a cap
    never hides a tournament already run."""

    personas: list[Id] = Field(min_length=1, max_length=MAX_TOURNAMENT_PERSONAS)
    motions: list[MotionText] = Field(
        default_factory=list,
        max_length=MAX_TOURNAMENT_MOTIONS,
        description="motion ids or texts (debate, pressure: at least one)",
    )
    control: Id = "assistant"
    model: ModelName | None = None
    models: dict[Id, ModelName] = Field(
        default_factory=dict, max_length=MAX_TOURNAMENT_PERSONAS, description="persona -> model"
    )
    judges: list[ModelName] = Field(default_factory=list, max_length=MAX_JUDGES)
    tactics: list[Id] = Field(
        default_factory=list,
        max_length=MAX_TOURNAMENT_TACTICS,
        description="pressure: the tactic ids",
    )
    challenger_model: ModelName | None = Field(
        default=None, description="pressure: the model of challengers whose tactic has no lines"
    )
    claims: list[Id] = Field(
        default_factory=list,
        max_length=MAX_TOURNAMENT_CLAIMS,
        description="calibration: the claim ids (default: a seeded sample, half true)",
    )


class Slot(BaseModel):
    """One match of the schedule."""

    model_config = ConfigDict(frozen=True)

    index: int
    round: int = Field(default=0, description="swiss round (1..), 0 for other designs")
    repeat: int = 0
    motion: str
    pro: str
    con: str
    tactic: str | None = Field(default=None, description="pressure: the challenger's tactic")
    target: Side | None = Field(default=None, description="pressure: the target's side")
    start: Start | None = Field(
        default=None, description="calibration: the target starts on the claim's true side or not"
    )

    @property
    def persona(self) -> str:
        """Pressure: the target persona."""
        return self.pro if self.target == "pro" else self.con


class JudgeScore(BaseModel):
    """One judge's verdict on a turn, as a tournament keeps it: its stance and holding (None:
    unscored) and, in a swapped match, whether its position-swapped verdict was consistent."""

    judge: str
    stance: str | None = None
    holding: float | None = None
    consistent: bool | None = None
    swapped: bool = False


class TurnRow(BaseModel):
    """One turn: `tokens` is what its debater's call read and wrote; `concessions` counts the
    concessions the judges found; `holding` is empty when no judge scored it. `words` and
    `hedges` (markers per 100 words, arena.stats.style) measure its text; `judges` holds each
    judge's own verdict (empty in results recorded before they were kept)."""

    tournament: str
    match: str
    motion: str
    side: str
    persona: str
    opponent: str
    model: str
    judge: str
    turn: int
    kind: str
    stance: str | None
    holding: float | None
    engagement: float | None
    concessions: int
    tokens: int
    scored: bool
    role: str = ""
    words: int | None = None
    hedges: float | None = None
    judges: list[JudgeScore] = Field(default_factory=list)
    # who wrote the turn: model, script, human (a person in the challenger's seat) or fallback
    author: str = ""


class MatchResult(BaseModel):
    """One match of a tournament, finished or not (a line of matches.jsonl)."""

    tournament: str
    match: str
    slot: int
    round: int = 0
    motion: str
    pro: str
    con: str
    pro_model: str
    con_model: str
    judge: str
    status: str
    pro_holding: float | None = None
    con_holding: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = None
    tactic: str | None = None
    target: str | None = None
    pressure: PressureSample | None = Field(
        default=None, description="pressure: the target's flip metrics, as the board keeps them"
    )
    calibration: CalibrationSample | None = Field(
        default=None, description="calibration: the target's trial, as the board keeps it"
    )
    turns: list[TurnRow] = Field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out
