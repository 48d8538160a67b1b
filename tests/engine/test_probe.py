"""The stance probe's fixed scoring function, its request, and p(yes) from token
log-probabilities (over the OpenAI adapter's wire, with a recorded-shape stream) and from the
first token's logits (the embedded model's scoring on hand-made arrays; the real model is in
test_probe_local.py)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from arena.config import Settings
from arena.engine.probe import (
    ANSWER_STARTS,
    QUESTION,
    TOP_LOGPROBS,
    p_yes_of,
    probe_request,
    run_probe,
    score_answer,
    stance_of,
)
from arena.errors import ModelError
from arena.models import openai as openai_models
from arena.models.base import (
    ChatMessage,
    Completion,
    GenerationRequest,
    ScoresFirstToken,
    StreamItem,
    StructuredResult,
    TextDelta,
)
from arena.models.local import first_token_logprobs
from tests.fakes import FunctionModel, words
from tests.models.conftest import FakeAPI


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
        "Aye, that I do.", True, "text", None, None,
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
        None,
    )


async def test_a_failing_model_is_an_error_not_an_answer() -> None:
    def fail(request: GenerationRequest) -> list[str]:
        raise ModelError("down", provider="test", retryable=False)

    answer, supports, method, error, _ = await run_probe(
        FunctionModel(stream_fn=fail), probe_request("s", [], "m"), max_attempts=1, max_delay=0
    )
    assert (
        (answer, supports, method) == ("", None, "text") and error is not None and "down" in error
    )


def test_p_yes_reads_the_first_yes_or_no_token() -> None:
    assert p_yes_of(None) is None and p_yes_of(()) is None
    first = {"Yes": math.log(0.6), "No": math.log(0.2), "yes": math.log(0.1), "I": math.log(0.1)}
    assert p_yes_of(({"\n": 0.0}, first)) == round(0.7 / 0.9, 4)  # whitespace first: skipped
    assert p_yes_of(({" no": math.log(0.9), " Yeah": math.log(0.05)},)) == round(0.05 / 0.95, 4)
    assert p_yes_of(({"The": 0.0}, {"motion": 0.0})) is None  # neither yes nor no
    late = ({"a": 0.0}, {"b": 0.0}, {"c": 0.0}, {"d": 0.0}, {"yes": 0.0})
    assert p_yes_of(late) is None  # past the first four tokens, like the text function


def test_the_probe_asks_for_log_probabilities() -> None:
    assert probe_request("s", [], "m").top_logprobs == TOP_LOGPROBS > 0


class LogprobModel:
    """Streams `text` and ends with the given per-token alternatives."""

    name = "test:logprobs"
    continues_prefix = False

    def __init__(self, text: str, alternatives: tuple[dict[str, float], ...] | None) -> None:
        self.text, self.alternatives = text, alternatives
        self.requests: list[GenerationRequest] = []

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        yield TextDelta(self.text)
        yield Completion(1, 1, 0.0, 0.0, "stop", top_logprobs=self.alternatives)

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        raise AssertionError("no forced choice when p(yes) reads the answer")


async def test_p_yes_is_recorded_and_decides_only_an_unread_answer() -> None:
    request = probe_request("s", [], "m")
    read = LogprobModel("No.", ({"No": math.log(0.8), "Yes": math.log(0.2)},))
    assert await run_probe(read, request, max_attempts=1, max_delay=0) == (  # type: ignore[arg-type]
        "No.", False, "text", None, 0.2,
    )  # fmt: skip
    # the text function cannot read "Well..." but the first token's alternatives can
    unread = LogprobModel("Well...", ({"Well": math.log(0.5), "yes": math.log(0.4),
                                       "no": math.log(0.1)},))  # fmt: skip
    result = await run_probe(unread, request, max_attempts=1, max_delay=0)  # type: ignore[arg-type]
    assert (result.supports, result.method, result.p_yes) == (True, "p_yes", 0.8)


async def test_openai_logprobs_reach_the_probe_over_the_wire() -> None:
    """A recorded-shape OpenAI stream with `logprobs.content[].top_logprobs` on its chunks."""
    fake = FakeAPI()
    settings = Settings(_env_file=None, OPENAI_API_KEY="sk-test-openai", openai_base_url=None)
    adapter = openai_models.create("openai", "gpt-4o-mini", settings, http_client=fake.http_client)

    def chunk(content: str | None, top: list[tuple[str, float]] | None, finish: str | None = None):
        logprobs = None
        if top is not None:
            token = {"token": content, "logprob": top[0][1], "bytes": list(content.encode()),
                     "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                                      for t, lp in top]}  # fmt: skip
            logprobs = {"content": [token], "refusal": None}
        delta = {} if content is None else {"content": content}
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1731000000,
                "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
                "choices": [{"index": 0, "delta": delta, "logprobs": logprobs,
                             "finish_reason": finish}], "usage": None}  # fmt: skip

    chunks = [
        chunk("Yes", [("Yes", -0.105), ("No", -2.303), ("yes", -4.605)]),
        chunk(".", [(".", -0.01), (",", -4.7)]),
        chunk(None, None, "stop"),
    ]
    fake.stream("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n")
    try:
        result = await run_probe(adapter, probe_request("s", [], "m"), max_attempts=1, max_delay=0)
    finally:
        await fake.http_client.aclose()
    body = json.loads(fake.requests[0].content)
    assert body["logprobs"] is True and body["top_logprobs"] == TOP_LOGPROBS
    p_yes = (math.exp(-0.105) + math.exp(-4.605)) / (
        math.exp(-0.105) + math.exp(-4.605) + math.exp(-2.303)
    )
    assert result == ("Yes.", True, "text", None, round(p_yes, 4))


async def test_requests_without_top_logprobs_do_not_ask_for_them() -> None:
    fake = FakeAPI()
    settings = Settings(_env_file=None, OPENAI_API_KEY="sk-test-openai", openai_base_url=None)
    adapter = openai_models.create("openai", "gpt-4o-mini", settings, http_client=fake.http_client)
    done = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Yes"}, "logprobs": None,
                         "finish_reason": "stop"}], "usage": None}  # fmt: skip
    fake.stream(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n")
    request = replace(probe_request("s", [], "m"), top_logprobs=0)
    try:
        result = await run_probe(adapter, request, max_attempts=1, max_delay=0)
    finally:
        await fake.http_client.aclose()
    body = json.loads(fake.requests[0].content)
    assert "logprobs" not in body and "top_logprobs" not in body
    assert result == ("Yes", True, "text", None, None)  # the fixed function alone


async def test_other_openai_compatible_servers_are_not_asked_for_logprobs() -> None:
    fake = FakeAPI()
    settings = Settings(_env_file=None, compatible_base_url="http://llm.test/v1")
    adapter = openai_models.create(
        "openai-compatible", "fast", settings, http_client=fake.http_client
    )
    done = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "No"}, "logprobs": None,
                         "finish_reason": "stop"}], "usage": None}  # fmt: skip
    fake.stream(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n")
    try:
        result = await run_probe(adapter, probe_request("s", [], "m"), max_attempts=1, max_delay=0)
    finally:
        await fake.http_client.aclose()
    assert "logprobs" not in json.loads(fake.requests[0].content)
    assert result == ("No", False, "text", None, None)


def test_answer_starts_cover_each_word_as_a_reply_may_begin_it() -> None:
    for start in ("yes", "Yes", "YES", " yes", " Yes", "no", "No", " NO", "Nope", " aye"):
        assert start in ANSWER_STARTS
    assert "Nobody" not in ANSWER_STARTS and len(ANSWER_STARTS) == len(set(ANSWER_STARTS))


def test_first_token_logprobs_normalise_over_the_whole_vocabulary() -> None:
    """Hand-made logits over an eight-token vocabulary: the yes- and no-tokens' probabilities
    are their softmax over all eight, p(yes) compares only yes- with no-tokens, and a piece that
    is not a whole yes- or no-word ("Y", however likely) is not counted."""
    logits = np.array([2.0, 1.0, 0.5, -1.0, 5.0, 3.0, 0.0, 0.0], dtype=np.float32)
    pieces = {0: "Yes", 1: " yes", 2: "No", 3: " no", 4: "Y"}
    e = np.exp(logits.astype(np.float64))
    got = first_token_logprobs(logits, pieces)
    assert set(got) == {"Yes", " yes", "No", " no", "Y"}
    for token, piece in pieces.items():
        assert math.exp(got[piece]) == pytest.approx(e[token] / e.sum())
    assert p_yes_of((got,)) == round((e[0] + e[1]) / (e[0] + e[1] + e[2] + e[3]), 4)
    # softmax does not move when every logit does, and large logits do not overflow
    assert p_yes_of((first_token_logprobs(logits + 1000, pieces),)) == p_yes_of((got,))


def test_first_token_logprobs_add_up_tokens_with_the_same_text() -> None:
    logits = np.log(np.array([0.1, 0.3, 0.2, 0.4]))
    got = first_token_logprobs(logits, {0: "yes", 1: "yes", 2: "no"})
    assert math.exp(got["yes"]) == pytest.approx(0.4) and math.exp(got["no"]) == pytest.approx(0.2)
    assert p_yes_of((got,)) == round(0.4 / 0.6, 4)


def test_p_yes_of_logits_without_a_yes_or_no_token_is_none() -> None:
    logits = np.array([0.0, 1.0, -20_000.0, -20_000.0])
    assert p_yes_of((first_token_logprobs(logits, {0: "Y", 1: "The"}),)) is None
    # both so unlikely that their probabilities underflow: no ratio to take
    assert p_yes_of((first_token_logprobs(logits, {2: "Yes", 3: "No"}),)) is None


class FirstTokenModel(FunctionModel):
    """A FunctionModel that also scores its reply's first token (ScoresFirstToken)."""

    def __init__(self, text: str, logprobs: dict[str, float] | Exception) -> None:
        super().__init__("test:first-token", stream_fn=lambda r: words(text))
        self.logprobs = logprobs
        self.scored: list[tuple[GenerationRequest, tuple[str, ...]]] = []

    async def first_token_logprobs(
        self, request: GenerationRequest, starts: Sequence[str]
    ) -> dict[str, float]:
        self.scored.append((request, tuple(starts)))
        if isinstance(self.logprobs, Exception):
            raise self.logprobs
        return self.logprobs


async def test_a_model_that_scores_its_first_token_gives_p_yes_after_the_text() -> None:
    request = probe_request("s", [], "m")
    read = FirstTokenModel("No.", {"Yes": math.log(0.1), "No": math.log(0.3), "I": math.log(0.5)})
    assert isinstance(read, ScoresFirstToken)
    assert await run_probe(read, request, max_attempts=1, max_delay=0) == (
        "No.", False, "text", None, 0.25,
    )  # fmt: skip
    assert read.scored == [(request, ANSWER_STARTS)]  # the same request as the text answer
    # an answer the fixed function cannot read is decided by it, before any forced choice
    unread = FirstTokenModel("Well...", {" yes": math.log(0.2), " no": math.log(0.05)})
    result = await run_probe(unread, request, max_attempts=1, max_delay=0)
    assert (result.supports, result.method, result.p_yes) == (True, "p_yes", 0.8)
    # a model that cannot score it: no p(yes), the fixed function alone
    failing = FirstTokenModel("Yes", ModelError("gone", provider="test", retryable=False))
    assert await run_probe(failing, request, max_attempts=1, max_delay=0) == (
        "Yes", True, "text", None, None,
    )  # fmt: skip


async def test_log_probabilities_from_the_reply_are_not_asked_for_twice() -> None:
    class Both(LogprobModel):
        async def first_token_logprobs(
            self, request: GenerationRequest, starts: Sequence[str]
        ) -> dict[str, float]:
            raise AssertionError("the reply's own log-probabilities gave p(yes) already")

    model = Both("Yes.", ({"Yes": math.log(0.9), "No": math.log(0.1)},))
    result = await run_probe(model, probe_request("s", [], "m"), max_attempts=1, max_delay=0)  # type: ignore[arg-type]
    assert result.p_yes == 0.9
