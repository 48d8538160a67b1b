"""The ChatModel protocol every provider implements, and the values that cross it."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from arena.errors import StructuredOutputError


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion. `assistant_prefix` asks the model to continue a reply already begun
    (used to resume a stream that was cut mid-turn without repeating what listeners saw); only
    send one to a model whose `continues_prefix` is true."""

    system: str
    messages: list[ChatMessage]
    max_tokens: int = 400
    temperature: float | None = None
    seed: int | None = None
    assistant_prefix: str = ""
    # ask for the k likeliest alternatives of each output token (0: none); a model that cannot
    # give them ignores it, and its Completion has no `top_logprobs`
    top_logprobs: int = 0


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Completion:
    """The last item of every stream: usage and timing of the whole generation."""

    tokens_in: int
    tokens_out: int
    ttft_s: float | None
    duration_s: float
    finish_reason: str | None = None
    # when asked for (GenerationRequest.top_logprobs) and given: per output token, in order,
    # each alternative token's text -> its natural-log probability
    top_logprobs: tuple[dict[str, float], ...] | None = None


StreamItem = TextDelta | Completion


@dataclass(frozen=True)
class StructuredResult:
    data: dict[str, Any]
    raw: str
    tokens_in: int = 0
    tokens_out: int = 0
    duration_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: streams text deltas, and produces JSON validated against a schema.

    `stream` returns an async generator that yields TextDelta items and ends with exactly one
    Completion; a caller that stops early closes it (`contextlib.aclosing`). Errors are raised as
    arena.errors.ModelError (with `retryable` set) so callers never see an SDK's own types.

    `continues_prefix` says whether the model really continues `assistant_prefix`: true when the
    prefix becomes the start of the reply it generates (a raw completion of the chat template,
    Anthropic's prefill), false when the provider treats it as one more message and answers
    afresh (OpenAI and most compatible servers). The retry layer restarts a cut turn instead of
    continuing it when this is false.
    """

    name: str
    continues_prefix: bool

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]: ...

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult: ...


@runtime_checkable
class ScoresFirstToken(Protocol):
    """A model that can say, without generating, how likely its reply is to begin with each of
    some strings: it evaluates the request's prompt and reads the distribution of the reply's
    first token over the whole vocabulary. The embedded model can (its logits are at hand);
    hosted providers give log-probabilities only of tokens they generate (`top_logprobs`)."""

    async def first_token_logprobs(
        self, request: GenerationRequest, starts: Sequence[str]
    ) -> dict[str, float]:
        """The natural-log probability of the first token of each of `starts` as the reply's
        first token, keyed by that token's text (starts sharing a first token share an entry).
        Raises ModelError like `stream`."""
        ...


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of `model` as structured-output APIs and grammars want it: every property
    required and no other allowed, without titles or defaults (OpenAI's strict mode refuses a
    `default`), nor the model's docstring (written for developers, not for the model).
    Validation stays with `model` itself, which may be more lenient."""

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: clean(v) for k, v in node.items() if k not in ("title", "default")}
        if "properties" in node:
            out["properties"] = {name: clean(sub) for name, sub in node["properties"].items()}
            out["required"] = list(node["properties"])
            out["additionalProperties"] = False
        return out

    schema: dict[str, Any] = clean(model.model_json_schema())
    schema.pop("description", None)
    return schema


def parse_json_object(raw: str) -> dict[str, Any]:
    """Parse a JSON object from model output, tolerating a fenced code block around it and raw
    control characters (a line break) inside its strings."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`")
        if text.startswith("json"):
            text = text[4:]
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise StructuredOutputError("output holds no JSON object", raw)
    try:
        value = json.loads(text[start : end + 1], strict=False)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(f"output is not valid JSON: {exc.msg}", raw) from exc
    if not isinstance(value, dict):
        raise StructuredOutputError("output is not a JSON object", raw)
    return value


async def collect_structured(
    items: AsyncIterator[StreamItem], extra: dict[str, Any] | None = None
) -> StructuredResult:
    """Join a stream of JSON text into a StructuredResult. Output cut at the token limit is an
    error: a truncated object would only fail later, less clearly."""
    parts: list[str] = []
    done: Completion | None = None
    async for item in items:
        if isinstance(item, TextDelta):
            parts.append(item.text)
        else:
            done = item
    raw = "".join(parts)
    if done is not None and done.finish_reason == "length":
        raise StructuredOutputError("output was cut at the token limit", raw)
    return StructuredResult(
        data=parse_json_object(raw),
        raw=raw,
        tokens_in=done.tokens_in if done else 0,
        tokens_out=done.tokens_out if done else 0,
        duration_s=done.duration_s if done else 0.0,
        extra=extra or {},
    )
