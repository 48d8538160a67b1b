"""Persona and motion files: load, validate, and report errors naming the file and field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arena.domain.claims import Claim
from arena.domain.personas import Library, Motion, Persona, persona_schema
from arena.errors import PersonaFileError

MOTIONS_FILE = "motions.yaml"
CLAIMS_FILE = "claims.yaml"
DATA_FILES = (MOTIONS_FILE, "motions.yml", CLAIMS_FILE)  # in the personas folder, not personas


class _MotionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    motions: list[Motion] = Field(min_length=1)


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


def load_claims_file(path: Path) -> list[Claim]:
    """The claims of a claims file; errors name the file, the line of the claim and the field."""
    data = _read_yaml(path)
    if not isinstance(data, list):
        raise PersonaFileError(f"{path}: expected a list of claims, got {type(data).__name__}")
    lines = _item_lines(path)
    claims, problems = [], []
    for i, item in enumerate(data):
        try:
            claims.append(Claim.model_validate(item))
        except ValidationError as exc:
            where = f"{path}:{lines[i]}" if i < len(lines) else f"{path}: claim {i + 1}"
            for err in exc.errors():
                field = ".".join(str(part) for part in err["loc"]) or "(claim)"
                problems.append(f"{where}: {field}: {err['msg']}")
    if problems:
        raise PersonaFileError("\n".join(problems))
    _check_unique(path, (c.id for c in claims), "claim")
    return claims


def _item_lines(path: Path) -> list[int]:
    """The line (1-based) where each item of a top-level YAML list starts."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]


def load_claims(folder: Path) -> dict[str, Claim]:
    """The claims shipped in the personas folder (none when it has no claims file); read again
    only when the file changed."""
    path = folder / CLAIMS_FILE
    if not path.exists():
        return {}
    return _claims(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _claims(path: Path, mtime_ns: int) -> dict[str, Claim]:
    return {c.id: c for c in load_claims_file(path)}


def load_library(folder: Path) -> Library:
    if not folder.is_dir():
        raise PersonaFileError(f"{folder}: personas folder not found (set ARENA_PERSONAS_DIR)")
    personas: dict[str, Persona] = {}
    for path in sorted(folder.glob("*.y*ml")):
        if path.name in DATA_FILES:
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
