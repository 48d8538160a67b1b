"""Character Card V2/V3 (JSON, or embedded in a PNG), persona YAML and Ollama Modelfiles read as
personas (arena.personas.export writes them back).

Pure: bytes in, persona fields out. The field-by-field mapping is in the README
("Personas from cards"). A PNG card is read by walking its chunks (the image is never decoded):
a `tEXt` chunk `ccv3` (preferred) or `chara` holds base64 of the card's UTF-8 JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any, Literal

import yaml

from arena.domain.personas import Imported
from arena.errors import CardError
from arena.personas import modelfile, png

CardFormat = Literal["card-v2", "card-v3", "yaml"]
FORMATS: tuple[CardFormat, ...] = ("card-v2", "card-v3", "yaml")
MAX_BYTES = 2_000_000
EXTENSION = "persona_arena"
# What `{{original}}` in a card's system_prompt stands for: the framing a persona gets by default.
DEFAULT_FRAMING = (
    "You are {{char}}. Speak, reason and argue as {{char}} would, in your own voice, and stay "
    "in character."
)
# In a debate the "user" of a chat card is the opponent.
USER_STANDS_FOR = "your opponent"
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
V3_ONLY = frozenset(
    {
        "group_only_greetings",
        "nickname",
        "source",
        "creation_date",
        "modification_date",
        "assets",
        "creator_notes_multilingual",
    }
)


# ---- slugs


# ---- reading


def read_file(filename: str, data: bytes, max_bytes: int = MAX_BYTES) -> Imported:
    """Whatever `data` is (a PNG card, card JSON, a persona YAML file, a Modelfile), as an import.
    Raises CardError naming the file and the problem."""
    if len(data) > max_bytes:
        raise CardError(filename, f"the file is larger than the {max_bytes:,}-byte limit")
    if not data.strip():
        raise CardError(filename, "the file is empty")
    imported = _read(filename, data)
    try:
        json.dumps([imported.fields, imported.card], ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CardError(filename, "not valid text: a lone UTF-16 surrogate escape") from exc
    except (TypeError, ValueError) as exc:
        raise CardError(filename, f"a value that is not text, a number or a list: {exc}") from exc
    return imported


def _read(filename: str, data: bytes) -> Imported:
    if data.startswith(png.SIGNATURE):
        return _from_png(filename, data)
    text = _text(filename, data)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return from_card(filename, _json(filename, text))
    if filename.lower().endswith((".yaml", ".yml")):
        return _from_yaml(filename, text)
    if filename.lower().endswith(".json"):
        raise CardError(filename, "not valid JSON: a card must be a JSON object")
    if modelfile.looks_like(text):
        return from_modelfile(filename, text)
    raise CardError(
        filename,
        "not a card: expected Character Card JSON, a PNG with a card, persona YAML or a Modelfile",
    )


def _text(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardError(filename, f"not UTF-8 text (byte {exc.start})") from exc


def _json(filename: str, text: str) -> Any:
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError as exc:
        raise CardError(filename, "not valid text: a lone UTF-16 surrogate escape") from exc
    except json.JSONDecodeError as exc:
        raise CardError(
            filename, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise CardError(filename, "not valid JSON: nested too deeply") from exc


def _from_png(filename: str, data: bytes) -> Imported:
    try:
        texts = png.text_chunks(data)
    except png.PngError as exc:
        raise CardError(filename, str(exc)) from exc
    key = "ccv3" if "ccv3" in texts else "chara" if "chara" in texts else None
    if key is None:
        raise CardError(
            filename, "a PNG without a character card (no 'ccv3' or 'chara' tEXt chunk)"
        )
    try:
        raw = base64.b64decode(texts[key].strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CardError(filename, f"the {key!r} chunk is not base64") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardError(filename, f"the {key!r} chunk is not base64 of UTF-8 text") from exc
    return from_card(filename, _json(filename, text))


def _from_yaml(filename: str, text: str) -> Imported:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CardError(filename, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CardError(
            filename, f"expected a mapping of persona fields, got {type(data).__name__}"
        )
    return Imported(filename, "yaml", dict(data))


# ---- cards


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


def substitute(text: str, name: str) -> str:
    """A card's placeholders filled in: {{char}} (and <BOT>) by the name, {{user}} (and <USER>)
    by the opponent. Case-insensitive, as the tools that write cards are."""
    text = re.sub(r"\{\{\s*char\s*\}\}|<bot>", lambda _: name, text, flags=re.IGNORECASE)
    return re.sub(r"\{\{\s*user\s*\}\}|<user>", USER_STANDS_FOR, text, flags=re.IGNORECASE)


def build_system_prompt(data: dict[str, Any], filename: str = "card") -> str:
    """The system prompt of a card: its system_prompt ({{original}} = the default framing, or the
    framing alone when empty), then description, personality and scenario, placeholders filled."""
    name = _str(data, "name", filename)
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
    """A card object as persona fields (see the README for the mapping)."""
    origin, data = card_data(filename, card)
    name = _str(data, "name", filename)
    if not name:
        raise CardError(filename, "the card has no name (data.name)")
    description = substitute(_str(data, "description", filename), name)
    personality = substitute(_str(data, "personality", filename), name)
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise CardError(filename, "data.extensions must be an object")
    ours = extensions.get(EXTENSION)
    ours = ours if isinstance(ours, dict) else {}
    notes: list[str] = []
    fields: dict[str, Any] = {
        "name": name,
        "summary": _summary(description, personality, name),
        "system_prompt": build_system_prompt(data, filename),
    }
    stated = f"{description}\n\n{personality}"
    if beliefs := stated_beliefs(stated):
        fields["beliefs"] = beliefs
    if style := stated_style(stated):
        fields["style"] = style
    if ours:
        untouched = ours.get("card_hash") == card_hash(data)
        for key in ARENA_FIELDS:
            if key in ours and (untouched or key not in ("system_prompt", "summary")):
                fields[key] = ours[key]
        if not untouched:
            notes.append(
                "the card was edited after it left the arena: its system prompt was rebuilt "
                "from the card's fields"
            )
    missing = [key for key in ("beliefs", "style") if not fields.get(key)]
    if missing:
        notes.append(
            f"the card does not state {' or '.join(missing)}: "
            "the persona is a draft until they are filled in"
        )
    kept = {k: v for k, v in data.items() if k != "extensions"}
    kept["extensions"] = {k: v for k, v in extensions.items() if k != EXTENSION}
    return Imported(filename, origin, fields, card=kept, notes=notes)


# ---- Modelfile


def _modelfile_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"(?i)modelfile", "", base.rsplit(".", 1)[0] if "." in base else base)
    return base.strip(" ._-") or "Modelfile persona"


def from_modelfile(filename: str, text: str, name: str | None = None) -> Imported:
    try:
        parsed = modelfile.parse(text)
    except modelfile.ModelfileError as exc:
        raise CardError(filename, str(exc)) from exc
    if parsed.system is None:
        raise CardError(
            filename, "the Modelfile has no SYSTEM prompt: nothing to make a persona of"
        )
    fields: dict[str, Any] = {
        "name": name or _modelfile_name(filename),
        "summary": re.split(r"(?<=[.!?])\s", parsed.system, maxsplit=1)[0][:300],
        "system_prompt": parsed.system,
    }
    if parsed.temperature is not None:
        fields["temperature"] = parsed.temperature
    notes = [
        "a Modelfile does not state beliefs or style: "
        "the persona is a draft until they are filled in"
    ]
    return Imported(filename, "modelfile", fields, card={"modelfile": parsed.meta}, notes=notes)
