from collections.abc import Iterator

import pytest

from arena.errors import ModelError
from arena.models.base import ChatMessage, Completion, GenerationRequest, TextDelta
from arena.models.retry import (
    RESTART_AFTER_ERROR,
    RESTART_NO_CONTINUATION,
    RESTART_STARTED_OVER,
    Restart,
    RetryItem,
    _Continuation,
    backoff_delay,
    stream_with_retry,
)
from tests.fakes import FunctionModel

REQUEST = GenerationRequest(system="s", messages=[ChatMessage("user", "go")])


def cut(*deltas: str) -> Iterator[str]:
    yield from deltas
    raise ModelError("stream cut", provider="test", retryable=True)


def scripted(*replies: object) -> FunctionModel:
    """A model whose n-th call streams the n-th reply (a list of deltas or a cut iterator)."""
    queue = list(replies)
    return FunctionModel("test:scripted", stream_fn=lambda request: queue.pop(0))  # type: ignore[arg-type,return-value]


async def no_sleep(delay: float) -> None:
    return None


async def run(model: FunctionModel, request: GenerationRequest = REQUEST) -> list[RetryItem]:
    items: list[RetryItem] = []
    async for item in stream_with_retry(model, request, max_attempts=4, sleep=no_sleep):
        items.append(item)
    assert isinstance(items[-1], Completion)
    return items


def reply(items: list[RetryItem]) -> str:
    """The text after the last Restart: what a listener keeps."""
    last = max((i for i, item in enumerate(items) if isinstance(item, Restart)), default=-1)
    return "".join(item.text for item in items[last + 1 :] if isinstance(item, TextDelta))


def test_a_repeated_prefix_is_dropped_even_across_deltas() -> None:
    check = _Continuation("Cats rule")
    assert check.feed("Cats ") == ""
    assert check.feed("rule the seas") == " the seas"
    assert check.feed(" forever") == " forever"
    assert not check.started_over


def test_a_continuation_passes_whole_even_when_it_starts_like_the_prefix() -> None:
    check = _Continuation("Cats rule the ")
    assert check.feed("C") == ""  # could still be a repeat
    assert check.feed("rew of the ship") == "Crew of the ship"
    assert not check.started_over
    check = _Continuation("Catsup is ")
    assert check.feed("Cats") == ""
    assert check.feed(" never") == "Cats never"  # "Catsup" is not the word "Cats"
    assert not check.started_over


def test_a_reply_that_begins_with_the_prefixs_first_word_then_departs_started_over() -> None:
    check = _Continuation("Arr, cats rule the ")
    assert check.feed("Arr, ") == ""
    assert check.feed("dogs drool") == "Arr, dogs drool"
    assert check.started_over


def test_retry_after_wins_and_is_capped() -> None:
    error = ModelError("slow down", provider="t", status_code=429, retryable=True, retry_after=7)
    assert backoff_delay(1, error, max_delay=30) == 7
    assert backoff_delay(1, error, max_delay=2) == 2
    plain = ModelError("boom", provider="t", status_code=503, retryable=True)
    assert 0 < backoff_delay(3, plain, max_delay=30) <= 2.0


async def test_a_model_that_cannot_continue_is_restarted_without_a_prefix() -> None:
    model = scripted(cut("Cats ", "rule "), ["Dogs ", "drool."])
    items = await run(model)
    assert items[2] == Restart(RESTART_AFTER_ERROR, attempt=2)
    assert reply(items) == "Dogs drool."
    assert model.requests[1].assistant_prefix == ""


async def test_a_model_that_continues_gets_the_whole_prefix_and_its_echo_is_dropped() -> None:
    model = scripted(cut("Cats ", "rule "), ["Arr, Cats rule ", "the seas."])
    model.continues_prefix = True
    resumed = GenerationRequest(system="s", messages=REQUEST.messages, assistant_prefix="Arr, ")
    items = await run(model, resumed)
    assert not any(isinstance(item, Restart) for item in items)
    # the echo filter starts from the caller's prefix plus what this call passed on
    assert model.requests[1].assistant_prefix == "Arr, Cats rule "
    assert reply(items) == "Cats rule the seas."


async def test_a_continuing_model_that_starts_over_restarts_the_reply() -> None:
    model = scripted(cut("Arr, ", "cats ", "rule "), ["Arr, ", "dogs ", "drool."])
    model.continues_prefix = True
    items = await run(model)
    assert Restart(RESTART_STARTED_OVER, attempt=2) in items
    assert reply(items) == "Arr, dogs drool."


async def test_a_stored_prefix_is_dropped_for_a_model_that_cannot_continue() -> None:
    model = scripted(["Fresh ", "reply."])
    resumed = GenerationRequest(system="s", messages=REQUEST.messages, assistant_prefix="Old ")
    items = await run(model, resumed)
    assert items[0] == Restart(RESTART_NO_CONTINUATION, attempt=1)
    assert model.requests[0].assistant_prefix == ""
    assert reply(items) == "Fresh reply."


async def test_a_cut_before_any_text_needs_no_restart() -> None:
    items = await run(scripted(cut(), ["Hello."]))
    assert not any(isinstance(item, Restart) for item in items) and reply(items) == "Hello."


async def test_a_stream_abandoned_by_its_reader_is_closed() -> None:
    closed: list[bool] = []

    def deltas(request: GenerationRequest) -> Iterator[str]:
        try:
            yield from ["a", "b", "c"]
        finally:
            closed.append(True)

    stream = stream_with_retry(FunctionModel(stream_fn=deltas), REQUEST)
    async for _ in stream:
        break
    await stream.aclose()
    assert closed == [True]


async def test_a_final_error_is_raised_without_a_restart() -> None:
    def broken(request: GenerationRequest) -> Iterator[str]:
        yield "half"
        raise ModelError("bad request", provider="test", retryable=False)

    items: list[RetryItem] = []
    with pytest.raises(ModelError, match="bad request"):
        async for item in stream_with_retry(FunctionModel(stream_fn=broken), REQUEST):
            items.append(item)
    assert items == [TextDelta("half")]
