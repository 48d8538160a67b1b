"""Whatever a person imports as a persona, read: Character Card V1/V2/V3 JSON, a card in a PNG,
a CHARX, persona YAML, an Ollama Modelfile (arena.personas.export writes them back).

Pure: bytes in, an import out (persona fields, the card's data kept for export, its files).
A PNG card is read by walking its chunks (the image is never decoded): a `tEXt` chunk `ccv3`
(preferred) or `chara` holds base64 of the card's UTF-8 JSON; the image itself is the card's
icon, kept as the persona's portrait. A CHARX is read by arena.personas.charx.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Literal

import yaml

from arena.domain.personas import Imported
from arena.errors import CardError
from arena.personas import assets, charx, lorebook_files, modelfile, png
from arena.personas.mapping import from_card

CardFormat = Literal["card-v2", "card-v3", "charx", "yaml"]
FORMATS: tuple[CardFormat, ...] = ("card-v2", "card-v3", "charx", "yaml")
MAX_BYTES = 16_000_000
# a PNG's legacy embedded assets (`__asset:<path>` in the card): base64 in these tEXt chunks
_ASSET_CHUNK = "chara-ext-asset_"


class FileTooLarge(CardError):
    """A file over the size limit (the API answers 413)."""

    def __init__(self, filename: str, limit: int) -> None:
        self.limit = limit
        super().__init__(
            filename,
            f"the file is larger than {limit:,} bytes, the limit set by "
            "ARENA_PERSONA_FILE_MAX_BYTES",
        )


def read_file(filename: str, data: bytes, max_bytes: int = MAX_BYTES) -> Imported:
    """Whatever `data` is (a PNG card, a CHARX, card JSON, persona YAML, a Modelfile), as an
    import. Raises CardError naming the file and the problem."""
    if len(data) > max_bytes:
        raise FileTooLarge(filename, max_bytes)
    if not data.strip():
        raise CardError(filename, "the file is empty")
    imported = _read(filename, data, max_bytes)
    try:
        json.dumps([imported.fields, imported.card], ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CardError(filename, "not valid text: a lone UTF-16 surrogate escape") from exc
    except (TypeError, ValueError) as exc:
        raise CardError(filename, f"a value that is not text, a number or a list: {exc}") from exc
    return imported


def _read(filename: str, data: bytes, max_bytes: int) -> Imported:
    if data.startswith(png.SIGNATURE):
        return _from_png(filename, data)
    if charx.looks_like(filename, data):
        return _from_charx(filename, data, max_bytes)
    text = _text(filename, data)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        value = _json(filename, text)
        if lorebook_files.is_lorebook_file(value):
            raise CardError(
                filename,
                "a lorebook, not a persona: attach it to a persona in the persona's editor",
            )
        return from_card(filename, value)
    if filename.lower().endswith((".yaml", ".yml")):
        return _from_yaml(filename, text)
    if filename.lower().endswith(".json"):
        raise CardError(filename, "not valid JSON: a card must be a JSON object")
    if modelfile.looks_like(text):
        return from_modelfile(filename, text)
    raise CardError(
        filename,
        "not a card: expected Character Card JSON, a PNG with a card, a CHARX, persona YAML "
        "or a Modelfile",
    )


def read_json(filename: str, data: bytes) -> Any:
    """A JSON file's value; a CardError names the file and where the JSON breaks."""
    return _json(filename, _text(filename, data))


def _text(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardError(filename, f"not UTF-8 text (byte {exc.start})") from exc


def _json(filename: str, text: str) -> Any:
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError as exc:
        raise CardError(filename, "not valid text: a lone UTF-16 surrogate escape") from exc
    except json.JSONDecodeError as exc:
        raise CardError(
            filename, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise CardError(filename, "not valid JSON: nested too deeply") from exc


def _chunk_text(filename: str, key: str, value: str) -> str:
    if value.startswith("rcc||"):
        raise CardError(filename, "an encrypted RisuAI card: export it from RisuAI unencrypted")
    try:
        raw = base64.b64decode(value.strip() + "=" * (-len(value.strip()) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CardError(filename, f"the {key!r} chunk is not base64") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardError(filename, f"the {key!r} chunk is not base64 of UTF-8 text") from exc


def _from_png(filename: str, data: bytes) -> Imported:
    try:
        texts = png.text_chunks(data)
    except png.PngError as exc:
        raise CardError(filename, str(exc)) from exc
    # keywords compared case-insensitively, as SillyTavern does; ccv3 wins over chara
    lowered = {k.lower(): v for k, v in texts.items()}
    key = "ccv3" if "ccv3" in lowered else "chara" if "chara" in lowered else None
    if key is None:
        raise CardError(
            filename, "a PNG without a character card (no 'ccv3' or 'chara' tEXt chunk)"
        )
    imported = from_card(filename, _json(filename, _chunk_text(filename, key, lowered[key])))
    legacy = {
        k[len(_ASSET_CHUNK) :].lstrip(":"): v
        for k, v in texts.items()
        if k.startswith(_ASSET_CHUNK)
    }
    image = png.with_text(
        {},
        data,
        replace=tuple(
            k.encode("latin-1")
            for k in texts
            if k.lower() in ("ccv3", "chara") or k.startswith(_ASSET_CHUNK)
        ),
    )
    _attach_png(imported, image, legacy)
    return imported


def _attach_png(imported: Imported, image: bytes, chunks: dict[str, str]) -> None:
    """A PNG card's files kept with the persona: its image as the icon the card names
    `ccdefault:` (every card's, when it lists no assets), and legacy `__asset:` chunks."""
    card = imported.card if imported.card is not None else {}
    listed: list[dict[str, Any]] = (
        assets.listed(card) if "assets" in card else [dict(assets.DEFAULT_ICON)]
    )
    icon_taken = False
    for asset in listed:
        uri = str(asset.get("uri", ""))
        if uri == "ccdefault:" and asset.get("type") == "icon" and not icon_taken:
            asset["__data"], icon_taken = image, True
        elif uri.lower().startswith("__asset:") and (path := uri[len("__asset:") :]) in chunks:
            try:
                asset["__data"] = base64.b64decode(chunks[path])
            except (binascii.Error, ValueError):
                continue
    _keep(imported, card, listed, {})


def _from_charx(filename: str, data: bytes, max_bytes: int) -> Imported:
    archive = charx.read(filename, data, max_bytes)
    imported = from_card(filename, _json(filename, _text(filename, archive.card)))
    imported.origin = "charx"
    card = imported.card if imported.card is not None else {}
    listed = assets.listed(card)
    for asset in listed:
        path = assets.embedded_path(str(asset.get("uri", "")))
        if path is not None and path in archive.files:
            asset["__data"] = archive.files[path]
    named = {assets.embedded_path(str(a.get("uri", ""))) for a in listed}
    extra = {p: d for p, d in archive.files.items() if p not in named}
    _keep(imported, card, listed, extra)
    return imported


def _keep(
    imported: Imported, card: dict[str, Any], listed: list[dict[str, Any]], extra: dict[str, bytes]
) -> None:
    """The assets whose files came with the card kept under ASCII paths (the list names them
    `embeded://<path>`), the other files of a CHARX kept beside them; an embedded asset whose
    file is missing is dropped with a note (the spec: tell the user what is not kept)."""
    files: dict[str, bytes] = {}
    kept = []
    for asset in listed:
        data = asset.pop("__data", None)
        uri = str(asset.get("uri", ""))
        path = assets.embedded_path(uri)
        if data is None and path is None:
            kept.append(asset)
            continue
        if data is None:
            imported.notes.append(
                f"asset {asset.get('type')} {asset.get('name')!r} ({uri}): its file is not in "
                "the card, so it is not kept and will not be exported"
            )
            continue
        ext = assets.ext_of(asset, path or "")
        stored = path if path and assets.is_safe_path(path) and path not in files else None
        stored = stored or assets.safe_path(asset, ext, files)
        files[stored] = data
        kept.append({**asset, "uri": assets.SCHEME + stored})
    for path, data in extra.items():
        files[
            path
            if assets.is_safe_path(path) and path not in files
            else assets.safe_path({}, assets.ext_of({}, path), files)
        ] = data
    if kept or "assets" in card:
        card["assets"] = kept
    imported.card = card
    imported.assets = files
    if line := assets.summary(assets.report(card, files)):
        imported.notes.append(line)


def _from_yaml(filename: str, text: str) -> Imported:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CardError(filename, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CardError(
            filename, f"expected a mapping of persona fields, got {type(data).__name__}"
        )
    return Imported(filename, "yaml", dict(data))


# ---- Modelfile


def _modelfile_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"(?i)modelfile", "", base.rsplit(".", 1)[0] if "." in base else base)
    return base.strip(" ._-") or "Modelfile persona"


def from_modelfile(filename: str, text: str, name: str | None = None) -> Imported:
    try:
        parsed = modelfile.parse(text)
    except modelfile.ModelfileError as exc:
        raise CardError(filename, str(exc)) from exc
    if parsed.system is None:
        raise CardError(
            filename, "the Modelfile has no SYSTEM prompt: nothing to make a persona of"
        )
    fields: dict[str, Any] = {
        "name": name or _modelfile_name(filename),
        "summary": re.split(r"(?<=[.!?])\s", parsed.system, maxsplit=1)[0][:300],
        "system_prompt": parsed.system,
    }
    if parsed.temperature is not None:
        fields["temperature"] = parsed.temperature
    notes = [
        "a Modelfile does not state beliefs or style: "
        "the persona is a draft until they are filled in"
    ]
    return Imported(filename, "modelfile", fields, card={"modelfile": parsed.meta}, notes=notes)
