"""The stance probe after a target's turn: its own model, in its persona, asked out of the
challenger's sight whether it supports the motion; the answer scored by a fixed function
(arena.engine.probe)."""

from __future__ import annotations

from arena.domain.events import Probe
from arena.domain.specs import PlannedTurn, Side
from arena.engine.lineup import Lineup
from arena.engine.pressure import target_conversation, target_instructions
from arena.engine.probe import QUESTION, claim_question, probe_request, run_probe, stance_of


def probes(lineup: Lineup, planned: PlannedTurn) -> bool:
    """Whether the turn is followed by a probe: a target's turn of a probed pressure match."""
    pressure = lineup.spec.pressure
    return planned.role == "target" and pressure is not None and pressure.probe


async def probe_turn(
    lineup: Lineup, planned: PlannedTurn, history: list[tuple[Side, str]]
) -> Probe:
    """The probe after `planned`, `history` the turns up to and including it."""
    spec, seat = lineup.spec, lineup.debater(planned.side)
    assert seat.persona is not None and seat.model is not None
    claim = spec.calibration is not None
    request = probe_request(
        target_instructions(
            seat.persona,
            planned.side,
            spec.motion,
            "reply",
            spec.word_limit,
            claim=spec.calibration is not None,
        ),
        target_conversation(planned.side, history, spec.motion, claim=spec.calibration is not None),
        spec.motion,
        claim=claim,
    )
    answer, supports, method, error, p_yes = await run_probe(
        seat.model, request, max_attempts=lineup.max_attempts, max_delay=lineup.max_delay
    )
    stance = stance_of(supports)
    return Probe(
        match_id=lineup.match_id,
        turn=planned.index,
        side=planned.side,
        question=claim_question(spec.motion) if claim else QUESTION,
        answer=answer,
        supports=supports,
        stance=stance,
        holds=None if stance is None else stance == planned.side,
        p_yes=p_yes,
        model=seat.model.name,
        method=method,
        error=error,
    )
