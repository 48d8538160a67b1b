"""The OpenAI adapter against recorded-shape chat.completions streams, through the real SDK."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from arena.config import Settings
from arena.engine.judge import VERDICT_SCHEMA
from arena.errors import ModelError, StructuredOutputError
from arena.models import openai as openai_models
from arena.models.base import ChatMessage, ChatModel, GenerationRequest
from arena.models.retry import stream_with_retry

if TYPE_CHECKING:
    from .conftest import FakeAPI

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"winner": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["winner", "score"],
    "additionalProperties": False,
}
VERDICT = {"stance": "pro", "holding": 0.8, "engagement": 0.5, "concessions": [], "rationale": "ok"}
REQUEST = GenerationRequest(
    system="You are a stoic philosopher.",
    messages=[ChatMessage("user", "Is courage a virtue?")],
    max_tokens=64,
)


def chunk(
    content: str | None = None, *, role: str | None = None, finish: str | None = None
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1731000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion.chunk",
        "created": 1731000000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def sse(*chunks: dict[str, Any], done: bool = True) -> str:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return body + ("data: [DONE]\n\n" if done else "")


def reply(*pieces: str, prompt: int = 21, completion: int | None = None) -> str:
    """A whole streamed reply as OpenAI sends it: role, content pieces, finish, usage, [DONE]."""
    return sse(
        chunk("", role="assistant"),
        *(chunk(piece) for piece in pieces),
        chunk(finish="stop"),
        usage_chunk(prompt, len(pieces) if completion is None else completion),
    )


def model(
    fake_api: FakeAPI, settings: Settings, provider: str = "openai"
) -> openai_models.OpenAIChatModel:
    return openai_models.create(provider, "gpt-4o-mini", settings, http_client=fake_api.http_client)


async def test_streams_text_then_usage_and_timing(fake_api: FakeAPI, settings: Settings, collect):
    fake_api.stream(reply("Courage", " is", " a virtue.", prompt=21, completion=5))
    adapter = model(fake_api, settings)

    texts, done = await collect(adapter.stream(REQUEST))

    assert isinstance(adapter, ChatModel)
    assert adapter.name == "openai:gpt-4o-mini"
    assert texts == ["Courage", " is", " a virtue."]
    assert (done.tokens_in, done.tokens_out, done.finish_reason) == (21, 5, "stop")
    assert done.ttft_s is not None and 0 <= done.ttft_s <= done.duration_s


async def test_request_carries_prompt_options_and_key(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(reply("Yes."))
    request = GenerationRequest(
        system="Be brief.",
        messages=[
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello"),
            ChatMessage("user", "?"),
        ],
        max_tokens=50,
        temperature=0.2,
        seed=7,
    )
    await collect(model(fake_api, settings).stream(request))

    sent = fake_api.requests[0]
    assert str(sent.url) == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-openai"
    body = fake_api.bodies[0]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "?"},
    ]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["seed"], body["max_completion_tokens"]) == (0.2, 7, 50)
    assert "response_format" not in body


async def test_unset_options_are_left_out(fake_api: FakeAPI, settings: Settings, collect):
    fake_api.stream(reply("Yes."))
    await collect(model(fake_api, settings, "openai-compatible").stream(REQUEST))

    body = fake_api.bodies[0]
    assert "temperature" not in body and "seed" not in body
    # Other servers know the classic name only.
    assert body["max_tokens"] == 64 and "max_completion_tokens" not in body


@pytest.mark.parametrize(
    ("provider", "url", "authorization"),
    [
        ("ollama", "http://ollama.test:11434/v1/chat/completions", "Bearer ollama"),
        ("openai-compatible", "http://llm.test/v1/chat/completions", "Bearer none"),
    ],
)
async def test_other_servers_get_their_url_and_key(
    fake_api: FakeAPI, settings: Settings, collect, provider: str, url: str, authorization: str
):
    fake_api.stream(reply("Yes."))
    adapter = model(fake_api, settings, provider)
    await collect(adapter.stream(REQUEST))

    assert adapter.name == f"{provider}:gpt-4o-mini"
    assert str(fake_api.requests[0].url) == url
    assert fake_api.requests[0].headers["authorization"] == authorization


async def test_settings_win_over_the_sdks_environment_variables(
    fake_api: FakeAPI, settings: Settings, collect, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere.test/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-from-env")
    fake_api.stream(reply("Yes."))
    await collect(model(fake_api, settings).stream(REQUEST))

    sent = fake_api.requests[0]
    assert sent.url.host == "api.openai.com"
    assert sent.headers["authorization"] == "Bearer sk-test-openai"
    assert "openai-organization" not in sent.headers and "openai-project" not in sent.headers


async def test_usage_is_estimated_when_the_server_sends_none(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(sse(chunk("", role="assistant"), chunk("a"), chunk("b"), chunk(finish="stop")))
    _, done = await collect(model(fake_api, settings, "openai-compatible").stream(REQUEST))

    assert (done.tokens_in, done.tokens_out) == (0, 2)


async def test_resumed_reply_ends_with_the_assistant_prefix(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(reply("ld."))
    texts, _ = await collect(
        model(fake_api, settings).stream(replace(REQUEST, assistant_prefix="Hello wor"))
    )

    assert texts == ["ld."]
    assert fake_api.bodies[0]["messages"][-1] == {"role": "assistant", "content": "Hello wor"}


async def test_structured_output_uses_json_schema(fake_api: FakeAPI, settings: Settings):
    fake_api.stream(reply('{"winner": ', '"pro", "sco', 're": 7}', prompt=40, completion=9))
    result = await model(fake_api, settings).structured(REQUEST, SCHEMA, "verdict")

    assert result.data == {"winner": "pro", "score": 7}
    assert (result.tokens_in, result.tokens_out) == (40, 9)
    assert fake_api.bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": SCHEMA, "strict": True},
    }


@pytest.mark.parametrize("provider", ["openai", "openai-compatible"])
async def test_openai_gets_the_schema_without_the_length_keywords_it_refuses(
    fake_api: FakeAPI, settings: Settings, provider: str
):
    """OpenAI's strict mode refuses a schema with maxLength, so it gets the schema without it
    (the verdict is still validated against the whole); a compatible server (llama.cpp, vLLM)
    builds a grammar from the whole schema."""
    fake_api.stream(reply(json.dumps(VERDICT)))
    result = await model(fake_api, settings, provider).structured(
        REQUEST, VERDICT_SCHEMA, "turn_verdict"
    )

    assert result.data == VERDICT
    sent = fake_api.bodies[0]["response_format"]["json_schema"]
    assert sent["strict"] is True
    text = json.dumps(sent["schema"])
    if provider == "openai":
        assert "maxLength" not in text and "minLength" not in text
        assert sent["schema"]["properties"].keys() == VERDICT_SCHEMA["properties"].keys()
        assert sent["schema"]["properties"]["concessions"]["maxItems"] == 3
    else:
        assert sent["schema"] == VERDICT_SCHEMA


@pytest.mark.parametrize(
    ("provider", "status", "error", "fallback"),
    [
        (
            "openai",
            400,
            {
                "error": {
                    "message": "Invalid parameter: 'response_format' of type 'json_schema' is "
                    "not supported with this model.",
                    "type": "invalid_request_error",
                    "param": "response_format",
                    "code": None,
                }
            },
            {"type": "json_object"},
        ),
        (
            # llama-cpp-python's server wraps its request validation error in a 500
            "openai-compatible",
            500,
            {
                "error": {
                    "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
                    "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                    "'json_object'\", 'input': 'json_schema'}",
                    "type": "internal_server_error",
                    "param": None,
                    "code": None,
                }
            },
            {"type": "json_object", "schema": SCHEMA},
        ),
    ],
)
async def test_structured_output_falls_back_to_json_object_once(
    fake_api: FakeAPI,
    settings: Settings,
    provider: str,
    status: int,
    error: dict[str, Any],
    fallback: dict[str, Any],
):
    fake_api.error(status, error)
    fake_api.stream(reply('```json\n{"winner": "con", "score": 3}\n```'))
    fake_api.stream(reply('{"winner": "pro", "score": 9}'))
    adapter = model(fake_api, settings, provider)

    first = await adapter.structured(REQUEST, SCHEMA, "verdict")
    second = await adapter.structured(REQUEST, SCHEMA, "verdict")

    assert first.data == {"winner": "con", "score": 3}
    assert second.data == {"winner": "pro", "score": 9}
    rejected, *retried = fake_api.bodies
    assert rejected["response_format"]["type"] == "json_schema"
    assert [body["response_format"] for body in retried] == [fallback, fallback]
    for body in retried:
        system = body["messages"][0]["content"]
        assert system.startswith(REQUEST.system) and json.dumps(SCHEMA) in system


@pytest.mark.parametrize(
    ("status", "message", "retryable"),
    [(400, "max_tokens is too large", False), (500, "The server had an error", True)],
)
async def test_other_errors_are_not_a_fallback(
    fake_api: FakeAPI, settings: Settings, status: int, message: str, retryable: bool
):
    fake_api.error(status, {"error": {"message": message, "type": "invalid_request_error"}})
    with pytest.raises(ModelError) as caught:
        await model(fake_api, settings).structured(REQUEST, SCHEMA, "verdict")

    assert (caught.value.status_code, caught.value.retryable) == (status, retryable)
    assert len(fake_api.requests) == 1


async def test_structured_output_without_json_is_an_error(fake_api: FakeAPI, settings: Settings):
    fake_api.stream(reply("I would rather not say."))
    with pytest.raises(StructuredOutputError) as caught:
        await model(fake_api, settings).structured(REQUEST, SCHEMA, "verdict")

    assert caught.value.raw == "I would rather not say."


async def test_rate_limit_is_retryable_after_the_servers_delay(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.error(
        429,
        {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        },
        headers={"retry-after": "7"},
    )
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    error = caught.value
    assert (error.status_code, error.retryable, error.retry_after) == (429, True, 7.0)
    assert error.provider == "openai" and "Rate limit reached" in str(error)
    assert error.body is not None and "rate_limit_exceeded" in error.body
    assert len(fake_api.requests) == 1  # the SDK's own retries are off


async def test_retry_after_ms_is_read_as_milliseconds(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.error(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "1500"})
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert caught.value.retry_after == 1.5


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (409, True),
        (500, True),
        (503, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
    ],
)
async def test_status_codes_map_to_retryable_or_not(
    fake_api: FakeAPI, settings: Settings, collect, status: int, retryable: bool
):
    fake_api.error(status, {"error": {"message": f"status {status}", "type": "x"}})
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert (caught.value.status_code, caught.value.retryable) == (status, retryable)


async def test_bad_key_is_not_retryable_and_says_what_to_check(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.error(
        401,
        {
            "error": {
                "message": "Incorrect API key provided: sk-test.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    )
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert not caught.value.retryable
    assert str(caught.value) == (
        "openai (HTTP 401): Incorrect API key provided: sk-test.; check the API key"
    )


async def test_connection_dropped_mid_stream_is_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(
        sse(chunk("", role="assistant"), chunk("Hello"), done=False),
        cut_with=httpx2.RemoteProtocolError("peer closed connection without sending complete body"),
    )
    seen: list[str] = []
    with pytest.raises(ModelError) as caught:
        async for item in model(fake_api, settings).stream(REQUEST):
            seen.append(getattr(item, "text", ""))

    assert seen == ["Hello"]
    assert caught.value.retryable and caught.value.status_code is None


async def test_error_sent_inside_the_stream_is_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    failure = {
        "error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    fake_api.stream(sse(chunk("", role="assistant"), chunk("Hello"), failure, done=False))
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert caught.value.retryable
    assert "The server had an error" in str(caught.value)


async def test_body_ending_before_the_finish_is_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(sse(chunk("", role="assistant"), chunk("Hello"), done=False))
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert caught.value.retryable


async def test_unreachable_server_is_retryable(settings: Settings, collect):
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(refuse)) as client:
        adapter = openai_models.create("ollama", "llama3", settings, http_client=client)
        with pytest.raises(ModelError) as caught:
            await collect(adapter.stream(REQUEST))

    assert caught.value.retryable and caught.value.provider == "ollama"


async def test_retry_layer_waits_out_a_rate_limit_and_streams_once(
    fake_api: FakeAPI, settings: Settings, collect, fake_sleep, sleeps: list[float]
):
    fake_api.error(429, {"error": {"message": "Rate limit reached"}}, headers={"retry-after": "2"})
    fake_api.stream(reply("Hello", " world"))

    texts, done = await collect(
        stream_with_retry(model(fake_api, settings), REQUEST, sleep=fake_sleep)
    )

    assert "".join(texts) == "Hello world"
    assert sleeps == [2.0]
    assert done.tokens_out == 2


# A stream cut mid-turn, and servers that continue, repeat or start over: test_continuation.py
