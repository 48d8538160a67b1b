"""The placeholders of Character Cards filled in for a debate. Pure: text in, text out."""

from __future__ import annotations

import re

# In a debate the "user" of a chat card is the opponent.
USER_STANDS_FOR = "your opponent"

_CHAR = re.compile(r"\{\{\s*char\s*\}\}|<bot>|<char>", re.IGNORECASE)
_USER = re.compile(r"\{\{\s*user\s*\}\}|<user>", re.IGNORECASE)
# `{{// note}}` is never shown; `{{hidden_key: k}}` only feeds recursive lorebook scans
_HIDDEN = re.compile(r"\{\{\s*(?://|hidden_key\s*:)[^}]*\}\}", re.IGNORECASE)


def substitute(text: str, name: str) -> str:
    """A card's placeholders filled in: {{char}} (and <char>, <bot>) by the name (a V3 card's
    nickname when it has one), {{user}} (and <user>) by the opponent, comments removed.
    Case-insensitive, as the tools that write cards are."""
    text = _HIDDEN.sub("", text)
    text = _CHAR.sub(lambda _: name, text)
    return _USER.sub(USER_STANDS_FOR, text)
