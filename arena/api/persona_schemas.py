"""Request and response bodies of the persona routes: authoring, import, versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arena.api.schemas import PersonaDetail
from arena.domain.lorebooks import Lorebook
from arena.domain.personas import Persona


class PersonaWrite(BaseModel):
    """The fields of a persona to create or edit. Checked as a persona file is (a 422 names each
    field at fault); on create, `id` defaults to a slug of the name."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    name: str | None = None
    summary: str | None = None
    system_prompt: str | None = None
    beliefs: list[str] | None = None
    style: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    lorebook: Lorebook | None = Field(
        default=None, description="the persona's lorebook; left out, the persona has none"
    )

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class DraftFields(BaseModel):
    """A draft's fields as saved: any of them may be missing or not valid yet."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    summary: str | None = None
    system_prompt: str | None = None
    beliefs: list[str] | None = None
    style: str | None = None


class Problem(BaseModel):
    field: str
    msg: str


class VersionPublic(BaseModel):
    version: str
    at: datetime
    current: bool


class AssetPublic(BaseModel):
    """A file or link the persona's card brought: `use` says what the arena does with it
    (portrait, kept for export, link, extra file); `url` serves a kept file."""

    type: str
    name: str
    ext: str
    uri: str
    bytes: int | None = None
    use: str
    url: str | None = None


class PersonaPage(PersonaDetail):
    """A persona (or a draft's fields) with its stats, recent matches, versions and whether it
    can be edited in place (saved) or only forked (a file)."""

    persona: Persona | DraftFields  # type: ignore[assignment]
    source: Literal["file", "saved"]
    editable: bool
    draft: bool = False
    problems: list[Problem] = Field(default_factory=list)
    version: str | None = Field(default=None, description="content hash of the current fields")
    versions: list[VersionPublic] = Field(default_factory=list)
    origin: str | None = None
    forked_from: str | None = None
    portrait: str | None = Field(default=None, description="URL of the card's main icon")
    assets: list[AssetPublic] = Field(default_factory=list)
    creator_notes: dict[str, str] = Field(
        default_factory=dict, description="the card creator's notes by language (ISO 639-1)"
    )


class PersonaSaved(BaseModel):
    """A persona written by the API: its id, version and where the page shows it."""

    id: str
    version: str
    url: str
    forked_from: str | None = None


class ImportedPublic(BaseModel):
    filename: str
    id: str
    origin: str
    draft: bool
    problems: list[Problem]
    notes: list[str]
    url: str
    assets: list[AssetPublic] = Field(default_factory=list)


class ImportReport(BaseModel):
    imported: list[ImportedPublic]


class LorebookRead(BaseModel):
    """A lorebook file as the arena reads it, to attach to a persona (nothing is saved)."""

    lorebook: Lorebook
    notes: list[str]
