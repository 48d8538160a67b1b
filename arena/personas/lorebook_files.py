"""Lorebooks in and out: a card's `character_book`, the standalone `{spec: 'lorebook_v3', data}`
file (and the shapes other tools write: `chara_book_v3`, a bare book, SillyTavern's world info
with its `entries` keyed by uid), and the book written back for a card, a V2 reader or a file.

Pure: values in, values out. What cannot be read is a CardError naming the file; a book that
reads but breaks a limit is left for the persona's validation (the persona is then a draft).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from arena.domain.lorebooks import Lorebook
from arena.errors import CardError
from arena.personas import decorators
from arena.personas.lorebook import is_regex_literal

SPEC = "lorebook_v3"
WRAPPERS = (SPEC, "chara_book_v3", "chara_book_v2")
EXTENSION = "persona_arena"
# SillyTavern world-info entry fields that have a V3 field of their own
_ST_FIELDS = {
    "key": "keys",
    "keysecondary": "secondary_keys",
    "content": "content",
    "comment": "comment",
    "constant": "constant",
    "selective": "selective",
    "order": "insertion_order",
    "uid": "id",
}


def is_lorebook_file(value: Any) -> bool:
    """A standalone lorebook rather than a card: a lorebook spec, or SillyTavern's world info."""
    if not isinstance(value, dict):
        return False
    if value.get("spec") in WRAPPERS:
        return True
    return "spec" not in value and "entries" in value  # a card has no entries of its own


def _strings(value: Any, where: str, filename: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CardError(filename, f"{where} must be a list of text")
    return list(value)


def _escaped(key: str) -> str:
    special = set("\\^$.|?*+()[]{}/")
    return "".join("\\" + c if c in special else c for c in key)


def _regex_keys(entry: dict[str, Any], notes: list[str], label: str) -> None:
    """`use_regex` as written: only `/pattern/flags` keys are patterns. SillyTavern marks plain
    keys as regex: an entry with no pattern among its keys is read as plain; one with both has
    its plain keys written as patterns, so that an export is unambiguous."""
    if not entry.get("use_regex"):
        return
    keys = [k for k in entry.get("keys", []) if k.strip()]
    if not any(is_regex_literal(k) for k in keys):
        entry["use_regex"] = False
        notes.append(f"lorebook entry {label}: marked use_regex with plain keys: read as plain")
        return
    flags = "" if entry.get("case_sensitive") else "i"
    entry["keys"] = [
        k if not k.strip() or is_regex_literal(k) else f"/{_escaped(k)}/{flags}"
        for k in entry.get("keys", [])
    ]


def _entry(raw: Any, index: int, filename: str, notes: list[str]) -> dict[str, Any]:
    where = f"lorebook entry {index + 1}"
    if not isinstance(raw, dict):
        raise CardError(filename, f"{where} must be an object, got {type(raw).__name__}")
    entry = {k: v for k, v in raw.items() if v is not None}  # null is absent
    entry["keys"] = _strings(entry.get("keys"), f"{where}: keys", filename)
    if "secondary_keys" in entry:
        entry["secondary_keys"] = _strings(
            entry["secondary_keys"], f"{where}: secondary_keys", filename
        )
    if not isinstance(entry.get("content", ""), str):
        raise CardError(filename, f"{where}: content must be text")
    if not isinstance(entry.get("extensions", {}), dict):
        raise CardError(filename, f"{where}: extensions must be an object")
    if entry.get("position") not in (None, "before_char", "after_char"):
        notes.append(f"{where}: position {entry['position']!r} is not before_char or after_char")
        entry.pop("position")
    _regex_keys(entry, notes, str(index + 1))
    return entry


def _from_world_info(entries: dict[str, Any]) -> list[dict[str, Any]]:
    """SillyTavern's world-info entries (keyed by uid) as V3 entries; its other fields go to the
    entry's extensions, as SillyTavern itself exports them."""
    converted = []
    for raw in entries.values():
        if not isinstance(raw, dict):
            converted.append(raw)
            continue
        entry: dict[str, Any] = {"extensions": {}}
        for key, value in raw.items():
            if key in _ST_FIELDS:
                entry[_ST_FIELDS[key]] = value
            elif key == "disable":
                entry["enabled"] = not value
            elif key == "caseSensitive" and isinstance(value, bool):
                entry["case_sensitive"] = value
            else:
                entry["extensions"][key] = value
        if raw.get("position") in (0, 1):
            entry["position"] = "before_char" if raw["position"] == 0 else "after_char"
        converted.append(entry)
    return converted


def read_book(value: Any, filename: str, notes: list[str]) -> dict[str, Any]:
    """A lorebook object (a card's character_book, or a file's data), normalised: null fields
    absent, keys lists of text, SillyTavern's use_regex on plain keys undone. Not validated
    against the limits: that is the persona's."""
    if not isinstance(value, dict):
        raise CardError(filename, f"a lorebook must be an object, got {type(value).__name__}")
    book = {k: v for k, v in value.items() if v is not None}
    entries = book.get("entries", [])
    if isinstance(entries, dict):
        entries = _from_world_info(entries)
    if not isinstance(entries, list):
        raise CardError(filename, "the lorebook's entries must be a list")
    if not isinstance(book.get("extensions", {}), dict):
        raise CardError(filename, "the lorebook's extensions must be an object")
    book["extensions"] = dict(book.get("extensions") or {})
    book["entries"] = [_entry(e, i, filename, notes) for i, e in enumerate(entries)]
    return book


def read_file(filename: str, value: Any) -> tuple[dict[str, Any], list[str]]:
    """A standalone lorebook file's book, and notes for the user."""
    if not is_lorebook_file(value):
        raise CardError(
            filename, f"not a lorebook: expected {{'spec': {SPEC!r}, 'data': {{...}}}} "
            "or world info with 'entries'"
        )  # fmt: skip
    notes: list[str] = []
    data = value.get("data") if "spec" in value else value
    return read_book(data, filename, notes), notes


def checked(book: dict[str, Any], filename: str) -> Lorebook:
    """The book as the persona will hold it, or a CardError saying which limit it breaks."""
    try:
        return Lorebook.model_validate(book)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "lorebook"
        raise CardError(filename, f"lorebook {where}: {first['msg']}") from exc


# ---- out


def card_book(book: Lorebook | dict[str, Any], *, v2: bool = False) -> dict[str, Any]:
    """The book as a card's character_book: the arena's own extension left out (it is rebuilt
    from the card on import); for a V2 reader, decorators stripped from the content (V2 knows
    none) and V3's use_regex dropped."""
    if isinstance(book, Lorebook):
        out = book.card_object()
    else:
        try:
            out = Lorebook.model_validate(book).card_object()
        except ValidationError:  # a draft's book, over a limit: written back as it was read
            out = {**book, "entries": [dict(e) for e in book.get("entries", [])]}
    out["extensions"] = dict(out.get("extensions") or {})
    out["extensions"].pop(EXTENSION, None)
    entries = []
    for entry in out["entries"]:
        entry = dict(entry)
        if v2:
            entry["content"] = decorators.strip(entry["content"])
            entry.pop("use_regex", None)
        entries.append(entry)
    out["entries"] = entries
    return out


def file_bytes(book: Lorebook | dict[str, Any]) -> bytes:
    """A standalone lorebook file (`lorebook_v3`)."""
    wrapped = {"spec": SPEC, "data": card_book(book)}
    return json.dumps(wrapped, ensure_ascii=False, indent=2).encode("utf-8")


def with_nickname(book: dict[str, Any], nickname: str) -> dict[str, Any]:
    """The book with the card's nickname noted, so that `{{char}}` in its entries is the
    nickname at match time (arena.personas.lorebook.char_name)."""
    if not nickname:
        return book
    extensions = {**book.get("extensions", {}), EXTENSION: {"nickname": nickname}}
    return {**book, "extensions": extensions}
