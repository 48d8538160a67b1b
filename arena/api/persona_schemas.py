"""Request and response bodies of the persona routes: authoring, import, versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arena.api.schemas import PersonaDetail
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


class ImportReport(BaseModel):
    imported: list[ImportedPublic]
