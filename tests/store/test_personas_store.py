"""Saved personas in Redis: merged with the files, drafts refused, versions kept, imports all or
nothing and safe when run at the same time."""

from __future__ import annotations

import asyncio
import json

import pytest

from arena.domain.personas import DraftPersonaError, Imported, Library, persona_version
from arena.personas import cards
from arena.personas.library import load_library
from arena.store import Store
from arena.store.personas import ImportFailed, PersonaInvalid
from tests.engine_helpers import PERSONAS
from tests.personas.test_cards import V2

NEW = {
    "name": "Ada",
    "summary": "An engineer.",
    "system_prompt": "You are Ada, an engineer who argues from data.",
    "beliefs": ["Measure first."],
    "style": "dry",
}


@pytest.fixture
def files() -> Library:
    return load_library(PERSONAS)


def card(name: str, **data: object) -> Imported:
    body = {**V2, "data": {**V2["data"], "name": name, **data}}
    return cards.read_file(f"{name}.json", json.dumps(body).encode())


async def test_saved_personas_join_the_library_and_never_shadow_a_file(
    store: Store, files: Library
) -> None:
    await store.personas.create(NEW, files)
    with pytest.raises(PersonaInvalid) as err:
        await store.personas.create({**NEW, "id": "pirate"}, files)
    assert [p.field for p in err.value.problems] == ["id"]
    library = await store.personas.library(files)
    assert library.persona("ada").name == "Ada"
    assert library.persona("pirate") == files.persona("pirate")
    assert "ada" not in files.personas  # the file library is left as it was


async def test_a_draft_is_named_with_what_it_lacks(store: Store, files: Library) -> None:
    [result] = await store.personas.import_files([card("Bob", description="Bob.")], files)
    assert result.draft
    library = await store.personas.library(files)
    with pytest.raises(DraftPersonaError, match=r"'bob' is a draft .*beliefs.*style"):
        library.persona("bob")


async def test_versions_are_kept_oldest_first_and_once_each(store: Store, files: Library) -> None:
    saved = await store.personas.create(NEW, files)
    first = persona_version(saved.fields)
    await store.personas.update("ada", {**NEW, "summary": "only the summary changed"})
    edited = {**NEW, "system_prompt": NEW["system_prompt"] + " Always."}
    await store.personas.update("ada", edited)
    await store.personas.update("ada", NEW)  # back to the first: not a new version
    versions = [v.version for v in await store.personas.versions("ada")]
    assert versions == [first, persona_version({**edited, "id": "ada"})]


async def test_a_bad_file_in_a_batch_saves_nothing(store: Store, files: Library) -> None:
    batch = [card("Pirate"), card("Marcus")]
    with pytest.raises(ImportFailed) as err:
        await store.personas.import_files(batch, files, on_conflict="error")
    assert [e.filename for e in err.value.errors] == ["Pirate.json"]
    assert await store.personas.all() == {}


async def test_concurrent_imports_of_one_name_get_distinct_ids(
    store: Store, files: Library
) -> None:
    results = await asyncio.gather(
        *(store.personas.import_files([card("Twin")], files) for _ in range(5))
    )
    ids = sorted(r[0].id for r in results)
    assert ids == ["twin", "twin-2", "twin-3", "twin-4", "twin-5"]
    assert set(await store.personas.all()) == set(ids)


async def test_a_node_reads_the_saved_personas_again_only_after_one_changed(
    store: Store, files: Library
) -> None:
    other = await Store.connect(store.settings)  # a second node on the same Redis
    try:
        first = await store.personas.library(files)
        assert await store.personas.library(files) is first  # nothing saved since: not re-read
        await other.personas.create(NEW, files)
        after_create = await store.personas.library(files)
        assert after_create is not first and "ada" in after_create.personas
        await other.personas.update("ada", {**NEW, "style": "Terse and exact."})
        assert (await store.personas.library(files)).personas["ada"].style == "Terse and exact."
        await other.personas.delete("ada")
        assert "ada" not in (await store.personas.library(files)).personas
    finally:
        await other.close()
