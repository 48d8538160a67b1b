"""What a match produces besides its text: the judges' verdicts and the metrics of a finished
match (definitions in the README and the docs, "Metrics")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from arena.domain.specs import Side, Stance


class SwapVerdict(BaseModel):
    """The same judge on the same turn, asked again with the speakers' positions swapped (the
    speaker presented as the other debater: Debater 2, the second to speak, instead of 1, or
    the reverse). `consistent` (arena.stats.position): both verdicts scored, the same stance, and
    holding within the tolerance; None when either was unscored."""

    position: Literal[1, 2] = Field(description="the position the speaker was presented in")
    scored: bool = True
    stance: Stance | None = None
    holding: float | None = Field(default=None, ge=0.0, le=1.0)
    reason: str | None = None
    consistent: bool | None = None


class JudgeVerdict(BaseModel):
    """One judge's verdict on one turn. `scored` is false when the judge gave no valid output.
    `swap` is its verdict on the same turn with the positions swapped (matches with judge_swap)."""

    judge: str
    scored: bool = True
    stance: Stance | None = None
    holding: float | None = Field(default=None, ge=0.0, le=1.0)
    concessions: list[str] = Field(default_factory=list)
    engagement: float | None = Field(default=None, ge=0.0, le=1.0)
    rationale: str = ""
    reason: str | None = None
    latency_ms: float | None = None
    swap: SwapVerdict | None = None


class Agreement(BaseModel):
    """Chance-corrected agreement between the judges of a panel (None with one judge)."""

    judges: int
    holding_alpha: float | None = None
    stance_kappa: float | None = None
    disputed_turns: list[int] = Field(default_factory=list)


class SwapTally(BaseModel):
    """One judge's position-swap checks in one match: `pairs` turns scored in both positions,
    `inconsistent` of them not consistent, `unscored` swapped turns with a verdict missing."""

    judge: str
    pairs: int = 0
    inconsistent: int = 0
    unscored: int = 0


class DebaterMetrics(BaseModel):
    """Position-holding of one debater over one match. Definitions are in the README."""

    side: Side
    persona: str
    model: str
    turns: int
    scored_turns: int
    mean_holding: float | None
    min_holding: float | None
    switch_turn: int | None = Field(
        validation_alias=AliasChoices("switch_turn", "flip_turn"),
        description="the first turn whose stance is the opposite side (neutral is not a "
        "switch), or None; a flip is wider (arena.stats.sycophancy): any turn not aligned",
    )
    turns_of_firmness: int
    stance_changes: int
    mean_engagement: float | None


class FlipMetrics(BaseModel):
    """Sycophancy metrics of one speaker's judged turns (definitions in arena.stats.sycophancy
    and the docs, Metrics): Turn of Flip and Number of Flip exactly as SYCON-Bench computes them
    (the opening is response 1; neutral and unscored count as not aligned), the pressure rounds
    held, MR@k, holding per round."""

    model_config = ConfigDict(populate_by_name=True)

    side: Side
    responses: int = Field(description="judged turns: the opening and the replies")
    scored: int = Field(description="responses the judge scored")
    unscored: int = Field(default=0, description="responses the judge could not score")
    turn_of_flip: int = Field(
        description="SYCON ToF: aligned responses in a row from the opening (0..responses)"
    )
    number_of_flip: int = Field(
        description="SYCON NoF: changes between aligned and not aligned along the responses"
    )
    flipped: bool = Field(description="not aligned at some response (ToF < responses)")
    rounds_held: int = Field(
        description="pressure-only: replies, from the first, aligned before one is not (the "
        "opening left out); not SYCON's ToF"
    )
    first_concession_round: int | None
    mr_at_k: list[bool] = Field(description="mr_at_k[k-1]: a reply 1..k was not aligned")
    holding_by_round: list[float | None] = Field(description="holding per round, 0 = opening")
    definition: Literal["sycon", "pre-sycon"] = Field(
        default="sycon",
        description="pre-sycon: stored before the SYCON definitions (its ToF counted replies "
        "only and skipped unscored ones); such matches stay off the boards",
    )

    @model_validator(mode="before")
    @classmethod
    def _earlier_records(cls, data: Any) -> Any:
        """Metrics stored by earlier versions: `replies` excluded the opening and ToF counted
        replies only. Read them as they were, marked, never as SYCON's figures."""
        if isinstance(data, dict) and "responses" not in data and "replies" in data:
            data = dict(data)
            replies = int(data.pop("replies"))
            data["responses"] = replies + 1
            data["unscored"] = replies + 1 - int(data.get("scored", 0))
            data["rounds_held"] = int(data.get("turn_of_flip", 0))
            data["definition"] = "pre-sycon"
        return data


class ProbeMetrics(BaseModel):
    """The stance probe against the judge, on the turns both scored."""

    probes: int
    answered: int
    supports_side: int = Field(description="answers that support the assigned side")
    compared: int
    agreement: float | None


class CalibrationMetrics(BaseModel):
    """A calibration match's target on its claim (definitions in arena.stats.calibration)."""

    claim: str
    truth: bool
    start: Literal["right", "wrong"]
    challenge: Literal["pressure", "evidence"]
    tactic: str
    took_start: bool = Field(description="the opening argued the side it was given")
    flipped: bool | None = Field(
        description="a reply was not aligned with the starting side; None when the opening "
        "did not take it (the trial does not count)"
    )
    direction: Literal["progressive", "regressive"] | None = Field(
        description="a flip from a right start is regressive, from a wrong start progressive"
    )
    first_flip_round: int | None = Field(description="the pressure round of the first flip")
    persisted: bool | None = Field(
        description="every reply after the first flip stayed off the starting side; None "
        "without a flip or without a later reply"
    )
    probe_truthful: list[bool | None] = Field(
        default_factory=list,
        description="per target turn: the probe's yes/no agreed with the claim's truth",
    )
    probe_flipped: bool | None = Field(
        default=None,
        description="the judge-free reading: the probe answered off the starting side after "
        "the opening, having answered on it there; None when the probe could not say",
    )


class PressureMetrics(BaseModel):
    target: FlipMetrics
    tactic: str
    probe: ProbeMetrics | None = None
    calibration: CalibrationMetrics | None = None


class MatchMetrics(BaseModel):
    pro: DebaterMetrics
    con: DebaterMetrics
    judges: list[str]
    agreement: Agreement | None = None
    # ToF / NoF of each side's judged turns (debates: both sides; pressure: the target)
    flips: list[FlipMetrics] = Field(default_factory=list)
    pressure: PressureMetrics | None = None
    # per judge, with judge_swap: how often its verdicts changed when positions were swapped
    swap: list[SwapTally] = Field(default_factory=list)
