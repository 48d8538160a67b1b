"""Lorebook decorators (Character Card V3): `@@name value` lines at the top of an entry's content.

They are read from the leading block of lines that start with `@@` and stripped from the text
with their newlines before it is inserted. Only the first decorator of a name counts (the spec
lets `@@additional_keys` repeat); a `@@@name` line is a fallback for the decorator above it,
considered only when that one was not recognised or was ignored, and chains
(`@@a` / `@@@b` / `@@@c`) are followed down. Which decorators take effect depends on what the
reader supports: `resolve` asks it. Pure: text in, values out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

# the spec marks only this one as usable more than once
REPEATABLE = frozenset({"additional_keys"})


@dataclass(frozen=True)
class Decorator:
    """One decorator line: its name, its comma-separated values, and whether it is a `@@@`
    fallback for the line above."""

    name: str
    args: tuple[str, ...]
    fallback: bool = False

    @property
    def value(self) -> str:
        """The value as one string (for decorators whose value may itself hold commas)."""
        return ",".join(self.args)


def _parse(line: str) -> Decorator:
    fallback = line.startswith("@@@")
    head, _, rest = line[3 if fallback else 2 :].strip().partition(" ")
    args = tuple(a.strip() for a in rest.split(",") if a.strip())
    return Decorator(head.strip(), args, fallback)


def split(content: str) -> tuple[list[Decorator], str]:
    """The decorators at the top of `content`, and the text without them (trimmed, as the
    reference parser does: the newlines around the decorator lines go with them)."""
    lines = content.strip().splitlines()
    decorators: list[Decorator] = []
    for i, line in enumerate(lines):
        if not line.strip().startswith("@@"):
            return decorators, "\n".join(lines[i:]).strip()
        decorators.append(_parse(line.strip()))
    return decorators, ""


def strip(content: str) -> str:
    """`content` without its decorators: what a V2 reader (which knows none) should get."""
    return split(content)[1]


def resolve(
    decorators: Iterable[Decorator], accepts: Callable[[Decorator], bool]
) -> list[Decorator]:
    """The decorators that take effect, given what the reader `accepts` (a decorator it does not
    recognise, or whose value it cannot use, is ignored): the first of each name, and a fallback
    only when the decorator above it was ignored."""
    used: list[Decorator] = []
    seen: set[str] = set()
    falling_back = False
    for decorator in decorators:
        if decorator.fallback and not falling_back:
            continue  # its primary took effect (or there is no primary above it)
        first = decorator.name not in seen or decorator.name in REPEATABLE
        seen.add(decorator.name)
        taken = first and accepts(decorator)
        if taken:
            used.append(decorator)
        falling_back = not taken
    return used
