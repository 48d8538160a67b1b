"""Resolve a MatchSpec into a Lineup: personas from the library, models from the registry, the
tactic of a pressure match from the tactic files."""

from __future__ import annotations

from arena.config import Settings
from arena.domain.events import SCRIPTED, DebaterSpec, MatchSpec, Side
from arena.engine.match import Debater, Lineup
from arena.errors import ArenaError
from arena.models.registry import get_model, require_available
from arena.personas.library import Library, Persona, persona_version
from arena.personas.tactics import Tactic, Tactics, load_tactics


def _tactic(spec: MatchSpec, settings: Settings, tactics: Tactics | None) -> Tactic | None:
    if spec.pressure is None:
        return None
    return (tactics or load_tactics(settings.personas_dir)).tactic(spec.pressure.tactic)


def _seat_persona(
    spec: MatchSpec, side: Side, library: Library, tactic: Tactic | None
) -> Persona | None:
    """The persona of a seat; None for a pressure challenger whose persona is the tactic id."""
    persona_id = spec.debater(side).persona
    if tactic is not None and spec.pressure is not None and side != spec.pressure.target:
        if persona_id == tactic.id:
            return None
    return library.persona(persona_id)


def validate_spec(
    spec: MatchSpec, library: Library, settings: Settings, tactics: Tactics | None = None
) -> None:
    """Every check that can fail before a match starts, without loading any model: unknown
    personas and tactics (NotFoundError), bad model names (UnknownModelError), missing keys
    (NeedsKeyError), a scripted challenger with a tactic that has no lines (ArenaError)."""
    tactic = _tactic(spec, settings, tactics)
    models = [*spec.judges]
    for side in ("pro", "con"):
        seat = spec.debater(side)
        _seat_persona(spec, side, library, tactic)
        if seat.model == SCRIPTED and tactic is not None and spec.pressure is not None:
            if side == spec.pressure.target:
                raise ArenaError("the target needs a model; only a challenger can be scripted")
            if not tactic.scripted:
                raise ArenaError(
                    f"tactic {tactic.id!r} has no scripted lines: give the challenger a model"
                )
            if seat.persona != tactic.id:
                raise ArenaError(
                    f"a scripted challenger speaks the tactic's lines: its persona must be "
                    f"{tactic.id!r}, not {seat.persona!r}"
                )
        else:
            models.append(seat.model)
    for name in models:
        require_available(name, settings)


def build_lineup(
    match_id: str,
    spec: MatchSpec,
    library: Library,
    settings: Settings,
    tactics: Tactics | None = None,
) -> Lineup:
    tactics = tactics or (load_tactics(settings.personas_dir) if spec.pressure else None)
    validate_spec(spec, library, settings, tactics)
    tactic = _tactic(spec, settings, tactics)

    def seat(side: Side) -> Debater:
        name = spec.debater(side).model
        model = None if name == SCRIPTED and tactic is not None else get_model(name, settings)
        return Debater(side, _seat_persona(spec, side, library, tactic), model)

    pro, con = seat("pro"), seat("con")
    return Lineup(
        match_id=match_id,
        spec=_with_versions(spec, pro, con),
        pro=pro,
        con=con,
        judges=[get_model(name, settings) for name in spec.judges],
        max_attempts=settings.max_attempts,
        max_delay=settings.retry_max_delay,
        tactic=tactic,
    )


def _with_versions(spec: MatchSpec, *debaters: Debater) -> MatchSpec:
    """The spec with the version each seat's persona plays (travels in match_started)."""
    update: dict[str, DebaterSpec] = {}
    for debater in debaters:
        seat = spec.debater(debater.side)
        if debater.persona is not None:
            version = persona_version(debater.persona)
            if seat.version != version:
                update[debater.side] = seat.model_copy(update={"version": version})
    return spec.model_copy(update=update) if update else spec
