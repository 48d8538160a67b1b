"""The openai-compatible adapter against a real server: llama-cpp-python's, on the bundled GGUF."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from arena.config import Settings
from arena.models import openai as openai_models
from arena.models.base import ChatMessage, Completion, GenerationRequest, TextDelta
from arena.models.local import gguf_path
from tests.polling import wait_until

pytestmark = pytest.mark.embedded

STARTUP_TIMEOUT_S = 180.0
REQUEST = GenerationRequest(
    system="You are a debater who defends tea. Answer in one short sentence.",
    messages=[ChatMessage("user", "Is tea better than coffee?")],
    max_tokens=48,
    temperature=0.2,
    seed=1,
)
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["pro", "con"]},
        "confidence": {"type": "integer"},
    },
    "required": ["winner", "confidence"],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def serving() -> bool:  # nothing to await: the server says nothing when it is ready
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()}")
        return httpx.get(f"{url}/models", timeout=2.0).status_code == 200

    wait_until(serving, timeout=STARTUP_TIMEOUT_S, interval=0.2, ignore=(httpx.TransportError,),
               message=lambda: f"llama_cpp.server did not answer:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(gguf_path()),
                "--host", "127.0.0.1",
                "--port", str(port),
                "--n_ctx", "2048",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def adapter(server_url: str) -> AsyncIterator[openai_models.OpenAIChatModel]:
    settings = Settings(_env_file=None, compatible_base_url=server_url, request_timeout=60.0)
    model = openai_models.create("openai-compatible", "smollm2", settings)
    yield model
    await model.aclose()


async def test_streams_a_reply(adapter: openai_models.OpenAIChatModel):
    texts: list[str] = []
    completions: list[Completion] = []
    async for item in adapter.stream(REQUEST):
        if isinstance(item, TextDelta):
            texts.append(item.text)
        else:
            completions.append(item)

    assert "".join(texts).strip()
    [done] = completions
    assert done.tokens_out > 0
    assert done.ttft_s is not None and done.ttft_s <= done.duration_s
    assert done.finish_reason in ("stop", "length")


async def test_structured_output_has_the_required_keys(adapter: openai_models.OpenAIChatModel):
    request = GenerationRequest(
        system="You judge debates. Reply in JSON.",
        messages=[ChatMessage("user", "Pro said tea calms. Con said coffee wakes. Who won?")],
        max_tokens=60,
        seed=1,
    )
    result = await adapter.structured(request, VERDICT_SCHEMA, "verdict")

    assert result.data["winner"] in ("pro", "con")
    assert isinstance(result.data["confidence"], int)
    assert result.tokens_out > 0
