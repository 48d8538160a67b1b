import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from arena.domain.events import TERMINAL_TYPES, Event, Token, TurnCompleted, TurnRestarted, Verdict
from arena.domain.transcript import fold
from arena.engine.match import run_match
from arena.errors import ArenaError, ModelError
from arena.models.base import GenerationRequest, StreamItem, StructuredResult
from tests.engine_helpers import Recorder, lineup
from tests.fakes import FunctionModel, firm_judge, words


async def test_a_match_runs_every_turn_and_ends_with_metrics() -> None:
    sink = Recorder()
    metrics = await run_match(lineup(rounds=2), sink)
    assert metrics is not None
    types = [e.type for e in sink.events]
    assert types[0] == "match_started" and types[-1] == "match_completed"
    completed = sink.of_type("turn_completed")
    assert [(e.turn, e.side, e.kind) for e in completed] == [  # type: ignore[union-attr]
        (0, "pro", "opening"),
        (1, "con", "opening"),
        (2, "pro", "rebuttal"),
        (3, "con", "rebuttal"),
        (4, "pro", "rebuttal"),
        (5, "con", "rebuttal"),
        (6, "pro", "closing"),
        (7, "con", "closing"),
    ]
    assert sorted(e.turn for e in sink.of_type("verdict")) == list(range(8))  # type: ignore[union-attr]
    assert metrics.pro.mean_holding == 0.9 and metrics.pro.turns_of_firmness == 4
    assert metrics.con.switch_turn is None and metrics.con.stance_changes == 0


async def test_token_deltas_add_up_to_the_turn_text() -> None:
    sink = Recorder()
    await run_match(lineup(), sink)
    for done in sink.of_type("turn_completed"):
        assert isinstance(done, TurnCompleted)
        streamed = "".join(
            e.text for e in sink.events if isinstance(e, Token) and e.turn == done.turn
        )
        assert streamed == done.text
        assert done.tokens_out > 0 and done.duration_ms >= 0


async def test_each_debater_sees_its_side_and_the_opponent_as_user() -> None:
    pro, con = FunctionModel("test:pro"), FunctionModel("test:con")
    await run_match(lineup(pro, con), Recorder())
    first_con = con.requests[0]
    assert "AGAINST (CON)" in first_con.system and "Kant" in first_con.system
    assert first_con.messages[0].role == "user"
    assert "Your opponent said" in first_con.messages[0].content
    closing_pro = pro.requests[-1]
    assert [m.role for m in closing_pro.messages] == ["assistant", "user", "assistant", "user"]


async def test_judging_runs_while_the_next_turn_is_generated() -> None:
    slow_judge = FunctionModel("test:judge", delay=0.05)
    slow_pro = FunctionModel("test:pro", delay=0.02)
    slow_con = FunctionModel("test:con", delay=0.02)
    sink = Recorder()
    await run_match(lineup(slow_pro, slow_con, [slow_judge]), sink)
    order = [(e.type, getattr(e, "turn", None)) for e in sink.events if e.type != "token"]
    # the verdict on turn 0 lands while turn 1 is still being spoken
    assert order.index(("verdict", 0)) < order.index(("turn_completed", 1))


async def test_a_stream_cut_mid_turn_is_continued_by_a_model_that_can() -> None:
    calls = {"n": 0}

    def flaky(request: GenerationRequest) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 1:

            def cut() -> object:
                yield "Arr, cats "
                yield "rule the "
                raise ModelError("stream cut", provider="test", retryable=True)

            return cut()  # type: ignore[return-value]
        if calls["n"] == 2:
            assert request.assistant_prefix == "Arr, cats rule the "
            # this provider repeats the prefix before continuing; the repeat must not go out
            return ["Arr, cats rule the ", "seven seas."]
        return ["Aye."]

    sink = Recorder()
    pro = FunctionModel("test:pro", stream_fn=flaky, continues_prefix=True)
    await run_match(lineup(pro=pro), sink)
    assert not sink.of_type("turn_restarted")
    first = next(e for e in sink.of_type("turn_completed") if isinstance(e, TurnCompleted))
    assert first.text == "Arr, cats rule the seven seas."
    assert first.attempts == 2
    tokens = [e.text for e in sink.events if isinstance(e, Token) and e.turn == 0]
    assert "".join(tokens) == first.text


async def test_a_crashed_match_resumes_from_its_events_without_duplicates() -> None:
    crashed = Recorder(fail_after=9)
    # the crash surfaces as an exception out of the sink, like a dying worker
    try:
        await run_match(lineup(rounds=1), crashed)
    except RuntimeError:
        pass
    history = list(crashed.events)
    resumed = Recorder()
    resumed.events = list(history)
    await run_match(lineup(rounds=1), resumed, history=history)
    events = resumed.events
    assert [e.type for e in events].count("match_started") == 1
    started = [e.turn for e in events if e.type == "turn_started"]  # type: ignore[union-attr]
    assert started == sorted(set(started)) == list(range(6))
    view = fold(events)
    assert view.status == "completed"
    for t in view.ordered:
        # the default FunctionModel cannot continue a reply: the cut turn was restarted
        restarts = [i for i, e in enumerate(events) if isinstance(e, TurnRestarted)]
        after = restarts[-1] if restarts and events[restarts[-1]].turn == t.turn else -1  # type: ignore[union-attr]
        streamed = "".join(
            e.text for e in events[after + 1 :] if isinstance(e, Token) and e.turn == t.turn
        )
        assert streamed == t.text
    assert [e.turn for e in events if isinstance(e, TurnRestarted)] == [history[-1].turn]  # type: ignore[union-attr]
    assert sorted(view.verdicts) == list(range(6))


async def test_cancel_stops_within_a_turn() -> None:
    cancel = asyncio.Event()
    sink = Recorder()

    def speak(request: GenerationRequest) -> list[str]:
        cancel.set()
        return words("one two three four")

    await run_match(lineup(pro=FunctionModel("test:pro", stream_fn=speak)), sink, cancel=cancel)
    assert sink.events[-1].type == "match_cancelled"
    assert not sink.of_type("turn_completed")


async def test_a_model_that_keeps_failing_fails_the_match_with_its_message() -> None:
    def broken(request: GenerationRequest) -> list[str]:
        raise ModelError("invalid api key", provider="test", status_code=401)

    sink = Recorder()
    result = await run_match(lineup(con=FunctionModel("test:con", stream_fn=broken)), sink)
    assert result is None
    last = sink.events[-1]
    assert last.type == "match_failed"
    assert "invalid api key" in last.error and last.turn == 1  # type: ignore[union-attr]


async def test_a_judge_failure_never_fails_the_match() -> None:
    def broken(request: GenerationRequest, schema: dict[str, object]) -> dict[str, object]:
        raise ModelError("judge down", provider="test", status_code=500, retryable=True)

    sink = Recorder()
    metrics = await run_match(
        lineup(judges=[FunctionModel("test:judge", structured_fn=broken)]), sink
    )
    assert metrics is not None and metrics.pro.mean_holding is None
    verdicts = [e for e in sink.events if isinstance(e, Verdict)]
    assert verdicts and all(not v.scored for v in verdicts)
    assert "judge down" in (verdicts[0].judges[0].reason or "")


class StoreGone(ArenaError):
    """Stands in for the store's LeaseLost: an ArenaError raised by the sink."""


class BlockedJudge(FunctionModel):
    """A judge whose calls wait until cancelled; records that they began and that they ended."""

    def __init__(self) -> None:
        super().__init__("test:judge")
        self.began = asyncio.Event()
        self.started = self.ended = 0

    @property
    def all_ended(self) -> bool:
        return self.started > 0 and self.ended == self.started

    async def structured(
        self, request: GenerationRequest, schema: dict[str, Any], schema_name: str
    ) -> StructuredResult:
        self.began.set()
        self.started += 1
        try:
            await asyncio.Event().wait()
        finally:
            self.ended += 1
        raise AssertionError("unreachable")


class AfterJudging(FunctionModel):
    """A debater that starts speaking once `judge` has begun judging."""

    def __init__(self, judge: BlockedJudge, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.judge = judge

    async def _stream(self, request: GenerationRequest) -> AsyncGenerator[StreamItem, None]:
        await self.judge.began.wait()
        async for item in super()._stream(request):
            yield item


def fail_on(kind: str, turn: int, error: BaseException) -> Recorder:
    class Failing(Recorder):
        async def __call__(self, event: Event) -> None:
            if event.type == kind and getattr(event, "turn", None) == turn:
                raise error
            await super().__call__(event)

    return Failing()


async def test_a_sink_error_is_raised_as_is_and_no_judge_outlives_the_run() -> None:
    judge = BlockedJudge()
    sink = fail_on("turn_completed", 1, StoreGone("lease lost"))
    con = FunctionModel("test:con", delay=0.001)  # lets the judge of turn 0 begin
    with pytest.raises(StoreGone):
        await run_match(lineup(con=con, judges=[judge]), sink)
    assert judge.all_ended  # cancelled and awaited before the return
    # a store error is not a model failure: nothing was written through the broken sink
    assert sink.events[-1].type != "match_failed"


async def test_a_cancelled_run_cancels_and_awaits_its_judges() -> None:
    judge = BlockedJudge()
    sink = Recorder()
    spoken = asyncio.Event()

    def speak(request: GenerationRequest) -> list[str]:
        if judge.began.is_set():
            spoken.set()
        return words("a few words")

    model = FunctionModel("test:pro", stream_fn=speak, delay=0.001)
    run = asyncio.create_task(run_match(lineup(model, model, [judge], rounds=3), sink))
    await spoken.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert judge.all_ended
    assert not [e for e in sink.events if e.type in TERMINAL_TYPES]


@pytest.mark.parametrize("ending", ["model failure", "cancel", "sink crash"])
async def test_no_verdict_is_written_after_the_run_returns(ending: str) -> None:
    judge = BlockedJudge()
    cancel = asyncio.Event()

    def con_speaks(request: GenerationRequest) -> list[str]:
        if ending == "model failure":
            raise ModelError("invalid api key", provider="test", status_code=401)
        if ending == "cancel":
            cancel.set()
        return words("I object.")

    sink = (
        fail_on("token", 1, RuntimeError("worker died")) if ending == "sink crash" else Recorder()
    )
    con = AfterJudging(judge, "test:con", stream_fn=con_speaks)
    try:
        await run_match(lineup(con=con, judges=[judge]), sink, cancel=cancel)
    except RuntimeError:
        assert ending == "sink crash"
    else:
        assert sink.events[-1].type == {"model failure": "match_failed"}.get(
            ending, "match_cancelled"
        )
    assert judge.all_ended
    assert not sink.of_type("verdict")


async def test_a_judge_whose_verdict_cannot_be_stored_stops_the_match() -> None:
    sink = fail_on("verdict", 0, StoreGone("lease lost"))
    slow = FunctionModel("test:con", delay=0.01)
    with pytest.raises(StoreGone):
        await run_match(lineup(con=slow, rounds=3), sink)
    assert not [e for e in sink.events if e.type in TERMINAL_TYPES]
    assert len(sink.of_type("turn_completed")) < 8


async def test_retries_are_logged_with_match_turn_and_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = {"pro": 0, "judge": 0}

    def flaky_pro(request: GenerationRequest) -> list[str]:
        calls["pro"] += 1
        if calls["pro"] == 1:
            raise ModelError("overloaded", provider="test", status_code=503, retryable=True)
        return words("Arr.")

    def flaky_judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
        calls["judge"] += 1
        if calls["judge"] == 1:
            raise ModelError("judge overloaded", provider="test", status_code=503, retryable=True)
        return firm_judge(request, schema)

    judge = FunctionModel("test:judge", structured_fn=flaky_judge)
    with caplog.at_level(logging.WARNING):
        pro = FunctionModel("test:pro", stream_fn=flaky_pro)
        await run_match(lineup(pro, judges=[judge]), Recorder())
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        "match m-test turn 0 (test:pro): attempt 1 failed" in m and "overloaded" in m
        for m in messages
    ), messages
    assert any(
        "match m-test turn 0 judge test:judge: attempt 1 failed" in m and "judge overloaded" in m
        for m in messages
    ), messages
