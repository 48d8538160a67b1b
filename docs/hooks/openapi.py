"""MkDocs hook: the HTTP API reference, rendered from the app's OpenAPI schema at build time.

`arena.api.create_app(...).openapi()` builds the schema from the routes alone: no server, no
Redis, no model. The settings are the defaults, read from neither the environment nor a .env
file, so the page does not depend on who builds it. docs/api.md holds two placeholders,
replaced in `on_page_markdown`: OPERATIONS (one section per tag) and SCHEMAS (the bodies).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

OPERATIONS = "<!-- openapi:operations -->"
SCHEMAS = "<!-- openapi:schemas -->"
API_PAGE = "api.md"
METHODS = ("get", "post", "put", "patch", "delete")
# the one tag whose routes OpenAPI cannot describe; docs/api.md documents it by hand
WEBSOCKET_SECTION = "#live-events-over-a-websocket"

_schema: dict[str, Any] | None = None


def on_config(config: Any) -> Any:
    # the checkout first, so the docs describe this tree even if another copy is installed
    root = str(Path(config.config_file_path).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    global _schema
    _schema = None  # `mkdocs serve` rebuilds: read the routes again
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != API_PAGE:
        return markdown
    for placeholder in (OPERATIONS, SCHEMAS):
        if placeholder not in markdown:
            raise PluginError(f"docs/{API_PAGE} lost its placeholder {placeholder}")
    spec = _openapi()
    markdown = markdown.replace(OPERATIONS, render_operations(spec))
    return markdown.replace(SCHEMAS, render_schemas(spec))


def _openapi() -> dict[str, Any]:
    global _schema
    if _schema is None:
        try:
            from arena.api import create_app
            from arena.config import Settings
        except ImportError as exc:
            raise PluginError(
                f"docs/hooks/openapi.py cannot import the arena ({exc}): "
                "build the docs with the project's venv (make docs)"
            ) from exc

        class Defaults(Settings):
            """The settings' defaults only: no environment, no .env file."""

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (init_settings,)

        _schema = create_app(Defaults(), run_worker=False).openapi()
    return _schema


# Operations


def render_operations(spec: dict[str, Any]) -> str:
    ops = [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]
    tags = [t["name"] for t in spec.get("tags", [])]
    tags += sorted({tag for *_, op in ops for tag in op.get("tags", [])} - set(tags))
    described = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    out: list[str] = []
    for tag in tags:
        out.append(f"## {tag.capitalize()} {{#tag-{_slug(tag)}}}\n")
        if described.get(tag):
            out.append(_text(described[tag]) + "\n")
        own = [o for o in ops if (o[2].get("tags") or ["other"])[0] == tag]
        also = [o for o in ops if tag in o[2].get("tags", [])[1:]]
        if not own and not also:
            out.append(
                f"Not in the OpenAPI schema: see [Live events over a WebSocket]"
                f"({WEBSOCKET_SECTION}).\n"
            )
        for method, path, op in own:
            out.append(_operation(method, path, op))
        if also:
            links = ", ".join(f"[`{m.upper()} {p}`](#{_op_id(m, p)})" for m, p, _ in also)
            out.append(f"Also under this tag: {links}.\n")
    return "\n".join(out)


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    out = [f"### `{method.upper()} {path}` {{#{_op_id(method, path)}}}\n"]
    lines = [f"**{op.get('summary', '')}.**" if op.get("summary") else ""]
    if op.get("description"):
        lines.append(_text(op["description"]))
    out.append(" ".join(x for x in lines if x) + "\n")
    if op.get("security"):
        out.append(
            "Needs `Authorization: Bearer <token>` when the server sets `ARENA_API_TOKEN`.\n"
        )
    params = op.get("parameters", [])
    if params:
        out.append("| parameter | in | type | default | description |")
        out.append("|---|---|---|---|---|")
        for p in params:
            schema = p.get("schema", {})
            name = f"`{p['name']}`" + (" (required)" if p.get("required") else "")
            out.append(
                f"| {name} | {p.get('in', '')} | {_type(schema)} | {_default(schema)} | "
                f"{_cell(p.get('description') or schema.get('description', ''))} |"
            )
        out.append("")
    body = op.get("requestBody")
    if body:
        kinds = [f"{_type(c.get('schema', {}))} as `{ct}`" for ct, c in body["content"].items()]
        required = "" if body.get("required") else " (optional)"
        out.append(f"Request body{required}: {', '.join(kinds)}.\n")
    out.append("| response | description | body |")
    out.append("|---|---|---|")
    for code, resp in sorted(op.get("responses", {}).items()):
        content = resp.get("content", {})
        bodies = [
            (_type(c["schema"]) if c.get("schema") else "") + f" `{ct}`"
            for ct, c in content.items()
        ]
        out.append(
            f"| {code} | {_cell(resp.get('description', ''))} | "
            f"{_cell(', '.join(b.strip() for b in bodies))} |"
        )
    out.append("")
    return "\n".join(out)


# Schemas


def render_schemas(spec: dict[str, Any]) -> str:
    schemas = spec.get("components", {}).get("schemas", {})
    out: list[str] = []
    for key in sorted(schemas, key=lambda k: (_name(k).lower(), k)):
        schema = schemas[key]
        out.append(f"### {_name(key)} {{#{_schema_id(key)}}}\n")
        if schema.get("description"):
            out.append(_text(schema["description"]) + "\n")
        props = schema.get("properties", {})
        if schema.get("enum"):
            out.append("One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".\n")
        if not props:
            if not schema.get("enum"):
                out.append(f"Type: {_type(schema)}.\n")
            continue
        required = set(schema.get("required", []))
        out.append("| field | type | default | description |")
        out.append("|---|---|---|---|")
        for name, prop in props.items():
            label = f"`{name}`" + (" (required)" if name in required else "")
            out.append(
                f"| {label} | {_type(prop)} | {_default(prop)} | "
                f"{_cell(prop.get('description', ''))} |"
            )
        if schema.get("additionalProperties") is False:
            out.append("\nOther fields are refused (422).")
        out.append("")
    return "\n".join(out)


# Types and text


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        key = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{_name(key)}](#{_schema_id(key)})"
    for combo in ("anyOf", "oneOf"):
        if combo in schema:
            parts = [_type(s) for s in schema[combo]]
            return " or ".join(dict.fromkeys(p for p in parts if p))
    if "allOf" in schema:
        return " and ".join(_type(s) for s in schema["allOf"])
    if "const" in schema:
        return f"`{schema['const']!r}`".replace("'", '"')
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return _plain(schema)


def _plain(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        items = schema.get("items", {})
        text = f"list of {_type(items) if items else 'any'}"
        return text + _limits(schema, "minItems", "maxItems", " items")
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"object of {_type(extra)}" if isinstance(extra, dict) and extra else "object"
    if kind in ("integer", "number"):
        return f"{kind}{_limits(schema, 'minimum', 'maximum', '')}"
    if kind == "string":
        if schema.get("contentMediaType") == "application/octet-stream":
            return "file"
        text = f"string ({schema['format']})" if schema.get("format") else "string"
        return text + _limits(schema, "minLength", "maxLength", " characters")
    return str(kind or "any")


def _limits(schema: dict[str, Any], low: str, high: str, unit: str) -> str:
    lo, hi = schema.get(low), schema.get(high)
    if lo is not None and hi is not None:
        return f" ({_number(lo)}..{_number(hi)}{unit})"
    if lo is not None:
        return f" (≥ {_number(lo)}{unit})"
    if hi is not None:
        return f" (≤ {_number(hi)}{unit})"
    return ""


def _number(value: float) -> str:
    # pydantic writes le=10 as 10.0, and 2**63-1 as a float
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def _default(schema: dict[str, Any]) -> str:
    if "default" not in schema:
        return ""
    value = schema["default"]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _cell(f"`{value}`")


def _name(key: str) -> str:
    # FastAPI names two models of the same name by module: a__b__Leaderboard
    *module, name = key.split("__")
    return f"{name} ({'.'.join(module)})" if module else name


def _schema_id(key: str) -> str:
    return "schema-" + _slug(key)


def _op_id(method: str, path: str) -> str:
    return _slug(f"{method}-{path}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _outside_code(text: str, fix: Any) -> str:
    parts = text.split("`")
    return "`".join(fix(p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _text(text: str) -> str:
    # one line; `<` outside code spans would start raw HTML
    return _outside_code(" ".join(text.split()), lambda p: p.replace("<", "&lt;"))


def _cell(text: str) -> str:
    # a table cell: also no bare pipes (the table extension skips those inside code spans)
    return _outside_code(_text(text), lambda p: p.replace("|", "\\|"))
