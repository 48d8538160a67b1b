"""Turn a MatchCreate body into a MatchSpec, or a 422 whose `loc` names the field at fault.

The checks are the engine's own (arena.lineup.validate_spec): they run field by field first so
that each ArenaError is reported at its field, then once more as a whole, so that a check the
engine adds later still reaches the user as a 422 and never as a failed match.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError

from arena.api.schemas import MatchCreate
from arena.config import Settings
from arena.errors import ArenaError, NeedsKeyError, NotFoundError, UnknownModelError
from arena.events import DebaterSpec, MatchSpec, Side
from arena.lineup import validate_spec
from arena.models.registry import require_available
from arena.personas import Library

Loc = tuple[str | int, ...]
T = TypeVar("T")


def _error_type(exc: ArenaError) -> str:
    if isinstance(exc, NotFoundError):
        return "not_found"
    if isinstance(exc, NeedsKeyError):
        return "missing_key"
    if isinstance(exc, UnknownModelError):
        return "unknown_model"
    return "invalid"


def _detail(loc: Loc, exc: ArenaError, value: Any) -> dict[str, Any]:
    return {"loc": list(loc), "msg": str(exc), "type": _error_type(exc), "input": value}


class _Collector:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def check(self, loc: Loc, value: Any, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except ArenaError as exc:
            self.errors.append(_detail(loc, exc, value))
            return None

    def model(self, loc: Loc, name: str, settings: Settings) -> None:
        self.check(loc, name, partial(require_available, name, settings))


def _judges(body: MatchCreate, settings: Settings, errors: _Collector) -> list[tuple[Loc, str]]:
    if body.judges is not None:
        if body.judge is not None:
            errors.errors.append(
                {
                    "loc": ["body", "judge"],
                    "msg": "give either judge or judges, not both",
                    "type": "conflict",
                    "input": body.judge,
                }
            )
        return [(("body", "judges", i), name) for i, name in enumerate(body.judges)]
    if body.judge is not None:
        return [(("body", "judge"), body.judge)]
    return [(("body", "judge"), settings.default_judge)]


def build_spec(body: MatchCreate, library: Library, settings: Settings) -> MatchSpec:
    """The spec of a new match, with defaults filled in; raises RequestValidationError."""
    errors = _Collector()
    debaters: dict[Side, DebaterSpec] = {}
    for side in ("pro", "con"):
        given = body.pro if side == "pro" else body.con
        persona = errors.check(
            ("body", side, "persona"), given.persona, partial(library.persona, given.persona)
        )
        model = given.model or (persona.model if persona is not None else None)
        model = model or settings.default_model
        errors.model(("body", side, "model"), model, settings)
        debaters[side] = DebaterSpec(persona=given.persona, model=model)
    judges = _judges(body, settings, errors)
    for loc, name in judges:
        errors.model(loc, name, settings)
    if errors.errors:
        raise RequestValidationError(errors.errors)
    motion_id, motion = library.motion_text(body.motion)
    spec = MatchSpec(
        motion=motion,
        motion_id=motion_id,
        pro=debaters["pro"],
        con=debaters["con"],
        rounds=body.rounds if body.rounds is not None else settings.default_rounds,
        word_limit=body.word_limit if body.word_limit is not None else settings.word_limit,
        judges=[name for _, name in judges],
        seed=body.seed,
    )
    errors.check(("body",), None, partial(validate_spec, spec, library, settings))
    if errors.errors:
        raise RequestValidationError(errors.errors)
    return spec
