"""The caps on what one request, persona file or tournament spec may hold (docs/api.md, Limits).

A server that runs for months must bound what anyone can make it keep or compute: every text is
stored and sent to every reader, every list multiplies work. Each cap is a few times what a real
use needs; the byte limit of a request body is a setting (ARENA_MAX_BODY_BYTES), these are not.
"""

from __future__ import annotations

# Personas. The shipped system prompts are about 1,500 characters: 8,000 (about 2,000 tokens)
# leaves room for a long card and still fits, with the debate, in a 4k-token local model.
MAX_PERSONA_NAME = 80
MAX_SUMMARY = 300
MAX_SYSTEM_PROMPT = 8_000
MAX_BELIEFS = 20
MAX_BELIEF = 500
MAX_STYLE = 1_000

# A motion's text, in the motions file and as free text.
MAX_MOTION = 500
# An id a request names (persona, tactic): ids are slugs of at most 64 characters.
MAX_ID = 100
# `provider:model`: enough for Ollama tags, Hugging Face repos and dated snapshots.
MAX_MODEL_NAME = 200
# A judge panel, of a match or of a tournament.
MAX_JUDGES = 5

# Tournaments. The schedule grows as personas^2 x motions, so the matches of one are capped
# too: planning 20,000 takes about a quarter of a second, and running them days.
MAX_TOURNAMENT_PERSONAS = 200
MAX_TOURNAMENT_MOTIONS = 200
MAX_TOURNAMENT_TACTICS = 50
MAX_TOURNAMENT_CLAIMS = 200
MAX_TOURNAMENT_MATCHES = 20_000

# A persona's lorebook (arena/domain/lorebooks.py). Real character books hold tens of entries of
# a few hundred characters; world books a few hundred. The book travels with the persona (and
# each of its versions), so its text is capped as a whole too.
MAX_LORE_ENTRIES = 1_000
MAX_LORE_KEYS = 100
MAX_LORE_KEY = 500
MAX_LORE_NAME = 300
MAX_LORE_CONTENT = 20_000
MAX_LORE_TEXT = 500_000
