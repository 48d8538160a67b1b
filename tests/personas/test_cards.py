"""Character Cards (V2/V3, JSON and PNG) and Modelfiles to personas and back, built by the tests."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest
import yaml

from arena.domain.personas import Persona, persona_problems, persona_version, slugify, unique_slug
from arena.errors import CardError
from arena.personas import cards, png
from arena.personas import export as card_export
from arena.personas.cards import read_file
from arena.personas.library import load_library
from tests.engine_helpers import PERSONAS

V2: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Marcus the Stoic",
        "description": "{{char}} is a Roman senator who argues with {{user}} calmly.\n\n"
        "Beliefs:\n- Virtue is the only good.\n- Anger is a choice.\n\n"
        "Style: measured, Latin asides",
        "personality": "calm, dry, stubborn",
        "scenario": "A debate in the Forum.",
        "first_mes": "Salve.",
        "mes_example": "<START>\n{{char}}: Calm yourself.",
        "creator_notes": "SECRET NOTE never to be prompted",
        "system_prompt": "{{original}} Never break character as {{char}}.",
        "post_history_instructions": "",
        "alternate_greetings": ["Ave."],
        "tags": ["stoic", "history"],
        "creator": "someone",
        "character_version": "1.2",
        "extensions": {"depth_prompt": {"depth": 4, "prompt": "x"}, "talkativeness": "0.5"},
    },
}


def v3(**data: Any) -> dict[str, Any]:
    base = {
        **V2["data"],
        "nickname": "Marcus",
        "source": ["https://example.org/c"],
        "creation_date": 1700000000,
        "group_only_greetings": [],
    }
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": {**base, **data}}


def chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_with(**texts: bytes) -> bytes:
    body = png.minimal()[len(png.SIGNATURE) :]
    iend = chunk(b"IEND", b"")
    extra = b"".join(chunk(b"tEXt", k.encode() + b"\0" + v) for k, v in texts.items())
    return png.SIGNATURE + body[: -len(iend)] + extra + iend


def b64(card: dict[str, Any]) -> bytes:
    return base64.b64encode(json.dumps(card).encode())


def test_a_v2_card_maps_field_by_field() -> None:
    got = read_file("marcus.json", json.dumps(V2).encode())
    f = got.fields
    assert got.origin == "card-v2"
    assert f["name"] == "Marcus the Stoic"
    assert f["beliefs"] == ["Virtue is the only good.", "Anger is a choice."]
    assert f["style"] == "measured, Latin asides"
    prompt = f["system_prompt"]
    assert prompt.startswith("You are Marcus the Stoic.")  # {{original}} -> the default framing
    assert "Never break character as Marcus the Stoic." in prompt
    assert "argues with your opponent calmly" in prompt  # {{user}}
    assert (
        "personality: calm, dry, stubborn" in prompt
        and "Scenario: A debate in the Forum." in prompt
    )
    assert "{{" not in prompt and "SECRET NOTE" not in prompt  # creator_notes never in a prompt
    assert (
        f["summary"] == "Marcus the Stoic is a Roman senator who argues with your opponent calmly."
    )
    assert got.card is not None and got.card["extensions"]["depth_prompt"] == {
        "depth": 4,
        "prompt": "x",
    }
    assert persona_problems({**f, "id": "marcus"}) == []


def test_a_v3_card_in_a_png_prefers_ccv3_over_chara() -> None:
    data = png_with(chara=b64(V2), ccv3=b64(v3(name="Marcus Three")))
    got = read_file("marcus.png", data)
    assert got.origin == "card-v3" and got.fields["name"] == "Marcus Three"
    assert got.card is not None and got.card["nickname"] == "Marcus"
    only_v2 = read_file("old.png", png_with(chara=b64(V2)))
    assert only_v2.origin == "card-v2"


def test_a_card_without_beliefs_or_style_is_a_draft_that_says_what_is_missing() -> None:
    card = {"spec": "chara_card_v2", "data": {"name": "Bob", "description": "Bob likes tea."}}
    got = read_file("bob.json", json.dumps(card).encode())
    assert "beliefs" not in got.fields and "style" not in got.fields
    assert any("beliefs or style" in n for n in got.notes)
    fields = {p.field for p in persona_problems({**got.fields, "id": "bob"})}
    assert fields == {"beliefs", "style"}


def test_a_modelfile_gives_its_system_prompt_and_temperature() -> None:
    text = (
        "# a comment\nFROM llama3.2\nPARAMETER temperature 0.4\nPARAMETER num_ctx 4096\n"
        'SYSTEM """You are Mario from Super Mario Bros.\nAnswer as Mario, the assistant, only."""\n'
    )
    got = read_file("mario.Modelfile", text.encode())
    assert got.origin == "modelfile"
    assert got.fields["name"] == "mario"
    assert got.fields["temperature"] == 0.4
    assert got.fields["system_prompt"] == (
        "You are Mario from Super Mario Bros.\nAnswer as Mario, the assistant, only."
    )
    assert got.card == {"modelfile": {"from": "llama3.2", "parameters": {"num_ctx": "4096"}}}
    one_line = read_file("Modelfile", b'FROM x\nSYSTEM "You are a terse pirate who argues."\n')
    assert one_line.fields["system_prompt"] == "You are a terse pirate who argues."


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("bad.json", b'{"spec": "chara_card_v2", "data": {', "not valid JSON"),
        ("plain.png", png.minimal(), "a PNG without a character card"),
        ("junk.png", png_with(chara=b"!!! not base64 ***"), "'chara' chunk is not base64"),
        ("big.json", b"{" + b" " * 3000 + b"}", "larger than 2,000 bytes, the limit set by"),
        ("noname.json", b'{"spec": "chara_card_v2", "data": {"description": "x"}}', "no name"),
        ("weird.json", b'{"spec": "chara_card_v9", "data": {}}', "unknown card spec"),
        ("list.json", b"[1, 2]", "must be a JSON object"),
        ("cut.png", png.minimal()[:20], "truncated PNG"),
        ("Modelfile", b"FROM llama3\nPARAMETER temperature 0.2\n", "no SYSTEM prompt"),
        ("Modelfile", b'FROM x\nSYSTEM """never closed\n', "never closes"),
        ("notes.txt", b"hello there", "not a card"),
    ],
)
def test_bad_input_is_an_error_naming_the_file_and_the_problem(
    name: str, data: bytes, problem: str
) -> None:
    with pytest.raises(CardError) as err:
        read_file(name, data, max_bytes=2000)
    assert str(err.value).startswith(f"{name}: ") and problem in str(err.value)


def test_a_png_with_a_bad_crc_is_refused() -> None:
    data = bytearray(png_with(chara=b64(V2)))
    data[-20] ^= 0xFF  # inside the tEXt chunk
    with pytest.raises(CardError, match="bad CRC"):
        read_file("bad.png", bytes(data))


def test_html_and_script_in_fields_are_kept_as_text() -> None:
    card = json.loads(json.dumps(V2))
    card["data"]["name"] = '<img src=x onerror="alert(1)">Eve'
    got = read_file("eve.json", json.dumps(card).encode())
    assert got.fields["name"] == '<img src=x onerror="alert(1)">Eve'
    assert slugify(got.fields["name"]) == "img-src-x-onerror-alert-1-eve"


def test_slugs_and_their_deduplication() -> None:
    assert slugify("Captain Ré dbeard!") == "captain-re-dbeard"
    assert slugify("日本") == "persona"
    assert unique_slug("pirate", {"pirate", "pirate-2"}) == "pirate-3"
    assert unique_slug("x" * 64, {"x" * 64}) == "x" * 62 + "-2"


def _roundtrip(persona: Persona, fmt: cards.CardFormat, as_png: bool) -> dict[str, Any]:
    content, _, suffix = card_export.export(persona.model_dump(), fmt, png=as_png)
    return read_file(f"{persona.id}{suffix}", content).fields


@pytest.mark.parametrize(
    ("fmt", "as_png"),
    [("card-v2", False), ("card-v3", False), ("card-v2", True), ("card-v3", True), ("yaml", False)],
)
def test_export_then_import_keeps_every_field_of_every_bundled_persona(
    fmt: cards.CardFormat, as_png: bool
) -> None:
    for persona in load_library(PERSONAS).personas.values():
        assert Persona.model_validate(_roundtrip(persona, fmt, as_png)) == persona


def test_an_exported_card_reads_well_in_other_tools() -> None:
    pirate = load_library(PERSONAS).persona("pirate")
    card = json.loads(card_export.export(pirate.model_dump(), "card-v3")[0])
    assert card["spec"] == "chara_card_v3" and card["spec_version"] == "3.0"
    data = card["data"]
    assert data["name"] == pirate.name and data["system_prompt"] == pirate.system_prompt
    assert "Beliefs:\n- Freedom is the only treasure worth having." in data["description"]
    assert data["character_version"] == persona_version(pirate)
    v2 = json.loads(card_export.export(pirate.model_dump(), "card-v2")[0])
    assert v2["spec"] == "chara_card_v2" and "nickname" not in v2["data"]


def test_a_card_edited_elsewhere_rebuilds_its_prompt_and_keeps_arena_fields() -> None:
    pirate = load_library(PERSONAS).persona("pirate")
    card = json.loads(card_export.export(pirate.model_dump(), "card-v2")[0])
    card["data"]["scenario"] = "On a sinking ship."
    got = read_file("edited.json", json.dumps(card).encode())
    assert "Scenario: On a sinking ship." in got.fields["system_prompt"]
    assert (
        got.fields["beliefs"] == pirate.beliefs and got.fields["temperature"] == pirate.temperature
    )
    assert any("edited after it left the arena" in n for n in got.notes)


def test_an_imported_card_exports_its_own_fields_and_extensions_back() -> None:
    got = read_file("marcus.json", json.dumps(V2).encode())
    fields = {**got.fields, "id": "marcus"}
    card = json.loads(card_export.export(fields, "card-v2", kept=got.card)[0])
    assert card["data"]["extensions"]["depth_prompt"] == {"depth": 4, "prompt": "x"}
    assert card["data"]["first_mes"] == "Salve." and card["data"]["tags"] == ["stoic", "history"]
    again = read_file("again.json", json.dumps(card).encode())
    assert {k: again.fields[k] for k in fields} == fields


def test_a_png_export_keeps_the_given_image_and_is_a_valid_png() -> None:
    pirate = load_library(PERSONAS).persona("pirate").model_dump()
    image = png_with(Comment=b"hello", chara=b64(V2))  # an old card chunk is replaced
    content, media, _ = card_export.export(pirate, "card-v3", png=image)
    assert media == "image/png"
    texts = png.text_chunks(content)
    assert texts["Comment"] == "hello" and set(texts) == {"Comment", "chara", "ccv3"}
    assert json.loads(base64.b64decode(texts["chara"]))["data"]["name"] == "Captain Redbeard"
    kinds = [k for k, _ in png.chunks(content)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", png.chunks(content)[0][1][:8])
    assert (width, height) == (1, 1)
    assert zlib.decompress(dict(png.chunks(content))[b"IDAT"]) == b"\x00\x80"


def test_yaml_export_is_a_persona_file() -> None:
    pirate = load_library(PERSONAS).persona("pirate")
    assert (
        Persona.model_validate(yaml.safe_load(card_export.export(pirate.model_dump(), "yaml")[0]))
        == pirate
    )


def test_the_version_changes_with_the_prompt_only() -> None:
    pirate = load_library(PERSONAS).persona("pirate")
    same = pirate.model_copy(update={"beliefs": ["other"], "summary": "other"})
    other = pirate.model_copy(update={"system_prompt": pirate.system_prompt + " More."})
    assert persona_version(same) == persona_version(pirate) != persona_version(other)
    assert len(persona_version(pirate)) == 12


def test_a_lone_surrogate_is_refused_naming_the_file() -> None:
    with pytest.raises(CardError, match=r"^x\.yaml: not valid text"):
        read_file("x.yaml", b'name: "a \\udfff b"\n')
    with pytest.raises(CardError, match=r"^x\.json: not valid text"):
        read_file("x.json", b'{"spec": "chara_card_v2", "data": {"name": "\\ud800"}}')
