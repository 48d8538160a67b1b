"""Saved personas: made on the page, through the API or by an import, kept in Redis beside the
read-only persona files, with every version that was saved or played.

A saved persona whose fields do not validate (an imported card that states no beliefs) is a
draft: listed and editable, never played. A file persona's id is never shadowed by a saved one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import WatchError

from arena.domain.personas import (
    SLUG,
    FieldProblem,
    Imported,
    Library,
    Persona,
    persona_problems,
    persona_version,
    slugify,
    unique_slug,
)
from arena.domain.specs import MatchSpec
from arena.errors import ArenaError, CardError
from arena.store.keys import Keys
from arena.store.persona_assets import PersonaAssets

OnConflict = Literal["rename", "error"]
_RETRIES = 20


class SavedPersona(BaseModel):
    """A persona kept in Redis: its fields (a draft's may be incomplete or invalid), where it came
    from, and what an imported card brought that the arena does not use (exported back with the
    persona, never part of a prompt)."""

    fields: dict[str, Any]
    origin: str = "page"
    card: dict[str, Any] | None = None
    forked_from: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def problems(self) -> list[FieldProblem]:
        return persona_problems(self.fields)

    def persona(self) -> Persona | None:
        return None if self.problems() else Persona.model_validate(self.fields)


class PersonaVersion(BaseModel):
    """One version of a persona: its content hash, when it was first saved or played, and the
    persona as it was."""

    version: str
    at: datetime
    persona: dict[str, Any]


class PersonaInvalid(ArenaError):
    """Fields that do not make a persona: one problem per field, for a 422."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.msg}" for p in problems))


class ImportFailed(ArenaError):
    """Files that could not be imported; nothing of the batch was saved."""

    def __init__(self, errors: list[CardError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass
class ImportResult:
    filename: str
    id: str
    origin: str
    draft: bool
    problems: list[FieldProblem]
    notes: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _dump(model: BaseModel) -> str:
    return model.model_dump_json()


class SavedPersonas:
    """The saved personas of one key prefix (keys in arena/store/keys.py)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis, self.keys = redis, keys
        self.assets = PersonaAssets(redis, keys)
        # the library as last read, under the revision it was read at and the files it merged
        self._cached: tuple[str, int, Library] | None = None

    async def all(self) -> dict[str, SavedPersona]:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.saved_personas)
        return _parsed(raw)

    async def _changed(self) -> None:
        """Every write moves the revision: a node's cached library is then read again."""
        await self.redis.incr(self.keys.saved_personas_rev)

    async def get(self, persona_id: str) -> SavedPersona | None:
        raw = await self.redis.hget(self.keys.saved_personas, persona_id)
        return SavedPersona.model_validate_json(raw) if raw is not None else None

    async def library(self, files: Library) -> Library:
        """The file personas plus the saved ones (drafts named, so a match with one is refused
        with what to fill in). Read again only when a persona was saved since (the revision
        moved): a request costs one GET, not every saved persona parsed and validated."""
        rev = str(await self.redis.get(self.keys.saved_personas_rev) or "0")
        cached = self._cached
        if cached is not None and cached[0] == rev and cached[1] == id(files):
            return cached[2]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.saved_personas_rev)
            pipe.hgetall(self.keys.saved_personas)
            at, raw = await pipe.execute()
        library = _merged(files, _parsed(raw))
        self._cached = (str(at or "0"), id(files), library)
        return library

    async def match_library(self, files: Library, spec: MatchSpec) -> Library:
        """The library a match plays from: as `library()`, except that a side whose spec names a
        version (a match resumed after its persona was edited) gets that version back. Records
        the version of each persona played, so that file personas list theirs too."""
        library = await self.library(files)
        pinned: dict[str, Persona] = {}
        for side in (spec.pro, spec.con):
            version = getattr(side, "version", None)
            current = library.personas.get(side.persona)
            if version and current is not None and persona_version(current) != version:
                old = await self.version(side.persona, version)
                if old is not None:
                    pinned[side.persona] = Persona.model_validate(old.persona)
        if pinned:
            library = Library({**library.personas, **pinned}, library.motions, library.drafts)
        for side in (spec.pro, spec.con):
            if (persona := library.personas.get(side.persona)) is not None:
                await self.remember(persona)
        return library

    async def remember(self, persona: Persona, at: datetime | None = None) -> str:
        version = persona_version(persona)
        entry = PersonaVersion(version=version, at=at or _now(), persona=persona.model_dump())
        await self.redis.hsetnx(self.keys.persona_versions(persona.id), version, _dump(entry))
        return version

    async def version(self, persona_id: str, version: str) -> PersonaVersion | None:
        raw = await self.redis.hget(self.keys.persona_versions(persona_id), version)
        return PersonaVersion.model_validate_json(raw) if raw is not None else None

    async def versions(self, persona_id: str) -> list[PersonaVersion]:
        """Every version saved or played, oldest first."""
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.persona_versions(persona_id))
        found = [PersonaVersion.model_validate_json(v) for v in raw.values()]
        return sorted(found, key=lambda v: v.at)

    # ---- writes

    async def create(
        self,
        fields: Mapping[str, Any],
        files: Library,
        *,
        origin: str = "page",
        forked_from: str | None = None,
        card: dict[str, Any] | None = None,
        assets: Mapping[str, bytes] | None = None,
    ) -> SavedPersona:
        """A new saved persona; its fields must validate (PersonaInvalid names each field) and its
        id must be free (a PersonaInvalid on `id`). `assets`: the files its card keeps (a fork
        copies the original's)."""
        data = dict(fields)
        if not data.get("id") and data.get("name"):
            data["id"] = slugify(str(data["name"]))
        _check(data)
        now = _now()
        saved = SavedPersona(
            fields=Persona.model_validate(data).model_dump(),
            origin=origin,
            forked_from=forked_from,
            card=card,
            created_at=now,
            updated_at=now,
        )
        key = self.keys.saved_personas
        if saved.id in files.personas or not await self.redis.hsetnx(key, saved.id, _dump(saved)):
            taken = FieldProblem("id", f"{saved.id!r} is taken: pick another id")
            raise PersonaInvalid([taken])
        if assets:
            async with self.redis.pipeline(transaction=True) as pipe:
                self.assets.replace(pipe, saved.id, assets)
                await pipe.execute()
        await self._changed()
        await self._remember_saved(saved)
        return saved

    async def update(self, persona_id: str, fields: Mapping[str, Any]) -> SavedPersona | None:
        """Replace a saved persona's fields (None if there is none with that id). The id stays."""
        current = await self.get(persona_id)
        if current is None:
            return None
        data = {**dict(fields), "id": persona_id}
        _check(data)
        saved = current.model_copy(
            update={"fields": Persona.model_validate(data).model_dump(), "updated_at": _now()}
        )
        await self.redis.hset(self.keys.saved_personas, persona_id, _dump(saved))
        await self._changed()
        await self._remember_saved(saved)
        return saved

    async def delete(self, persona_id: str) -> bool:
        """Delete a saved persona and the files its card brought."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.saved_personas, persona_id)
            self.assets.replace(pipe, persona_id, {})
            pipe.incr(self.keys.saved_personas_rev)
            deleted, *_ = await pipe.execute()
        return bool(deleted)

    async def import_files(
        self, imports: Iterable[Imported], files: Library, on_conflict: OnConflict = "rename"
    ) -> list[ImportResult]:
        """Save a batch of imports, all or nothing: an id that is taken gets a suffix (or, with
        on_conflict="error", fails the batch naming the file)."""
        batch = list(imports)
        for _ in range(_RETRIES):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self.keys.saved_personas)
                    existing = await pipe.hkeys(self.keys.saved_personas)
                    taken = {_text(k) for k in existing} | set(files.personas)
                    planned, results = self._plan(batch, taken, on_conflict)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for saved, item in zip(planned, batch, strict=True):
                        pipe.hset(self.keys.saved_personas, saved.id, _dump(saved))
                        self.assets.replace(pipe, saved.id, item.assets)
                    pipe.incr(self.keys.saved_personas_rev)
                    await pipe.execute()
                except WatchError:
                    continue
            for saved in planned:
                await self._remember_saved(saved)
            return results
        raise ArenaError("too many concurrent imports: try again")

    def _plan(
        self, batch: list[Imported], taken: set[str], on_conflict: OnConflict
    ) -> tuple[list[SavedPersona], list[ImportResult]]:
        errors: list[CardError] = []
        planned: list[SavedPersona] = []
        results: list[ImportResult] = []
        now = _now()
        for item in batch:
            fields = dict(item.fields)
            asked = str(fields.get("id") or "")
            base = asked if SLUG.match(asked) else slugify(str(fields.get("name") or asked))
            notes = list(item.notes)
            if base in taken:
                if on_conflict == "error":
                    name = fields.get("name")
                    errors.append(
                        CardError(
                            item.filename,
                            f"the name {name!r} makes the id {base!r}, which already exists: "
                            "rename the persona, or import with on_conflict=rename",
                        )
                    )
                    continue
                fields["id"] = unique_slug(base, taken)
                notes.append(f"the id {base!r} is taken: saved as {fields['id']!r}")
            else:
                fields["id"] = base
            taken.add(fields["id"])
            saved = SavedPersona(
                fields=fields, origin=item.origin, card=item.card, created_at=now, updated_at=now
            )
            problems = saved.problems()
            if not problems:
                saved.fields = Persona.model_validate(fields).model_dump()
            planned.append(saved)
            results.append(
                ImportResult(item.filename, saved.id, item.origin, bool(problems), problems, notes)
            )
        if errors:
            raise ImportFailed(errors)
        return planned, results

    async def _remember_saved(self, saved: SavedPersona) -> None:
        persona = saved.persona()
        if persona is not None:
            await self.remember(persona, saved.updated_at)


def _parsed(raw: dict[Any, Any]) -> dict[str, SavedPersona]:
    saved = (SavedPersona.model_validate_json(v) for v in raw.values())
    return {s.id: s for s in sorted(saved, key=lambda s: s.created_at)}


def _merged(files: Library, saved: dict[str, SavedPersona]) -> Library:
    playable, drafts = [], {}
    for s in saved.values():
        persona = s.persona()
        if persona is None:
            drafts[s.id] = "; ".join(f"{p.field}: {p.msg}" for p in s.problems())
        else:
            playable.append(persona)
    return files.with_saved(playable, drafts)


def _check(data: Mapping[str, Any]) -> None:
    problems = persona_problems(data)
    if problems:
        raise PersonaInvalid(problems)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
