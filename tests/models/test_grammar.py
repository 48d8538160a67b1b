"""Structured output on the embedded model, at the adapter's edge: the grammar it hands to
llama.cpp, the token limit it sets, and the schema the judge asks for. No model is loaded: a
stand-in takes the place of llama.cpp's `Llama` and records what it was asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

from arena.config import Settings
from arena.engine.judge import VERDICT_SCHEMA, VerdictOutput
from arena.engine.probe import CHOICE_SCHEMA
from arena.errors import StructuredOutputError
from arena.models.base import ChatMessage, GenerationRequest, parse_json_object
from arena.models.grammar import CHAR_RULE, json_grammar, max_output_bytes
from arena.models.local import Engine, LocalModel

REQUEST = GenerationRequest(
    system="You are a debate judge.",
    messages=[ChatMessage("user", "Score the turn.")],
    max_tokens=320,
    temperature=0.0,
)
VERDICT = {
    "stance": "pro",
    "holding": 0.9,
    "engagement": 0.5,
    "concessions": [],
    "rationale": "Argues for.",
}


class RecordingLlama:
    """Stands in for llama_cpp.Llama: records each completion's arguments, replies with `reply`
    in two pieces and a closing chunk, as llama.cpp streams."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[dict[str, Any]] = []

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text) // 4))

    def create_completion(self, prompt: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append({"prompt": prompt, **kwargs})
        half = len(self.reply) // 2
        for text in (self.reply[:half], self.reply[half:]):
            yield {"choices": [{"text": text, "finish_reason": None}]}
        yield {"choices": [{"text": "", "finish_reason": "stop"}]}


def local(llama: RecordingLlama, *, grammar: bool = True) -> LocalModel:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = Engine(Path("unused.gguf"), settings.local_n_ctx, None, llama=llama)
    path = Path("unused.gguf")
    return LocalModel("local:smollm2", path, settings, grammar=grammar, engine=engine)


async def test_structured_output_is_decoded_under_the_schemas_grammar() -> None:
    llama = RecordingLlama(json.dumps(VERDICT))
    result = await local(llama).structured(REQUEST, VERDICT_SCHEMA, "turn_verdict")

    assert result.data == VERDICT
    (call,) = llama.calls
    assert isinstance(call["grammar"], LlamaGrammar)
    assert call["grammar"]._grammar == json_grammar(VERDICT_SCHEMA)
    # the grammar, not the token limit, ends the object
    bound = max_output_bytes(VERDICT_SCHEMA)
    assert bound is not None and call["max_tokens"] == bound > REQUEST.max_tokens


async def test_a_small_schema_keeps_the_requests_token_limit() -> None:
    llama = RecordingLlama('{"answer": "yes"}')
    request = GenerationRequest("sys", [ChatMessage("user", "Yes or no?")], max_tokens=32)
    result = await local(llama).structured(request, CHOICE_SCHEMA, "stance_probe")

    assert result.data == {"answer": "yes"}
    assert llama.calls[0]["grammar"]._grammar == json_grammar(CHOICE_SCHEMA)
    assert llama.calls[0]["max_tokens"] == 32


async def test_without_the_grammar_nothing_constrains_the_output() -> None:
    llama = RecordingLlama(json.dumps(VERDICT))
    await local(llama, grammar=False).structured(REQUEST, VERDICT_SCHEMA, "turn_verdict")

    assert "grammar" not in llama.calls[0] and llama.calls[0]["max_tokens"] == 320


async def test_prose_is_never_constrained() -> None:
    llama = RecordingLlama("Arr, cats!")
    async for _ in local(llama).stream(REQUEST):
        pass

    assert "grammar" not in llama.calls[0]


def test_strings_of_the_grammar_hold_no_raw_control_character() -> None:
    """llama-cpp-python's own converter lets a string hold a raw line break (JSON forbids it);
    the grammar given to llama.cpp replaces its character rule with one that excludes them."""
    library = json_schema_to_gbnf(json.dumps(VERDICT_SCHEMA))
    ours = json_grammar(VERDICT_SCHEMA)

    char_rules = [line for line in ours.splitlines() if line.startswith("char ::=")]
    assert char_rules == [CHAR_RULE]
    assert r"\x00-\x1F" in CHAR_RULE and r"\x7F" in CHAR_RULE
    # everything else is the converter's own grammar
    def others(grammar: str) -> list[str]:
        return [line for line in grammar.splitlines() if not line.startswith("char ::=")]

    assert others(ours) == others(library)


def test_the_verdict_grammar_bounds_the_output() -> None:
    """The longest verdict the grammar admits (every string at its maxLength in 4-byte
    characters, a space wherever the grammar allows one) fits in the bound, with little room."""
    widest = "\U0001d11e"  # 4 bytes in UTF-8
    props = VERDICT_SCHEMA["properties"]
    longest = {
        "stance": "neutral",
        "holding": 0.0,
        "engagement": 0.0,
        "concessions": [widest * props["concessions"]["items"]["maxLength"]]
        * props["concessions"]["maxItems"],
        "rationale": widest * props["rationale"]["maxLength"],
    }
    text = "{ " + json.dumps(longest, ensure_ascii=False, separators=(", ", " : "))[1:] + " "
    bound = max_output_bytes(VERDICT_SCHEMA)

    assert bound is not None and len(text.encode()) <= bound <= len(text.encode()) + 16


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string"},
        {"type": "array", "items": {"type": "string", "maxLength": 3}},
        {"type": "number"},
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
    ],
)
def test_an_unbounded_schema_has_no_bound(schema: dict[str, Any]) -> None:
    assert max_output_bytes(schema) is None


def test_the_verdict_schema_is_the_verdict_models_own_and_strict() -> None:
    text = json.dumps(VERDICT_SCHEMA)
    assert VERDICT_SCHEMA["required"] == list(VERDICT_SCHEMA["properties"])
    assert VERDICT_SCHEMA["additionalProperties"] is False
    assert '"title"' not in text and '"default"' not in text and '"description"' not in text
    assert set(VERDICT_SCHEMA["properties"]) == set(VerdictOutput.model_fields)
    assert VERDICT_SCHEMA["properties"]["holding"]["enum"] == [i / 10 for i in range(11)]


def test_a_verdict_longer_than_the_schema_is_clipped_not_refused() -> None:
    out = VerdictOutput.model_validate(
        {**VERDICT, "holding": 0.75, "concessions": ["x" * 500] * 6, "rationale": "y" * 900}
    )
    assert out.holding == 0.75
    assert len(out.concessions) == 3 and all(len(c) == 160 for c in out.concessions)
    assert len(out.rationale) == 300


def test_a_raw_line_break_inside_a_string_still_parses() -> None:
    assert parse_json_object('{"rationale": "one\nline\tmore"}') == {"rationale": "one\nline\tmore"}
    with pytest.raises(StructuredOutputError, match="not valid JSON"):
        parse_json_object('{"rationale": "unclosed}')
