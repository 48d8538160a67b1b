"""Personas in and out as files: import (cards as JSON, PNG or CHARX, persona YAML, Modelfiles),
export as a card, a CHARX or YAML, the files a card brought (its portrait, its assets), and
lorebooks on their own (read one to attach it in the editor, export a persona's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from arena.api.auth import WriterDep
from arena.api.deps import FilesDep, LibraryDep, SettingsDep, StoreDep
from arena.api.persona_schemas import (
    AssetPublic,
    ImportedPublic,
    ImportReport,
    LorebookRead,
    Problem,
)
from arena.api.routes.personas import _fields, asset_url
from arena.api.schemas import UNAUTHORIZED, not_found
from arena.api.uploads import close, openapi_body, read_files
from arena.api.validation import ValidatedRoute
from arena.errors import CardError
from arena.personas import assets, cards, lorebook_files
from arena.personas import export as card_export
from arena.store.personas import ImportFailed, OnConflict

router = APIRouter(prefix="/api", tags=["personas"], route_class=ValidatedRoute)

MAX_FILES = 50  # per import request
LIMIT_SETTING = "ARENA_PERSONA_FILE_MAX_BYTES"
_DOWNLOAD = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


@router.post(
    "/personas/import",
    status_code=status.HTTP_201_CREATED,
    dependencies=[WriterDep],
    responses={
        **UNAUTHORIZED,
        413: {"description": "a file is over ARENA_PERSONA_FILE_MAX_BYTES: nothing saved"},
        422: {"description": "a file cannot be imported: nothing saved"},
    },
    openapi_extra=openapi_body(
        "file",
        "Character Card V1/V2/V3 JSON, PNG or CHARX, persona YAML, or Ollama Modelfile",
    ),
)
async def import_personas(
    request: Request,
    files: FilesDep,
    store: StoreDep,
    settings: SettingsDep,
    on_conflict: OnConflict = "rename",
) -> ImportReport:
    """Import one or more files (form field `file`), all or nothing. Each streams to a temporary
    file and is refused with a 413 as soon as it passes ARENA_PERSONA_FILE_MAX_BYTES. A card that
    states no beliefs or style is saved as a draft (listed with what it lacks); it cannot play
    until it is completed. A card's files (a CHARX's assets, a PNG's image) are kept with it."""
    cap = settings.persona_file_max_bytes
    uploads = await read_files(
        request, "file", max_bytes=cap, max_files=MAX_FILES, setting=LIMIT_SETTING
    )
    imports, errors = [], []
    try:
        for i, upload in enumerate(uploads):
            try:
                imports.append(cards.read_file(upload.filename, upload.read(), cap))
            except cards.FileTooLarge as exc:
                raise HTTPException(status_code=413, detail=str(exc)) from exc
            except CardError as exc:
                errors.append(_file_error(i, exc))
    finally:
        close(uploads)
    if errors:
        raise RequestValidationError(errors)
    try:
        results = await store.personas.import_files(imports, files, on_conflict)
    except ImportFailed as exc:
        names = [upload.filename for upload in uploads]
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
                assets=_assets(r.id, item.card, item.assets),
            )
            for r, item in zip(results, imports, strict=True)
        ]
    )


def _assets(
    persona_id: str, card: dict[str, Any] | None, files: dict[str, bytes]
) -> list[AssetPublic]:
    shown = []
    for info in assets.report(card, files):
        path = assets.embedded_path(info.uri)
        url = asset_url(persona_id, path) if path is not None and path in files else None
        shown.append(AssetPublic(**vars(info), url=url))
    return shown


def _file_error(index: int, exc: CardError) -> dict[str, Any]:
    return {"loc": ["body", "file", index], "msg": str(exc), "type": "card_invalid"}


def _index(names: list[str], filename: str) -> int:
    return names.index(filename) if filename in names else 0


@router.get(
    "/personas/{persona_id}/card",
    responses={
        **not_found("persona"),
        200: {
            "content": {
                "application/json": {},
                "image/png": {},
                "application/zip": {},
                "application/yaml": {},
            },
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
    format: Annotated[
        cards.CardFormat, Query(description="card-v2, card-v3, charx or yaml")
    ] = "card-v2",
    png: Annotated[bool, Query(description="embed the card in a PNG (card-v2, card-v3)")] = False,
) -> Response:
    """The persona as a Character Card (JSON, or a PNG with the card in its tEXt chunks and the
    persona's portrait as its image), as a CHARX with every file its card brought, or as a
    persona YAML file; importing it back gives the same persona."""
    fields, kept = await _fields(store, files, library, persona_id)
    if png and format in ("yaml", "charx"):
        raise RequestValidationError(
            [{"loc": ["query", "png"], "msg": "only a card can go in a PNG", "type": "invalid"}]
        )
    saved = None if persona_id in files.personas else await store.personas.get(persona_id)
    kept_files = {} if saved is None else await store.personas.assets.all(persona_id)
    content, media, suffix = card_export.export(
        fields,
        format,
        png=png,
        kept=kept,
        files=kept_files,
        created=saved.created_at if saved else None,
    )
    headers = {"Content-Disposition": f'attachment; filename="{persona_id}{suffix}"'}
    return Response(content, media_type=media, headers=headers)


@router.get(
    "/personas/{persona_id}/assets/{path:path}",
    responses={
        **not_found("asset"),
        200: {"content": {"image/png": {}, "application/octet-stream": {}}},
    },
    response_class=Response,
)
async def get_asset(persona_id: str, path: str, store: StoreDep) -> Response:
    """A file a saved persona's card brought (its portrait, an emotion, a background ...).
    Images are served as images; anything else as a download, never rendered."""
    data = await store.personas.assets.get(persona_id, path)
    if data is None:
        raise HTTPException(status_code=404, detail=f"persona {persona_id!r} keeps no {path!r}")
    media = assets.IMAGE_MEDIA.get(assets.ext_of({}, path))
    headers = dict(_DOWNLOAD)
    if media is None:
        name = path.rsplit("/", 1)[-1].replace('"', "")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(data, media_type=media or "application/octet-stream", headers=headers)


@router.get(
    "/personas/{persona_id}/lorebook",
    responses={**not_found("lorebook"), 200: {"content": {"application/json": {}}}},
    response_class=Response,
)
async def export_lorebook(
    persona_id: str, files: FilesDep, store: StoreDep, library: LibraryDep
) -> Response:
    """The persona's lorebook as a standalone file (`{"spec": "lorebook_v3", "data": ...}`)."""
    fields, _ = await _fields(store, files, library, persona_id)
    if not fields.get("lorebook"):
        raise HTTPException(status_code=404, detail=f"persona {persona_id!r} has no lorebook")
    headers = {"Content-Disposition": f'attachment; filename="{persona_id}.lorebook.json"'}
    return Response(
        lorebook_files.file_bytes(fields["lorebook"]),
        media_type="application/json",
        headers=headers,
    )


@router.post(
    "/lorebooks/read",
    dependencies=[WriterDep],
    responses={**UNAUTHORIZED, 422: {"description": "not a lorebook, or over a limit"}},
)
async def read_lorebook(
    book: Annotated[
        dict[str, Any],
        Body(description="a lorebook file: lorebook_v3, a card's character_book, world info"),
    ],
    filename: Annotated[str, Query(max_length=200)] = "lorebook.json",
) -> LorebookRead:
    """Read a lorebook file as the arena keeps it, to attach to a persona in the editor (then
    saved with the persona). Nothing is saved here."""
    try:
        raw, notes = lorebook_files.read_file(filename, book)
        lorebook = lorebook_files.checked(raw, filename)
    except CardError as exc:
        raise RequestValidationError(
            [{"loc": ["body"], "msg": str(exc), "type": "lorebook_invalid"}]
        ) from exc
    return LorebookRead(lorebook=lorebook, notes=notes)
