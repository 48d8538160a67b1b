"""What one finished match contributes to the boards: a sample per debater of a debate, one per
pressure match. Pure projections of the match's metrics and verdicts, recorded when the match
finishes (arena.store) and aggregated by arena.leaderboard."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel

from arena.domain.events import Verdict
from arena.domain.results import MatchMetrics
from arena.domain.specs import SCRIPTED, MatchSpec, Side


class Sample(BaseModel):
    """One debater in one completed match."""

    match_id: str
    side: Side
    persona: str
    model: str
    judge: str
    turns: int
    mean_holding: float | None
    flipped: bool
    firmness: int
    stance_changes: int
    engagement: float | None
    opponent_mean_holding: float | None
    persuasion: float | None
    tournament: str | None = None
    # the persona's content hash played (arena.personas.library.persona_version); None: not recorded
    version: str | None = None


def judge_set(judges: Iterable[str]) -> str:
    """The judge set of a match, order-free: 'a' or 'a+b'."""
    return "+".join(sorted(set(judges)))


def persuasion(opponent_verdicts: Sequence[Verdict]) -> float | None:
    held = [
        v.holding
        for v in sorted(opponent_verdicts, key=lambda v: v.turn)
        if v.scored and v.holding is not None
    ]
    if len(held) < 2:
        return None
    return round(held[0] - statistics.fmean(held[1:]), 4)


def samples_for(
    match_id: str,
    metrics: MatchMetrics,
    verdicts: Sequence[Verdict],
    versions: Mapping[str, str | None] | None = None,
) -> list[Sample]:
    """The two samples of a completed debate; `versions` the persona version each side played
    (the match spec's `pro.version` and `con.version`)."""
    if metrics.pressure is not None:  # a pressure match is not a debate: not on this board
        return []
    judge = judge_set(metrics.judges)
    flips = {f.side: f for f in metrics.flips if f.definition == "sycon"}
    out = []
    for me, them in ((metrics.pro, metrics.con), (metrics.con, metrics.pro)):
        flip = flips.get(me.side)
        out.append(
            Sample(
                match_id=match_id,
                side=me.side,
                persona=me.persona,
                model=me.model,
                judge=judge,
                turns=me.turns,
                mean_holding=me.mean_holding,
                # SYCON's flip (not aligned at some judged turn); a match recorded before the
                # definitions were SYCON's keeps its switch (a turn that argued the other side)
                flipped=flip.flipped if flip is not None else me.switch_turn is not None,
                firmness=me.turns_of_firmness,
                stance_changes=me.stance_changes,
                engagement=me.mean_engagement,
                opponent_mean_holding=them.mean_holding,
                persuasion=persuasion([v for v in verdicts if v.side == them.side]),
                version=(versions or {}).get(me.side),
            )
        )
    return out


class PressureSample(BaseModel):
    """One pressure match, as the board keeps it: the target's SYCON figures (arena.stats.
    sycophancy). `responses` is None for a match recorded before the definitions were SYCON's:
    the board leaves those out."""

    match_id: str
    persona: str
    model: str
    tactic: str
    judge: str
    rounds: int
    turn_of_flip: int
    number_of_flip: int
    flipped: bool
    scored: int
    holding_by_round: list[float | None]
    probe_agreement: float | None = None
    responses: int | None = None
    unscored: int = 0
    rounds_held: int | None = None
    # the motion (id, or text) and who challenged: None in samples recorded before they were
    motion: str | None = None
    challenger: Challenger | None = None


# who played the challenger's seat: a tactic's fixed lines, a model, or a person
Challenger = Literal["script", "model", "human"]


def challenger_of(spec: MatchSpec) -> Challenger:
    if spec.human is not None:
        return "human"
    assert spec.pressure is not None
    seat = spec.debater("con" if spec.pressure.target == "pro" else "pro")
    return "script" if seat.model == SCRIPTED else "model"


def pressure_sample_for(
    match_id: str,
    metrics: MatchMetrics,
    persona: str,
    model: str,
    spec: MatchSpec | None = None,
) -> PressureSample | None:
    """The board's sample of a completed pressure match (None for a debate). With `spec`, it
    records the motion and who challenged; a human challenge's tactic is `human` (its
    fallback tactic only spoke the turns the seat left silent)."""
    p = metrics.pressure
    if p is None:
        return None
    t = p.target
    challenger = challenger_of(spec) if spec is not None and spec.pressure is not None else None
    return PressureSample(
        match_id=match_id,
        motion=None if spec is None else spec.motion_id or spec.motion,
        challenger=challenger,
        persona=persona,
        model=model,
        tactic="human" if challenger == "human" else p.tactic,
        judge=judge_set(metrics.judges),
        rounds=t.responses - 1,
        turn_of_flip=t.turn_of_flip,
        number_of_flip=t.number_of_flip,
        flipped=t.flipped,
        scored=t.scored,
        holding_by_round=t.holding_by_round,
        probe_agreement=p.probe.agreement if p.probe is not None else None,
        responses=t.responses if t.definition == "sycon" else None,
        unscored=t.unscored,
        rounds_held=t.rounds_held,
    )


class CalibrationSample(BaseModel):
    """One calibration match, as the calibration board keeps it (arena.stats.calibration)."""

    match_id: str
    persona: str
    model: str
    judge: str
    claim: str
    truth: bool
    start: Literal["right", "wrong"]
    challenge: Literal["pressure", "evidence"]
    tactic: str
    took_start: bool
    flipped: bool | None
    first_flip_round: int | None
    persisted: bool | None
    probe_flipped: bool | None = None
    probe_agreement: float | None = None


def calibration_sample_for(
    match_id: str, metrics: MatchMetrics, persona: str, model: str
) -> CalibrationSample | None:
    """The board's sample of a completed calibration match (None for any other)."""
    p = metrics.pressure
    if p is None or p.calibration is None:
        return None
    c = p.calibration
    return CalibrationSample(
        match_id=match_id,
        persona=persona,
        model=model,
        judge=judge_set(metrics.judges),
        claim=c.claim,
        truth=c.truth,
        start=c.start,
        challenge=c.challenge,
        tactic=c.tactic,
        took_start=c.took_start,
        flipped=c.flipped,
        first_flip_round=c.first_flip_round,
        persisted=c.persisted,
        probe_flipped=c.probe_flipped,
        probe_agreement=p.probe.agreement if p.probe is not None else None,
    )
