"""JSON-schema grammars for the embedded model: llama.cpp GBNF whose strings JSON accepts, and
how long an output the grammar lets through.

llama-cpp-python's converter (`json_schema_to_gbnf`, 0.3.x) lets a string hold any character
but `"` and `\\`: raw line breaks and tabs too, which JSON forbids, so a judge that broke a line
inside its rationale returned output `json.loads` refused ("Invalid control character") and the
turn went unscored. Upstream llama.cpp's converter excludes control characters; here the
converter's string-character rule is replaced by one that does, whatever version is installed,
and that leaves out the `\\uXXXX` escape so that one character of a string is at most 4 bytes
(a UTF-8 code point) and the length bound below stays small.
"""

from __future__ import annotations

import json
import re
from typing import Any

# one character of a JSON string: no quote, backslash or control character, or a short escape
CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt]'
_CHAR_LINE = re.compile(r"^char ::= .*$", re.MULTILINE)
# the most bytes one `char` takes: a 4-byte UTF-8 code point (an escape takes 2)
CHAR_BYTES = 4
# the converter's `space` rule: at most one space after a value, a colon or a comma
_SPACE = 1


def json_grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar of `schema` (llama-cpp-python's converter, with CHAR_RULE for strings).
    Needs llama-cpp-python."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return _CHAR_LINE.sub(lambda _: CHAR_RULE, json_schema_to_gbnf(json.dumps(schema)))


def max_output_bytes(schema: dict[str, Any]) -> int | None:
    """The most bytes any output of `schema`'s grammar can take, or None when the grammar lets
    through outputs of any length (a string without maxLength, an array without maxItems, a
    free number or object). Every llama.cpp token is at least one byte, so a token limit of this
    many never cuts an output the grammar would have closed."""
    if "const" in schema:
        return len(json.dumps(schema["const"]).encode()) + _SPACE
    if "enum" in schema:
        return max(len(json.dumps(v).encode()) for v in schema["enum"]) + _SPACE
    kind = schema.get("type")
    if kind == "boolean":
        return len("false") + _SPACE
    if kind == "null":
        return len("null") + _SPACE
    if kind == "string":
        if "maxLength" not in schema or "pattern" in schema or "format" in schema:
            return None
        return 2 + CHAR_BYTES * int(schema["maxLength"]) + _SPACE
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict) or "maxItems" not in schema:
            return None
        item = max_output_bytes(items)
        count = int(schema["maxItems"])
        if item is None:
            return None
        return 2 * (1 + _SPACE) + count * item + max(count - 1, 0) * (1 + _SPACE)
    if kind == "object" and schema.get("additionalProperties") is False:
        return _object_bytes(schema.get("properties", {}))
    return None


def _object_bytes(properties: dict[str, dict[str, Any]]) -> int | None:
    """`{ "key": value, ... }`, every property present (the bound holds when some are optional)."""
    total = 2 * (1 + _SPACE) + max(len(properties) - 1, 0) * (1 + _SPACE)
    for key, value in properties.items():
        bound = max_output_bytes(value)
        if bound is None:
            return None
        total += len(json.dumps(key).encode()) + _SPACE + 1 + _SPACE + bound
    return total
