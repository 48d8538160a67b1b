"""A finished match as the worker stores it, for measuring what a match costs in Redis.

The engine plays a one-round debate (six turns, word limit 120) through the store's own sink.
The debaters stream real English (two turns of the bundled calibration set per reply, cut to
the word limit) in chunks of three words, each written as one stream entry: what the 50 ms
coalescing window makes of a provider streaming about 60 words a second. The judge answers
with a one-sentence rationale of realistic length and, now and then, a quoted concession.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

from arena.domain.specs import DebaterSpec, MatchSpec
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.models.base import GenerationRequest
from arena.store import Store
from tests.engine_helpers import library
from tests.fakes import FunctionModel

WORD_LIMIT = 120
CHUNK_WORDS = 3
MOTION = "This house believes that social media platforms should verify every user."


def _texts() -> list[str]:
    rows = files("arena.data").joinpath("calibration.jsonl").read_text("utf-8").splitlines()
    return [str(json.loads(row)["text"]) for row in rows if row.strip()]


class _Replies:
    """A different, real reply per call: two calibration turns joined, cut to the limit."""

    def __init__(self, offset: int) -> None:
        self.texts, self.next = _texts(), offset

    def reply(self) -> str:
        n = len(self.texts)
        first, second = self.texts[self.next % n], self.texts[(self.next + 1) % n]
        self.next += 2
        return " ".join(f"{first} {second}".split()[:WORD_LIMIT])

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        words = self.reply().split(" ")
        for i in range(0, len(words), CHUNK_WORDS):
            yield ("" if i == 0 else " ") + " ".join(words[i : i + CHUNK_WORDS])


class _Judge:
    def __init__(self) -> None:
        self.texts, self.calls = _texts(), 0

    def verdict(self, request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
        prompt = request.messages[0].content
        side = "pro" if "assigned side: PRO" in prompt else "con"
        self.calls += 1
        quote = self.texts[40 + self.calls].split(".")[0][:90]
        return {
            "stance": side,
            "holding": round(0.55 + 0.07 * (self.calls % 6), 2),
            "engagement": round(0.4 + 0.05 * (self.calls % 7), 2),
            "concessions": [quote] if self.calls % 3 == 0 else [],
            "rationale": (
                f"The speaker keeps to the {side.upper()} case and answers the opponent's point "
                f"about {' '.join(self.texts[60 + self.calls].split()[3:9]).lower()}, though "
                "it leans on one anecdote and leaves the cost argument largely unanswered."
            ),
        }


def real_path_spec(rounds: int = 1) -> MatchSpec:
    return MatchSpec(
        motion=MOTION,
        pro=DebaterSpec(persona="pirate", model="test:pro"),
        con=DebaterSpec(persona="kantian", model="test:con"),
        rounds=rounds,
        judges=["test:judge"],
        word_limit=WORD_LIMIT,
    )


async def play_real_path(store: Store, rounds: int = 1, seed: int = 0) -> str:
    """Create, run and finish one match the way a worker does; returns its id. The store's
    settings should have token_coalesce_ms=0: each streamed chunk is then one entry."""
    spec = real_path_spec(rounds)
    record = await store.create_match(spec)
    await store.begin_run(record.id, "realpath")
    pro, con, judge = _Replies(seed * 24), _Replies(seed * 24 + 12), _Judge()
    lib = library()
    lineup = Lineup(
        match_id=record.id,
        spec=spec,
        pro=Debater("pro", lib.persona("pirate"), FunctionModel("test:pro", pro.stream)),
        con=Debater("con", lib.persona("kantian"), FunctionModel("test:con", con.stream)),
        judges=[FunctionModel("test:judge", structured_fn=judge.verdict)],
        max_attempts=1,
        max_delay=0.01,
    )
    sink = store.event_sink(record.id)
    await run_match(lineup, sink)
    await sink.flush()
    return record.id


async def match_memory(store: Store, match_id: str) -> dict[str, int]:
    """MEMORY USAGE of each of the match's own keys (those with its hash tag)."""
    pattern = store.keys.match(match_id).replace("{", "\\{").replace("}", "\\}") + "*"
    out: dict[str, int] = {}
    async for key in store.redis.scan_iter(match=pattern, count=1000):
        out[str(key)] = int(await store.redis.memory_usage(key, samples=0) or 0)
    return out
