"""CHARX (Character Card V3's zip): `card.json` at the root, the assets inside as entries named
by `embeded://<path>` URIs. Read with limits, written with ASCII paths. Pure: bytes in, bytes out.

A CHARX comes from strangers, so reading it never trusts the archive: at most MAX_ENTRIES
entries; `card.json` and the other files each within `max_bytes` unpacked (counted while
inflating, not taken from the headers: a zip bomb stops at the limit); no encrypted entries,
absolute paths, `..`, backslashes, control characters or duplicate names. Nothing is written to
disk. A JPEG with a CHARX appended (RisuAI's "CharX embedded JPEG") reads as the CHARX.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from arena.errors import CardError

CARD = "card.json"
MAX_ENTRIES = 1_000
SIGNATURE = b"PK\x03\x04"
_CHUNK = 1 << 16


@dataclass
class Archive:
    """What a CHARX holds: its card.json (bytes) and its other files, path -> bytes."""

    card: bytes
    files: dict[str, bytes]


def looks_like(filename: str, data: bytes) -> bool:
    if data.startswith(SIGNATURE) or filename.lower().endswith(".charx"):
        return True
    # a JPEG with the zip after it
    return data.startswith(b"\xff\xd8") and SIGNATURE in data


def _problem(name: str) -> str | None:
    if not name:
        return "an entry without a name"
    if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
        return f"the entry {name!r} has an absolute or Windows path"
    if any(part in (".", "..") for part in name.split("/")):
        return f"the entry {name!r} climbs out of the archive ('..')"
    if not name.isprintable():
        return f"the entry {name!r} has control characters in its name"
    return None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str) -> bytes:
    """An entry's bytes, refused as soon as they pass `limit` (whatever its header claims)."""
    out = bytearray()
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            out += chunk
            if len(out) > limit:
                raise ValueError(f"{what} unpacks to more than {limit:,} bytes")
    return bytes(out)


def read(filename: str, data: bytes, max_bytes: int) -> Archive:
    """The card and files of a CHARX; a CardError names the file and what is wrong."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise CardError(filename, f"not a valid CHARX (zip): {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise CardError(
                filename, f"the CHARX has {len(infos):,} entries; at most {MAX_ENTRIES:,} are read"
            )
        return _entries(filename, archive, infos, max_bytes)


def _entries(
    filename: str, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], max_bytes: int
) -> Archive:
    seen: set[str] = set()
    for info in infos:
        if problem := _problem(info.filename):
            raise CardError(filename, f"unsafe CHARX: {problem}")
        if info.flag_bits & 0x1:
            raise CardError(filename, f"the CHARX entry {info.filename!r} is encrypted")
        if info.filename in seen:
            raise CardError(filename, f"the CHARX names {info.filename!r} twice")
        seen.add(info.filename)
    files = [i for i in infos if not i.is_dir() and i.filename != CARD]
    declared = sum(i.file_size for i in files)
    if declared > max_bytes:
        raise CardError(
            filename,
            f"the CHARX's assets unpack to {declared:,} bytes; the limit is {max_bytes:,} "
            "(ARENA_PERSONA_FILE_MAX_BYTES)",
        )
    if CARD not in seen:
        raise CardError(filename, "not a CHARX: no card.json at the root of the zip")
    try:
        card = _inflate(archive, archive.getinfo(CARD), max_bytes, CARD)
        out: dict[str, bytes] = {}
        left = max_bytes
        for info in files:
            out[info.filename] = _inflate(archive, info, left, "the CHARX's assets")
            left -= len(out[info.filename])
    except ValueError as exc:
        raise CardError(filename, f"{exc}: the limit is ARENA_PERSONA_FILE_MAX_BYTES") from exc
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise CardError(filename, f"a corrupt CHARX: {exc}") from exc
    return Archive(card, out)


def write(card: bytes, files: Mapping[str, bytes]) -> bytes:
    """A CHARX of `card` (its JSON) and `files` (ASCII paths, as the card's assets name them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CARD, card)
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()
