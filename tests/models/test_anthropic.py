"""The Anthropic adapter against recorded-shape Messages API event streams, through the real SDK."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from arena.config import Settings
from arena.errors import ModelError, StructuredOutputError
from arena.models import anthropic as anthropic_models
from arena.models.base import ChatMessage, ChatModel, GenerationRequest, TextDelta
from arena.models.retry import stream_with_retry

if TYPE_CHECKING:
    from .conftest import FakeAPI

MODEL = "claude-test-1"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"winner": {"type": "string"}, "score": {"type": "integer"}},
    "required": ["winner", "score"],
}
REQUEST = GenerationRequest(
    system="You are a stoic philosopher.",
    messages=[ChatMessage("user", "Is courage a virtue?")],
    max_tokens=64,
    temperature=0.5,
    seed=3,
)
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def message_start(input_tokens: int = 25) -> str:
    return event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": MODEL,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        },
    )


def text_block(*pieces: str, index: int = 0) -> str:
    return (
        event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
        + event("ping", {"type": "ping"})
        + "".join(
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": p},
                },
            )
            for p in pieces
        )
        + event("content_block_stop", {"type": "content_block_stop", "index": index})
    )


def message_end(output_tokens: int, stop_reason: str = "end_turn") -> str:
    return event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    ) + event("message_stop", {"type": "message_stop"})


def reply(*pieces: str, input_tokens: int = 25, output_tokens: int = 15) -> str:
    return message_start(input_tokens) + text_block(*pieces) + message_end(output_tokens)


def model(fake_api: FakeAPI, settings: Settings) -> anthropic_models.AnthropicChatModel:
    return anthropic_models.create("anthropic", MODEL, settings, http_client=fake_api.http_client)


async def test_streams_text_then_usage_and_timing(fake_api: FakeAPI, settings: Settings, collect):
    fake_api.stream(reply("Courage", " is a", " virtue.", input_tokens=25, output_tokens=15))
    adapter = model(fake_api, settings)

    texts, done = await collect(adapter.stream(REQUEST))

    assert isinstance(adapter, ChatModel)
    assert adapter.name == f"anthropic:{MODEL}"
    assert texts == ["Courage", " is a", " virtue."]
    assert (done.tokens_in, done.tokens_out, done.finish_reason) == (25, 15, "stop")
    assert done.ttft_s is not None and 0 <= done.ttft_s <= done.duration_s


async def test_request_carries_system_messages_and_key(
    fake_api: FakeAPI, settings: Settings, collect, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://elsewhere.test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    fake_api.stream(reply("Yes."))
    await collect(model(fake_api, settings).stream(REQUEST))

    sent = fake_api.requests[0]
    assert str(sent.url) == "https://api.anthropic.com/v1/messages"
    assert sent.headers["authorization"] == "Bearer sk-ant-test"
    body = fake_api.bodies[0]
    assert body["system"] == REQUEST.system
    assert body["messages"] == [{"role": "user", "content": "Is courage a virtue?"}]
    assert (body["model"], body["max_tokens"], body["stream"]) == (MODEL, 64, True)
    assert "tools" not in body


async def test_cached_prompt_tokens_count_as_input(fake_api: FakeAPI, settings: Settings, collect):
    start = json.loads(message_start().split("data: ", 1)[1])
    start["message"]["usage"].update(cache_creation_input_tokens=100, cache_read_input_tokens=50)
    fake_api.stream(event("message_start", start) + text_block("Hi") + message_end(3))
    _, done = await collect(model(fake_api, settings).stream(REQUEST))

    assert done.tokens_in == 175


async def test_resumed_reply_is_prefilled_without_trailing_space(
    fake_api: FakeAPI, settings: Settings, collect
):
    # The API refuses a prefill ending in whitespace; the continuation brings the space back.
    fake_api.stream(reply(" world", "!"))
    texts, _ = await collect(
        model(fake_api, settings).stream(replace(REQUEST, assistant_prefix="Hello "))
    )

    assert fake_api.bodies[0]["messages"][-1] == {"role": "assistant", "content": "Hello"}
    assert "Hello " + "".join(texts) == "Hello world!"


async def test_cut_at_max_tokens_reports_length(fake_api: FakeAPI, settings: Settings, collect):
    fake_api.stream(message_start() + text_block("Courage is") + message_end(64, "max_tokens"))
    _, done = await collect(model(fake_api, settings).stream(REQUEST))

    assert done.finish_reason == "length"


def tool_reply(*partial_json: str) -> str:
    return (
        message_start(input_tokens=400)
        + event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                    "name": "verdict",
                    "input": {},
                },
            },
        )
        + "".join(
            event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
            for piece in ("", *partial_json)
        )
        + event("content_block_stop", {"type": "content_block_stop", "index": 0})
        + message_end(30, "tool_use")
    )


async def test_structured_output_is_a_forced_tool_call(fake_api: FakeAPI, settings: Settings):
    fake_api.stream(tool_reply('{"winner": "p', 'ro", "sc', 'ore": 7}'))
    result = await model(fake_api, settings).structured(REQUEST, SCHEMA, "verdict")

    assert result.data == {"winner": "pro", "score": 7}
    assert (result.tokens_in, result.tokens_out) == (400, 30)
    body = fake_api.bodies[0]
    assert body["tools"] == [
        {
            "name": "verdict",
            "description": "Record your answer as a verdict object.",
            "input_schema": SCHEMA,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "verdict"}


async def test_structured_output_cut_short_is_an_error(fake_api: FakeAPI, settings: Settings):
    body = tool_reply('{"winner": "p').replace('"tool_use"}', '"max_tokens"}')
    fake_api.stream(body)
    with pytest.raises(StructuredOutputError) as caught:
        await model(fake_api, settings).structured(REQUEST, SCHEMA, "verdict")

    assert caught.value.raw == '{"winner": "p'


async def test_overloaded_error_event_mid_stream_is_retryable(
    fake_api: FakeAPI, settings: Settings
):
    fake_api.stream(message_start() + text_block("Hello", " wor") + event("error", OVERLOADED))
    seen: list[str] = []
    with pytest.raises(ModelError) as caught:
        async for item in model(fake_api, settings).stream(REQUEST):
            assert isinstance(item, TextDelta)
            seen.append(item.text)

    assert seen == ["Hello", " wor"]
    error = caught.value
    assert error.retryable and error.provider == "anthropic"
    assert "overloaded_error" in str(error) and error.body is not None


async def test_invalid_request_error_event_mid_stream_is_not_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    bad = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    fake_api.stream(message_start() + event("error", bad))
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert not caught.value.retryable


async def test_rate_limit_is_retryable_after_the_servers_delay(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.error(
        429,
        {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "Number of requests has exceeded your rate limit",
            },
        },
        headers={"retry-after": "12", "request-id": "req_011"},
    )
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    error = caught.value
    assert (error.status_code, error.retryable, error.retry_after) == (429, True, 12.0)
    assert "exceeded your rate limit" in str(error)
    assert len(fake_api.requests) == 1  # the SDK's own retries are off


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (408, "timeout_error", True),
        (409, "api_error", True),
        (500, "api_error", True),
        (529, "overloaded_error", True),
        (400, "invalid_request_error", False),
        (401, "authentication_error", False),
        (403, "permission_error", False),
        (404, "not_found_error", False),
        (422, "invalid_request_error", False),
    ],
)
async def test_status_codes_map_to_retryable_or_not(
    fake_api: FakeAPI, settings: Settings, collect, status: int, kind: str, retryable: bool
):
    fake_api.error(status, {"type": "error", "error": {"type": kind, "message": kind}})
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert (caught.value.status_code, caught.value.retryable) == (status, retryable)


async def test_bad_key_is_not_retryable_and_says_what_to_check(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.error(
        401,
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
    )
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert not caught.value.retryable
    assert str(caught.value) == "anthropic (HTTP 401): invalid x-api-key; check the API key"


async def test_connection_dropped_mid_stream_is_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(
        message_start()
        + event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        cut_with=httpx2.RemoteProtocolError("peer closed connection without sending complete body"),
    )
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert caught.value.retryable and caught.value.status_code is None


async def test_body_ending_before_message_stop_is_retryable(
    fake_api: FakeAPI, settings: Settings, collect
):
    fake_api.stream(message_start() + text_block("Hello"))
    with pytest.raises(ModelError) as caught:
        await collect(model(fake_api, settings).stream(REQUEST))

    assert caught.value.retryable


async def test_retry_layer_waits_out_a_rate_limit_and_streams_once(
    fake_api: FakeAPI, settings: Settings, collect, fake_sleep, sleeps: list[float]
):
    fake_api.error(
        429,
        {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
        headers={"retry-after": "3"},
    )
    fake_api.stream(reply("Hello", " world"))

    texts, _ = await collect(
        stream_with_retry(model(fake_api, settings), REQUEST, sleep=fake_sleep)
    )

    assert "".join(texts) == "Hello world"
    assert sleeps == [3.0]


async def test_retry_layer_resumes_after_overload_without_repeating_text(
    fake_api: FakeAPI, settings: Settings, collect, fake_sleep
):
    fake_api.stream(
        message_start(input_tokens=25) + text_block("Hel", "lo wor") + event("error", OVERLOADED)
    )
    fake_api.stream(reply("ld", "!", input_tokens=30, output_tokens=2))

    texts, done = await collect(
        stream_with_retry(model(fake_api, settings), REQUEST, sleep=fake_sleep)
    )

    assert texts == ["Hel", "lo wor", "ld", "!"]
    assert fake_api.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Hello wor"}
    assert done.tokens_in == 30 and done.finish_reason == "stop"
