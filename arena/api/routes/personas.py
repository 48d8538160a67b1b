"""Personas, motions and the models a match can use; saved personas: create, edit, fork, import
and export as Character Cards. Persona files are read-only: an edit of one forks it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from arena.api.auth import WriterDep
from arena.api.deps import BoardDep, FilesDep, LibraryDep, SettingsDep, StoreDep
from arena.api.persona_schemas import (
    AssetPublic,
    DraftFields,
    PersonaPage,
    PersonaSaved,
    PersonaWrite,
    Problem,
    VersionPublic,
)
from arena.api.schemas import UNAUTHORIZED, ModelsPublic, MotionPublic, not_found
from arena.api.validation import ValidatedRoute
from arena.api.views import summary
from arena.domain.personas import FieldProblem, Library, Persona, persona_version, unique_slug
from arena.errors import ArenaError, NotFoundError
from arena.leaderboard.rows import GroupBy
from arena.models.registry import available_providers, parse_model_name
from arena.personas import assets, cardv3
from arena.personas.tactics import Tactic, load_tactics
from arena.store import Store
from arena.store.personas import PersonaInvalid, SavedPersona

router = APIRouter(prefix="/api", tags=["personas"], route_class=ValidatedRoute)

RECENT = 10
GROUPINGS: tuple[GroupBy, ...] = ("persona", "persona_model")
# One well-known model per provider that needs a key: offered once the key is set.
_EXAMPLES = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-3-5-haiku-latest"}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "a field is not valid; `detail[].loc` names it"}
}


# a lorebook can be large: the list leaves it out (GET /api/personas/{id} has it)
@router.get("/personas", response_model_exclude={"__all__": {"lorebook"}})
async def list_personas(library: LibraryDep) -> list[Persona]:
    """Every persona that can play: the files, then the saved ones (drafts are not listed).
    Lorebooks are left out: a persona's own page has its lorebook."""
    return list(library.personas.values())


@router.get("/personas/{persona_id}", responses=not_found("persona"))
async def get_persona(
    persona_id: str, files: FilesDep, store: StoreDep, board: BoardDep
) -> PersonaPage:
    saved = None if persona_id in files.personas else await store.personas.get(persona_id)
    if persona_id not in files.personas and saved is None:
        # the whole library (every saved persona, validated) only to say what is known
        library = await store.personas.library(files)
        raise HTTPException(status_code=404, detail=_unknown(persona_id, library))
    persona: Persona | DraftFields
    problems: list[FieldProblem] = []
    if saved is None:
        persona = files.personas[persona_id]
    else:
        problems = saved.problems()
        persona = (
            DraftFields.model_validate(saved.fields)
            if problems
            else Persona.model_validate(saved.fields)
        )
    fields = persona.model_dump()
    current = None if problems else persona_version(fields)
    # as the leaderboard counts it: the latest version's matches only
    now = {} if current is None else {persona_id: current}
    stats = [row for by in GROUPINGS for row in await board.persona_view(persona_id, by, now)]
    records, _ = await store.list_matches(persona=persona_id, limit=RECENT)
    versions = [
        VersionPublic(version=v.version, at=v.at, current=v.version == current)
        for v in await store.personas.versions(persona_id)
    ]
    return PersonaPage(
        persona=persona,
        stats=stats,
        recent_matches=[summary(r) for r in records],
        source="file" if saved is None else "saved",
        editable=saved is not None,
        draft=bool(problems),
        problems=[Problem(field=p.field, msg=p.msg) for p in problems],
        version=current,
        versions=versions,
        origin=saved.origin if saved else "file",
        forked_from=saved.forked_from if saved else None,
        **(await card_view(store, persona_id, saved)),
    )


@router.post(
    "/personas",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, **INVALID},
)
async def create_persona(body: PersonaWrite, files: FilesDep, store: StoreDep) -> PersonaSaved:
    """A new saved persona, checked as a persona file is."""
    return _saved(await _create(store, body.fields(), files))


@router.put(
    "/personas/{persona_id}",
    dependencies=[WriterDep],
    responses={
        **UNAUTHORIZED,
        **INVALID,
        **not_found("persona"),
        201: {"model": PersonaSaved, "description": "a file persona: the edit was saved as a fork"},
    },
)
async def edit_persona(
    persona_id: str, body: PersonaWrite, response: Response, files: FilesDep, store: StoreDep
) -> PersonaSaved:
    """Replace a saved persona's fields (its id stays). A file persona is read-only: the edit is
    saved as a new persona that names it as `forked_from` (201)."""
    fields = body.fields()
    if persona_id in files.personas:
        response.status_code = status.HTTP_201_CREATED
        return _saved(await _fork(store, files, persona_id, fields))
    try:
        saved = await store.personas.update(persona_id, fields)
    except PersonaInvalid as exc:
        raise _invalid(exc.problems, fields) from exc
    if saved is None:
        raise HTTPException(status_code=404, detail=f"persona {persona_id!r} not found")
    return _saved(saved)


@router.post(
    "/personas/{persona_id}/fork",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, **INVALID, **not_found("persona")},
)
async def fork_persona(
    persona_id: str, files: FilesDep, store: StoreDep, body: PersonaWrite | None = None
) -> PersonaSaved:
    """A copy of a persona (file or saved) as a new saved persona, with `body`'s fields changed."""
    return _saved(await _fork(store, files, persona_id, body.fields() if body else {}))


@router.delete(
    "/personas/{persona_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, **not_found("saved persona"), 409: {"description": "a file"}},
)
async def delete_persona(persona_id: str, files: FilesDep, store: StoreDep) -> None:
    if persona_id in files.personas:
        raise HTTPException(status_code=409, detail=f"persona {persona_id!r} is a file: read-only")
    if not await store.personas.delete(persona_id):
        raise HTTPException(status_code=404, detail=f"saved persona {persona_id!r} not found")


@router.get("/tactics")
async def list_tactics(settings: SettingsDep) -> list[Tactic]:
    """The tactics a pressure match's challenger can use: fixed lines and/or instructions for a
    model, with the research each comes from."""
    try:
        return list(load_tactics(settings.personas_dir).tactics.values())
    except ArenaError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from exc


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


# ---- helpers


async def card_view(store: Store, persona_id: str, saved: SavedPersona | None) -> dict[str, Any]:
    """What the persona page shows of the card a saved persona came from: its portrait, its
    assets (what the arena uses and what it keeps for export) and the creator's notes."""
    if saved is None or not saved.card:
        return {}
    sizes = await store.personas.assets.sizes(persona_id)
    infos = assets.report(saved.card, {path: b"" for path in sizes})
    shown = []
    for info in infos:
        path = assets.embedded_path(info.uri)
        url = asset_url(persona_id, path) if path is not None and path in sizes else None
        size = sizes.get(path) if path is not None else None
        shown.append(AssetPublic(**{**vars(info), "bytes": size}, url=url))
    portrait = next((a.url for a in shown if a.use == "portrait" and a.url), None)
    image = portrait is not None and assets.ext_of({"ext": portrait.rsplit(".", 1)[-1]}) in (
        assets.IMAGE_MEDIA
    )
    return {
        "portrait": portrait if image else None,
        "assets": shown,
        "creator_notes": cardv3.creator_notes(saved.card),
    }


def asset_url(persona_id: str, path: str) -> str:
    return f"/api/personas/{quote(persona_id)}/assets/{quote(path)}"


def _unknown(persona_id: str, library: Library) -> str:
    try:
        library.persona(persona_id)
    except NotFoundError as exc:
        return str(exc)
    except ArenaError:
        pass
    return f"persona {persona_id!r} not found"


def _saved(saved: SavedPersona) -> PersonaSaved:
    return PersonaSaved(
        id=saved.id,
        version=persona_version(saved.fields),
        url=f"/personas/{saved.id}",
        forked_from=saved.forked_from,
    )


def _loc(field: str) -> list[str | int]:
    return ["body", *(int(p) if p.isdigit() else p for p in field.split("."))]


def _invalid(problems: list[FieldProblem], fields: dict[str, Any]) -> RequestValidationError:
    return RequestValidationError(
        [
            {"loc": _loc(p.field), "msg": p.msg, "type": "invalid", "input": fields.get(p.field)}
            for p in problems
        ]
    )


async def _create(
    store: Store,
    fields: dict[str, Any],
    files: Library,
    forked_from: str | None = None,
    card: dict[str, Any] | None = None,
    assets: dict[str, bytes] | None = None,
) -> SavedPersona:
    try:
        return await store.personas.create(
            fields,
            files,
            origin="fork" if forked_from else "page",
            forked_from=forked_from,
            card=card,
            assets=assets,
        )
    except PersonaInvalid as exc:
        raise _invalid(exc.problems, fields) from exc


async def _fields(
    store: Store, files: Library, library: Library, persona_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A persona's fields and the card data it keeps (file personas keep none)."""
    if persona_id in files.personas:
        return files.personas[persona_id].model_dump(), None
    saved = await store.personas.get(persona_id)
    if saved is None:
        raise HTTPException(status_code=404, detail=_unknown(persona_id, library))
    return dict(saved.fields), saved.card


async def _fork(
    store: Store, files: Library, persona_id: str, changes: dict[str, Any]
) -> SavedPersona:
    source, kept = await _fields(store, files, files, persona_id)
    assets = {} if persona_id in files.personas else await store.personas.assets.all(persona_id)
    fields = {**source, **changes}
    if fields["id"] == persona_id:
        taken = set(files.personas) | set(await store.personas.all())
        fields["id"] = unique_slug(persona_id, taken)
        if fields.get("name") == source.get("name"):
            fields["name"] = f"{str(source.get('name') or persona_id)[:73]} (fork)"
    return await _create(store, fields, files, forked_from=persona_id, card=kept, assets=assets)
