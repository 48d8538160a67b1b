"""The files of a multipart upload, streamed to spooled temporary files (in memory up to SPOOL
bytes, then on disk) with each file's size checked while it arrives: one over the limit is a 413
naming it and the limit as soon as it passes, without reading the rest of the request.

FastAPI's own form parsing spools every file whole before a route can look at it; the persona
import reads its body here instead (the request as a whole stays within arena.api.limits).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

SPOOL = 1 << 20


@dataclass
class Upload:
    filename: str
    file: SpooledTemporaryFile[bytes]
    size: int = 0

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


def _invalid(msg: str, loc: list[str | int] | None = None) -> RequestValidationError:
    return RequestValidationError([{"loc": loc or ["body"], "msg": msg, "type": "body_invalid"}])


@dataclass
class _Parts:
    """python-multipart's callbacks: the parts named `name` that carry a file, kept."""

    name: str
    max_bytes: int
    max_files: int
    setting: str
    uploads: list[Upload] = field(default_factory=list)
    refused: Exception | None = None
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _field: bytes = b""
    _value: bytes = b""
    _current: Upload | None = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers, self._current = {}, None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        filename = options.get(b"filename")
        if options.get(b"name", b"").decode("latin-1") != self.name or filename is None:
            return  # another field: not ours
        if len(self.uploads) >= self.max_files:
            self.refused = _invalid(f"at most {self.max_files} files", ["body", self.name])
            return
        name = filename.decode("utf-8", "replace") or f"file {len(self.uploads) + 1}"
        self._current = Upload(name, SpooledTemporaryFile(max_size=SPOOL))
        self.uploads.append(self._current)

    def _data(self, data: bytes, start: int, end: int) -> None:
        upload = self._current
        if upload is None or self.refused is not None:
            return
        upload.size += end - start
        if upload.size > self.max_bytes:
            self.refused = HTTPException(
                status_code=413,
                detail=f"{upload.filename}: the file is larger than {self.max_bytes:,} bytes, "
                f"the limit set by {self.setting}",
            )
            return
        upload.file.write(data[start:end])

    def _end(self) -> None:
        self._current = None

    def close(self) -> None:
        for upload in self.uploads:
            with suppress(OSError):
                upload.file.close()


async def read_files(
    request: Request, name: str, *, max_bytes: int, max_files: int, setting: str
) -> list[Upload]:
    """The files sent as form field `name` (at least one), each within `max_bytes`; the caller
    closes them (`close(uploads)`)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise _invalid("expected multipart/form-data with one or more files")
    parts = _Parts(name, max_bytes, max_files, setting)
    parser = MultipartParser(boundary, parts.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.refused is not None:
                raise parts.refused
        parser.finalize()
    except MultipartParseError as exc:
        parts.close()
        raise _invalid("the body does not match its content type") from exc
    except BaseException:
        parts.close()
        raise
    if not parts.uploads:
        raise _invalid("Field required", ["body", name])
    return parts.uploads


def close(uploads: list[Upload]) -> None:
    for upload in uploads:
        with suppress(OSError):
            upload.file.close()


def openapi_body(name: str, description: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its files with `read_files`."""
    schema = {
        "type": "object",
        "required": [name],
        "properties": {
            name: {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "description": description,
            }
        },
    }
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }
