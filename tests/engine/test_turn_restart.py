"""Exactly-once turn text: cut streams, providers that continue, repeat or start over, and
resumes from a stored partial turn. Fakes sit at the ChatModel boundary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from arena.domain.events import Event, Token, TurnCompleted, TurnRestarted
from arena.domain.transcript import fold
from arena.engine.match import RESUMED_REASON, run_match
from arena.errors import ModelError
from arena.models.base import GenerationRequest
from arena.models.retry import RESTART_AFTER_ERROR, RESTART_STARTED_OVER
from tests.engine_helpers import Recorder, lineup
from tests.fakes import FunctionModel, firm_judge, words

Behaviour = Literal["continue", "repeat", "restart"]
TURN_TO_SCORE = re.compile(r"BEGIN TURN TO SCORE \[(\w+)\]\n(.*?)\nEND TURN TO SCORE \[\1\]", re.S)


class Provider(FunctionModel):
    """A debater whose reply to a turn is fixed (`continue`, `repeat`) or new on every call
    (`restart`), and which treats `assistant_prefix` as its behaviour says:

    - continue: writes what follows the prefix in its fixed reply;
    - repeat: writes its whole fixed reply, prefix included;
    - restart: ignores the prefix and writes a new reply (the same first word, then different).

    With `cut_every`, the stream of every `cut_every`-th call (the 1st, ...) raises a retryable
    ModelError after `cut_at` deltas, as a dropped connection does. `replies` holds every whole
    reply it wrote.
    """

    def __init__(
        self,
        name: str,
        behaviour: Behaviour,
        *,
        continues_prefix: bool,
        cut_every: int | None = None,
        cut_at: int = 11,
    ) -> None:
        super().__init__(name, stream_fn=self._speak, continues_prefix=continues_prefix)
        self.behaviour = behaviour
        self.cut_every = cut_every
        self.cut_at = cut_at
        self.calls = 0
        self.replies: set[str] = set()

    def reply(self, request: GenerationRequest, take: int) -> str:
        side = "FOR" if "FOR (PRO)" in request.system else "AGAINST"
        step = sum(len(m.content) for m in request.messages)
        return (
            f"Arr, I argue {side} the motion at step {step}, take {take}, "
            "and I hold that line to the very end."
        )

    def _speak(self, request: GenerationRequest) -> Iterator[str]:
        self.calls += 1
        prefix = request.assistant_prefix
        if self.behaviour == "restart":
            full = self.reply(request, self.calls)
            deltas = words(full)
        else:
            full = self.reply(request, 0)
            if self.behaviour == "continue" and prefix:
                assert full.startswith(prefix), (full, prefix)
                deltas = [d for d in words(full[len(prefix) :]) if d]
            else:
                deltas = words(full)
        self.replies.add(full)
        cut_after = None
        if self.cut_every is not None and self.calls % self.cut_every == 1 % self.cut_every:
            cut_after = self.cut_at
        return self._deltas(deltas, cut_after)

    @staticmethod
    def _deltas(deltas: list[str], cut_after: int | None) -> Iterator[str]:
        for i, delta in enumerate(deltas):
            if cut_after is not None and i == cut_after:
                raise ModelError("connection reset by peer", provider="test", retryable=True)
            yield delta


class RecordingJudge(FunctionModel):
    """A firm judge that keeps the text of every turn it was asked to score."""

    def __init__(self) -> None:
        super().__init__("test:judge", structured_fn=self._judge)
        self.judged: list[str] = []

    def _judge(self, request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
        found = TURN_TO_SCORE.search(request.messages[0].content)
        assert found is not None
        self.judged.append(found.group(2))
        return firm_judge(request, schema)


def tokens_after_last_restart(events: list[Event], turn: int) -> str:
    parts: list[str] = []
    for event in events:
        if isinstance(event, TurnRestarted) and event.turn == turn:
            parts.clear()
        elif isinstance(event, Token) and event.turn == turn:
            parts.append(event.text)
    return "".join(parts)


def assert_exactly_once(events: list[Event], pro: Provider, con: Provider) -> list[TurnCompleted]:
    """Every turn is one whole reply its provider wrote, its tokens after the last restart
    join to it, and the folded view agrees before and after the turn completed."""
    completed = [e for e in events if isinstance(e, TurnCompleted)]
    assert [e.type for e in events].count("turn_started") == len(completed)
    for done in completed:
        provider = pro if done.side == "pro" else con
        assert done.text in provider.replies, f"garbled turn {done.turn}: {done.text!r}"
        assert tokens_after_last_restart(events, done.turn) == done.text
        before = fold(events[: events.index(done)])
        assert before.turns[done.turn].text == done.text
    return completed


def cases() -> list[Any]:
    return [
        pytest.param("continue", True, id="continues the prefix"),
        pytest.param("repeat", True, id="repeats the prefix, then continues"),
        pytest.param("restart", True, id="claims to continue, starts over"),
        pytest.param("repeat", False, id="openai-like: fixed reply"),
        pytest.param("restart", False, id="openai-like: new reply each time"),
    ]


@pytest.mark.parametrize(("behaviour", "continues"), cases())
async def test_cut_streams_leave_exactly_one_reply_per_turn(
    behaviour: Behaviour, continues: bool
) -> None:
    pro = Provider("test:pro", behaviour, continues_prefix=continues, cut_every=2)
    con = Provider("test:con", behaviour, continues_prefix=continues, cut_every=2)
    judge = RecordingJudge()
    sink = Recorder()

    metrics = await run_match(lineup(pro, con, [judge], rounds=1), sink)

    assert metrics is not None, sink.events[-1]
    completed = assert_exactly_once(sink.events, pro, con)
    assert len(completed) == 6 and all(done.attempts == 2 for done in completed)
    assert sorted(judge.judged) == sorted(done.text for done in completed)
    restarts = [e for e in sink.events if isinstance(e, TurnRestarted)]
    if behaviour in ("continue", "repeat") and continues:
        assert not restarts  # continued, and a repeat of the prefix was dropped
    else:
        reason = RESTART_AFTER_ERROR if not continues else RESTART_STARTED_OVER
        assert {(e.turn, e.reason, e.attempt) for e in restarts} == {
            (t, reason, 2) for t in range(6)
        }
    view = fold(sink.events)
    assert [t.text for t in view.ordered] == [done.text for done in completed]


@pytest.mark.parametrize(("behaviour", "continues"), cases())
async def test_a_turn_cut_by_a_crash_resumes_as_exactly_one_reply(
    behaviour: Behaviour, continues: bool
) -> None:
    # match_started, turn_started, 11 tokens ("... take 1,"), then the crash
    crashed = Recorder(fail_after=13)
    first = Provider("test:pro", behaviour, continues_prefix=continues)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await run_match(lineup(first, rounds=1), crashed)
    history = list(crashed.events)
    partial = fold(history).partial
    assert partial is not None and partial.turn == 0 and partial.text

    # a new worker, a new adapter: the same provider behaviour
    pro = Provider("test:pro", behaviour, continues_prefix=continues)
    pro.calls = 10  # a new sample: a provider that starts over writes a different reply
    con = Provider("test:con", behaviour, continues_prefix=continues)
    judge = RecordingJudge()
    resumed = Recorder()
    resumed.events = list(history)
    await run_match(lineup(pro, con, [judge], rounds=1), resumed, history=history)

    events = resumed.events
    assert events[-1].type == "match_completed"
    pro.replies |= first.replies
    completed = assert_exactly_once(events, pro, con)
    assert sorted(judge.judged) == sorted(done.text for done in completed)
    restarts = [e for e in events[len(history) :] if isinstance(e, TurnRestarted)]
    if continues:
        assert pro.requests[0].assistant_prefix == partial.text
    else:
        assert pro.requests[0].assistant_prefix == ""
        assert [(e.turn, e.reason, e.attempt) for e in restarts] == [(0, RESUMED_REASON, 1)]
    if behaviour in ("continue", "repeat") and continues:
        assert not restarts
        assert completed[0].text.startswith(partial.text)
    if behaviour == "restart" and continues:
        assert [(e.turn, e.reason, e.attempt) for e in restarts] == [(0, RESTART_STARTED_OVER, 1)]
        assert completed[0].text == pro.reply(pro.requests[0], 11)


async def test_a_turn_restarted_before_a_crash_folds_to_its_new_text_only() -> None:
    pro = Provider("test:pro", "restart", continues_prefix=False, cut_every=2, cut_at=2)
    # match_started, turn_started, 2 tokens, the cut: turn_restarted, 4 tokens, then the crash
    crashed = Recorder(fail_after=9)
    with pytest.raises(RuntimeError, match="simulated crash"):
        await run_match(lineup(pro, rounds=1), crashed)
    history = list(crashed.events)
    assert [e.type for e in history].count("turn_restarted") == 1
    partial = fold(history).partial
    assert partial is not None and partial.restarted == RESTART_AFTER_ERROR
    assert partial.text == tokens_after_last_restart(history, 0) == "Arr, I argue FOR"


async def test_a_reply_that_starts_over_but_still_matches_the_shown_text_is_kept_whole() -> None:
    # cut after "Arr, I": the new reply begins with that text, so it reads as its continuation
    pro = Provider("test:pro", "restart", continues_prefix=True, cut_every=2, cut_at=2)
    con = Provider("test:con", "repeat", continues_prefix=True)
    sink = Recorder()
    await run_match(lineup(pro, con, rounds=1), sink)
    assert not sink.of_type("turn_restarted")
    completed = assert_exactly_once(sink.events, pro, con)
    assert completed[0].text == pro.reply(pro.requests[1], 2)
