"""Personas, motions and the models a match can use."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from arena.api.deps import LibraryDep, SettingsDep, StoreDep
from arena.api.schemas import ModelsPublic, MotionPublic, PersonaDetail
from arena.api.views import summary
from arena.errors import ArenaError, NotFoundError
from arena.models.registry import available_providers, parse_model_name
from arena.personas import Persona
from arena.store import GroupBy

router = APIRouter(prefix="/api", tags=["personas"])

RECENT = 10
GROUPINGS: tuple[GroupBy, ...] = ("persona", "persona_model")
# One well-known model per provider that needs a key: offered once the key is set.
_EXAMPLES = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-3-5-haiku-latest"}


@router.get("/personas")
async def list_personas(library: LibraryDep) -> list[Persona]:
    return list(library.personas.values())


@router.get("/personas/{persona_id}")
async def get_persona(persona_id: str, library: LibraryDep, store: StoreDep) -> PersonaDetail:
    try:
        persona = library.persona(persona_id)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    stats = [
        row for by in GROUPINGS for row in await store.leaderboard(by) if row.persona == persona_id
    ]
    records, _ = await store.list_matches(persona=persona_id, limit=RECENT)
    return PersonaDetail(persona=persona, stats=stats, recent_matches=[summary(r) for r in records])


@router.get("/motions")
async def list_motions(library: LibraryDep) -> list[MotionPublic]:
    return [MotionPublic(id=m.id, text=m.text) for m in library.motions.values()]


@router.get("/models")
async def list_models(library: LibraryDep, settings: SettingsDep) -> ModelsPublic:
    providers = available_providers(settings)
    names = [settings.default_model, settings.default_judge]
    names += [p.model for p in library.personas.values() if p.model]
    names += [example for provider, example in _EXAMPLES.items() if provider in providers]
    suggestions = [n for n in dict.fromkeys(names) if _provider(n) in providers]
    return ModelsPublic(
        default_model=settings.default_model,
        default_judge=settings.default_judge,
        providers=providers,
        suggestions=suggestions,
    )


def _provider(name: str) -> str | None:
    try:
        return parse_model_name(name)[0]
    except ArenaError:
        return None
