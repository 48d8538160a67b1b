"""A persona's files through the API: big PNG cards (6 MB in, 20 MB a 413), a CHARX whose icon
becomes the portrait and whose assets export back, hostile zips refused with nothing saved,
assets gone with their persona and copied by a fork, lorebooks read, attached and exported."""

from __future__ import annotations

import io
import json
import zipfile

from arena.personas import png
from tests.api.conftest import Api, MakeApi
from tests.api.test_persona_import import locs, upload
from tests.personas.test_cards import V2, b64, v3
from tests.personas.test_charx import BOOK, HAPPY, ICON, image, many_entries, stoic_charx


async def test_a_6_mb_png_card_imports_and_a_20_mb_one_is_a_413(api: Api) -> None:
    art = image(1448, 1448)
    assert 6_000_000 < len(art) < 7_000_000
    card = png.with_text({"ccv3": b64(v3(name="Big Art")).decode()}, art)
    r = await api.client.post("/api/personas/import", files=upload(("big.png", card)))
    assert r.status_code == 201, r.text
    page = (await api.client.get("/api/personas/big-art")).json()
    portrait = await api.client.get(page["portrait"])
    assert portrait.headers["content-type"] == "image/png"
    assert png.chunks(portrait.content) == png.chunks(art)  # the art, without the card

    huge = png.with_text({"ccv3": b64(v3(name="Huge")).decode()}, image(2600, 2600))
    assert len(huge) > 20_000_000
    r = await api.client.post("/api/personas/import", files=upload(("huge.png", huge)))
    assert r.status_code == 413
    assert r.json()["detail"] == (
        "huge.png: the file is larger than 16,000,000 bytes, the limit set by "
        "ARENA_PERSONA_FILE_MAX_BYTES"
    )
    assert (await api.client.get("/api/personas/huge")).status_code == 404


async def test_the_cap_is_checked_while_the_file_streams(make_api: MakeApi) -> None:
    api = await make_api(persona_file_max_bytes=10_000)
    sent: list[int] = []
    boundary = "cap"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + b"\0" * 39_000
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def chunks() -> object:
        for start in range(0, len(body), 1000):
            sent.append(start)
            yield body[start : start + 1000]

    r = await api.client.post(
        "/api/personas/import",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413 and "big.png: the file is larger than 10,000 bytes" in r.text
    assert len(sent) <= 12  # refused at the cap, not after the whole body


async def test_a_charx_gives_a_portrait_keeps_its_assets_and_exports_them_back(api: Api) -> None:
    r = await api.client.post("/api/personas/import", files=upload(("m.charx", stoic_charx())))
    assert r.status_code == 201, r.text
    [item] = r.json()["imported"]
    assert item["origin"] == "charx"
    uses = {(a["type"], a["name"]): a["use"] for a in item["assets"]}
    assert uses == {
        ("icon", "main"): "portrait",
        ("emotion", "happy"): "kept for export",
        ("background", "main"): "link",
        ("file", "module.risum"): "extra file",
    }
    page = (await api.client.get(f"/api/personas/{item['id']}")).json()
    assert page["portrait"].endswith("/assets/assets/icon/images/main.png")
    assert (await api.client.get(page["portrait"])).content == ICON
    happy = next(a for a in page["assets"] if a["name"] == "happy")
    served = await api.client.get(happy["url"])
    assert served.content == HAPPY and served.headers["content-type"] == "image/webp"
    module = next(a for a in page["assets"] if a["name"] == "module.risum")
    served = await api.client.get(module["url"])
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"] == 'attachment; filename="module.risum"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert page["creator_notes"] == {"ko": "메모", "en": "SECRET NOTE never to be prompted"}
    assert page["persona"]["lorebook"]["entries"][1]["keys"] == ["/\\banger\\b/i"]

    out = await api.client.get(f"/api/personas/{item['id']}/card", params={"format": "charx"})
    assert out.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(out.content)) as z:
        assert z.read("assets/emotion/images/happy.webp") == HAPPY
        assert z.read("assets/icon/images/main.png") == ICON
    again = await api.client.post(
        "/api/personas/import", files=upload(("again.charx", out.content))
    )
    second = again.json()["imported"][0]["id"]
    detail = (await api.client.get(f"/api/personas/{second}")).json()
    assert detail["persona"] == {**page["persona"], "id": second}

    # a fork copies the files; deleting the original leaves the fork's
    fork = await api.client.post(f"/api/personas/{item['id']}/fork", json={"id": "fork-of-m"})
    assert fork.status_code == 201, fork.text
    assert (await api.client.delete(f"/api/personas/{item['id']}")).status_code == 204
    assert (await api.client.get(page["portrait"])).status_code == 404
    forked = (await api.client.get("/api/personas/fork-of-m")).json()
    assert (await api.client.get(forked["portrait"])).content == ICON


async def test_hostile_zips_are_a_422_naming_the_file_and_nothing_is_saved(api: Api) -> None:
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as z:
        z.writestr("card.json", json.dumps(v3()))
        z.writestr("../../etc/cron.d/x", b"x")
    for name, data, problem in (
        ("many.charx", many_entries(10_000), "at most 1,000 are read"),
        ("up.charx", traversal.getvalue(), "climbs out of the archive"),
    ):
        good = ("good.json", json.dumps(V2).encode())
        r = await api.client.post("/api/personas/import", files=upload(good, (name, data)))
        assert r.status_code == 422 and locs(r) == [("body", "file", 1)]
        assert r.json()["detail"][0]["msg"].startswith(f"{name}: ") and problem in r.text
        assert (await api.client.get("/api/personas/marcus-the-stoic")).status_code == 404


async def test_a_lorebook_is_read_attached_in_an_edit_and_exported(api: Api) -> None:
    r = await api.client.post("/api/personas", json={
        "name": "Lore Ada", "summary": "An engineer.", "beliefs": ["Measure first."],
        "system_prompt": "You are Ada, an engineer who argues from data.", "style": "dry",
    })  # fmt: skip
    assert r.status_code == 201
    read = await api.client.post(
        "/api/lorebooks/read",
        params={"filename": "stoa.json"},
        json={"spec": "lorebook_v3", "data": BOOK},
    )
    assert read.status_code == 200, read.text
    book = read.json()["lorebook"]
    fields = (await api.client.get("/api/personas/lore-ada")).json()["persona"]
    edited = await api.client.put("/api/personas/lore-ada", json={**fields, "lorebook": book})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] != r.json()["version"]  # the lorebook reaches the model
    out = await api.client.get("/api/personas/lore-ada/lorebook")
    assert out.json() == {"spec": "lorebook_v3", "data": BOOK}
    bad = await api.client.post("/api/lorebooks/read", json=v3())
    assert bad.status_code == 422 and "not a lorebook" in bad.text
    too_many = {"entries": [{"keys": ["k"], "content": "x"}] * 1001}
    over = await api.client.post("/api/lorebooks/read", json=too_many)
    assert over.status_code == 422 and "lorebook entries" in over.text
    assert (await api.client.get("/api/personas/pirate/lorebook")).status_code == 404
