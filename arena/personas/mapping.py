"""A Character Card's fields as persona fields: the system prompt built from the card's text,
the beliefs and style it states, the summary, and what the arena keeps for export (the mapping
table is in docs/personas.md). Pure: a card object in, an import out.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from arena.domain.personas import Imported
from arena.errors import CardError
from arena.personas import cardv3, lorebook_files
from arena.personas.macros import substitute

EXTENSION = "persona_arena"
# What `{{original}}` in a card's system_prompt stands for: the framing a persona gets by default.
DEFAULT_FRAMING = (
    "You are {{char}}. Speak, reason and argue as {{char}} would, in your own voice, and stay "
    "in character."
)
# The persona fields exported in extensions.persona_arena and read back from it.
ARENA_FIELDS = (
    "id",
    "summary",
    "system_prompt",
    "beliefs",
    "style",
    "model",
    "temperature",
    "max_tokens",
)
# Card text fields that build the system prompt: an export records their hash, so that an import
# can tell a card edited in another tool (rebuild the prompt from the card) from an untouched one.
_PROMPT_SOURCES = ("name", "description", "personality", "scenario", "system_prompt")


def card_data(filename: str, card: Any) -> tuple[str, dict[str, Any]]:
    """(origin, data) of a card object: V3, V2, or V1 (the fields at the top level)."""
    if not isinstance(card, dict):
        raise CardError(filename, f"a card must be a JSON object, got {type(card).__name__}")
    spec = card.get("spec")
    if spec in ("chara_card_v2", "chara_card_v3"):
        data = card.get("data")
        if not isinstance(data, dict):
            raise CardError(filename, f"{spec}: 'data' must be an object")
        return ("card-v3" if spec == "chara_card_v3" else "card-v2"), data
    if spec is not None:
        raise CardError(
            filename, f"unknown card spec {spec!r} (expected chara_card_v2 or chara_card_v3)"
        )
    if "name" in card and ("description" in card or "personality" in card):
        return "card-v1", card
    raise CardError(filename, "not a character card: no 'spec' and no V1 'name' and 'description'")


def _str(data: dict[str, Any], key: str, filename: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CardError(filename, f"data.{key} must be text, got {type(value).__name__}")
    return value.strip()


def build_system_prompt(data: dict[str, Any], filename: str = "card") -> str:
    """The system prompt of a card: its system_prompt ({{original}} = the default framing, or the
    framing alone when empty), then description, personality and scenario, placeholders filled."""
    _str(data, "name", filename)
    name = cardv3.char_name(data)
    own = _str(data, "system_prompt", filename)
    framing = (
        re.sub(r"\{\{\s*original\s*\}\}", lambda _: DEFAULT_FRAMING, own, flags=re.IGNORECASE)
        if own
        else DEFAULT_FRAMING
    )
    parts = [framing, _str(data, "description", filename)]
    if personality := _str(data, "personality", filename):
        parts.append(f"{{{{char}}}}'s personality: {personality}")
    if scenario := _str(data, "scenario", filename):
        parts.append(f"Scenario: {scenario}")
    return substitute("\n\n".join(p for p in parts if p), name)


_BELIEFS = re.compile(r"^[#*_\s]*(?:core\s+)?beliefs[*_\s]*:[*_\s]*(.*)$", re.IGNORECASE)
_STYLE = re.compile(
    r"^[#*_\s]*(?:speech\s+|speaking\s+|debate\s+)?style[*_\s]*:[*_\s]*(.+)$", re.IGNORECASE
)
_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(.+)$")


def stated_beliefs(text: str) -> list[str]:
    """Beliefs a card states: a 'Beliefs:' line followed by a list, or 'Beliefs: a; b'."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        found = _BELIEFS.match(line)
        if not found:
            continue
        if rest := found.group(1).strip():
            return [b.strip() for b in rest.split(";") if b.strip()]
        items: list[str] = []
        for following in lines[i + 1 :]:
            item = _ITEM.match(following)
            if item is None:
                if items or following.strip():
                    break
                continue
            items.append(item.group(1).strip())
        return items
    return []


def stated_style(text: str) -> str:
    for line in text.splitlines():
        if found := _STYLE.match(line):
            return found.group(1).strip()
    return ""


def _summary(description: str, personality: str, name: str) -> str:
    for text in (description, personality):
        first = text.strip().split("\n\n")[0].strip()
        if first and not _BELIEFS.match(first) and not _STYLE.match(first):
            sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
            return sentence if len(sentence) <= 300 else sentence[:297].rstrip() + "..."
    return f"{name}, imported from a character card."


def card_hash(data: dict[str, Any]) -> str:
    text = json.dumps([data.get(k) or "" for k in _PROMPT_SOURCES], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def from_card(filename: str, card: Any) -> Imported:
    """A card object as persona fields (the mapping is in docs/personas.md)."""
    origin, data = card_data(filename, card)
    name = _str(data, "name", filename)
    if not name:
        raise CardError(filename, "the card has no name (data.name)")
    char = cardv3.char_name(data)
    description = substitute(_str(data, "description", filename), char)
    personality = substitute(_str(data, "personality", filename), char)
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise CardError(filename, "data.extensions must be an object")
    ours = extensions.get(EXTENSION)
    ours = ours if isinstance(ours, dict) else {}
    notes: list[str] = cardv3.version_notes(card) if origin == "card-v3" else []
    fields: dict[str, Any] = {
        "name": name,
        "summary": _summary(description, personality, char),
        "system_prompt": build_system_prompt(data, filename),
    }
    stated = f"{description}\n\n{personality}"
    if beliefs := stated_beliefs(stated):
        fields["beliefs"] = beliefs
    if style := stated_style(stated):
        fields["style"] = style
    if ours:
        _arena_fields(fields, ours, data, notes)
    if data.get("character_book") is not None:
        book = lorebook_files.read_book(data["character_book"], filename, notes)
        fields["lorebook"] = lorebook_files.with_nickname(book, char if char != name else "")
    missing = [key for key in ("beliefs", "style") if not fields.get(key)]
    if missing:
        notes.append(
            f"the card does not state {' or '.join(missing)}: "
            "the persona is a draft until they are filled in"
        )
    rest = {k: v for k, v in data.items() if k not in ("extensions", "character_book")}
    kept = cardv3.kept_fields(rest, notes)
    kept["extensions"] = {k: v for k, v in extensions.items() if k != EXTENSION}
    return Imported(filename, origin, fields, card=kept, notes=notes)


def _arena_fields(
    fields: dict[str, Any], ours: dict[str, Any], data: dict[str, Any], notes: list[str]
) -> None:
    """The arena's own fields from extensions.persona_arena: all of them when the card is as the
    arena wrote it, all but the prompt and summary when another tool edited it since."""
    untouched = ours.get("card_hash") == card_hash(data)
    for key in ARENA_FIELDS:
        if key in ours and (untouched or key not in ("system_prompt", "summary")):
            fields[key] = ours[key]
    if not untouched:
        notes.append(
            "the card was edited after it left the arena: its system prompt was rebuilt "
            "from the card's fields"
        )
