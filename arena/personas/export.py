"""Personas out to the tools people use: Character Card V2/V3 JSON, a card in a PNG, a CHARX
with the persona's assets, persona YAML. The mapping is in docs/personas.md; importing an export
gives the same persona back."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import yaml

from arena.domain.personas import persona_version
from arena.errors import CardError
from arena.personas import assets, cardv3, charx, lorebook_files, png
from arena.personas.cards import CardFormat
from arena.personas.mapping import ARENA_FIELDS, EXTENSION, card_hash

CardSpec = Literal["card-v2", "card-v3"]
Container = Literal["json", "png", "charx"]


def to_card(
    persona: dict[str, Any],
    version: str,
    fmt: CardSpec,
    kept: dict[str, Any] | None = None,
    *,
    files: Mapping[str, bytes] | None = None,
    created: datetime | None = None,
    container: Container = "json",
    backfill: bool = False,
) -> dict[str, Any]:
    """A persona's fields as a Character Card. Beliefs and style are spelled out in the
    description for other tools; every arena field travels in extensions.persona_arena; the
    lorebook is the card's character_book. `backfill`: the V2 copy inside a V3 PNG."""
    kept = dict(kept or {})
    kept.pop("modelfile", None)
    beliefs = persona.get("beliefs") or []
    description = persona.get("summary") or ""
    if beliefs:
        description += "\n\nBeliefs:\n" + "\n".join(f"- {b}" for b in beliefs)
    if persona.get("style"):
        description += f"\n\nStyle: {persona['style']}"
    # what an imported card brought and the arena does not use goes back out unchanged
    data: dict[str, Any] = {k: v for k, v in kept.items() if k not in ("extensions", "assets")}
    for key, default in (
        ("first_mes", ""),
        ("mes_example", ""),
        ("creator_notes", "Exported from Persona Arena."),
        ("post_history_instructions", ""),
        ("alternate_greetings", []),
        ("tags", ["persona-arena"]),
        ("creator", ""),
    ):
        data.setdefault(key, default)
    # personality and scenario of an imported card are already inside its system prompt
    data.update(
        name=persona.get("name") or "",
        description=description,
        personality="",
        scenario="",
        system_prompt=persona.get("system_prompt") or "",
        character_version=version,
    )
    ours = {k: persona[k] for k in ARENA_FIELDS if k in persona}
    ours["card_hash"] = card_hash(data)
    data["extensions"] = {**(kept.get("extensions") or {}), EXTENSION: ours}
    if persona.get("lorebook"):
        data["character_book"] = lorebook_files.card_book(persona["lorebook"], v2=fmt == "card-v2")
    if fmt == "card-v2":
        v2 = cardv3.backfill(data, warn=backfill)
        return {"spec": "chara_card_v2", "spec_version": "2.0", "data": v2}
    data.setdefault("nickname", "")
    data = cardv3.finish(data, persona.get("id"), created)
    listed = assets.for_export(assets.listed(kept), files or {}, container)
    if listed is not None:
        data["assets"] = listed
    return {"spec": "chara_card_v3", "spec_version": cardv3.SPEC_VERSION, "data": data}


def card_bytes(card: dict[str, Any]) -> bytes:
    return json.dumps(card, ensure_ascii=False, indent=2).encode("utf-8")


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii")


def card_png(
    persona: dict[str, Any],
    version: str,
    fmt: CardSpec,
    kept: dict[str, Any] | None = None,
    image: bytes | None = None,
    *,
    files: Mapping[str, bytes] | None = None,
    created: datetime | None = None,
) -> bytes:
    """The card in a PNG: `ccv3` (and `chara` with the V2 card, for older readers) for card-v3,
    `chara` for card-v2. The image is `image`, else the persona's portrait when it is a PNG, else
    a 1x1 one; any card chunks it already had are replaced."""
    files = files or {}
    if image is None:
        icon = assets.main_icon(assets.listed(kept))
        path = assets.embedded_path(str(icon.get("uri", ""))) if icon else None
        portrait = files.get(path) if path else None
        image = portrait if portrait and portrait.startswith(png.SIGNATURE) else None
    v3 = fmt == "card-v3"
    texts = {"chara": _b64(to_card(persona, version, "card-v2", kept, backfill=v3))}
    if v3:
        card = to_card(
            persona, version, "card-v3", kept, files=files, created=created, container="png"
        )
        texts["ccv3"] = _b64(card)
    try:
        return png.with_text(texts, image, replace=(b"chara", b"ccv3"))
    except png.PngError as exc:
        raise CardError("image", str(exc)) from exc


def card_charx(
    persona: dict[str, Any],
    version: str,
    kept: dict[str, Any] | None = None,
    *,
    files: Mapping[str, bytes] | None = None,
    created: datetime | None = None,
) -> bytes:
    """A CHARX: the V3 card as card.json, with every file the persona keeps."""
    files = files or {}
    card = to_card(
        persona, version, "card-v3", kept, files=files, created=created, container="charx"
    )
    return charx.write(card_bytes(card), files)


ZIP = "application/zip"


def persona_yaml(persona: dict[str, Any]) -> bytes:
    fields = ("id", "name", *ARENA_FIELDS[1:], "lorebook")
    ordered = {k: persona[k] for k in fields if persona.get(k) is not None}
    if ordered.get("lorebook"):
        ordered["lorebook"] = lorebook_files.card_book(ordered["lorebook"])
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def export(
    persona: dict[str, Any],
    fmt: CardFormat,
    *,
    png: bool | bytes = False,
    kept: dict[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
    created: datetime | None = None,
) -> tuple[bytes, str, str]:
    """(content, media type, file suffix) of a persona exported as `fmt`; with `png` (True, or
    an image to embed the card in) a card goes into a PNG. `files` are the persona's assets
    (a CHARX carries them all; a PNG's image is the portrait unless `png` gives one)."""
    if fmt == "yaml":
        return persona_yaml(persona), "application/yaml", ".yaml"
    version = persona_version(persona)
    if fmt == "charx":
        return card_charx(persona, version, kept, files=files, created=created), ZIP, ".charx"
    if png is not False:
        image = png if isinstance(png, bytes) else None
        content = card_png(persona, version, fmt, kept, image, files=files, created=created)
        return content, "image/png", f".{fmt}.png"
    card = to_card(persona, version, fmt, kept, files=files, created=created)
    return card_bytes(card), "application/json", f".{fmt}.json"
