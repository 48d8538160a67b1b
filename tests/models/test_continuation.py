"""Cut streams through the real SDKs (SSE served by an httpx transport): a turn is one reply,
whether the provider continues a prefix, repeats it, or starts over."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

import httpx2
import pytest

from arena.config import Settings
from arena.domain.events import Token, TurnCompleted, TurnRestarted
from arena.engine.match import run_match
from arena.models import openai as openai_models
from arena.models.base import GenerationRequest, TextDelta
from arena.models.local import LocalModel, chatml_prompt
from arena.models.retry import RESTART_AFTER_ERROR, RESTART_STARTED_OVER, Restart, stream_with_retry
from tests.engine.test_turn_restart import RecordingJudge, tokens_after_last_restart
from tests.engine_helpers import Recorder, lineup
from tests.models import test_anthropic as anth
from tests.models.test_openai import REQUEST, chunk, reply, sse

if TYPE_CHECKING:
    from .conftest import FakeAPI

CUT = httpx2.ReadError("connection reset by peer")


def openai_model(
    fake_api: FakeAPI, settings: Settings, *, continues_prefix: bool = False
) -> openai_models.OpenAIChatModel:
    return openai_models.create(
        "openai-compatible",
        "qwen",
        settings,
        http_client=fake_api.http_client,
        continues_prefix=continues_prefix,
    )


def cut_stream(fake_api: FakeAPI, *pieces: str) -> None:
    fake_api.stream(sse(chunk("", role="assistant"), *(chunk(p) for p in pieces), done=False),
                    cut_with=CUT)  # fmt: skip


async def no_sleep(delay: float) -> None:
    return None


async def drain(model: Any) -> tuple[str, list[Restart]]:
    """What a listener keeps of a retried stream (the text after the last Restart), and the
    restarts it saw."""
    text, restarts = "", []
    async for item in stream_with_retry(model, REQUEST, sleep=no_sleep):
        if isinstance(item, Restart):
            text = ""
            restarts.append(item)
        elif isinstance(item, TextDelta):
            text += item.text
    return text, restarts


async def test_a_compatible_server_is_asked_again_from_the_start(
    fake_api: FakeAPI, settings: Settings
):
    cut_stream(fake_api, "Hello", " wor")
    fake_api.stream(reply("Good", " evening."))  # a new reply, as OpenAI-style servers give

    text, restarts = await drain(openai_model(fake_api, settings))

    assert text == "Good evening."
    assert restarts == [Restart(RESTART_AFTER_ERROR, 2)]
    assert fake_api.bodies[1]["messages"][-1]["role"] == "user"  # no partial reply sent back
    assert "continue_final_message" not in fake_api.bodies[1]


@pytest.mark.parametrize(
    ("continuation", "expected", "restarted"),
    [
        (("ld", "!"), "Hello world!", False),
        (("Hello", " world", "!"), "Hello world!", False),
        (("Hello", " there,", " friend."), "Hello there, friend.", True),
    ],
    ids=["server continues the prefix", "server repeats the prefix", "server starts over"],
)
async def test_a_vllm_server_continues_the_final_message(
    fake_api: FakeAPI,
    settings: Settings,
    continuation: tuple[str, ...],
    expected: str,
    restarted: bool,
):
    cut_stream(fake_api, "Hello", " wor")
    fake_api.stream(reply(*continuation))

    text, restarts = await drain(openai_model(fake_api, settings, continues_prefix=True))

    assert text == expected
    assert restarts == ([Restart(RESTART_STARTED_OVER, 2)] if restarted else [])
    body = fake_api.bodies[1]
    assert body["messages"][-1] == {"role": "assistant", "content": "Hello wor"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


@pytest.mark.parametrize(
    ("continuation", "expected", "restarted"),
    [
        (("ld", "!"), "Hello world!", False),
        (("Hello", " world!"), "Hello world!", False),
        (("Hello", " there."), "Hello there.", True),
    ],
    ids=["continues", "repeats", "starts over"],
)
async def test_anthropic_prefill_is_checked(
    fake_api: FakeAPI,
    settings: Settings,
    continuation: tuple[str, ...],
    expected: str,
    restarted: bool,
):
    fake_api.stream(
        anth.message_start()
        + anth.text_block("Hel", "lo wor")
        + anth.event("error", anth.OVERLOADED)
    )
    fake_api.stream(anth.reply(*continuation))

    text, restarts = await drain(anth.model(fake_api, settings))

    assert text == expected
    assert bool(restarts) == restarted
    assert fake_api.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Hello wor"}


def test_the_local_model_continues_a_prefix_inside_the_assistant_turn() -> None:
    assert LocalModel.continues_prefix
    prompt = chatml_prompt(GenerationRequest(system="s", messages=[], assistant_prefix="Arr, "))
    assert prompt.endswith("<|im_start|>assistant\nArr, ")


def test_which_providers_continue_a_prefix(settings: Settings) -> None:
    assert not openai_models.create("openai", "gpt-4o-mini", settings).continues_prefix
    assert not openai_models.create("ollama", "llama3", settings).continues_prefix
    assert anth.anthropic_models.create("anthropic", "claude", settings).continues_prefix


async def test_a_match_against_a_server_that_starts_over_stores_one_reply_per_turn(
    fake_api: FakeAPI, settings: Settings
):
    """Six turns, each cut after two pieces; the server answers the retry with a new reply."""
    for turn in range(6):
        cut_stream(fake_api, f"Turn {turn}", " draft")
        fake_api.stream(reply(f"Turn {turn}", " final", " words."))
    adapter = openai_model(fake_api, settings)
    sink = Recorder()

    metrics = await run_match(lineup(adapter, adapter, rounds=1), sink)  # type: ignore[arg-type]

    assert metrics is not None
    completed = [e for e in sink.events if isinstance(e, TurnCompleted)]
    assert [e.text for e in completed] == [f"Turn {t} final words." for t in range(6)]
    for done in completed:
        after = [e for e in sink.events if isinstance(e, TurnRestarted) and e.turn == done.turn]
        assert len(after) == 1
        start = sink.events.index(after[0])
        tokens = [
            e.text for e in sink.events[start:] if isinstance(e, Token) and e.turn == done.turn
        ]
        assert "".join(tokens) == done.text


class LoopbackServer:
    """A chat completions server on a loopback port that streams SSE with chunked encoding.
    Each request takes the next scripted reply; a reply marked `cut` stops mid-body and drops
    the connection, as a proxy or a crashed backend does."""

    def __init__(self, script: list[tuple[str, tuple[str, ...]]]) -> None:
        self.script = list(script)
        self.bodies: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                self.bodies.append(json.loads(await reader.readexactly(length)))
                kind, pieces = self.script.pop(0)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                chunks = [chunk("", role="assistant"), *(chunk(p) for p in pieces)]
                body = sse(*chunks, done=False) if kind == "cut" else reply(*pieces)
                for line in body.split("\n\n")[:-1]:
                    data = (line + "\n\n").encode()
                    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    await writer.drain()
                if kind == "cut":
                    writer.transport.abort()
                    return
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.mark.slow
async def test_a_match_over_real_connections_cut_mid_stream_stores_one_reply_per_turn() -> None:
    script: list[tuple[str, tuple[str, ...]]] = []
    for turn in range(6):
        script.append(("cut", (f"Turn {turn}", " first", " draft")))
        script.append(("reply", (f"Turn {turn}", " second", " try.")))
    server = LoopbackServer(script)
    url = await server.start()
    settings = Settings(_env_file=None, compatible_base_url=url, request_timeout=5.0)
    adapter = openai_models.create("openai-compatible", "qwen", settings)
    judge = RecordingJudge()
    sink = Recorder()
    try:
        metrics = await run_match(lineup(adapter, adapter, [judge], rounds=1), sink)  # type: ignore[arg-type]
    finally:
        await adapter.aclose()
        await server.stop()

    assert metrics is not None and not server.script
    completed = [e for e in sink.events if isinstance(e, TurnCompleted)]
    assert [e.text for e in completed] == [f"Turn {t} second try." for t in range(6)]
    assert sorted(judge.judged) == sorted(e.text for e in completed)
    assert len([e for e in sink.events if isinstance(e, TurnRestarted)]) == 6
    for done in completed:
        assert tokens_after_last_restart(sink.events, done.turn) == done.text
    # the retry asks afresh: no partial reply is sent back as an assistant message
    assert all(body["messages"][-1]["role"] == "user" for body in server.bodies)
