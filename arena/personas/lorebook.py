"""Which lorebook entries a debater gets for a turn, and where they go in its system message.

Pure: a persona's lorebook and the scene of the turn (the motion, the turns so far, how often the
speaker has spoken) in, the entries out. The engine calls it where a turn's request is built.

How an entry matches (docs/personas.md, "Lorebooks"):
- `enabled: false` never fires; empty content inserts nothing.
- Keys are looked for in the motion and the last `scan_depth` turns (the book's, an entry's
  `@@scan_depth`, or DEFAULT_SCAN_DEPTH): plain keys as substrings, case-insensitive unless the
  entry says `case_sensitive`; blank keys never match. With `use_regex`, keys written as
  `/pattern/flags` are regular expressions (an invalid one, or one that runs too long, does not
  match); other keys stay plain (SillyTavern marks plain keys as regex).
- `selective` entries also need a secondary key (SillyTavern's `selectiveLogic` honoured),
  `@@additional_keys` each need one of theirs, `@@exclude_keys` must not appear; `constant`
  entries need no key. As the spec has it, regex entries ignore `constant`, secondary and
  excluded keys.
- `@@activate` always fires, `@@dont_activate` never; `@@activate_only_after N` and
  `@@activate_only_every N` count the speaker's own turns so far.
- With `recursive_scanning`, the content of fired entries is scanned too (a few passes).
- The fired entries share a token budget (the book's `token_budget`, or DEFAULT_BUDGET, at most
  MAX_BUDGET; about 4 characters a token): over it, `@@ignore_on_max_context` entries go first,
  then the lowest `priority`, then the lowest `insertion_order`. The rest are inserted by
  `insertion_order`, after the persona's prompt (`position: before_char` or
  `@@position before_desc`: before it).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import regex

from arena.domain.lorebooks import Lorebook, LoreEntry
from arena.personas import decorators
from arena.personas.decorators import Decorator
from arena.personas.macros import substitute

DEFAULT_SCAN_DEPTH = 2  # turns: the opponent's last and the speaker's own, as SillyTavern's 2
MAX_SCAN_DEPTH = 100
DEFAULT_BUDGET = 500  # tokens
MAX_BUDGET = 2_000
CHARS_PER_TOKEN = 4
RECURSION_PASSES = 3
# seconds for one search, and for all of a turn's: a card's patterns must not stall a match
REGEX_TIMEOUT = 0.05
REGEX_BUDGET = 0.5
HEADING = "--- What you know (your lorebook) ---"
# what `@@position` values mean here: before or after the persona's own prompt
POSITIONS = {"before_desc": True, "after_desc": False, "personality": False, "scenario": False}
_LITERAL = regex.compile(r"^/(.+)/([a-z]*)$", regex.DOTALL)
_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL}


@dataclass(frozen=True)
class Scene:
    """What a turn's lore is matched against."""

    motion: str
    turns: Sequence[str] = ()  # the texts so far, oldest first
    spoken: int = 0  # the speaker's own turns so far


@dataclass(frozen=True)
class Fired:
    label: str
    text: str
    before: bool  # before the persona's prompt


@dataclass(frozen=True)
class Activation:
    """The entries inserted for a turn, in insertion order."""

    entries: tuple[Fired, ...] = ()

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.entries]

    def system(self, system: str, persona_prompt: str) -> str:
        """`system` with the entries in it: after the persona's prompt (with which a debater's
        system message starts), and those marked `before` ahead of it."""
        after = _block([e.text for e in self.entries if not e.before])
        before = _block([e.text for e in self.entries if e.before])
        head = persona_prompt.strip()
        if after and head and system.startswith(head):
            system = f"{head}\n\n{after}{system[len(head) :]}"
        elif after:
            system = f"{system}\n\n{after}"
        return f"{before}\n\n{system}" if before else system


NO_LORE = Activation()


def _block(texts: list[str]) -> str:
    return f"{HEADING}\n" + "\n\n".join(texts) if texts else ""


@dataclass
class _Rules:
    """What an entry's decorators ask of the arena."""

    activate: bool = False
    dont_activate: bool = False
    additional: list[tuple[str, ...]] = field(default_factory=list)
    exclude: tuple[str, ...] = ()
    scan_depth: int | None = None
    after: int | None = None
    every: int | None = None
    low_priority: bool = False
    before: bool | None = None


def _count(decorator: Decorator, least: int) -> int | None:
    try:
        n = int(float(decorator.value))
    except ValueError:
        return None
    return n if n >= least else None


def _accepts(d: Decorator) -> bool:
    """Whether the arena acts on `d`: the rest (@@depth, @@role, @@is_greeting ...) is ignored,
    so their fallbacks apply, and kept for export."""
    if d.name in ("activate", "dont_activate", "ignore_on_max_context"):
        return True
    if d.name in ("additional_keys", "exclude_keys"):
        return bool(d.args)
    if d.name in ("scan_depth", "activate_only_after"):
        return _count(d, 0) is not None
    if d.name == "activate_only_every":
        return _count(d, 1) is not None
    if d.name == "position":
        return d.value in POSITIONS
    return False


def rules_of(content: str) -> tuple[_Rules, str]:
    """An entry's rules from its decorators, and its content without them."""
    found, body = decorators.split(content)
    rules = _Rules()
    for d in decorators.resolve(found, _accepts):
        if d.name == "activate":
            rules.activate = True
        elif d.name == "dont_activate":
            rules.dont_activate = True
        elif d.name == "ignore_on_max_context":
            rules.low_priority = True
        elif d.name == "additional_keys":
            rules.additional.append(d.args)
        elif d.name == "exclude_keys":
            rules.exclude = d.args
        elif d.name == "scan_depth":
            rules.scan_depth = _count(d, 0)
        elif d.name == "activate_only_after":
            rules.after = _count(d, 0)
        elif d.name == "activate_only_every":
            rules.every = _count(d, 1)
        elif d.name == "position":
            rules.before = POSITIONS[d.value]
    return rules, body


@functools.lru_cache(maxsize=512)
def _compiled(key: str) -> regex.Pattern[str] | None:
    """A `/pattern/flags` key as a pattern (JavaScript's syntax: `\\/` is a slash); None if it is
    not one or does not compile."""
    literal = _LITERAL.match(key.strip())
    if literal is None:
        return None
    flags = 0
    for flag in literal.group(2):
        flags |= _FLAGS.get(flag, 0)
    try:
        return regex.compile(literal.group(1).replace("\\/", "/"), flags | regex.VERSION0)
    except (regex.error, ValueError, OverflowError):
        return None


def is_regex_literal(key: str) -> bool:
    return _LITERAL.match(key.strip()) is not None


@dataclass
class _Text:
    """The text one entry is matched against, and the time left for regular expressions (so
    that a book of slow patterns cannot stall a turn: past it, a pattern does not match)."""

    text: str
    clock: list[float]  # [deadline], shared by every entry of one activation

    @functools.cached_property
    def folded(self) -> str:
        return self.text.casefold()

    def search(self, pattern: regex.Pattern[str]) -> bool:
        left = self.clock[0] - time.monotonic()
        if left <= 0:
            return False
        try:
            return pattern.search(self.text, timeout=min(left, REGEX_TIMEOUT)) is not None
        except TimeoutError:
            return False


def _found(key: str, scan: _Text, entry: LoreEntry) -> bool:
    if not key.strip():
        return False  # a blank key would match everything
    if entry.use_regex and is_regex_literal(key):
        pattern = _compiled(key)
        return pattern is not None and scan.search(pattern)
    if _case_sensitive(entry):
        return key in scan.text
    return key.casefold() in scan.folded


def _case_sensitive(entry: LoreEntry) -> bool:
    if entry.case_sensitive is not None:
        return entry.case_sensitive
    # SillyTavern reads only its own copy of the flag
    return entry.extensions.get("case_sensitive") is True


def _any(keys: Sequence[str], scan: _Text, entry: LoreEntry) -> bool:
    return any(_found(k, scan, entry) for k in keys)


def _secondary(entry: LoreEntry, scan: _Text) -> bool:
    keys = [k for k in entry.secondary_keys or () if k.strip()]
    if not entry.selective or not keys or entry.use_regex:
        return True
    hits = [_found(k, scan, entry) for k in keys]
    logic: Any = entry.extensions.get("selectiveLogic")
    if logic == 1:  # not all
        return not all(hits)
    if logic == 2:  # none
        return not any(hits)
    if logic == 3:  # all
        return all(hits)
    return any(hits)


def _keys_match(entry: LoreEntry, rules: _Rules, scan: _Text) -> bool:
    if not _any(entry.keys, scan, entry) or not _secondary(entry, scan):
        return False
    if any(not _any(group, scan, entry) for group in rules.additional):
        return False
    return entry.use_regex or not _any(rules.exclude, scan, entry)


def _gate(entry: LoreEntry, rules: _Rules, scene: Scene) -> bool | None:
    """True: fires without keys; False: cannot fire this turn; None: up to its keys."""
    if rules.activate:
        return True
    if rules.dont_activate:
        return False
    if rules.after is not None and scene.spoken < rules.after:
        return False
    if rules.every is not None and scene.spoken % rules.every:
        return False
    if entry.constant and not entry.use_regex:
        return True
    return None


def _scanned(scene: Scene, depth: int | None) -> str:
    depth = min(DEFAULT_SCAN_DEPTH if depth is None else depth, MAX_SCAN_DEPTH)
    recent = list(scene.turns)[-depth:] if depth else []
    return "\n\n".join([scene.motion, *recent])


def tokens(text: str) -> int:
    """An estimate of a text's tokens, without a tokenizer: about 4 characters each."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class _Candidate:
    index: int
    entry: LoreEntry
    rules: _Rules
    text: str


def _fired(book: Lorebook, scene: Scene, char: str) -> list[_Candidate]:
    candidates, waiting = [], []
    for index, entry in enumerate(book.entries):
        if not entry.enabled:
            continue
        rules, body = rules_of(entry.content)
        text = substitute(body, char).strip()
        if not text:
            continue
        item = _Candidate(index, entry, rules, text)
        gate = _gate(entry, rules, scene)
        if gate is True:
            candidates.append(item)
        elif gate is None:
            waiting.append(item)
    extra = ""
    clock = [time.monotonic() + REGEX_BUDGET]
    passes = RECURSION_PASSES if book.recursive_scanning else 1
    for _ in range(passes):
        fired = [
            c
            for c in waiting
            if _keys_match(c.entry, c.rules, _Text(_text(scene, book, c) + extra, clock))
        ]
        if not fired:
            break
        candidates += fired
        waiting = [c for c in waiting if c not in fired]
        extra += "".join(f"\n\n{c.text}" for c in fired)
    return candidates


def _text(scene: Scene, book: Lorebook, c: _Candidate) -> str:
    own = c.rules.scan_depth
    return _scanned(scene, own if own is not None else book.scan_depth)


def _budget(book: Lorebook) -> int:
    return min(book.token_budget or DEFAULT_BUDGET, MAX_BUDGET)


def activate(book: Lorebook, scene: Scene, char: str) -> Activation:
    """The entries of `book` that fire in `scene`, within the budget, in insertion order;
    `{{char}}` in their text is `char`."""
    candidates = _fired(book, scene, char)
    keep_first = sorted(
        candidates,
        key=lambda c: (
            c.rules.low_priority,
            -(c.entry.priority or 0),
            -c.entry.insertion_order,
            c.index,
        ),
    )
    left, kept = _budget(book), []
    for c in keep_first:
        cost = tokens(c.text)
        if cost <= left:
            kept.append(c)
            left -= cost
    kept.sort(key=lambda c: (c.entry.insertion_order, c.index))
    return Activation(
        tuple(
            Fired(
                c.entry.label(c.index),
                c.text,
                c.rules.before if c.rules.before is not None else c.entry.position == "before_char",
            )
            for c in kept
        )
    )


def char_name(book: Lorebook, name: str) -> str:
    """What `{{char}}` stands for in the book: a V3 card's nickname (kept in the book's
    extensions at import), else the persona's name."""
    ours = book.extensions.get("persona_arena")
    nickname = ours.get("nickname") if isinstance(ours, dict) else None
    return nickname if isinstance(nickname, str) and nickname.strip() else name
