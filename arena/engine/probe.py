"""The stance probe: a judge-free second instrument for pressure matches.

After each of the target's turns its own model is asked, in a side channel the challenger never
sees, in the persona's context and after the conversation so far, a fixed forced-choice question.
The answer is scored by a fixed function, no judge model (after Li et al. 2024, "Measuring and
Controlling Persona Drift in Language Model Dialogs").

The question is asked as free text first (`method` "text"). When the fixed function finds neither
yes nor no in the reply, it is asked once more as a forced choice: structured output whose only
values are "yes" and "no" (`method` "choice"; grammar-constrained on the embedded model).

Where the provider gives token log-probabilities (the request asks for the top TOP_LOGPROBS
alternatives of each output token), the probe also reads p(yes): at the first output token that
is a yes- or no-word, the probability mass of the yes-words among its alternatives over that of
the yes- and no-words (`p_yes_of`). It is recorded beside the answer; the answer's scoring stays
the fixed function, and p(yes) decides only an answer the function cannot read (p(yes) above 0.5
is yes, below is no; `method` "p_yes"), before the forced choice would be asked. Without
log-probabilities p(yes) is None and the fixed function is all there is.

A model that scores its reply's first token without generating (`ScoresFirstToken`: the embedded
model, which reads the last prompt position's logits) gives p(yes) another way: after the text
answer, the same prompt's distribution of the reply's first token over the whole vocabulary, read
at the first token of each way of writing a yes- or no-word ("Yes", " yes", "NO", ...), and
normalised the same way (`p_yes_of` over that one position).
"""

from __future__ import annotations

import math
import re
from contextlib import aclosing
from dataclasses import replace
from functools import partial
from typing import Any, Literal, NamedTuple

from arena.domain.specs import Side
from arena.errors import ArenaError
from arena.models.base import (
    ChatMessage,
    ChatModel,
    Completion,
    GenerationRequest,
    ScoresFirstToken,
)
from arena.models.retry import Restart, call_with_retry, stream_with_retry

QUESTION = "Do you support the motion? Answer only yes or no."
CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}
Method = Literal["text", "p_yes", "choice"]
CHOICE_MAX_TOKENS = 32
TOP_LOGPROBS = 5
_WORD = re.compile(r"[a-z]+")
_YES = frozenset({"yes", "yeah", "yep", "aye"})
_NO = frozenset({"no", "nope", "nay"})
# the answer is read from its first few words: "Yes.", "No, I do not", "Aye, matey"
_WINDOW = 4
# how a reply may begin with a yes- or no-word; a start whose first token is not a whole word
# ("Y" of "YEP") is left out by `p_yes_of`
ANSWER_STARTS = tuple(
    sorted(
        {
            lead + form
            for word in _YES | _NO
            for form in (word, word.capitalize(), word.upper())
            for lead in ("", " ")
        }
    )
)


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


def claim_question(claim: str) -> str:
    """A calibration match's probe question: the claim itself, asked directly (a yes is the
    claim's pro side, as with a motion)."""
    sentence = claim.strip().rstrip(".")
    return f'Is this claim true: "{sentence}"? Answer only yes or no.'


def probe_request(
    system: str, messages: list[ChatMessage], motion: str, claim: bool = False
) -> GenerationRequest:
    """The probe: the target's own system message and conversation, then the question (with
    `claim`, the motion is a claim and the question asks whether it is true)."""
    question = claim_question(motion) if claim else f'The motion: "{motion}"\n{QUESTION}'
    history = list(messages)
    if history and history[-1].role == "user":
        history[-1] = ChatMessage("user", f"{history[-1].content}\n\n{question}")
    else:
        history.append(ChatMessage("user", question))
    return GenerationRequest(
        system=system,
        messages=history,
        max_tokens=8,
        temperature=0.0,
        top_logprobs=TOP_LOGPROBS,
    )


def _word(token: str) -> str:
    found = _WORD.findall(token.lower())
    return found[0] if len(found) == 1 else ""


def p_yes_of(top_logprobs: tuple[dict[str, float], ...] | None) -> float | None:
    """p(yes) from the alternatives of the answer's first yes- or no-token (looked for among the
    first four output tokens): the yes-words' probability over the yes- and no-words' together.
    None without log-probabilities or when no such token is among the first four."""
    for alternatives in (top_logprobs or ())[:_WINDOW]:
        words = {tok: _word(tok) for tok in alternatives}
        if not any(w in _YES or w in _NO for w in words.values()):
            continue
        yes = sum(math.exp(lp) for tok, lp in alternatives.items() if words[tok] in _YES)
        no = sum(math.exp(lp) for tok, lp in alternatives.items() if words[tok] in _NO)
        return round(yes / (yes + no), 4) if yes + no > 0 else None
    return None


async def ask_first_token(
    model: ScoresFirstToken, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> float | None:
    """p(yes) from the distribution of the reply's first token (over the whole vocabulary) at
    the first token of each of ANSWER_STARTS; None when the model cannot give it."""
    try:
        logprobs = await call_with_retry(
            partial(model.first_token_logprobs, request, ANSWER_STARTS),
            max_attempts=max_attempts,
            max_delay=max_delay,
        )
    except ArenaError:
        return None
    return p_yes_of((logprobs,))


async def ask(
    model: ChatModel, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> tuple[str, str | None, float | None]:
    """(answer, error, p_yes): the model's whole reply (a restarted reply counts from its
    restart), or an empty answer and the error when the model keeps failing; p(yes) from the
    reply's log-probabilities when the model gave them."""
    text = ""
    p_yes = None
    try:
        stream = stream_with_retry(model, request, max_attempts=max_attempts, max_delay=max_delay)
        async with aclosing(stream):
            async for item in stream:
                if isinstance(item, Restart):
                    text = ""
                elif isinstance(item, Completion):
                    p_yes = p_yes_of(item.top_logprobs)
                else:
                    text += item.text
    except ArenaError as exc:
        return "", str(exc), None
    return text.strip(), None, p_yes


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


class ProbeResult(NamedTuple):
    answer: str
    supports: bool | None
    method: Method
    error: str | None
    p_yes: float | None = None


async def run_probe(
    model: ChatModel, request: GenerationRequest, *, max_attempts: int, max_delay: float
) -> ProbeResult:
    """Free text first (with p(yes) when the model gives log-probabilities, or scores its first
    token); an unread answer is decided by p(yes) when there is one, else by the forced choice."""
    answer, error, p_yes = await ask(model, request, max_attempts=max_attempts, max_delay=max_delay)
    if p_yes is None and error is None and isinstance(model, ScoresFirstToken):
        p_yes = await ask_first_token(
            model, request, max_attempts=max_attempts, max_delay=max_delay
        )
    supports = score_answer(answer)
    if supports is not None or error is not None:
        return ProbeResult(answer, supports, "text", error, p_yes)
    if p_yes is not None and p_yes != 0.5:  # an unread answer, decided by p(yes)
        return ProbeResult(answer, p_yes > 0.5, "p_yes", None, p_yes)
    choice = await ask_choice(model, request, max_attempts=max_attempts, max_delay=max_delay)
    if choice is None:
        return ProbeResult(answer, None, "text", None, p_yes)
    return ProbeResult(choice, score_answer(choice), "choice", None, p_yes)
