"""A function-backed ChatModel for engine, store and API tests (not a provider users pick)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from arena.models.base import (
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
    parse_json_object,
)

StreamFn = Callable[[GenerationRequest], Iterable[str] | str]
StructuredFn = Callable[[GenerationRequest, dict[str, Any]], dict[str, Any] | str]


def words(text: str) -> list[str]:
    """Split text into word-sized deltas that join back to the text exactly."""
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


def echo_side(request: GenerationRequest) -> list[str]:
    """A debater that states its side: enough to make verdicts predictable."""
    side = "FOR" if "FOR (PRO)" in request.system else "AGAINST"
    return words(f"I argue {side} the motion, and I hold that position firmly.")


def firm_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """A judge that reads the side from its own prompt and says the speaker holds it."""
    prompt = request.messages[0].content
    side = "pro" if "assigned side: PRO" in prompt else "con"
    return {
        "stance": side,
        "holding": 0.9,
        "engagement": 0.6,
        "concessions": [],
        "rationale": f"The turn argues {side}.",
    }


def presented_as(request: GenerationRequest) -> int:
    """The position the judge's prompt presents the speaker in: 1 or 2 ("Debater N")."""
    return 1 if "The speaker is Debater 1" in request.messages[0].content else 2


def position_biased_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """A judge that favours whoever it is told spoke first: holding 0.9 for Debater 1, 0.4 for
    Debater 2 (the assigned side's stance either way), so a position swap moves it by 0.5."""
    verdict = firm_judge(request, schema)
    return {**verdict, "holding": 0.9 if presented_as(request) == 1 else 0.4}


class FunctionModel:
    """Streams what `stream_fn` returns (one delta per item) and answers structured requests
    with `structured_fn`. Either may raise arena.errors.ModelError to simulate failures.
    `continues_prefix` is what the model claims (see ChatModel); like OpenAI's, false by default."""

    def __init__(
        self,
        name: str = "test:function",
        stream_fn: StreamFn = echo_side,
        structured_fn: StructuredFn = firm_judge,
        delay: float = 0.0,
        continues_prefix: bool = False,
    ) -> None:
        self.name = name
        self.continues_prefix = continues_prefix
        self.stream_fn = stream_fn
        self.structured_fn = structured_fn
        self.delay = delay
        self.requests: list[GenerationRequest] = []

    async def _stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        self.requests.append(request)
        out = self.stream_fn(request)
        deltas = [out] if isinstance(out, str) else out
        count = 0
        for delta in deltas:
            if self.delay:
                await asyncio.sleep(self.delay)
            count += 1
            yield TextDelta(delta)
        yield Completion(tokens_in=len(request.system.split()), tokens_out=count, ttft_s=0.001,
                         duration_s=0.002, finish_reason="stop")

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        return self._stream(request)

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        out = self.structured_fn(request, schema)
        raw = out if isinstance(out, str) else json.dumps(out)
        return StructuredResult(data=parse_json_object(raw), raw=raw)


class FakeModels:
    """A ModelFactory (arena.models.cache) for tests: `make(name)` builds each name's model once
    (default: a FunctionModel of that name). With `settings`, names are checked as the arena
    checks them (require_available); without, every name is accepted."""

    def __init__(
        self,
        make: Callable[[str], Any] | None = None,
        settings: Any = None,
        models: dict[str, Any] | None = None,
    ) -> None:
        self.make = make or FunctionModel
        self.settings = settings
        self.made: dict[str, Any] = models if models is not None else {}
        self.released: list[str] = []
        self.closed = False

    def get(self, name: str) -> Any:
        self.require_available(name)
        if name not in self.made:
            self.made[name] = self.make(name)
        return self.made[name]

    def release(self, models: Iterable[Any]) -> None:
        self.released += [m.name for m in models]

    def require_available(self, name: str) -> None:
        if self.settings is not None:
            from arena.models.registry import require_available

            require_available(name, self.settings)

    async def aclose(self) -> None:
        self.closed = True
