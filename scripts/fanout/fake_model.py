"""A fast fake OpenAI-compatible model server for the fan-out benchmark.

Debaters get prose streamed as chat-completion SSE chunks, one word per chunk, at a steady
`--token-rate` per stream, as many words as the word limit the arena asked for (it sends
max_tokens = 1.6 x word limit + 24). Judges (requests with `response_format`) get a valid
verdict for the side the prompt names, after `--judge-delay` seconds.

    python scripts/fanout/fake_model.py --port 8101 --token-rate 80

Prints `ready <port>` on stdout once it listens. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = (
    "the motion fails because evidence shows that people choose freely and every serious "
    "study of history tells us costs rise when rules multiply so my opponent ignores the "
    "simple fact that trust is earned not ordered and I stand firm on this point"
).split()
SIDE = re.compile(r"for a speaker assigned (PRO|CON)")


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


def _usage(model: str, prompt: int, completion: int) -> str:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return f"data: {json.dumps(body)}\n\n"


def _verdict(messages: list[dict[str, Any]]) -> str:
    text = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    found = SIDE.search(text)
    stance = found.group(1).lower() if found else "neutral"
    return json.dumps(
        {
            "stance": stance,
            "holding": 0.8,
            "engagement": 0.6,
            "concessions": [],
            "rationale": "The speaker keeps arguing its assigned side.",
        }
    )


class FakeModel:
    def __init__(self, token_rate: float, judge_delay: float) -> None:
        self.token_rate = token_rate
        self.judge_delay = judge_delay

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        model = str(body.get("model", "fake"))
        messages = body.get("messages", [])
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if body.get("response_format"):
            stream = self._json(model, await self._judge(messages), usage)
        else:
            max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 200)
            stream = self._prose(model, max(1, int((max_tokens - 24) / 1.6)), usage)
        return StreamingResponse(stream, media_type="text/event-stream")

    async def _judge(self, messages: list[dict[str, Any]]) -> list[str]:
        await asyncio.sleep(self.judge_delay)
        raw = _verdict(messages)
        step = max(1, len(raw) // 4)
        return [raw[i : i + step] for i in range(0, len(raw), step)]

    async def _json(self, model: str, parts: list[str], usage: bool) -> AsyncIterator[str]:
        yield _chunk(model, {"role": "assistant", "content": ""})
        for part in parts:
            yield _chunk(model, {"content": part})
        yield _chunk(model, {}, "stop")
        if usage:
            yield _usage(model, 100, len(parts))
        yield "data: [DONE]\n\n"

    async def _prose(self, model: str, words: int, usage: bool) -> AsyncIterator[str]:
        rng = random.Random(words)
        yield _chunk(model, {"role": "assistant", "content": ""})
        start = time.monotonic()
        for i in range(words):
            # paced against the start, not the previous chunk, so the rate does not drift
            delay = start + i / self.token_rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            word = rng.choice(WORDS)
            yield _chunk(model, {"content": word if i == 0 else " " + word})
        yield _chunk(model, {}, "stop")
        if usage:
            yield _usage(model, 100, words)
        yield "data: [DONE]\n\n"


async def _models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})


def build_app(token_rate: float, judge_delay: float) -> Starlette:
    fake = FakeModel(token_rate, judge_delay)
    return Starlette(
        routes=[
            Route("/v1/chat/completions", fake.completions, methods=["POST"]),
            Route("/v1/models", _models),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-rate", type=float, default=80.0, help="tokens/s per stream")
    parser.add_argument("--judge-delay", type=float, default=0.2, help="seconds per verdict")
    args = parser.parse_args()
    config = uvicorn.Config(
        build_app(args.token_rate, args.judge_delay),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.05)
        print(f"ready {args.port}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
