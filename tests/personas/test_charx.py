"""CHARX in and out: a card with a main icon, an extra asset and a lorebook round-trips with every
field and file; hostile zips (a bomb, path traversal, 10,000 entries, encryption) are refused
with an error naming the file."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from typing import Any

import pytest

from arena.errors import CardError
from arena.personas import assets, png
from arena.personas import export as card_export
from arena.personas.cards import read_file
from tests.personas.test_cards import chunk, v3

BOOK = {
    "name": "Stoa",
    "scan_depth": 3,
    "extensions": {"risu_fullWordMatching": False},
    "entries": [
        {"keys": ["virtue"], "content": "@@depth 4\n@@@position after_desc\nVirtue is enough.",
         "extensions": {"position": 1, "depth": 4}, "enabled": True, "insertion_order": 10,
         "use_regex": False, "constant": False, "id": 0, "comment": "virtue"},
        {"keys": ["/\\banger\\b/i"], "content": "Anger is a choice.", "extensions": {},
         "enabled": True, "insertion_order": 20, "use_regex": True, "priority": 3,
         "selective": False, "id": "b"},
    ],
}  # fmt: skip


def image(width: int, height: int, seed: bytes = b"") -> bytes:
    """A real PNG of noise (never decoded by the arena, but any viewer could)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    pixels = zlib.compress(seed + rows, 1)
    return png.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def make_charx(card: dict[str, Any], files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("card.json", json.dumps(card))
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


ICON = image(8, 8)
HAPPY = os.urandom(3000)


def stoic_charx() -> bytes:
    card = v3(
        character_book=BOOK,
        creator_notes_multilingual={"ko": "메모"},
        assets=[
            {
                "type": "icon",
                "uri": "embeded://assets/icon/images/main.png",
                "name": "main",
                "ext": "png",
            },
            {
                "type": "emotion",
                "uri": "embeded://assets/emotion/images/happy.webp",
                "name": "happy",
                "ext": "webp",
            },
            {
                "type": "background",
                "uri": "https://example.org/forum.png",
                "name": "main",
                "ext": "png",
            },
        ],
    )
    files = {
        "assets/icon/images/main.png": ICON,
        "assets/emotion/images/happy.webp": HAPPY,
        "module.risum": b"\x6f\x00opaque",
    }
    return make_charx(card, files)


def test_a_charx_round_trips_with_every_field_and_asset() -> None:
    first = read_file("marcus.charx", stoic_charx())
    assert first.origin == "charx"
    assert first.assets == {
        "assets/icon/images/main.png": ICON,
        "assets/emotion/images/happy.webp": HAPPY,
        "module.risum": b"\x6f\x00opaque",
    }
    assert first.fields["lorebook"]["entries"][0]["content"].startswith("@@depth 4")
    assert any("the icon 'main' is the portrait" in n and "emotion 'happy'" in n
               and "module.risum" in n for n in first.notes)  # fmt: skip
    fields = {**first.fields, "id": "marcus"}
    content, media, suffix = card_export.export(
        fields, "charx", kept=first.card, files=first.assets
    )
    assert (media, suffix) == ("application/zip", ".charx")
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        assert sorted(z.namelist()) == [
            "assets/emotion/images/happy.webp",
            "assets/icon/images/main.png",
            "card.json",
            "module.risum",
        ]
        exported = json.loads(z.read("card.json"))
    uris = [a["uri"] for a in exported["data"]["assets"]]
    assert uris == [
        "embeded://assets/icon/images/main.png",
        "embeded://assets/emotion/images/happy.webp",
        "https://example.org/forum.png",
    ]
    second = read_file("again.charx", content)
    assert second.assets == first.assets
    assert second.fields == fields
    assert first.card is not None and second.card is not None
    # the prompt fields are the arena's on export (the persona's own prompt, version, description)
    moved = {"modification_date", "source", "description", "personality", "scenario",
             "system_prompt", "character_version"}  # fmt: skip
    assert {k: v for k, v in second.card.items() if k not in moved} == {
        k: v for k, v in first.card.items() if k not in moved
    }
    assert second.card["source"] == ["https://example.org/c", "persona-arena:marcus"]
    assert second.card["creation_date"] == 1700000000


def test_an_embedded_asset_missing_from_the_zip_is_reported_not_kept() -> None:
    card = v3(assets=[{"type": "emotion", "uri": "embeded://assets/sad.png", "name": "sad",
                       "ext": "png"}])  # fmt: skip
    got = read_file("gone.charx", make_charx(card, {}))
    assert got.card is not None and got.card["assets"] == [] and got.assets == {}
    assert any("'sad'" in n and "not kept" in n for n in got.notes)


def test_non_ascii_asset_paths_are_kept_under_ascii_ones() -> None:
    card = v3(assets=[{"type": "icon", "uri": "embeded://assets/아이콘.png", "name": "main",
                       "ext": "PNG"}])  # fmt: skip
    got = read_file("risu.charx", make_charx(card, {"assets/아이콘.png": ICON}))
    assert got.assets == {"assets/icon/images/main.png": ICON}
    assert got.card is not None
    assert got.card["assets"][0]["uri"] == "embeded://assets/icon/images/main.png"


def test_a_jpeg_with_a_charx_appended_reads_as_the_charx() -> None:
    got = read_file("risu.jpeg", b"\xff\xd8\xff\xe0fakejpeg" + stoic_charx())
    assert got.origin == "charx" and got.fields["name"] == "Marcus the Stoic"


def many_entries(n: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("card.json", json.dumps(v3()))
        for i in range(n):
            z.writestr(f"x/{i}.txt", b"")
    return buffer.getvalue()


def bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("card.json", json.dumps(v3()))
        z.writestr("assets/other/other/big.bin", b"\0" * 50_000_000)
    return buffer.getvalue()


def with_names(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("card.json", json.dumps(v3()))
        for name in names:
            z.writestr(zipfile.ZipInfo(name), b"x")
    return buffer.getvalue()


def encrypted() -> bytes:
    data = bytearray(with_names("a.txt"))
    # set the "encrypted" flag on every entry, in the local and the central headers
    for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            data[i + at] |= 1
            start = i + 4
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (bomb(), "assets unpack to 50,000,000 bytes; the limit is 16,000,000"),
        (many_entries(10_000), "the CHARX has 10,001 entries; at most 1,000 are read"),
        (with_names("../evil.txt"), "climbs out of the archive"),
        (with_names("assets/../../evil.txt"), "climbs out of the archive"),
        (with_names("/etc/passwd"), "absolute or Windows path"),
        (with_names("C:\\x.txt"), "absolute or Windows path"),
        (with_names("a\x01b"), "control characters"),
        (encrypted(), "is encrypted"),
        (b"PK\x03\x04 not really a zip", "not a valid CHARX"),
        (make_charx(v3(), {})[:-30], "not a valid CHARX"),
    ],
)
def test_hostile_zips_are_refused_naming_the_file(data: bytes, problem: str) -> None:
    with pytest.raises(CardError) as err:
        read_file("evil.charx", data, max_bytes=16_000_000)
    assert str(err.value).startswith("evil.charx: ") and problem in str(err.value)


def test_a_header_that_understates_a_size_does_not_get_past_the_limit() -> None:
    data = bytearray(bomb())
    central = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)  # the big entry's
    data[central + 24 : central + 28] = struct.pack("<I", 1000)  # "unpacks to 1,000 bytes"
    with pytest.raises(CardError) as err:
        read_file("liar.charx", bytes(data), max_bytes=16_000_000)
    assert str(err.value).startswith("liar.charx: ")
    assert "corrupt CHARX" in str(err.value) or "unpacks to more than" in str(err.value)


def test_no_card_json_is_refused() -> None:
    with pytest.raises(CardError, match=r"^x\.charx: not a CHARX: no card\.json"):
        read_file("x.charx", make_charx(v3(), {})[:0] or with_names_only("a.txt"))


def with_names_only(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, b"x")
    return buffer.getvalue()


def test_a_png_card_keeps_its_image_as_the_portrait_and_exports_it_back() -> None:
    portrait = image(16, 16)
    card = v3(character_book=BOOK)
    data = png.with_text(
        {"ccv3": card_export._b64(card), "chara": card_export._b64(card)}, portrait
    )
    got = read_file("marcus.png", data)
    [(path, stored)] = got.assets.items()
    assert path == "assets/icon/images/main.png"
    assert png.text_chunks(stored) == {} and png.chunks(stored) == png.chunks(portrait)
    assert got.card is not None
    assert assets.main_icon(got.card["assets"]) == {
        "type": "icon", "uri": "embeded://" + path, "name": "main", "ext": "png",
    }  # fmt: skip
    fields = {**got.fields, "id": "marcus"}
    out, _, _ = card_export.export(fields, "card-v3", png=True, kept=got.card, files=got.assets)
    # the exported PNG is the portrait, with the card in it; the icon is the PNG itself
    assert [k for k, _ in png.chunks(out)][:2] == [b"IHDR", b"IDAT"]
    assert dict(png.chunks(out))[b"IDAT"] == dict(png.chunks(portrait))[b"IDAT"]
    exported = json.loads(card_export.base64.b64decode(png.text_chunks(out)["ccv3"]))
    assert exported["data"]["assets"] == [
        {"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}
    ]
    again = read_file("again.png", out)
    assert again.fields == fields and again.assets == got.assets
