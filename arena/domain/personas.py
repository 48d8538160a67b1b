"""Personas and motions as values: what a debater is, its version, what keeps fields from being a
persona, and the library a match plays from (loading files is arena.personas.library's)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from arena.domain.limits import (
    MAX_BELIEF,
    MAX_BELIEFS,
    MAX_MODEL_NAME,
    MAX_MOTION,
    MAX_PERSONA_NAME,
    MAX_STYLE,
    MAX_SUMMARY,
    MAX_SYSTEM_PROMPT,
)
from arena.domain.lorebooks import Lorebook
from arena.errors import ArenaError, NotFoundError

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _check_slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("must be a lowercase slug (a-z, 0-9, '-', '_')")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]  # the id of a persona, motion, tactic, claim


# The fields that reach a model call (the system message, and the sampling settings): a persona's
# version is their hash, so editing only the documentation fields keeps the version.
VERSIONED_FIELDS = ("system_prompt", "temperature", "max_tokens")


class DraftPersonaError(ArenaError):
    """A saved persona that does not validate yet (an imported card without beliefs or style)."""


class Persona(BaseModel):
    """A persona file: who the debater is, what it believes and how it speaks."""

    model_config = ConfigDict(extra="forbid")

    id: Slug = Field(description="slug, equal to the file name without .yaml")
    name: str = Field(min_length=1, max_length=MAX_PERSONA_NAME)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY, description="one line for lists")
    system_prompt: str = Field(
        min_length=20, max_length=MAX_SYSTEM_PROMPT, description="the persona's system message"
    )
    beliefs: list[Annotated[str, StringConstraints(max_length=MAX_BELIEF)]] = Field(
        min_length=1, max_length=MAX_BELIEFS, description="core convictions"
    )
    style: str = Field(min_length=1, max_length=MAX_STYLE, description="how it speaks")
    model: str | None = Field(
        default=None, max_length=MAX_MODEL_NAME, description="default model, provider:model"
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=16, le=4096)
    lorebook: Lorebook | None = Field(
        default=None,
        description="background knowledge inserted into the debater's context when its keys "
        "come up (a Character Card V3 character_book)",
    )


class Motion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Slug
    text: str = Field(min_length=10, max_length=MAX_MOTION)


def persona_version(persona: Persona | Mapping[str, Any]) -> str:
    """The content hash of the fields that reach the model: 12 hex digits."""
    data = persona.model_dump() if isinstance(persona, Persona) else persona
    content = {key: data.get(key) for key in VERSIONED_FIELDS}
    # a lorebook reaches the model too; a persona without one keeps the version it always had
    if data.get("lorebook"):
        content["lorebook"] = _book(data["lorebook"])
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _book(book: Lorebook | Mapping[str, Any]) -> Any:
    if isinstance(book, Lorebook):
        return book.card_object()
    try:
        return Lorebook.model_validate(book).card_object()
    except ValidationError:
        return book  # a draft's: hashed as it is


@dataclass(frozen=True)
class FieldProblem:
    """One field of a persona that does not validate, with the reason, for a 422 or a draft."""

    field: str
    msg: str


def persona_problems(data: Mapping[str, Any]) -> list[FieldProblem]:
    """What keeps `data` from being a valid persona (the same checks as a persona file)."""
    try:
        Persona.model_validate(dict(data))
    except ValidationError as exc:
        return [
            FieldProblem(".".join(str(p) for p in err["loc"]) or "(persona)", err["msg"])
            for err in exc.errors()
        ]
    return [
        FieldProblem(key, "not valid text: a lone UTF-16 surrogate")
        for key, value in data.items()
        if not _encodable(value)
    ]


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def persona_schema() -> dict[str, Any]:
    return Persona.model_json_schema()


@dataclass(frozen=True)
class Library:
    """All personas and motions of a folder, validated."""

    personas: dict[str, Persona]
    motions: dict[str, Motion]
    # saved personas that cannot play yet: id -> what is missing
    drafts: dict[str, str] = field(default_factory=dict)

    def persona(self, persona_id: str) -> Persona:
        try:
            return self.personas[persona_id]
        except KeyError:
            if persona_id in self.drafts:
                raise DraftPersonaError(
                    f"persona {persona_id!r} is a draft and cannot play until it is completed: "
                    f"{self.drafts[persona_id]}"
                ) from None
            known = ", ".join(sorted(self.personas))
            raise NotFoundError(f"persona {persona_id!r} not found; known: {known}") from None

    def with_saved(self, personas: Iterable[Persona], drafts: Mapping[str, str]) -> Library:
        """This library plus saved personas; a file persona's id is never shadowed."""
        merged = dict(self.personas)
        for persona in personas:
            merged.setdefault(persona.id, persona)
        kept = {k: v for k, v in drafts.items() if k not in merged}
        return Library(merged, self.motions, {**self.drafts, **kept})

    def motion_text(self, motion: str) -> tuple[str | None, str]:
        """A motion id or free text -> (id or None, text)."""
        if motion in self.motions:
            return motion, self.motions[motion].text
        return None, motion


@dataclass
class Imported:
    """What an import found: persona fields (possibly incomplete: then the persona is a draft),
    the card's own data kept for export (never in a prompt), and notes for the user."""

    filename: str
    origin: str  # card-v1, card-v2, card-v3, modelfile, yaml
    fields: dict[str, Any]
    card: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # files the card carries (CHARX assets, a PNG card's image): path -> bytes, never prompted;
    # the card's `assets` name them as embeded://<path>
    assets: dict[str, bytes] = field(default_factory=dict)


def slugify(name: str) -> str:
    """A persona id from a display name: ascii, lowercase, '-' between words, at most 64."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")
    return slug or "persona"


def unique_slug(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first that is not taken."""
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
        if candidate not in used:
            return candidate
        n += 1
