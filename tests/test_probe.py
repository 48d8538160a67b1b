"""The stance probe's fixed scoring function and its request."""

from __future__ import annotations

from typing import Any

import pytest

from arena.errors import ModelError
from arena.models.base import ChatMessage, GenerationRequest
from arena.probe import QUESTION, probe_request, run_probe, score_answer, stance_of
from tests.fakes import FunctionModel, words


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes", True),
        ("yes.", True),
        ("No.", False),
        ("NO, I do not.", False),
        ("Aye, matey!", True),
        ("I would say yes", True),
        ("Well, no - not at all", False),
        ("Nope", False),
        ("Nobody knows", None),  # 'no' must be a whole word
        ("Yesterday I thought so", None),
        ("It depends on the evidence, yes", None),  # past the first four words
        ("", None),
        ("No... actually yes", False),  # the first yes- or no-word decides
        ("I'm not supporting the motion. I", False),  # stated (non-)support, first sentence
        ("I do not support it", False),
        ("I don\u2019t agree with it", False),
        ("I'm on the motion. I support", None),  # only the first sentence counts
        ("Honestly, I strongly support this motion.", True),
        ("I agree.", True),
        ("I'm not sure I support the motion", None),  # a hedge is not an answer
        ("Maybe I agree", None),
        ("The motion is about work. I do not support it", None),
    ],
)
def test_score_answer(answer: str, expected: bool | None) -> None:
    assert score_answer(answer) is expected


def test_stance_of_an_answer() -> None:
    assert (stance_of(True), stance_of(False), stance_of(None)) == ("pro", "con", None)


def test_the_probe_asks_after_the_conversation_in_the_persona_context() -> None:
    history = [
        ChatMessage("user", "What is your position?"),
        ChatMessage("assistant", "I am for it."),
    ]
    request = probe_request("You are a stoic.", history, "Cats beat dogs.")
    assert request.system == "You are a stoic." and request.temperature == 0.0
    assert request.messages[:2] == history
    last = request.messages[-1]
    assert last.role == "user" and last.content == f'The motion: "Cats beat dogs."\n{QUESTION}'
    merged = probe_request("s", [ChatMessage("user", "Are you sure?")], "m")
    assert len(merged.messages) == 1 and merged.messages[0].content.startswith("Are you sure?\n\n")


async def test_a_readable_answer_needs_no_forced_choice() -> None:
    model = FunctionModel(stream_fn=lambda r: words("Aye, that I do."))
    request = probe_request("s", [], "m")
    assert await run_probe(model, request, max_attempts=1, max_delay=0) == (
        "Aye, that I do.", True, "text", None,
    )  # fmt: skip
    assert len(model.requests) == 1


async def test_an_unreadable_answer_is_asked_again_as_a_forced_choice() -> None:
    def choose(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
        assert schema["properties"]["answer"]["enum"] == ["yes", "no"]
        assert request.max_tokens >= 24  # room for the whole JSON object
        return {"answer": "no"}

    model = FunctionModel(stream_fn=lambda r: words('The motion "m" is'), structured_fn=choose)
    request = probe_request("s", [], "m")
    assert await run_probe(model, request, max_attempts=1, max_delay=0) == (
        "no",
        False,
        "choice",
        None,
    )
    # a model that cannot give the choice either: the unread text stays, scored as neither
    bad = FunctionModel(
        stream_fn=lambda r: words("Hmm."), structured_fn=lambda r, s: {"answer": "maybe"}
    )
    assert await run_probe(bad, request, max_attempts=1, max_delay=0) == (
        "Hmm.",
        None,
        "text",
        None,
    )


async def test_a_failing_model_is_an_error_not_an_answer() -> None:
    def fail(request: GenerationRequest) -> list[str]:
        raise ModelError("down", provider="test", retryable=False)

    answer, supports, method, error = await run_probe(
        FunctionModel(stream_fn=fail), probe_request("s", [], "m"), max_attempts=1, max_delay=0
    )
    assert (
        (answer, supports, method) == ("", None, "text") and error is not None and "down" in error
    )
