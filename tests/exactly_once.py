"""The check behind every resume and fault test: 0 lost, 0 duplicated, 0 garbled turns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

TERMINAL = ("match_completed", "match_failed", "match_cancelled")


def as_dicts(events: Iterable[BaseModel | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [e.model_dump() if isinstance(e, BaseModel) else dict(e) for e in events]


def check_exactly_once(
    events: Iterable[BaseModel | Mapping[str, Any]], turns: int, opening: str | None = None
) -> dict[int, str]:
    """Every turn started, completed and judged exactly once; the tokens streamed for a turn
    after its last `turn_restarted` join to its `turn_completed.text`; with `opening` (how every
    reply of the model begins), each text is one reply: it starts with the opening and holds no
    second one. Returns the turn texts."""
    evs = as_dicts(events)
    types = [e["type"] for e in evs]
    assert types.count("match_started") == 1, "match_started is not there exactly once"
    assert sum(types.count(t) for t in TERMINAL) == 1 and types[-1] in TERMINAL, types[-5:]
    for kind in ("turn_started", "turn_completed", "verdict"):
        counts = Counter(e["turn"] for e in evs if e["type"] == kind)
        assert counts == Counter(range(turns)), f"{kind} per turn: {dict(counts)}"
    texts: dict[int, str] = {}
    for position, done in enumerate(evs):
        if done["type"] != "turn_completed":
            continue
        turn = done["turn"]
        restarts = [i for i, e in enumerate(evs[:position])
                    if e["type"] == "turn_restarted" and e["turn"] == turn]
        since = restarts[-1] + 1 if restarts else 0
        streamed = "".join(e["text"] for e in evs[since:position]
                           if e["type"] == "token" and e["turn"] == turn)
        assert streamed == done["text"], (
            f"turn {turn}: tokens after its last restart differ from its text\n"
            f"  tokens: {streamed!r}\n  text:   {done['text']!r}"
        )
        if opening is not None:
            assert done["text"].lstrip().startswith(opening), f"turn {turn}: {done['text']!r}"
            assert done["text"].count(opening) == 1, f"turn {turn} is garbled: {done['text']!r}"
        texts[turn] = done["text"]
    return texts
