"""Resolve a MatchSpec into a Lineup: personas from the library, models from the registry."""

from __future__ import annotations

from arena.config import Settings
from arena.debate import Debater, Lineup
from arena.events import MatchSpec
from arena.models.registry import get_model, require_available
from arena.personas import Library


def validate_spec(spec: MatchSpec, library: Library, settings: Settings) -> None:
    """Every check that can fail before a match starts, without loading any model: unknown
    personas (NotFoundError), bad model names (UnknownModelError), missing keys (NeedsKeyError)."""
    library.persona(spec.pro.persona)
    library.persona(spec.con.persona)
    for name in (spec.pro.model, spec.con.model, *spec.judges):
        require_available(name, settings)


def build_lineup(match_id: str, spec: MatchSpec, library: Library, settings: Settings) -> Lineup:
    validate_spec(spec, library, settings)
    return Lineup(
        match_id=match_id,
        spec=spec,
        pro=Debater("pro", library.persona(spec.pro.persona), get_model(spec.pro.model, settings)),
        con=Debater("con", library.persona(spec.con.persona), get_model(spec.con.model, settings)),
        judges=[get_model(name, settings) for name in spec.judges],
        max_attempts=settings.max_attempts,
        max_delay=settings.retry_max_delay,
    )
