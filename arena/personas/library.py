"""Persona and motion files: load, validate, and report errors naming the file and field."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from arena.errors import ArenaError, NotFoundError, PersonaFileError

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MOTIONS_FILE = "motions.yaml"
# The fields that reach a model call (the system message, and the sampling settings): a persona's
# version is their hash, so editing only the documentation fields keeps the version.
VERSIONED_FIELDS = ("system_prompt", "temperature", "max_tokens")


class DraftPersonaError(ArenaError):
    """A saved persona that does not validate yet (an imported card without beliefs or style)."""


class Persona(BaseModel):
    """A persona file: who the debater is, what it believes and how it speaks."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="slug, equal to the file name without .yaml")
    name: str = Field(min_length=1, max_length=80)
    summary: str = Field(min_length=1, max_length=300, description="one line for lists")
    system_prompt: str = Field(min_length=20, description="the persona's system message")
    beliefs: list[str] = Field(min_length=1, description="core convictions")
    style: str = Field(min_length=1, description="how it speaks")
    model: str | None = Field(default=None, description="default model, provider:model")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=16, le=4096)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a lowercase slug (a-z, 0-9, '-', '_')")
        return value


class Motion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    text: str = Field(min_length=10, max_length=500)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a lowercase slug (a-z, 0-9, '-', '_')")
        return value


class _MotionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    motions: list[Motion] = Field(min_length=1)


def persona_version(persona: Persona | Mapping[str, Any]) -> str:
    """The content hash of the fields that reach the model: 12 hex digits."""
    data = persona.model_dump() if isinstance(persona, Persona) else persona
    content = {key: data.get(key) for key in VERSIONED_FIELDS}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


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


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(file)"
        lines.append(f"  {where}: {err['msg']}")
    return f"{path}: invalid\n" + "\n".join(lines)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise PersonaFileError(f"{path}:{where} not valid YAML: {exc}") from exc


class _FileModel(Protocol):
    id: str


FileModel = TypeVar("FileModel", bound=BaseModel)


def load_id_file(path: Path, model: type[FileModel]) -> FileModel:
    """One YAML file as `model`, whose `id` must equal the file name (personas, tactics)."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise PersonaFileError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    try:
        loaded = model.model_validate(data)
    except ValidationError as exc:
        raise PersonaFileError(_format_errors(path, exc)) from exc
    found = cast(_FileModel, loaded).id
    if found != path.stem:
        raise PersonaFileError(f"{path}: id: {found!r} must equal the file name {path.stem!r}")
    return loaded


def load_persona_file(path: Path) -> Persona:
    return load_id_file(path, Persona)


def load_motions_file(path: Path) -> list[Motion]:
    data = _read_yaml(path)
    try:
        motions = _MotionsFile.model_validate(data).motions
    except ValidationError as exc:
        raise PersonaFileError(_format_errors(path, exc)) from exc
    _check_unique(path, (m.id for m in motions), "motion")
    return motions


def _check_unique(path: Path, ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise PersonaFileError(f"{path}: duplicate {what} id {ident!r}")
        seen.add(ident)


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


def load_library(folder: Path) -> Library:
    if not folder.is_dir():
        raise PersonaFileError(f"{folder}: personas folder not found (set ARENA_PERSONAS_DIR)")
    personas: dict[str, Persona] = {}
    for path in sorted(folder.glob("*.y*ml")):
        if path.name in (MOTIONS_FILE, "motions.yml"):
            continue
        persona = load_persona_file(path)
        if persona.id in personas:
            raise PersonaFileError(f"{path}: duplicate persona id {persona.id!r}")
        personas[persona.id] = persona
    motions_path = folder / MOTIONS_FILE
    motions = load_motions_file(motions_path) if motions_path.exists() else []
    return Library(personas, {m.id: m for m in motions})


def schema_json() -> str:
    return json.dumps(persona_schema(), indent=2)
