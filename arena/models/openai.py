"""OpenAI's chat completions API, and the servers that speak it (Ollama, llama.cpp, vLLM, ...).

Providers: `openai:<model>`, `ollama:<model>` and `openai-compatible:<model>`. The SDK's own
retries are off: arena.models.retry owns retrying, so it can resume a cut stream.

These servers answer a trailing assistant message with a reply of their own rather than continue
it, so by default a model here does not continue a prefix (`continues_prefix` is false) and a cut
turn is restarted. A vLLM server continues one when asked with `continue_final_message`: build
the adapter with `continues_prefix=True` for that.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

import httpx2
import openai
from openai import AsyncOpenAI, omit
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.completion_create_params import ResponseFormat

from arena.config import Settings
from arena.errors import ConfigError, ModelError, NeedsKeyError
from arena.models.base import (
    Completion,
    GenerationRequest,
    StreamItem,
    StructuredResult,
    TextDelta,
    collect_structured,
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

OPENAI_BASE_URL = "https://api.openai.com/v1"
PROVIDERS = ("openai", "ollama", "openai-compatible")
_SCHEMA_WORDS = ("response_format", "json_schema", "structured output")
# JSON-schema keywords OpenAI's strict mode does not list as supported (a schema holding one is
# refused); the reply is validated against the full schema's model anyway
_OPENAI_UNSUPPORTED = frozenset({"maxLength", "minLength"})


@contextmanager
def translate_errors(provider: str) -> Iterator[None]:
    """The one place where the OpenAI SDK's errors become ModelError."""
    try:
        yield
    except openai.APIStatusError as exc:
        status = exc.status_code
        raise ModelError(
            _error_message(exc) + status_hint(status),
            provider=provider,
            status_code=status,
            body=body_text(exc.body),
            retryable=retryable_status(status),
            retry_after=retry_after(exc.response.headers),
        ) from exc
    except openai.APIConnectionError as exc:  # timeouts, refused connections, streams cut mid-way
        raise transport_error(provider, exc) from exc
    except openai.APIError as exc:
        # An error object sent inside a stream that had already begun: the server gave up.
        raise ModelError(
            _error_message(exc), provider=provider, body=body_text(exc.body), retryable=True
        ) from exc
    except TRANSPORT_ERRORS as exc:
        raise transport_error(provider, exc) from exc
    except openai.OpenAIError as exc:
        raise ModelError(str(exc), provider=provider) from exc


def _error_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"])
    return exc.message


class OpenAIChatModel:
    """A ChatModel over the chat completions API of OpenAI or any server that speaks it."""

    def __init__(
        self, provider: str, model: str, client: AsyncOpenAI, *, continues_prefix: bool = False
    ) -> None:
        self.name = f"{provider}:{model}"
        self.provider = provider
        self.model = model
        self.continues_prefix = continues_prefix
        self._client = client
        # Servers that reject response_format json_schema are asked once, then get json_object.
        self._json_schema_supported = True

    async def aclose(self) -> None:
        await self._client.close()

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        return self._generate(_messages(request), request)

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        # A prefix only makes sense when resuming prose, never for a JSON answer.
        request = replace(request, assistant_prefix="")
        if self._json_schema_supported:
            strict = _without(schema, _OPENAI_UNSUPPORTED) if self.provider == "openai" else schema
            response_format: ResponseFormat = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": strict, "strict": True},
            }
            try:
                return await self._collect(_messages(request), request, response_format)
            except ModelError as exc:
                if not _rejects_json_schema(exc):
                    raise
                self._json_schema_supported = False
        fallback: dict[str, Any] = {"type": "json_object"}
        if self.provider != "openai":
            # llama.cpp and others constrain json_object output to a `schema` given with it;
            # OpenAI itself does not take the key.
            fallback["schema"] = schema
        instruction = (
            "\n\nReply with one JSON object and nothing else. It must match this JSON schema:\n"
            + json.dumps(schema)
        )
        return await self._collect(
            _messages(request, instruction), request, cast(ResponseFormat, fallback)
        )

    async def _collect(
        self,
        messages: list[ChatCompletionMessageParam],
        request: GenerationRequest,
        response_format: ResponseFormat,
    ) -> StructuredResult:
        return await collect_structured(
            self._generate(messages, request, response_format),
            extra={"response_format": response_format["type"]},
        )

    async def _generate(
        self,
        messages: list[ChatCompletionMessageParam],
        request: GenerationRequest,
        response_format: ResponseFormat | None = None,
    ) -> AsyncGenerator[StreamItem, None]:
        started = time.perf_counter()
        first: float | None = None
        finish: str | None = None
        tokens_in: int | None = None
        tokens_out: int | None = None
        deltas = 0
        alternatives: list[dict[str, float]] = []
        logprobs = bool(request.top_logprobs) and self.provider == "openai"
        with translate_errors(self.provider):
            stream = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                # OpenAI's newer models refuse max_tokens; other servers may not know the new name.
                max_completion_tokens=request.max_tokens if self.provider == "openai" else omit,
                max_tokens=omit if self.provider == "openai" else request.max_tokens,
                temperature=omit if request.temperature is None else request.temperature,
                seed=omit if request.seed is None else request.seed,
                # asked of OpenAI only: other servers may reject the parameters outright
                logprobs=True if logprobs else omit,
                top_logprobs=request.top_logprobs if logprobs else omit,
                response_format=omit if response_format is None else response_format,
                extra_body=_continue_final_message(request) if self.continues_prefix else None,
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        tokens_in = chunk.usage.prompt_tokens
                        tokens_out = chunk.usage.completion_tokens
                    for choice in chunk.choices:
                        finish = choice.finish_reason or finish
                        if choice.logprobs is not None and choice.logprobs.content:
                            alternatives += [
                                {alt.token: alt.logprob for alt in token.top_logprobs}
                                for token in choice.logprobs.content
                            ]
                        text = choice.delta.content if choice.delta is not None else None
                        if not text:
                            continue
                        deltas += 1
                        if first is None:
                            first = time.perf_counter() - started
                        yield TextDelta(text)
        if finish is None:
            raise stream_ended_early(self.provider)
        # Servers that ignore stream_options send no usage; one delta is about one token there.
        yield Completion(
            tokens_in=tokens_in or 0,
            tokens_out=deltas if tokens_out is None else tokens_out,
            ttft_s=first,
            duration_s=time.perf_counter() - started,
            finish_reason=finish,
            top_logprobs=tuple(alternatives) if alternatives else None,
        )


def _messages(
    request: GenerationRequest, extra_system: str = ""
) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": request.system + extra_system}
    ]
    for message in request.messages:
        if message.role == "user":
            messages.append(ChatCompletionUserMessageParam(role="user", content=message.content))
        else:
            messages.append(
                ChatCompletionAssistantMessageParam(role="assistant", content=message.content)
            )
    if request.assistant_prefix:
        # Sent only to a model built with continues_prefix (the retry layer sends no prefix to
        # the others); a server that repeats it has the repeat stripped by the retry layer.
        messages.append(
            ChatCompletionAssistantMessageParam(role="assistant", content=request.assistant_prefix)
        )
    return messages


def _continue_final_message(request: GenerationRequest) -> dict[str, Any] | None:
    """vLLM's parameters for continuing the trailing assistant message instead of answering it."""
    if not request.assistant_prefix:
        return None
    return {"continue_final_message": True, "add_generation_prompt": False}


def _without(schema: Any, keywords: frozenset[str]) -> Any:
    """`schema` without `keywords` at any depth (property names are kept whatever they are)."""
    if isinstance(schema, list):
        return [_without(item, keywords) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _without(v, keywords) for k, v in schema.items() if k not in keywords}
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {k: _without(v, keywords) for k, v in schema["properties"].items()}
    return out


def _rejects_json_schema(error: ModelError) -> bool:
    """A refusal of the json_schema format: a 400 or 422 naming it, or a 5xx naming it, as
    llama-cpp-python's server answers a request body it cannot validate."""
    status = error.status_code
    if status is None or not (status in (400, 422) or status >= 500):
        return False
    text = f"{error.args[0]} {error.body or ''}".lower()
    return any(word in text for word in _SCHEMA_WORDS)


def make_client(
    provider: str, model: str, settings: Settings, http_client: httpx2.AsyncClient | None = None
) -> AsyncOpenAI:
    """The SDK client for `provider`, with key and URL from settings only (never the SDK's own
    environment lookups) and the SDK's retries off."""
    base_url: str | None
    if provider == "openai":
        api_key = settings.openai_api_key
        base_url = settings.openai_base_url or OPENAI_BASE_URL
        if not api_key:
            raise NeedsKeyError("OPENAI_API_KEY", f"{provider}:{model}")
    elif provider == "ollama":
        api_key, base_url = "ollama", settings.ollama_base_url
    elif provider == "openai-compatible":
        api_key = settings.compatible_api_key or "none"
        base_url = settings.compatible_base_url
        if not base_url:
            raise ConfigError(
                "ARENA_COMPATIBLE_BASE_URL is not set: set it to the server's /v1 URL "
                f"to use {provider}:{model}"
            )
    else:
        raise ConfigError(f"{__name__} does not serve provider {provider!r}; it serves {PROVIDERS}")
    client = AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=settings.request_timeout,
        max_retries=0,
        http_client=http_client,
    )
    # The SDK fills these from OPENAI_ORG_ID / OPENAI_PROJECT_ID and would send them as headers,
    # to whatever server base_url names.
    client.organization = client.project = None
    return client


def create(
    provider: str,
    model: str,
    settings: Settings,
    *,
    http_client: httpx2.AsyncClient | None = None,
    continues_prefix: bool = False,
) -> OpenAIChatModel:
    return OpenAIChatModel(
        provider,
        model,
        make_client(provider, model, settings, http_client),
        continues_prefix=continues_prefix,
    )
