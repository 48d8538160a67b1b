"""Anthropic's Messages API: `anthropic:<model>`.

The persona prompt goes in `system`; a cut reply is resumed by prefilling it as a trailing
assistant message, which Claude continues without repeating. Structured output is a forced call
of a tool whose input schema is the requested schema. The SDK's own retries are off:
arena.models.retry owns retrying.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import anthropic
import httpx2
from anthropic import AsyncAnthropic, omit
from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    RawMessageStreamEvent,
    ToolParam,
    UserMessageParam,
)

from arena.config import Settings
from arena.errors import ModelError, NeedsKeyError, StructuredOutputError
from arena.models.base import (
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
    parse_json_object,
)
from arena.models.sdk_errors import (
    TRANSPORT_ERRORS,
    body_text,
    retry_after,
    retryable_status,
    status_hint,
    stream_ended_early,
    transport_error,
)

PROVIDER = "anthropic"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
# Error types that blame the request, not the service; any other error sent mid-stream
# (overloaded_error, api_error, rate_limit_error, ...) is worth retrying.
_CLIENT_ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "billing_error",
        "request_too_large",
    }
)
# The same words as the other providers, so callers can test for a reply cut at max_tokens.
_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


@contextmanager
def translate_errors() -> Iterator[None]:
    """The one place where the Anthropic SDK's errors become ModelError."""
    try:
        yield
    except anthropic.APIStatusError as exc:
        kind = exc.type
        message = exc.api_message or exc.message
        if exc.status_code < 400:
            # An `error` event inside a stream that began with 200: its type says what failed.
            raise ModelError(
                f"{kind or 'error'} during the stream: {message}",
                provider=PROVIDER,
                body=body_text(exc.body),
                retryable=kind not in _CLIENT_ERROR_TYPES,
            ) from exc
        raise ModelError(
            message + status_hint(exc.status_code),
            provider=PROVIDER,
            status_code=exc.status_code,
            body=body_text(exc.body),
            retryable=retryable_status(exc.status_code),
            retry_after=retry_after(exc.response.headers),
        ) from exc
    except anthropic.APIConnectionError as exc:  # timeouts and refused connections
        raise transport_error(PROVIDER, exc) from exc
    except TRANSPORT_ERRORS as exc:  # the SDK lets a body cut mid-way through unwrapped
        raise transport_error(PROVIDER, exc) from exc
    except anthropic.AnthropicError as exc:
        raise ModelError(str(exc), provider=PROVIDER) from exc


@dataclass(frozen=True)
class _ToolInput:
    partial_json: str


class AnthropicChatModel:
    """A ChatModel over Anthropic's Messages API."""

    # A trailing assistant message is a prefill: Claude writes what follows it.
    continues_prefix = True

    def __init__(self, model: str, client: AsyncAnthropic) -> None:
        self.name = f"{PROVIDER}:{model}"
        self.model = model
        self._client = client

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        async with aclosing(self._generate(request, None)) as items:
            async for item in items:
                if not isinstance(item, _ToolInput):
                    yield item

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        tool: ToolParam = {
            "name": schema_name,
            "description": str(
                schema.get("description") or f"Record your answer as a {schema_name} object."
            ),
            "input_schema": schema,
        }
        text: list[str] = []
        tool_json: list[str] = []
        done: Completion | None = None
        # A prefix only makes sense when resuming prose, never for a tool call.
        async for item in self._generate(replace(request, assistant_prefix=""), tool):
            if isinstance(item, _ToolInput):
                tool_json.append(item.partial_json)
            elif isinstance(item, TextDelta):
                text.append(item.text)
            else:
                done = item
        raw = "".join(tool_json)
        if done is not None and done.finish_reason == "length":
            raise StructuredOutputError("output was cut at the token limit", raw or "".join(text))
        data = _tool_input(raw) if raw.strip() else parse_json_object("".join(text))
        return StructuredResult(
            data=data,
            raw=raw or "".join(text),
            tokens_in=done.tokens_in if done else 0,
            tokens_out=done.tokens_out if done else 0,
            duration_s=done.duration_s if done else 0.0,
        )

    async def _generate(
        self, request: GenerationRequest, tool: ToolParam | None
    ) -> AsyncGenerator[TextDelta | _ToolInput | Completion, None]:
        messages, skip_space = _messages(request)
        reply = _Reply(skip_space)
        with translate_errors():
            stream = await self._client.messages.create(
                model=self.model,
                system=request.system or omit,
                messages=messages,
                max_tokens=request.max_tokens,
                tools=omit if tool is None else [tool],
                tool_choice=omit if tool is None else {"type": "tool", "name": tool["name"]},
                stream=True,
            )
            async with stream:
                async for event in stream:
                    item = reply.feed(event)
                    if item is not None:
                        yield item
        if not reply.complete:
            raise stream_ended_early(PROVIDER)
        yield reply.completion()


class _Reply:
    """Reads one message's stream events: passes text and tool input on, keeps usage and timing."""

    def __init__(self, skip_space: int) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.skip_space = skip_space
        self.tokens_in = self.tokens_out = 0
        self.finish: str | None = None
        self.complete = False

    def feed(self, event: RawMessageStreamEvent) -> TextDelta | _ToolInput | None:
        if event.type == "message_start":
            usage = event.message.usage
            self.tokens_in = _input_tokens(
                usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens
            )
            self.tokens_out = usage.output_tokens
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "tool_use" and block.input:
                return _ToolInput(json.dumps(block.input))
        elif event.type == "content_block_delta":
            if event.delta.type == "input_json_delta":
                return _ToolInput(event.delta.partial_json)
            if event.delta.type == "text_delta":
                return self._text(event.delta.text)
        elif event.type == "message_delta":
            usage_delta = event.usage
            self.tokens_out = usage_delta.output_tokens
            if usage_delta.input_tokens is not None:
                self.tokens_in = _input_tokens(
                    usage_delta.input_tokens,
                    usage_delta.cache_creation_input_tokens,
                    usage_delta.cache_read_input_tokens,
                )
            reason = event.delta.stop_reason
            if reason is not None:
                self.finish = _FINISH_REASONS.get(reason, reason)
        elif event.type == "message_stop":
            self.complete = True
        return None

    def _text(self, text: str) -> TextDelta | None:
        if self.skip_space:
            text, self.skip_space = _skip_leading_space(text, self.skip_space)
        if not text:
            return None
        if self.first is None:
            self.first = time.perf_counter() - self.started
        return TextDelta(text)

    def completion(self) -> Completion:
        duration = time.perf_counter() - self.started
        return Completion(self.tokens_in, self.tokens_out, self.first, duration, self.finish)


def _messages(request: GenerationRequest) -> tuple[list[MessageParam], int]:
    """The messages to send, and how much leading whitespace to drop from the continuation.

    The API refuses a prefill that ends in whitespace, so it is sent trimmed; the model then
    starts its continuation with the space that listeners have already seen.
    """
    messages: list[MessageParam] = []
    for message in request.messages:
        if message.role == "user":
            messages.append(UserMessageParam(role="user", content=message.content))
        else:
            messages.append(AssistantMessageParam(role="assistant", content=message.content))
    prefix = request.assistant_prefix.rstrip()
    if prefix:
        messages.append(AssistantMessageParam(role="assistant", content=prefix))
    return messages, len(request.assistant_prefix) - len(prefix) if prefix else 0


def _skip_leading_space(text: str, budget: int) -> tuple[str, int]:
    """Drop up to `budget` leading whitespace characters; the budget left is 0 once real text
    has arrived."""
    spaces = len(text) - len(text.lstrip())
    cut = min(spaces, budget)
    text = text[cut:]
    return text, 0 if text else budget - cut


def _input_tokens(plain: int, cache_created: int | None, cache_read: int | None) -> int:
    # input_tokens leaves out the prompt caching's share; the prompt is the sum of all three.
    return plain + (cache_created or 0) + (cache_read or 0)


def _tool_input(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(f"tool input is not valid JSON: {exc.msg}", raw) from exc
    if not isinstance(value, dict):
        raise StructuredOutputError("tool input is not a JSON object", raw)
    return value


def make_client(
    model: str, settings: Settings, http_client: httpx2.AsyncClient | None = None
) -> AsyncAnthropic:
    """The SDK client, with key and URL from settings only (an explicit key also stops the SDK
    from looking for credentials in the environment and config files) and its retries off."""
    if not settings.anthropic_api_key:
        raise NeedsKeyError("ANTHROPIC_API_KEY", f"{PROVIDER}:{model}")
    return AsyncAnthropic(
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url or ANTHROPIC_BASE_URL,
        timeout=settings.request_timeout,
        max_retries=0,
        http_client=http_client,
    )


def create(
    provider: str,
    model: str,
    settings: Settings,
    *,
    http_client: httpx2.AsyncClient | None = None,
) -> AnthropicChatModel:
    return AnthropicChatModel(model, make_client(model, settings, http_client))
