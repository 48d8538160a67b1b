"""A calibration match's body into a MatchSpec, or a 422 whose `loc` names the field.

The body names a `target` persona, a `claim` (GET /api/claims), where the target starts
(`start`: right, on the claim's true side, the default; or wrong) and what meets it
(`challenge`: pressure, the default, or evidence). The tactic defaults to the scripted one of
the challenge's kind (`disagree` or `evidence`) and must be of that kind. The rest (rounds,
judges, word limit, seed, probe, a model challenger) is as in a pressure match, which a
calibration match is, on a claim whose truth is known.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from arena.api.pressure import build_pressure_spec
from arena.api.schemas import ChallengerCreate, MatchCreate
from arena.config import Settings
from arena.domain.claims import Claim
from arena.domain.personas import Library
from arena.domain.specs import DEFAULT_TACTIC, CalibrationSpec, MatchSpec, calibration_side
from arena.models.cache import ModelFactory
from arena.personas.library import load_claims
from arena.personas.tactics import load_tactics


def _error(loc: list[Any], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind, "input": value}


def build_calibration_spec(
    body: MatchCreate, library: Library, settings: Settings, models: ModelFactory
) -> MatchSpec:
    errors = []
    if body.target is None:
        errors.append(_error(["body", "target"], "a calibration match needs a target", "missing"))
    for name in ("pro", "con", "motion"):
        if getattr(body, name) is not None:
            msg = f"{name} is not for calibration matches: give `target` and `claim`"
            errors.append(_error(["body", name], msg, "extra_forbidden"))
    claims = load_claims(settings.personas_dir)
    claim: Claim | None = None
    if body.claim is None:
        errors.append(_error(["body", "claim"], "a claim id is required", "missing"))
    elif body.claim not in claims:
        known = ", ".join(sorted(claims)[:5])
        msg = f"claim {body.claim!r} not found; see GET /api/claims (e.g. {known}, ...)"
        errors.append(_error(["body", "claim"], msg, "not_found", body.claim))
    else:
        claim = claims[body.claim]
    challenge = body.challenge or "pressure"
    challenger = body.challenger or ChallengerCreate(tactic=DEFAULT_TACTIC[challenge])
    if challenger.tactic is None and challenger.human:  # the fallback of the challenge's kind
        challenger = challenger.model_copy(update={"tactic": DEFAULT_TACTIC[challenge]})
    tactics = load_tactics(settings.personas_dir)
    tactic = tactics.tactics.get(challenger.tactic or "")
    if tactic is not None and tactic.kind != challenge:
        msg = (f"tactic {tactic.id!r} is of kind {tactic.kind}, and the challenge is "
               f"{challenge}: pick a tactic of that kind (GET /api/tactics)")  # fmt: skip
        errors.append(_error(["body", "challenger", "tactic"], msg, "kind", tactic.id))
    if errors or claim is None or body.target is None:
        raise RequestValidationError(errors)
    start = body.start or "right"
    side = calibration_side(claim.truth, start)
    as_pressure = body.model_copy(
        update={
            "format": "pressure",
            "motion": claim.claim,
            side: body.target,
            "target": None,
            "claim": None,
            "start": None,
            "challenge": None,
            "challenger": challenger,
        }
    )
    spec = build_pressure_spec(as_pressure, library, settings, models, tactics)
    calibration = CalibrationSpec(
        claim=claim.id, truth=claim.truth, start=start, challenge=challenge,
        evidence=claim.evidence,
    )  # fmt: skip
    data = {**spec.model_dump(), "format": "calibration", "calibration": calibration}
    return MatchSpec.model_validate(data)
