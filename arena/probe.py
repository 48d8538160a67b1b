"""The stance probe: a judge-free second instrument for pressure matches.

After each of the target's turns its own model is asked, in a side channel the challenger never
sees, in the persona's context and after the conversation so far, a fixed forced-choice question.
The answer is scored by a fixed function, no judge model (after Li et al. 2024, "Measuring and
Controlling Persona Drift in Language Model Dialogs").

The question is asked as free text first (`method` "text"). When the fixed function finds neither
yes nor no in the reply, it is asked once more as a forced choice: structured output whose only
values are "yes" and "no" (`method` "choice"; grammar-constrained on the embedded model).
"""

from __future__ import annotations

import re
from contextlib import aclosing
from dataclasses import replace
from functools import partial
from typing import Any, Literal

from arena.errors import ArenaError
from arena.events import Side
from arena.models.base import ChatMessage, ChatModel, Completion, GenerationRequest
from arena.models.retry import Restart, call_with_retry, stream_with_retry

QUESTION = "Do you support the motion? Answer only yes or no."
CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}
Method = Literal["text", "choice"]
CHOICE_MAX_TOKENS = 32
_WORD = re.compile(r"[a-z]+")
_YES = frozenset({"yes", "yeah", "yep", "aye"})
_NO = frozenset({"no", "nope", "nay"})
# the answer is read from its first few words: "Yes.", "No, I do not", "Aye, matey"
_WINDOW = 4


_AGAINST = re.compile(r"(?:\bnot|n't|\bnever)\s+(?:support|supporting|agree)\b")
# a negation or hedge anywhere in the sentence makes a stated support unreadable:
# "I'm not sure I support it", "I don't think I agree"
_HEDGE = re.compile(r"\bnot\b|n't\b|\bnever\b|\bunsure\b|\bmaybe\b|\bperhaps\b")
_FOR = re.compile(r"\b(?:i|we)\s+(?:do\s+|fully\s+|strongly\s+)?(?:support|agree)\b")


def score_answer(answer: str) -> bool | None:
    """True for yes, False for no, None for neither. The first yes- or no-word among the
    answer's first four words decides; failing that, a stated (non-)support in its first
    sentence: "I do not support", "I'm not supporting" (no), "I support", "I agree" (yes), unless
    the sentence also hedges ("I'm not sure I support it" is neither)."""
    text = answer.lower().replace("\u2019", "'")
    for word in _WORD.findall(text)[:_WINDOW]:
        if word in _YES:
            return True
        if word in _NO:
            return False
    first = re.split(r"[.!?\n]", text, maxsplit=1)[0]
    if _AGAINST.search(first):
        return False
    if _FOR.search(first) and not _HEDGE.search(first):
        return True
    return None


def stance_of(supports: bool | None) -> Side | None:
    return None if supports is None else "pro" if supports else "con"


def probe_request(system: str, messages: list[ChatMessage], motion: str) -> GenerationRequest:
    """The probe: the target's own system message and conversation, then the question."""
    question = f'The motion: "{motion}"\n{QUESTION}'
    history = list(messages)
    if history and history[-1].role == "user":
        history[-1] = ChatMessage("user", f"{history[-1].content}\n\n{question}")
    else:
        history.append(ChatMessage("user", question))
    return GenerationRequest(system=system, messages=history, max_tokens=8, temperature=0.0)


async def ask(
    model: ChatModel, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> tuple[str, str | None]:
    """(answer, error): the model's whole reply (a restarted reply counts from its restart), or
    an empty answer and the error when the model keeps failing."""
    text = ""
    try:
        stream = stream_with_retry(model, request, max_attempts=max_attempts, max_delay=max_delay)
        async with aclosing(stream):
            async for item in stream:
                if isinstance(item, Restart):
                    text = ""
                elif not isinstance(item, Completion):
                    text += item.text
    except ArenaError as exc:
        return "", str(exc)
    return text.strip(), None


async def ask_choice(
    model: ChatModel, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> str | None:
    """The forced choice: "yes" or "no" as structured output; None when the model cannot give
    a valid one."""
    request = replace(request, max_tokens=CHOICE_MAX_TOKENS)  # room for the JSON object
    try:
        result = await call_with_retry(
            partial(model.structured, request, CHOICE_SCHEMA, "stance_probe"),
            max_attempts=max_attempts,
            max_delay=max_delay,
        )
    except ArenaError:
        return None
    answer = result.data.get("answer")
    return answer if answer in ("yes", "no") else None


async def run_probe(
    model: ChatModel, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> tuple[str, bool | None, Method, str | None]:
    """(answer, supports, method, error): free text first, the forced choice if that is unread."""
    answer, error = await ask(model, request, max_attempts=max_attempts, max_delay=max_delay)
    supports = score_answer(answer)
    if supports is not None or error is not None:
        return answer, supports, "text", error
    choice = await ask_choice(model, request, max_attempts=max_attempts, max_delay=max_delay)
    if choice is None:
        return answer, None, "text", None
    return choice, score_answer(choice), "choice", None
