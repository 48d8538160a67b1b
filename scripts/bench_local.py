"""Benchmark the embedded model: the arena's provider against raw llama-cpp-python, and the cost
of judging a match. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_local.py [--tokens 128] [--repeats 3] [--rounds 2]
        [--word-limit 60] [--matches-with embedded,network-like] [--token-delay 0.02]
        [--verdict-delay 1.0] [--json out.json]

Each figure beside its baseline from the same run: the provider's tokens/s beside raw
llama-cpp-python's, a judged match's seconds beside an unjudged one's, with the embedded model
and with a stand-in for a hosted model (NetworkLikeModel: fixed delays, no CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from arena.config import Settings
from arena.domain.events import Event
from arena.domain.specs import DebaterSpec, MatchSpec
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.models.base import (
    ChatMessage,
    ChatModel,
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
)
from arena.models.local import LocalModel, chatml_prompt, gguf_path
from arena.personas.library import load_library

REQUEST = GenerationRequest(
    system="You are a debater. Argue firmly.",
    messages=[ChatMessage("user", "Argue that cities should ban cars from their centres.")],
    temperature=0.0,
    seed=7,
)


def raw_llama(settings: Settings) -> Any:
    """Raw llama-cpp-python on the same file, warmed up on the same prompt as the provider is
    (llama.cpp then reuses the prompt's cache in both: the figures compare generation)."""
    from llama_cpp import Llama

    llama = Llama(
        model_path=str(gguf_path(settings)),
        n_ctx=settings.local_n_ctx,
        n_threads=settings.local_threads,
        verbose=False,
    )
    raw_tokens_per_second(llama, 8)
    return llama


def raw_tokens_per_second(llama: Any, tokens: int) -> float:
    start = time.perf_counter()
    count = 0
    for _ in llama.create_completion(
        chatml_prompt(REQUEST),
        max_tokens=tokens,
        temperature=0.0,
        seed=7,
        stream=True,
        repeat_penalty=1.25,
        stop=["<|im_end|>", "<|im_start|>"],
    ):
        count += 1
    return count / (time.perf_counter() - start)


async def arena_tokens_per_second(model: LocalModel, tokens: int) -> float:
    request = GenerationRequest(
        REQUEST.system, REQUEST.messages, max_tokens=tokens, temperature=0.0, seed=7
    )
    start = time.perf_counter()
    done: Completion | None = None
    async for item in model.stream(request):
        if isinstance(item, Completion):
            done = item
    assert done is not None
    return done.tokens_out / (time.perf_counter() - start)


class NetworkLikeModel:
    """Stands in for a hosted model: a fixed delay per token and per verdict, no CPU use.
    Shows what the engine's overlap of judging and speaking gives when models do not share a
    CPU, which the embedded model (one model, requests serialized) cannot show."""

    name = "bench:network-like"
    continues_prefix = False  # like most hosted chat APIs: a cut turn is restarted

    def __init__(self, token_delay: float = 0.02, verdict_delay: float = 1.0) -> None:
        self.token_delay, self.verdict_delay = token_delay, verdict_delay

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        for _ in range(60):
            await asyncio.sleep(self.token_delay)
            yield TextDelta(" word")
        yield Completion(10, 60, self.token_delay, 60 * self.token_delay, "stop")

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        await asyncio.sleep(self.verdict_delay)
        data = {
            "stance": "pro",
            "holding": 0.8,
            "engagement": 0.5,
            "concessions": [],
            "rationale": "steady",
        }
        return StructuredResult(data=data, raw=json.dumps(data))


# the stand-in must stay a ChatModel: mypy checks this line (and the smoke test, isinstance),
# so a member added to the protocol fails here, not in a user's run
_STAND_IN: type[ChatModel] = NetworkLikeModel


async def match_seconds(model: ChatModel, judged: bool, rounds: int, word_limit: int = 60) -> float:
    lib = load_library(Settings().personas_dir)
    spec = MatchSpec(
        motion="This house believes that cities should ban cars from their centres.",
        pro=DebaterSpec(persona="pirate", model=model.name),
        con=DebaterSpec(persona="assistant", model=model.name),
        rounds=rounds,
        word_limit=word_limit,
        judges=[model.name],
        seed=3,
    )
    lineup = Lineup(
        "bench",
        spec,
        Debater("pro", lib.persona("pirate"), model),
        Debater("con", lib.persona("assistant"), model),
        judges=[model] if judged else [],
    )

    async def sink(event: Event) -> None:
        return None

    start = time.perf_counter()
    await run_match(lineup, sink)
    return time.perf_counter() - start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--word-limit", type=int, default=60, help="words per turn")
    parser.add_argument(
        "--matches-with",
        default="embedded,network-like",
        help="the models whose judged and unjudged matches are timed (the smoke test: "
        "network-like only; the embedded model's matches take minutes)",
    )
    parser.add_argument("--token-delay", type=float, default=0.02, help="network-like, s/token")
    parser.add_argument("--verdict-delay", type=float, default=1.0, help="network-like, s/verdict")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args(argv)
    args.matches_with = [m.strip() for m in args.matches_with.split(",") if m.strip()]
    if not set(args.matches_with) <= {"embedded", "network-like"}:
        parser.error("--matches-with takes embedded, network-like or both")
    return args


async def judged_ratio(model: ChatModel, rounds: int, word_limit: int) -> dict[str, float]:
    judged = await match_seconds(model, True, rounds, word_limit)
    unjudged = await match_seconds(model, False, rounds, word_limit)
    return {
        "judged_s": round(judged, 2),
        "unjudged_s": round(unjudged, 2),
        "ratio": round(judged / unjudged, 3),
    }


async def main(args: argparse.Namespace) -> dict[str, object]:
    settings = Settings()
    model = LocalModel("local:smollm2", gguf_path(settings), settings)
    await arena_tokens_per_second(model, 8)  # load the model before timing

    llama = raw_llama(settings)
    raw = [raw_tokens_per_second(llama, args.tokens) for _ in range(args.repeats)]
    del llama  # one model in memory at a time from here
    ours = [await arena_tokens_per_second(model, args.tokens) for _ in range(args.repeats)]
    raw_tps, our_tps = statistics.median(raw), statistics.median(ours)
    print(f"raw llama-cpp-python: {raw_tps:.1f} tokens/s (median of {args.repeats})")
    print(f"arena local provider: {our_tps:.1f} tokens/s (median of {args.repeats})")
    print(f"provider / raw: {our_tps / raw_tps:.3f}")

    figures: dict[str, dict[str, float]] = {}
    if "embedded" in args.matches_with:
        figures["embedded"] = f = await judged_ratio(model, args.rounds, args.word_limit)
        print(
            f"{args.rounds}-round match, embedded model, judged: {f['judged_s']:.1f} s; "
            f"unjudged: {f['unjudged_s']:.1f} s; ratio {f['ratio']:.2f}"
        )
    if "network-like" in args.matches_with:
        remote = NetworkLikeModel(args.token_delay, args.verdict_delay)
        figures["network_like"] = f = await judged_ratio(remote, args.rounds, args.word_limit)
        print(
            f"{args.rounds}-round match, network-like model ({60 * args.token_delay:.2f} s a "
            f"turn, {args.verdict_delay:.2f} s a verdict), judged: {f['judged_s']:.1f} s; "
            f"unjudged: {f['unjudged_s']:.1f} s; ratio {f['ratio']:.2f}"
        )
    return {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "raw_tokens_per_s": round(raw_tps, 2),
        "provider_tokens_per_s": round(our_tps, 2),
        "provider_over_raw": round(our_tps / raw_tps, 3),
        **figures,
    }


if __name__ == "__main__":
    arguments = parse_args()
    figures = asyncio.run(main(arguments))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(figures, indent=2))
