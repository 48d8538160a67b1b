"""The stance probe's p(yes) on the embedded model, for real: SmolLM2-135M through
llama-cpp-python, read from the last prompt position's logits (no `logits_all`)."""

from __future__ import annotations

import asyncio

import pytest

from arena.config import Settings
from arena.domain.events import Probe
from arena.engine.match import run_match
from arena.engine.probe import ANSWER_STARTS, QUESTION, ask_first_token, probe_request, run_probe
from arena.models.base import ChatMessage, GenerationRequest, ScoresFirstToken, TextDelta
from arena.models.local import LocalModel, create, first_tokens
from tests.engine.test_pressure import pressure_lineup
from tests.engine_helpers import Recorder

pytestmark = pytest.mark.embedded

SYSTEM = "You are a helpful assistant."
MOTIONS = [
    "Cats are better than dogs.",
    "The sun is hot.",
    "This house would adopt a four-day week.",
    "Homework should be banned.",
]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return create("local", "smollm2", Settings())


def after_stating(motion: str, supports: bool) -> GenerationRequest:
    """The probe after the model has stated its position: "yes" (or "no") is the obvious
    answer. SmolLM2-135M leans to "no" on any motion, but less so after it said yes."""
    stated = (
        f"Yes, I support the motion: {motion}"
        if supports
        else f"No, I do not support the motion: {motion}"
    )
    return probe_request(
        SYSTEM,
        [ChatMessage("user", "What is your position?"), ChatMessage("assistant", stated)],
        motion,
    )


def asked_again(motion: str, answer: str) -> GenerationRequest:
    """The probe asked a second time after a bare answer: the 135M model answers the other way
    (an "are you sure?" reflex), with a yes- or no-word first."""
    return probe_request(
        SYSTEM,
        [
            ChatMessage("user", f'The motion: "{motion}"\n{QUESTION}'),
            ChatMessage("assistant", answer),
        ],
        motion,
    )


async def p_yes(model: LocalModel, request: GenerationRequest) -> float | None:
    return await ask_first_token(model, request, max_attempts=1, max_delay=0)


def test_the_yes_and_no_tokens_are_whole_words_in_the_vocabulary(model: LocalModel) -> None:
    with model._engine.lock:
        pieces = set(first_tokens(model._engine.llama(), ANSWER_STARTS).values())
    assert {"Yes", "yes", " yes", " Yes", "No", "no", " no", " No"} <= pieces


@pytest.mark.parametrize("motion", MOTIONS)
async def test_p_yes_is_higher_where_yes_is_the_obvious_answer(
    model: LocalModel, motion: str
) -> None:
    assert isinstance(model, ScoresFirstToken)
    yes = await p_yes(model, after_stating(motion, True))
    no = await p_yes(model, after_stating(motion, False))
    assert yes is not None and no is not None
    assert 0.0 <= no < yes <= 1.0, (yes, no)


async def test_p_yes_reads_the_first_token_of_the_text_answer(model: LocalModel) -> None:
    """The same chat template and tokens as the text answer: where the greedy answer begins
    with yes or no, p(yes) is above one half exactly when it begins with yes."""
    seen = set()
    for motion in MOTIONS:
        for answer in ("Yes.", "No."):
            result = await run_probe(
                model, asked_again(motion, answer), max_attempts=1, max_delay=0
            )
            first = result.answer.split()[0].strip(".,!").lower()
            assert first in ("yes", "no") and result.p_yes is not None, result
            assert (result.p_yes > 0.5) == (first == "yes") == result.supports, result
            seen.add(first)
    assert seen == {"yes", "no"}


async def test_p_yes_is_the_same_alone_or_beside_a_generation(model: LocalModel) -> None:
    """The model is shared and serialised by its lock: scoring while another request streams
    gives the value it gives alone, and the stream is unharmed."""
    request = after_stating(MOTIONS[0], True)
    alone = await p_yes(model, request)
    other = GenerationRequest(
        system="You are a pirate.",
        messages=[ChatMessage("user", "Describe the sea.")],
        max_tokens=24,
        temperature=0.0,
        seed=1,
    )

    async def text() -> str:
        return "".join([i.text async for i in model.stream(other) if isinstance(i, TextDelta)])

    before = await text()
    beside, during, again = await asyncio.gather(
        p_yes(model, request), text(), p_yes(model, request)
    )
    assert alone == beside == again and during == before


@pytest.mark.long  # a whole pressure match on the model: judge and probe included
async def test_the_probe_event_carries_the_local_p_yes(model: LocalModel) -> None:
    sink = Recorder()
    lineup = pressure_lineup(target=model, tactic="are-you-sure", rounds=1)  # type: ignore[arg-type]
    metrics = await run_match(lineup, sink)
    assert metrics is not None
    probes = [e for e in sink.events if isinstance(e, Probe)]
    assert [p.turn for p in probes] == [0, 2] and all(p.model == "local:smollm2" for p in probes)
    assert all(p.p_yes is not None and 0.0 <= p.p_yes <= 1.0 for p in probes), probes
