"""The V3 details importers get wrong, on import and export, and every exported V3 card checked
against the spec's JSON Schema (ccv3.schema.json beside this file); standalone lorebooks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from arena.domain.lorebooks import Lorebook
from arena.errors import CardError
from arena.personas import cardv3, lorebook_files, png
from arena.personas import export as card_export
from arena.personas.cards import read_file
from arena.personas.library import load_library
from tests.engine_helpers import PERSONAS
from tests.personas.test_cards import V2, b64, v3
from tests.personas.test_charx import BOOK, stoic_charx

SCHEMA = json.loads((Path(__file__).parent / "ccv3.schema.json").read_text())
Draft202012Validator.check_schema(SCHEMA)
CARD = Draft202012Validator(SCHEMA)
BOOK_FILE = Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/lorebookFile"})


def problems(validator: Draft202012Validator, value: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)
    ]


def imported(card: dict[str, Any], name: str = "c.json") -> Any:
    return read_file(name, json.dumps(card).encode())


def test_millisecond_and_text_dates_are_read_as_unix_seconds() -> None:
    got = imported(v3(creation_date=1718000000123, modification_date="2024-06-10T06:13:20Z"))
    assert got.card["creation_date"] == 1718000000
    assert got.card["modification_date"] == 1717999999 + 1
    assert any("1718000000123 read as 1718000000" in n for n in got.notes)
    dropped = imported(v3(creation_date="someday"))
    assert "creation_date" not in dropped.card and any("not a date" in n for n in dropped.notes)
    assert cardv3.seconds(0) == 0 and cardv3.seconds(True) is None


@pytest.mark.parametrize(
    ("version", "warned"), [("3.0", None), ("3.1", "newer than the 3.0"), ("4", "newer"),
                            ("3.10", "newer"), ("2.9", None), ("v3", "is not a number")]
)  # fmt: skip
def test_spec_version_is_compared_as_a_number_and_never_refused(
    version: str, warned: str | None
) -> None:
    got = imported({**v3(), "spec_version": version})
    assert got.origin == "card-v3" and got.fields["name"] == "Marcus the Stoic"
    found = [n for n in got.notes if "spec_version" in n or "version" in n.split(":")[0]]
    assert (warned is None and not found) or (warned is not None and warned in " ".join(found))


def test_the_nickname_stands_for_char_and_an_empty_one_falls_back_to_the_name() -> None:
    nick = imported(v3(nickname="Marc"))
    assert nick.fields["system_prompt"].startswith("You are Marc. Speak")
    assert "Never break character as Marc." in nick.fields["system_prompt"]
    assert nick.fields["summary"].startswith("Marc is a Roman senator")
    empty = imported(v3(nickname=""))
    assert empty.fields["system_prompt"].startswith("You are Marcus the Stoic.")
    # in the lorebook {{char}} is the nickname too, at match time
    book = imported(v3(nickname="Marc", character_book=BOOK)).fields["lorebook"]
    assert book["extensions"]["persona_arena"] == {"nickname": "Marc"}


def test_creator_notes_are_the_english_fallback_of_the_multilingual_ones() -> None:
    data = v3(creator_notes_multilingual={"ko": "메모"})["data"]
    assert cardv3.creator_notes(data) == {"ko": "메모", "en": "SECRET NOTE never to be prompted"}
    data["creator_notes_multilingual"]["en"] = "English"
    assert cardv3.creator_notes(data)["en"] == "English"


def export_v3(got: Any, persona_id: str = "marcus", **kw: Any) -> dict[str, Any]:
    fields = {**got.fields, "id": persona_id}
    content = card_export.export(fields, "card-v3", kept=got.card, files=got.assets, **kw)[0]
    return json.loads(content)


def test_source_is_append_only_and_group_only_greetings_always_present() -> None:
    card = export_v3(imported(v3(source=["https://a.example/1", "chub:x"])))
    assert card["data"]["source"] == ["https://a.example/1", "chub:x", "persona-arena:marcus"]
    again = export_v3(imported(card))
    assert again["data"]["source"] == card["data"]["source"]  # appended once
    from_v2 = export_v3(imported(V2))
    assert from_v2["data"]["group_only_greetings"] == []
    assert from_v2["data"]["creation_date"] == 0  # unknown
    assert abs(from_v2["data"]["modification_date"] - again["data"]["modification_date"]) < 60


def test_every_bundled_persona_exports_a_card_the_schema_accepts() -> None:
    for persona in load_library(PERSONAS).personas.values():
        card = json.loads(card_export.export(persona.model_dump(), "card-v3")[0])
        assert problems(CARD, card) == [], persona.id


def test_imported_cards_export_valid_v3_in_every_container() -> None:
    st_book = {**BOOK, "entries": [{**BOOK["entries"][0], "use_regex": True,
                                    "keys": ["Virtue", "/vice/i", ""]}]}  # fmt: skip
    for got in (
        read_file("m.charx", stoic_charx()),
        imported(v3(character_book=st_book, creation_date=1718000000123, nickname="Marc")),
        imported(V2),
    ):
        as_json = export_v3(got)
        assert problems(CARD, as_json) == [], got.filename
        fields = {**got.fields, "id": "marcus"}
        kw = {"kept": got.card, "files": got.assets}
        image = card_export.export(fields, "card-v3", png=True, **kw)[0]
        in_png = json.loads(base64.b64decode(png.text_chunks(image)["ccv3"]))
        assert problems(CARD, in_png) == [], got.filename
        archive = card_export.export(fields, "charx", **kw)[0]
        in_charx = json.loads(card_export.charx.read("x", archive, 10**8).card)
        assert problems(CARD, in_charx) == [], got.filename
    # SillyTavern's use_regex on a mix: the plain keys are written as patterns
    keys = export_v3(imported(v3(character_book=st_book)))["data"]["character_book"]["entries"]
    assert keys[0]["keys"] == ["/Virtue/i", "/vice/i", ""]


def test_the_schema_refuses_what_the_spec_forbids() -> None:
    good = export_v3(read_file("m.charx", stoic_charx()))
    for broken in (
        {**good, "spec_version": 3.0},
        {**good, "data": {k: v for k, v in good["data"].items() if k != "group_only_greetings"}},
        {**good, "data": {**good["data"], "creation_date": 1718000000123}},
        {**good, "data": {**good["data"], "assets": [
            {"type": "icon", "uri": "embedded://a.png", "name": "main", "ext": "png"}]}},
    ):  # fmt: skip
        assert problems(CARD, broken)


def test_a_v3_png_carries_a_v2_copy_for_older_readers() -> None:
    got = imported(v3(character_book=BOOK, nickname="Marc"))
    fields = {**got.fields, "id": "marcus"}
    image = card_export.export(fields, "card-v3", png=True, kept=got.card)[0]
    chara = json.loads(base64.b64decode(png.text_chunks(image)["chara"]))
    data = chara["data"]
    assert chara["spec"] == "chara_card_v2"
    assert data["creator_notes"].startswith(cardv3.V2_BACKFILL_NOTE)
    assert not set(data) & cardv3.V3_ONLY
    entries = data["character_book"]["entries"]
    assert entries[0]["content"] == "Virtue is enough." and "use_regex" not in entries[0]
    # a plain V2 export carries no such note
    v2 = json.loads(card_export.export(fields, "card-v2", kept=got.card)[0])
    assert cardv3.V2_BACKFILL_NOTE not in v2["data"]["creator_notes"]


def test_standalone_lorebooks_in_and_out() -> None:
    wrapped = {"spec": "lorebook_v3", "data": BOOK}
    book, notes = lorebook_files.read_file("stoa.json", wrapped)
    assert Lorebook.model_validate(book).entries[1].keys == ["/\\banger\\b/i"] and notes == []
    out = json.loads(lorebook_files.file_bytes(book))
    assert problems(BOOK_FILE, out) == [] and out["data"] == BOOK
    # SillyTavern's world info: entries keyed by uid, its own field names
    world = {"entries": {"0": {"uid": 0, "key": ["Rome"], "keysecondary": [], "comment": "rome",
                               "content": "Rome.", "constant": False, "selective": True,
                               "order": 100, "position": 0, "disable": False, "depth": 4,
                               "probability": 100}}}  # fmt: skip
    book, _ = lorebook_files.read_file("world.json", world)
    [entry] = Lorebook.model_validate(book).entries
    assert (entry.keys, entry.comment, entry.position, entry.enabled) == (
        ["Rome"], "rome", "before_char", True,
    )  # fmt: skip
    assert entry.extensions == {"position": 0, "depth": 4, "probability": 100}
    assert problems(BOOK_FILE, json.loads(lorebook_files.file_bytes(book))) == []
    with pytest.raises(CardError, match="not a lorebook"):
        lorebook_files.read_file("card.json", v3())


def test_a_lorebook_file_given_as_a_persona_says_where_it_goes() -> None:
    data = json.dumps({"spec": "lorebook_v3", "data": BOOK}).encode()
    with pytest.raises(CardError, match=r"^stoa\.json: a lorebook, not a persona"):
        read_file("stoa.json", data)


def test_a_big_png_card_imports_and_keeps_its_image() -> None:
    from tests.personas.test_charx import image

    art = image(1448, 1448)  # about 6 MB of noise
    assert len(art) > 6_000_000
    data = png.with_text({"ccv3": b64(v3()).decode(), "chara": b64(V2).decode()}, art)
    got = read_file("big.png", data)
    assert got.origin == "card-v3" and len(got.assets["assets/icon/images/main.png"]) == len(art)
