"""Ollama Modelfiles: the commands, and the two a persona uses (SYSTEM, PARAMETER temperature).
Pure: text in, values out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_COMMAND = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$", re.DOTALL)
_KNOWN = {"from", "system", "parameter", "template", "adapter", "license", "message", "requires"}


class ModelfileError(ValueError):
    """Text that is not a usable Modelfile; the message says what is wrong, and where."""


@dataclass
class Modelfile:
    system: str | None = None
    temperature: float | None = None
    # FROM and the other parameters: kept with the persona, not used by a debate
    meta: dict[str, Any] = field(default_factory=dict)


def looks_like(text: str) -> bool:
    """True when the first command line is a Modelfile command."""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = _COMMAND.match(line)
        return found is not None and found.group(1).lower() in _KNOWN
    return False


def commands(text: str) -> list[tuple[str, str]]:
    """(COMMAND, value) pairs; a value may be \"\"\"multi-line\"\"\" or \"quoted\"."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line, i = lines[i], i + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _COMMAND.match(line)
        if match is None:
            raise ModelfileError(f"line {i}: not a Modelfile command: {line.strip()[:60]!r}")
        command, value = match.group(1).upper(), match.group(2).strip()
        if value.startswith('"""'):
            body, start = value[3:], i
            while '"""' not in body:
                if i >= len(lines):
                    raise ModelfileError(f'line {start}: {command} opens """ but never closes it')
                body += "\n" + lines[i]
                i += 1
            value = body[: body.index('"""')]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        found.append((command, value.strip()))
    return found


def parse(text: str) -> Modelfile:
    result = Modelfile()
    for command, value in commands(text):
        if command == "SYSTEM":
            result.system = value
        elif command == "FROM":
            result.meta["from"] = value
        elif command == "PARAMETER":
            key, _, raw = value.partition(" ")
            if key.lower() == "temperature":
                try:
                    result.temperature = float(raw.strip())
                except ValueError as exc:
                    raise ModelfileError(
                        f"PARAMETER temperature {raw.strip()!r} is not a number"
                    ) from exc
            else:
                result.meta.setdefault("parameters", {})[key] = raw.strip()
    return result
