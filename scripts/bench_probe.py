"""Benchmark the stance probe on the embedded model: the free-text answer, p(yes) read from the
last prompt position's logits (right after the text answer, and cold, after another prompt), and
the grammar-constrained forced choice. Prints medians; asserts nothing.

    .venv/bin/python scripts/bench_probe.py [--repeats 5] [--persona stoic] [--json out.json]

The baseline of the p(yes) read is the free-text probe of the same run, on the same prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from arena.config import Settings
from arena.engine.probe import ANSWER_STARTS, ask, ask_choice, ask_first_token, probe_request
from arena.models.base import ChatMessage, GenerationRequest
from arena.models.local import LocalModel, gguf_path
from arena.personas.library import load_library

MOTION = "Cities should ban private cars from their centres."
OTHER = GenerationRequest(
    system="You are a helpful assistant.",
    messages=[ChatMessage("user", "Name three rivers in Europe, one line each.")],
    max_tokens=8,
    temperature=0.0,
)


async def other_prompt(model: LocalModel) -> None:
    """Another prompt through the model, so that the next one does not reuse the probe's cache."""
    async for _ in model.stream(OTHER):
        pass


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await call()
    return (time.perf_counter() - start) * 1000, result


async def main(repeats: int, persona_id: str) -> dict[str, Any]:
    settings = Settings()
    persona = load_library(settings.personas_dir).persona(persona_id)
    model = LocalModel("local:smollm2", gguf_path(settings), settings)
    request = probe_request(
        persona.system_prompt,
        [
            ChatMessage("user", f"Argue FOR the motion: {MOTION}"),
            ChatMessage("assistant", "Cars choke our streets; a centre without them breathes."),
            ChatMessage("user", "I do not agree with your argument."),
        ],
        MOTION,
    )
    retry: dict[str, Any] = {"max_attempts": 1, "max_delay": 0.0}
    figures: dict[str, list[float]] = {"text": [], "after": [], "cold": [], "choice": []}
    answer, p_yes = "", None
    for _ in range(repeats):
        await other_prompt(model)  # the text probe starts without the probe's prompt cached
        ms, (answer, _, _) = await timed(lambda: ask(model, request, **retry))
        figures["text"].append(ms)
        ms, p_yes = await timed(lambda: ask_first_token(model, request, **retry))
        figures["after"].append(ms)
        ms, _ = await timed(lambda: ask_choice(model, request, **retry))
        figures["choice"].append(ms)
        await other_prompt(model)
        ms, _ = await timed(lambda: ask_first_token(model, request, **retry))
        figures["cold"].append(ms)
    print(f"persona {persona_id}, {repeats} repeats, medians (answer {answer!r}, p(yes) {p_yes})")
    print(f"answer spellings read for p(yes): {len(ANSWER_STARTS)}")
    for label, key in [
        ("text probe (free answer)", "text"),
        ("p(yes) right after the text answer", "after"),
        ("forced choice after the text answer", "choice"),
        ("p(yes) cold (after another prompt)", "cold"),
    ]:
        print(f"  {label:<38} {statistics.median(figures[key]):8.1f} ms")
    return {
        "persona": persona_id,
        "repeats": repeats,
        "answer": answer,
        "p_yes": p_yes,
        "median_ms": {key: round(statistics.median(v), 1) for key, v in figures.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--persona", default="stoic")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()
    found = asyncio.run(main(args.repeats, args.persona))
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=2))
