"""A fake HTTP endpoint for the provider SDKs, and settings that never come from the environment."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from arena.config import Settings
from arena.models.base import Completion, StreamItem, TextDelta

Responder = Callable[[httpx2.Request], httpx2.Response]


class FakeAPI:
    """Answers the SDK's requests with queued responses, in order, and records every request.

    Plug it into an SDK through `http_client`; a request with nothing queued fails the test.
    """

    def __init__(self) -> None:
        self.queue: list[Responder] = []
        self.requests: list[httpx2.Request] = []
        self.http_client = httpx2.AsyncClient(transport=httpx2.MockTransport(self._handle))

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        assert self.queue, f"unexpected request {request.method} {request.url}"
        return self.queue.pop(0)(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def stream(self, body: str, *, cut_with: Exception | None = None) -> None:
        """A 200 event stream sending `body` line by line; `cut_with` is raised after the last
        line, as the transport does when the connection drops mid-body."""

        async def chunks() -> AsyncIterator[bytes]:
            for line in body.splitlines(keepends=True):
                yield line.encode()
            if cut_with is not None:
                raise cut_with

        self.queue.append(
            lambda request: httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=chunks()
            )
        )

    def error(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.queue.append(lambda request: httpx2.Response(status, json=body, headers=headers))


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeAPI]:
    api = FakeAPI()
    yield api
    await api.http_client.aclose()
    assert not api.queue, "a queued response was never requested"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        OPENAI_API_KEY="sk-test-openai",
        ANTHROPIC_API_KEY="sk-ant-test",
        openai_base_url=None,
        anthropic_base_url=None,
        ollama_base_url="http://ollama.test:11434/v1",
        compatible_base_url="http://llm.test/v1",
        compatible_api_key=None,
        request_timeout=5.0,
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fake_sleep(sleeps: list[float]) -> Callable[[float], Any]:
    """A stand-in for asyncio.sleep that records the delays the retry layer asked for."""

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    return sleep


async def drain(stream: AsyncIterator[StreamItem]) -> tuple[list[str], Completion]:
    """The text deltas of a stream and its closing Completion (checked to be exactly one, last)."""
    texts: list[str] = []
    completions: list[Completion] = []
    async for item in stream:
        assert not completions, "an item came after the Completion"
        if isinstance(item, TextDelta):
            texts.append(item.text)
        else:
            completions.append(item)
    assert len(completions) == 1
    return texts, completions[0]


@pytest.fixture
def collect() -> Callable[[AsyncIterator[StreamItem]], Any]:
    return drain
