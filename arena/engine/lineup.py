"""Resolve a MatchSpec into a Lineup: personas from the library, models from the registry, the
tactic of a pressure match from the tactic files."""

from __future__ import annotations

from dataclasses import dataclass

from arena.config import Settings
from arena.domain.personas import Library, Persona, persona_version
from arena.domain.specs import HUMAN, SCRIPTED, DebaterSpec, MatchSpec, Side
from arena.errors import ArenaError
from arena.models.base import ChatModel
from arena.models.cache import ModelFactory
from arena.personas.tactics import Tactic, Tactics, load_tactics


@dataclass(frozen=True)
class Debater:
    """A seat. In a pressure match the challenger's seat may have no persona (the tactic's
    instructions alone) and no model (the tactic's fixed lines)."""

    side: Side
    persona: Persona | None
    model: ChatModel | None


@dataclass(frozen=True)
class Lineup:
    """A match ready to run: its spec with personas, models and tactic resolved."""

    match_id: str
    spec: MatchSpec
    pro: Debater
    con: Debater
    judges: list[ChatModel]
    max_attempts: int = 4
    max_delay: float = 30.0
    tactic: Tactic | None = None

    def debater(self, side: Side) -> Debater:
        return self.pro if side == "pro" else self.con

    def models(self) -> list[ChatModel]:
        """Every model the match uses (to give back to the ModelFactory afterwards)."""
        seats = [seat.model for seat in (self.pro, self.con) if seat.model is not None]
        return [*seats, *self.judges]


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
    spec: MatchSpec,
    library: Library,
    settings: Settings,
    models: ModelFactory,
    tactics: Tactics | None = None,
) -> None:
    """Every check that can fail before a match starts, without loading any model: unknown
    personas and tactics (NotFoundError), bad model names (UnknownModelError), missing keys
    (NeedsKeyError), a scripted challenger with a tactic that has no lines (ArenaError)."""
    tactic = _tactic(spec, settings, tactics)
    if spec.pressure is None and spec.pro.persona == spec.con.persona:
        raise ArenaError(
            f"self-play: {spec.pro.persona!r} on both sides; a debate pairs two different "
            "personas (pick another for --con)"
        )
    names = [*spec.judges]
    for side in ("pro", "con"):
        seat = spec.debater(side)
        _seat_persona(spec, side, library, tactic)
        if seat.model == HUMAN and spec.human is None:
            raise ArenaError("a seat played by a person needs the pressure spec's `human`")
        if seat.model in (SCRIPTED, HUMAN) and tactic is not None and spec.pressure is not None:
            # a human seat's turns left silent are spoken by the tactic's lines: the same rules
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
            names.append(seat.model)
    for name in names:
        models.require_available(name)


def build_lineup(
    match_id: str,
    spec: MatchSpec,
    library: Library,
    settings: Settings,
    models: ModelFactory,
    tactics: Tactics | None = None,
) -> Lineup:
    """The match ready to run; its models are taken from `models` (give them back with
    `models.release(lineup.models())` once the match is over)."""
    tactics = tactics or (load_tactics(settings.personas_dir) if spec.pressure else None)
    validate_spec(spec, library, settings, models, tactics)
    tactic = _tactic(spec, settings, tactics)

    def seat(side: Side) -> Debater:
        name = spec.debater(side).model
        model = None if name in (SCRIPTED, HUMAN) and tactic is not None else models.get(name)
        return Debater(side, _seat_persona(spec, side, library, tactic), model)

    pro, con = seat("pro"), seat("con")
    return Lineup(
        match_id=match_id,
        spec=_with_versions(spec, pro, con),
        pro=pro,
        con=con,
        judges=[models.get(name) for name in spec.judges],
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
