"""A match body of any format into a MatchSpec, or a 422 whose `loc` names the field: a debate
(arena.api.validation), a pressure match (arena.api.pressure), a calibration match
(arena.api.calibration)."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from arena.api.calibration import build_calibration_spec
from arena.api.pressure import build_pressure_spec
from arena.api.schemas import MatchCreate
from arena.api.validation import build_spec
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.specs import MatchSpec
from arena.models.cache import ModelFactory


def _error(loc: list[Any], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind, "input": value}


CALIBRATION_FIELDS = ("target", "claim", "start", "challenge")


def build_match_spec(
    body: MatchCreate, library: Library, settings: Settings, models: ModelFactory
) -> MatchSpec:
    """The spec of a new match of any format, with judge_swap (ARENA_JUDGE_SWAP unless the body
    says); raises RequestValidationError."""
    swap = settings.judge_swap if body.judge_swap is None else body.judge_swap
    return _spec(body, library, settings, models).model_copy(update={"judge_swap": swap})


def _spec(
    body: MatchCreate, library: Library, settings: Settings, models: ModelFactory
) -> MatchSpec:
    if body.format == "calibration":
        return build_calibration_spec(body, library, settings, models)
    extra = [
        _error(["body", name], f"{name} is for calibration matches", "extra_forbidden")
        for name in CALIBRATION_FIELDS
        if getattr(body, name) is not None
    ]
    if body.motion is None:
        extra.append(_error(["body", "motion"], "a motion id or text is required", "missing"))
    if extra:
        raise RequestValidationError(extra)
    if body.format == "pressure":
        return build_pressure_spec(body, library, settings, models)
    missing = [
        _error(["body", side], "a debate needs both sides", "missing")
        for side in ("pro", "con")
        if getattr(body, side) is None
    ]
    extra = [
        _error(["body", name], f"{name} is for pressure matches", "extra_forbidden")
        for name in ("challenger", "probe")
        if getattr(body, name) is not None
    ]
    if missing or extra:
        raise RequestValidationError(missing + extra)
    return build_spec(body, library, settings, models)
