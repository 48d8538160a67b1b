"""PNG text chunks, read and written without decoding the image: enough to carry a Character
Card (a `tEXt` chunk whose text is base64 of the card's JSON). Pure: bytes in, bytes out."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """Bytes that are not a well-formed PNG; the message says what is wrong."""


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk up to IEND, CRCs checked; the image data is not decoded."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    found, pos = [], len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError("truncated PNG: a chunk header is cut off")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 8 + length
        if end + 4 > len(data):
            raise PngError(f"truncated PNG: chunk {kind.decode('latin-1')!r} runs past the end")
        payload = data[pos + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + payload) != crc:
            raise PngError(f"corrupt PNG: chunk {kind.decode('latin-1')!r} has a bad CRC")
        found.append((kind, payload))
        pos = end + 4
        if kind == b"IEND":
            break
    return found


def text_chunks(data: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG, keyword -> text (Latin-1, as the PNG spec has it)."""
    texts: dict[str, str] = {}
    for kind, payload in chunks(data):
        if kind == b"tEXt" and b"\0" in payload:
            key, _, value = payload.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
    return texts


def chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def minimal() -> bytes:
    """A valid 1x1 PNG (one opaque grey pixel), for a card exported without an image."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\x80")  # filter byte 0, then the pixel
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def with_text(
    texts: dict[str, str], png: bytes | None = None, replace: tuple[bytes, ...] = ()
) -> bytes:
    """`png` (or a minimal one) with `texts` (keyword -> ASCII) added as tEXt chunks before IEND,
    after dropping its tEXt chunks whose keyword is in `replace`."""
    found = chunks(png if png is not None else minimal())
    if not found or found[-1][0] != b"IEND":
        raise PngError("truncated PNG: no IEND chunk")
    kept = [
        (kind, payload)
        for kind, payload in found[:-1]
        if not (kind == b"tEXt" and payload.partition(b"\0")[0] in replace)
    ]
    new = [
        (b"tEXt", key.encode("latin-1") + b"\0" + value.encode("ascii"))
        for key, value in texts.items()
    ]
    return SIGNATURE + b"".join(chunk(k, p) for k, p in [*kept, *new, (b"IEND", b"")])
