"""`arena personas import FILE...` and `arena personas export ID`: cards in and out of the store."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.markup import escape

from arena.cli.deps import cli_deps
from arena.cli.output import fail
from arena.config import Settings
from arena.domain.personas import Imported
from arena.errors import ArenaError, CardError
from arena.personas import cards
from arena.personas import export as card_export
from arena.personas.library import load_library
from arena.store import Store, StoreError
from arena.store.personas import ImportFailed, ImportResult, OnConflict

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    return fail(message, err)


def read_paths(paths: list[Path], max_bytes: int) -> list[Imported]:
    """Every file read and parsed; raises ImportFailed with one error per bad file."""
    imports, errors = [], []
    for path in paths:
        try:
            if path.stat().st_size > max_bytes:
                raise cards.FileTooLarge(str(path), max_bytes)
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
            imports.append(cards.read_file(str(path), data, max_bytes))
        except OSError as exc:
            errors.append(CardError(str(path), exc.strerror or str(exc)))
        except CardError as exc:
            errors.append(exc)
    if errors:
        raise ImportFailed(errors)
    return imports


async def import_paths(
    settings: Settings, paths: list[Path], on_conflict: OnConflict
) -> list[ImportResult]:
    imports = read_paths(paths, settings.persona_file_max_bytes)
    files = load_library(settings.personas_dir)
    store = await Store.connect(settings)
    try:
        return await store.personas.import_files(imports, files, on_conflict)
    finally:
        await store.close()


async def export_persona(
    settings: Settings, persona_id: str, fmt: cards.CardFormat, png: bytes | bool
) -> tuple[bytes, str]:
    files = load_library(settings.personas_dir)
    assets: dict[str, bytes] = {}
    created = None
    if persona_id in files.personas:
        fields, kept = files.personas[persona_id].model_dump(), None
    else:
        store = await Store.connect(settings)
        try:
            saved = await store.personas.get(persona_id)
            library = await store.personas.library(files)
            if saved is not None:
                assets = await store.personas.assets.all(persona_id)
        finally:
            await store.close()
        if saved is None:
            library.persona(persona_id)  # raises NotFoundError naming the known ones
            raise ArenaError(f"persona {persona_id!r} not found")
        fields, kept, created = dict(saved.fields), saved.card, saved.created_at
    content, _, suffix = card_export.export(
        fields, fmt, png=png, kept=kept, files=assets, created=created
    )
    return content, suffix


def import_(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Card JSON/PNG/CHARX, persona YAML, Modelfile")
    ],
    on_conflict: Annotated[
        str, typer.Option(help="rename: add a suffix to a taken id; error: refuse the batch")
    ] = "rename",
) -> None:
    """Import Character Cards (V1/V2/V3: JSON, PNG or CHARX), persona YAML or Ollama Modelfiles
    as saved personas, all or nothing. A card without beliefs or style is saved as a draft."""
    if on_conflict not in ("rename", "error"):
        raise _fail("--on-conflict is rename or error")
    try:
        conflict = cast(OnConflict, on_conflict)
        results = asyncio.run(import_paths(cli_deps(ctx).settings(), files, conflict))
    except ImportFailed as exc:
        for e in exc.errors:
            err.print(f"[bold red]error:[/bold red] {escape(str(e))}", highlight=False)
        raise typer.Exit(code=2) from exc
    except (ArenaError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    for r in results:
        state = "draft" if r.draft else "ready"
        console.print(f"{escape(r.filename)} -> {escape(r.id)} ({r.origin}, {state})")
        for note in r.notes:
            console.print(f"  note: {escape(note)}")
        for p in r.problems:
            console.print(f"  to fill in: {escape(p.field)}: {escape(p.msg)}")


def export(
    ctx: typer.Context,
    persona_id: Annotated[str, typer.Argument(metavar="ID")],
    format: Annotated[
        str, typer.Option("--format", help="card-v2, card-v3, charx or yaml")
    ] = "card-v2",
    png: Annotated[
        bool, typer.Option("--png", help="embed the card in a PNG (a 1x1 one unless --image)")
    ] = False,
    image: Annotated[Path | None, typer.Option(help="the PNG to embed the card in")] = None,
    out: Annotated[Path | None, typer.Option(help="file to write (default: ID + suffix)")] = None,
) -> None:
    """Export a persona as a Character Card or persona YAML; importing it back gives the
    same persona. Writes `--out`, or prints JSON/YAML to stdout when no --out is given."""
    if format not in cards.FORMATS:
        raise _fail(f"--format is one of {', '.join(cards.FORMATS)}, not {format!r}")
    if (png or image) and format in ("yaml", "charx"):
        raise _fail("only a card can go in a PNG: use --format card-v2 or card-v3")
    embed: bytes | bool = png
    try:
        if image is not None:
            embed = image.read_bytes()
        content, suffix = asyncio.run(
            export_persona(cli_deps(ctx).settings(), persona_id, format, embed)
        )
    except OSError as exc:
        raise _fail(f"{image}: {exc.strerror or exc}") from exc
    except (ArenaError, StoreError) as exc:
        raise _fail(str(exc)) from exc
    if out is None and suffix.endswith((".png", ".charx")):
        out = Path(f"{persona_id}{suffix}")
    if out is None:
        sys.stdout.buffer.write(content)
        return
    out.write_bytes(content)
    console.print(f"wrote {escape(str(out))}")


def add_persona_commands(personas_app: typer.Typer) -> None:
    personas_app.command("import")(import_)
    personas_app.command("export")(export)
