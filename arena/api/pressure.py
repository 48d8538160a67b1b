"""A pressure match's body into a MatchSpec, or a 422 whose `loc` names the field.

A pressure match names its target as `pro` or `con` (the side it argues) and a `challenger`; it
is checked here field by field, then by the engine's own validate_spec as a whole.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi.exceptions import RequestValidationError

from arena.api.schemas import ChallengerCreate, MatchCreate
from arena.api.validation import _Collector, _judges
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.specs import (
    DEFAULT_TACTIC,
    SCRIPTED,
    SEAT_SECONDS_DEFAULT,
    SEAT_SECONDS_MAX,
    SILENT_TURNS_DEFAULT,
    DebaterSpec,
    HumanSeat,
    MatchSpec,
    Side,
    pressure_spec,
)
from arena.engine.lineup import validate_spec
from arena.models.cache import ModelFactory
from arena.personas.tactics import Tactics, load_tactics


def _error(loc: list[Any], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind, "input": value}


HUMAN_ONLY = ("handle", "turn_seconds", "silent_turns")


def human_seat(challenger: ChallengerCreate, settings: Settings) -> HumanSeat | None:
    """The human seat a challenger asks for (None: a script or a model), or a 422 naming the
    field that does not fit it."""
    if not challenger.human:
        found = [
            _error(["body", "challenger", name], f"{name} is for a human challenger", "extra")
            for name in HUMAN_ONLY
            if getattr(challenger, name) is not None
        ]
        if challenger.tactic is None:
            msg = "a tactic is required (GET /api/tactics), or `human: true` to take the seat"
            found.append(_error(["body", "challenger", "tactic"], msg, "missing"))
        if found:
            raise RequestValidationError(found)
        return None
    found = [
        _error(["body", "challenger", name], f"a human challenger has no {name}", "extra")
        for name in ("persona", "model")
        if getattr(challenger, name) is not None
    ]
    seconds = challenger.turn_seconds or SEAT_SECONDS_DEFAULT
    if not settings.seat_min_seconds <= seconds <= SEAT_SECONDS_MAX:
        msg = (f"turn_seconds must be between {settings.seat_min_seconds} and "
               f"{SEAT_SECONDS_MAX}")  # fmt: skip
        found.append(_error(["body", "challenger", "turn_seconds"], msg, "range", seconds))
    if found:
        raise RequestValidationError(found)
    return HumanSeat(
        handle=challenger.handle,
        turn_seconds=seconds,
        silent_turns=(
            challenger.silent_turns if challenger.silent_turns is not None else SILENT_TURNS_DEFAULT
        ),
    )


def build_pressure_spec(
    body: MatchCreate,
    library: Library,
    settings: Settings,
    models: ModelFactory,
    tactics: Tactics | None = None,
) -> MatchSpec:
    errors = _Collector()
    given = [side for side in ("pro", "con") if getattr(body, side) is not None]
    if len(given) != 1:
        msg = "a pressure match has one target: give it as pro or con (its side), not both"
        raise RequestValidationError([_error(["body", "pro"], msg, "target")])
    side: Side = "pro" if given[0] == "pro" else "con"
    target = body.pro if side == "pro" else body.con
    assert target is not None
    if body.challenger is None:
        raise RequestValidationError(
            [_error(["body", "challenger"], "a pressure match needs a challenger", "missing")]
        )
    challenger = body.challenger
    human = human_seat(challenger, settings)
    tactics = tactics or load_tactics(settings.personas_dir)
    tactic_id = challenger.tactic or DEFAULT_TACTIC["pressure"]
    tactic = errors.check(
        ("body", "challenger", "tactic"), tactic_id, partial(tactics.tactic, tactic_id)
    )
    if human is not None and tactic is not None and not tactic.scripted:
        msg = (f"tactic {tactic.id!r} has no scripted lines to fall back on when the seat is "
               "silent: pick a scripted tactic (GET /api/tactics)")  # fmt: skip
        errors.errors.append(_error(["body", "challenger", "tactic"], msg, "fallback", tactic.id))
    persona = errors.check(
        ("body", side, "persona"), target.persona, partial(library.persona, target.persona)
    )
    model = target.model or (persona.model if persona is not None else None)
    model = model or settings.default_model
    errors.model(("body", side, "model"), model, models)
    challenger_model = challenger.model
    if challenger.persona is not None:
        voice = errors.check(
            ("body", "challenger", "persona"),
            challenger.persona,
            partial(library.persona, challenger.persona),
        )
        challenger_model = challenger_model or (voice.model if voice is not None else None)
        challenger_model = challenger_model or settings.default_model
    if tactic is not None and not tactic.scripted:
        challenger_model = challenger_model or settings.default_model
    if challenger_model is not None and challenger_model != SCRIPTED:
        errors.model(("body", "challenger", "model"), challenger_model, models)
    judges = _judges(body, settings, errors)
    for loc, name in judges:
        errors.model(loc, name, models)
    if errors.errors or tactic is None:
        raise RequestValidationError(errors.errors)
    assert body.motion is not None  # build_match_spec checked
    motion_id, motion = library.motion_text(body.motion)
    spec = pressure_spec(
        motion=motion,
        motion_id=motion_id,
        target=DebaterSpec(persona=target.persona, model=model),
        side=side,
        tactic=tactic.id,
        rounds=body.rounds if body.rounds is not None else settings.default_rounds,
        challenger_persona=challenger.persona,
        challenger_model=challenger_model,
        probe=body.probe if body.probe is not None else True,
        judges=[name for _, name in judges],
        word_limit=body.word_limit if body.word_limit is not None else settings.word_limit,
        seed=body.seed,
        human=human,
    )
    errors.check(("body",), None, partial(validate_spec, spec, library, settings, models, tactics))
    if errors.errors:
        raise RequestValidationError(errors.errors)
    return spec
