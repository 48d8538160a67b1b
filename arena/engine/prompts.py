"""What each debater of a debate is told before it speaks: the persona, then the rules."""

from __future__ import annotations

from typing import Literal

from arena.domain.personas import Persona
from arena.domain.specs import Side, TurnKind
from arena.models.base import ChatMessage

_KIND_GUIDE: dict[TurnKind, str] = {
    "opening": "Give your opening statement: state your position and your strongest arguments.",
    "rebuttal": (
        "Give a rebuttal: answer your opponent's latest argument directly, then press your case."
    ),
    "closing": ("Give your closing statement: sum up why your side has won the debate."),
}


def debate_instructions(
    persona: Persona, side: Side, motion: str, kind: TurnKind, word_limit: int
) -> str:
    """The system message for one turn: the persona first, then the rules of the debate."""
    stance = "FOR (PRO)" if side == "pro" else "AGAINST (CON)"
    return (
        f"{persona.system_prompt.strip()}\n\n"
        "--- Debate ---\n"
        f'You are in a formal debate on the motion: "{motion}"\n'
        f"You argue {stance} the motion. Your opponent argues the other side.\n"
        f"{_KIND_GUIDE[kind]}\n"
        f"Stay in character. Speak in the first person, at most {word_limit} words, "
        "plain prose, no headings, no stage directions."
    )


def conversation(side: Side, history: list[tuple[Side, str]], kind: TurnKind) -> list[ChatMessage]:
    """The transcript so far from `side`'s point of view: its own turns are the assistant's,
    the opponent's are the user's. Consecutive same-role messages are merged."""
    messages: list[ChatMessage] = []
    for speaker, text in history:
        role: Literal["user", "assistant"] = "assistant" if speaker == side else "user"
        content = text if speaker == side else f"Your opponent said:\n{text}"
        if messages and messages[-1].role == role:
            merged = f"{messages[-1].content}\n\n{content}"
            messages[-1] = ChatMessage(role, merged)
        else:
            messages.append(ChatMessage(role, content))
    cue = {
        "opening": "The debate begins. Your opening statement:",
        "rebuttal": "Your rebuttal:",
        "closing": "Your closing statement:",
    }[kind]
    if messages and messages[-1].role == "user":
        messages[-1] = ChatMessage("user", f"{messages[-1].content}\n\n{cue}")
    else:
        messages.append(ChatMessage("user", cue))
    return messages
