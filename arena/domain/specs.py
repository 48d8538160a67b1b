"""What defines a match: its seats, its format and its turn plan. Stored with the match and
echoed in `match_started`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Side = Literal["pro", "con"]


Stance = Literal["pro", "con", "neutral"]


# debate: opening, rebuttal, closing; pressure: the target's opening, then per round the
# challenger's challenge and the target's reply
TurnKind = Literal["opening", "rebuttal", "closing", "challenge", "reply"]


# calibration: a pressure match on a factual claim whose truth is known (CalibrationSpec)
MatchFormat = Literal["debate", "pressure", "calibration"]
# where a calibration match's target starts: on the claim's true side, or its false one
Start = Literal["right", "wrong"]
# pressure: no new information (social tactics); evidence: new, correct information
ChallengeKind = Literal["pressure", "evidence"]
# the tactic a calibration match uses when none is named: the scripted one of the kind
DEFAULT_TACTIC: dict[ChallengeKind, str] = {"pressure": "disagree", "evidence": "evidence"}


# who speaks a turn: a debater (debate), the target or the challenger (pressure)
Role = Literal["debater", "target", "challenger"]


# the challenger seat's model when the tactic's fixed lines are spoken (no model call)
SCRIPTED = "script"
# the challenger seat's model when a person writes its turns (PressureSpec.human)
HUMAN = "human"

# who wrote a turn's text: a model, a tactic's fixed lines, a person in the challenger's seat,
# or the match's fallback tactic speaking a human turn the seat left silent
Author = Literal["model", "script", "human", "fallback"]

# a human challenger's seconds per turn (the lower bound: settings.seat_min_seconds)
SEAT_SECONDS_MAX = 600
SEAT_SECONDS_DEFAULT = 120
SILENT_TURNS_DEFAULT = 2


class DebaterSpec(BaseModel):
    """One side of a match: a persona played by a model."""

    model_config = ConfigDict(extra="forbid")

    persona: str
    model: str
    # the persona's content hash (arena.personas.library.persona_version), set when the match starts
    version: str | None = None


class HumanSeat(BaseModel):
    """A person in the challenger's seat: they write its turns within `turn_seconds` each. A
    turn left silent is spoken by the fallback tactic (PressureSpec.tactic, scripted); the
    `silent_turns`-th silent turn in a row ends the match instead (0: never)."""

    model_config = ConfigDict(extra="forbid")

    handle: str | None = Field(default=None, description="an optional anonymous name")
    turn_seconds: int = Field(default=SEAT_SECONDS_DEFAULT, ge=1, le=SEAT_SECONDS_MAX)
    silent_turns: int = Field(default=SILENT_TURNS_DEFAULT, ge=0, le=10)


class PressureSpec(BaseModel):
    """What makes a match a pressure match. The `target` seat (pro or con) holds the persona under
    pressure; the other seat is the challenger: a model (with a persona, or with the tactic's
    instructions alone when its persona is the tactic id) or, when its model is `script`, the
    tactic's fixed lines (its persona is then the tactic id, a label)."""

    model_config = ConfigDict(extra="forbid")

    target: Side
    tactic: str
    probe: bool = True
    human: HumanSeat | None = Field(
        default=None, description="a person writes the challenger's turns; `tactic` falls back"
    )


class CalibrationSpec(BaseModel):
    """What makes a pressure match a calibration match: the motion is a factual claim whose
    truth is known (personas/claims.yaml), the target starts on its true side (`right`) or its
    false one (`wrong`), and the challenge brings no new information (`pressure`) or the claim's
    correct evidence (`evidence`). A flip from a right start is regressive (away from the truth),
    from a wrong start progressive (toward it)."""

    model_config = ConfigDict(extra="forbid")

    claim: str
    truth: bool
    start: Start
    challenge: ChallengeKind
    evidence: str = Field(default="", description="the claim's evidence text, for the challenger")


def calibration_side(truth: bool, start: Start) -> Side:
    """The side of the claim a target starting `start` argues: pro means 'the claim is true'."""
    return "pro" if truth == (start == "right") else "con"


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
    judges: list[str] = Field(
        min_length=1,
        description="the judge panel, settings.default_judge when a request names none",
    )
    seed: int | None = None
    temperature: float | None = None
    pressure: PressureSpec | None = None
    calibration: CalibrationSpec | None = None
    judge_swap: bool = Field(
        default=False,
        description="judge each turn a second time with the speakers' positions swapped, to "
        "measure each judge's position bias (docs: Judge bias controls)",
    )

    @model_validator(mode="after")
    def _format_fields(self) -> MatchSpec:
        if (self.format in ("pressure", "calibration")) != (self.pressure is not None):
            raise ValueError("pressure: set for a pressure or calibration match, and only then")
        if (self.format == "calibration") != (self.calibration is not None):
            raise ValueError("calibration: set for a calibration match, and only then")
        if self.calibration is not None and self.pressure is not None:
            c = self.calibration
            if self.pressure.target != calibration_side(c.truth, c.start):
                raise ValueError(
                    f"calibration: a target starting {c.start} on a "
                    f"{'true' if c.truth else 'false'} claim argues "
                    f"{calibration_side(c.truth, c.start)}, not {self.pressure.target}"
                )
        return self

    def debater(self, side: Side) -> DebaterSpec:
        return self.pro if side == "pro" else self.con

    @property
    def human(self) -> HumanSeat | None:
        """The human challenger's seat of a pressure match, if a person holds it."""
        return self.pressure.human if self.pressure is not None else None


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


def pressure_spec(
    *,
    motion: str,
    motion_id: str | None,
    target: DebaterSpec,
    side: Side,
    tactic: str,
    rounds: int,
    challenger_persona: str | None,
    challenger_model: str | None,
    probe: bool,
    judges: list[str],
    word_limit: int,
    seed: int | None = None,
    calibration: CalibrationSpec | None = None,
    judge_swap: bool = False,
    human: HumanSeat | None = None,
) -> MatchSpec:
    """The spec of a pressure match (with `calibration`, a calibration match on a claim): the
    target in the seat of its side, the challenger in the
    other (a model, with a persona or the tactic id for none; or `script`, the tactic's lines)."""
    challenger = DebaterSpec(
        persona=challenger_persona or tactic,
        model=HUMAN if human is not None else challenger_model or SCRIPTED,
    )
    seats = {side: target, ("con" if side == "pro" else "pro"): challenger}
    return MatchSpec(
        format="pressure" if calibration is None else "calibration",
        motion=motion,
        motion_id=motion_id,
        pro=seats["pro"],
        con=seats["con"],
        rounds=rounds,
        word_limit=word_limit,
        judges=judges,
        seed=seed,
        pressure=PressureSpec(target=side, tactic=tactic, probe=probe, human=human),
        calibration=calibration,
        judge_swap=judge_swap,
    )
