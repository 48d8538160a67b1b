"""The Character Card V3 fields that importers get wrong, read and written as the spec has them:
`spec_version` compared as a number (a newer one warned about, never refused), dates in Unix
seconds (milliseconds and ISO text converted), `nickname` standing for `{{char}}`,
`creator_notes_multilingual` with `creator_notes` as its `en` fallback, `source` append-only,
`group_only_greetings` always present, and the V2 copy a V3 PNG carries for older readers.
Pure: values in, values out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "3.0"
# how the arena names itself in a card's `source` (an id, as the spec allows)
SOURCE_PREFIX = "persona-arena:"
# a date above this is in milliseconds (1e11 seconds is the year 5138)
_MS_THRESHOLD = 1e11
V2_BACKFILL_NOTE = (
    "This character card is Character Card V3, but it is loaded as a Character Card V2. "
    "Please use a Character Card V3 compatible application to use this character card properly."
)


def version_notes(card: dict[str, Any]) -> list[str]:
    """A warning for a card of a newer spec version than 3.0 (read anyway, as the spec asks)."""
    raw = card.get("spec_version")
    if raw is None:
        return []
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return [f"spec_version {raw!r} is not a number: read as 3.0"]
    if number > float(SPEC_VERSION):
        return [
            f"the card is Character Card V3 version {raw}, newer than the 3.0 the arena reads: "
            "fields added since are kept for export but not used"
        ]
    return []


def seconds(value: Any) -> int | None:
    """A card date as Unix seconds: numbers in milliseconds divided, ISO text parsed; None for
    what is not a date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp())
    if not isinstance(value, int | float) or value != value or value < 0:
        return None
    return int(value / 1000 if value > _MS_THRESHOLD else value)


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def kept_fields(data: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """A card's data as the arena keeps it for export: null fields absent (JSON has no
    undefined), V3 fields of the wrong shape dropped with a note, dates in seconds."""
    kept = {k: v for k, v in data.items() if v is not None}
    for key in ("creation_date", "modification_date"):
        if key in kept:
            value = seconds(kept[key])
            if value is None:
                notes.append(f"{key} {kept.pop(key)!r} is not a date: dropped")
            elif value != kept[key]:
                notes.append(f"{key} {kept[key]!r} read as {value} (Unix seconds)")
                kept[key] = value
    for key in ("source", "group_only_greetings"):
        if key in kept and (texts := _strings(kept[key])) is None:
            notes.append(f"{key} is not a list of text: dropped")
            kept.pop(key)
        elif key in kept:
            kept[key] = texts
    multi = kept.get("creator_notes_multilingual")
    if multi is not None and not (
        isinstance(multi, dict) and all(isinstance(v, str) for v in multi.values())
    ):
        notes.append("creator_notes_multilingual is not an object of text: dropped")
        kept.pop("creator_notes_multilingual")
    return kept


def char_name(data: dict[str, Any]) -> str:
    """What `{{char}}` stands for: the nickname when the card has one (an empty one does not
    count), else the name."""
    nickname = data.get("nickname")
    if isinstance(nickname, str) and nickname.strip():
        return nickname.strip()
    name = data.get("name")
    return name.strip() if isinstance(name, str) else ""


def creator_notes(data: dict[str, Any]) -> dict[str, str]:
    """The creator's notes by language (ISO 639-1): the multilingual ones, with `creator_notes`
    as the `en` entry when they have none."""
    multi = data.get("creator_notes_multilingual")
    notes = (
        {k: v for k, v in multi.items() if isinstance(v, str)} if isinstance(multi, dict) else {}
    )
    plain = data.get("creator_notes")
    if "en" not in notes and isinstance(plain, str) and plain.strip():
        notes["en"] = plain
    return notes


def finish(
    data: dict[str, Any], persona_id: str | None, created: datetime | None
) -> dict[str, Any]:
    """A V3 card's data made complete on export: `group_only_greetings` present, the creation
    date kept (or the persona's, or 0 for unknown), the modification date now, and the arena
    appended once to `source` (whatever was there stays, in order)."""
    out = dict(data)
    out.setdefault("group_only_greetings", [])
    if seconds(out.get("creation_date")) is None:
        out["creation_date"] = int(created.timestamp()) if created else 0
    out["modification_date"] = int(time.time())
    if persona_id:
        source = list(out.get("source") or [])
        ours = SOURCE_PREFIX + persona_id
        if ours not in source:
            source.append(ours)
        out["source"] = source
    return out


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


def backfill(data: dict[str, Any], *, warn: bool) -> dict[str, Any]:
    """The V2 copy of a V3 card's data: V3's own fields dropped and, in a V3 card's `chara`
    chunk (`warn`), the spec's note that it is a V3 card read as V2."""
    v2 = {k: v for k, v in data.items() if k not in V3_ONLY}
    if warn:
        notes = str(v2.get("creator_notes") or "")
        if V2_BACKFILL_NOTE not in notes:
            v2["creator_notes"] = f"{V2_BACKFILL_NOTE}\n\n{notes}".strip()
    return v2
