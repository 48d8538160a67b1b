"""Personas, motions and the models a match can use; saved personas: create, edit, fork, import
and export as Character Cards. Persona files are read-only: an edit of one forks it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError

from arena.api.auth import WriterDep
from arena.api.deps import BoardDep, FilesDep, LibraryDep, SettingsDep, StoreDep
from arena.api.persona_schemas import (
    DraftFields,
    ImportedPublic,
    ImportReport,
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
from arena.errors import ArenaError, CardError, NotFoundError
from arena.leaderboard.rows import GroupBy
from arena.models.registry import available_providers, parse_model_name
from arena.personas import cards
from arena.personas import export as card_export
from arena.personas.tactics import Tactic, load_tactics
from arena.store import Store
from arena.store.personas import ImportFailed, OnConflict, PersonaInvalid, SavedPersona

router = APIRouter(prefix="/api", tags=["personas"], route_class=ValidatedRoute)

RECENT = 10
MAX_FILES = 50  # per import request
GROUPINGS: tuple[GroupBy, ...] = ("persona", "persona_model")
# One well-known model per provider that needs a key: offered once the key is set.
_EXAMPLES = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-3-5-haiku-latest"}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "a field is not valid; `detail[].loc` names it"}
}


@router.get("/personas")
async def list_personas(library: LibraryDep) -> list[Persona]:
    """Every persona that can play: the files, then the saved ones (drafts are not listed)."""
    return list(library.personas.values())


@router.get("/personas/{persona_id}", responses=not_found("persona"))
async def get_persona(
    persona_id: str, library: LibraryDep, files: FilesDep, store: StoreDep, board: BoardDep
) -> PersonaPage:
    saved = None if persona_id in files.personas else await store.personas.get(persona_id)
    if persona_id not in files.personas and saved is None:
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


@router.post(
    "/personas/import",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, 422: {"description": "a file cannot be imported: nothing saved"}},
)
async def import_personas(
    file: Annotated[
        list[UploadFile],
        File(description="Character Card V2/V3 JSON or PNG, persona YAML, or Ollama Modelfile"),
    ],
    files: FilesDep,
    store: StoreDep,
    settings: SettingsDep,
    on_conflict: OnConflict = "rename",
) -> ImportReport:
    """Import one or more files, all or nothing. A card that states no beliefs or style is saved
    as a draft (listed with what it lacks); it cannot play until it is completed."""
    cap = settings.persona_file_max_bytes
    if len(file) > MAX_FILES:
        raise RequestValidationError(
            [{"loc": ["body", "file"], "msg": f"at most {MAX_FILES} files", "type": "too_many"}]
        )
    imports, errors = [], []
    for i, upload in enumerate(file):
        name = upload.filename or f"file {i + 1}"
        data = await upload.read(cap + 1)
        try:
            imports.append(cards.read_file(name, data, cap))
        except CardError as exc:
            errors.append(_file_error(i, exc))
    if errors:
        raise RequestValidationError(errors)
    try:
        results = await store.personas.import_files(imports, files, on_conflict)
    except ImportFailed as exc:
        names = [upload.filename for upload in file]
        raise RequestValidationError(
            [_file_error(_index(names, e.filename), e) for e in exc.errors]
        ) from exc
    return ImportReport(
        imported=[
            ImportedPublic(
                filename=r.filename,
                id=r.id,
                origin=r.origin,
                draft=r.draft,
                problems=[Problem(field=p.field, msg=p.msg) for p in r.problems],
                notes=r.notes,
                url=f"/personas/{r.id}",
            )
            for r in results
        ]
    )


@router.get(
    "/personas/{persona_id}/card",
    responses={
        **not_found("persona"),
        200: {
            "content": {"application/json": {}, "image/png": {}, "application/yaml": {}},
            "description": "the card (or persona YAML), as a download",
        },
    },
    response_class=Response,
)
async def export_card(
    persona_id: str,
    files: FilesDep,
    store: StoreDep,
    library: LibraryDep,
    format: Annotated[cards.CardFormat, Query(description="card-v2, card-v3 or yaml")] = "card-v2",
    png: Annotated[bool, Query(description="embed the card in a PNG (cards only)")] = False,
) -> Response:
    """The persona as a Character Card (JSON, or a PNG with the card in its tEXt chunks) or as
    a persona YAML file; importing it back gives the same persona."""
    fields, kept = await _fields(store, files, library, persona_id)
    if png and format == "yaml":
        raise RequestValidationError(
            [{"loc": ["query", "png"], "msg": "only a card can go in a PNG", "type": "invalid"}]
        )
    content, media, suffix = card_export.export(fields, format, png=png, kept=kept)
    headers = {"Content-Disposition": f'attachment; filename="{persona_id}{suffix}"'}
    return Response(content, media_type=media, headers=headers)


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


def _file_error(index: int, exc: CardError) -> dict[str, Any]:
    return {"loc": ["body", "file", index], "msg": str(exc), "type": "card_invalid"}


def _index(names: list[str | None], filename: str) -> int:
    return names.index(filename) if filename in names else 0


async def _create(
    store: Store,
    fields: dict[str, Any],
    files: Library,
    forked_from: str | None = None,
    card: dict[str, Any] | None = None,
) -> SavedPersona:
    try:
        return await store.personas.create(
            fields,
            files,
            origin="fork" if forked_from else "page",
            forked_from=forked_from,
            card=card,
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
    fields = {**source, **changes}
    if fields["id"] == persona_id:
        taken = set(files.personas) | set(await store.personas.all())
        fields["id"] = unique_slug(persona_id, taken)
        if fields.get("name") == source.get("name"):
            fields["name"] = f"{str(source.get('name') or persona_id)[:73]} (fork)"
    return await _create(store, fields, files, forked_from=persona_id, card=kept)
