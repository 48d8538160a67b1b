"""Personas out to the tools people use: Character Card V2/V3 JSON, a card in a PNG, persona
YAML. The mapping is in the README ("Personas from cards"); importing an export gives the same
persona back."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

import yaml

from arena.domain.personas import persona_version
from arena.errors import CardError
from arena.personas import png
from arena.personas.cards import ARENA_FIELDS, EXTENSION, V3_ONLY, CardFormat, card_hash


def to_card(
    persona: dict[str, Any],
    version: str,
    fmt: Literal["card-v2", "card-v3"],
    kept: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A persona's fields as a Character Card. Beliefs and style are spelled out in the
    description for other tools; every arena field travels in extensions.persona_arena."""
    kept = dict(kept or {})
    kept.pop("modelfile", None)
    beliefs = persona.get("beliefs") or []
    description = persona.get("summary") or ""
    if beliefs:
        description += "\n\nBeliefs:\n" + "\n".join(f"- {b}" for b in beliefs)
    if persona.get("style"):
        description += f"\n\nStyle: {persona['style']}"
    # what an imported card brought and the arena does not use goes back out unchanged
    data: dict[str, Any] = {k: v for k, v in kept.items() if k != "extensions"}
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
    if fmt == "card-v3":
        data.setdefault("group_only_greetings", [])
        data.setdefault("nickname", "")
        return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}
    v2 = {k: v for k, v in data.items() if k not in V3_ONLY}
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": v2}


def card_bytes(card: dict[str, Any]) -> bytes:
    return json.dumps(card, ensure_ascii=False, indent=2).encode("utf-8")


def _b64(card: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii")


def card_png(
    persona: dict[str, Any],
    version: str,
    fmt: Literal["card-v2", "card-v3"],
    kept: dict[str, Any] | None = None,
    image: bytes | None = None,
) -> bytes:
    """The card in a PNG: `ccv3` (and `chara` with the V2 card, for older readers) for card-v3,
    `chara` for card-v2. Any card chunks `image` already had are replaced."""
    texts = {"chara": _b64(to_card(persona, version, "card-v2", kept))}
    if fmt == "card-v3":
        texts["ccv3"] = _b64(to_card(persona, version, "card-v3", kept))
    try:
        return png.with_text(texts, image, replace=(b"chara", b"ccv3"))
    except png.PngError as exc:
        raise CardError("image", str(exc)) from exc


def persona_yaml(persona: dict[str, Any]) -> bytes:
    ordered = {
        k: persona[k] for k in ("id", "name", *ARENA_FIELDS[1:]) if persona.get(k) is not None
    }
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100).encode("utf-8")


def export(
    persona: dict[str, Any],
    fmt: CardFormat,
    *,
    png: bool | bytes = False,
    kept: dict[str, Any] | None = None,
) -> tuple[bytes, str, str]:
    """(content, media type, file suffix) of a persona exported as `fmt`; with `png` (True, or
    an image to embed the card in) a card goes into a PNG."""
    if fmt == "yaml":
        return persona_yaml(persona), "application/yaml", ".yaml"
    version = persona_version(persona)
    if png is not False:
        image = png if isinstance(png, bytes) else None
        return card_png(persona, version, fmt, kept, image), "image/png", f".{fmt}.png"
    return card_bytes(to_card(persona, version, fmt, kept)), "application/json", f".{fmt}.json"
