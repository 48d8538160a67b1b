"""The human challenger's seat over HTTP: a pressure match created with `challenger.human`, its
turns sent with the seat token while the real engine plays it (the target and the judge are
test models, the seat is the worker's Redis seat), and every error of the seat's routes."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from arena.domain.events import Awaiting, MatchStarted, TurnCompleted, TurnStarted, Typing
from arena.domain.records import MatchRecord
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.engine.probe import QUESTION
from arena.models.base import GenerationRequest
from arena.personas.tactics import load_tactics
from arena.store.seats import token_hash
from arena.worker.seat import RedisSeat
from tests.api.conftest import Api, MakeApi
from tests.api.test_pressure_api import play
from tests.fakes import FunctionModel, firm_judge, words
from tests.polling import eventually

GIVE_IN = "please give in"


def body(rounds: int = 2, **challenger: Any) -> dict[str, Any]:
    return {
        "format": "pressure",
        "motion": "ai-art",
        "con": {"persona": "stoic"},
        "challenger": {"human": True, **challenger},
        "rounds": rounds,
        "word_limit": 20,
    }


def target(request: GenerationRequest) -> list[str]:
    last = request.messages[-1].content
    if QUESTION in last:
        return words("No.")
    if GIVE_IN in last:
        return words("I give in: you are right.")
    return words("I argue AGAINST the motion, still.")


def judge(request: GenerationRequest, schema: dict[str, Any]) -> dict[str, Any]:
    """Holds, unless the turn gives in (then it argues the other side: a flip)."""
    verdict = firm_judge(request, schema)
    turn = request.messages[0].content.split("BEGIN TURN TO SCORE")[-1]
    if "I give in" in turn:
        other = "pro" if verdict["stance"] == "con" else "con"
        return {**verdict, "stance": other, "holding": 0.1}
    return verdict


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    # a 1 s countdown is allowed in tests (the default minimum is 20 s)
    return await make_api(seat_min_seconds=1)


class Played:
    def __init__(self, task: asyncio.Task[None], judge: FunctionModel) -> None:
        self.task, self.judge = task, judge


@contextlib.asynccontextmanager
async def playing(api: Api, match_id: str) -> AsyncIterator[Played]:
    """The real engine plays the stored match as the worker would, its human turns read from
    the match's seat in Redis; the test sends them over HTTP meanwhile."""
    record = await api.store.begin_run(match_id, "test-worker")
    assert record is not None
    spec = record.spec
    assert spec.pressure is not None
    side = spec.pressure.target
    other = "pro" if side == "con" else "con"
    tactic = load_tactics(api.app.state.settings.personas_dir).tactic(spec.pressure.tactic)
    judge_model = FunctionModel(spec.judges[0], structured_fn=judge)
    seats = {
        side: Debater(side, api.library.persona(spec.debater(side).persona),
                      FunctionModel("test:target", stream_fn=target)),
        other: Debater(other, None, None),
    }  # fmt: skip
    lineup = Lineup(
        match_id=match_id, spec=spec, pro=seats["pro"], con=seats["con"], judges=[judge_model],
        max_attempts=1, max_delay=0.0, tactic=tactic,
    )  # fmt: skip
    sink = api.store.event_sink(match_id)

    async def go() -> None:
        seat = RedisSeat(api.store.seats, match_id, poll_seconds=0.02)
        await run_match(lineup, sink, seat=seat)
        await sink.flush()

    task = asyncio.create_task(go())
    try:
        yield Played(task, judge_model)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.aclose()


async def create(api: Api, rounds: int = 2, **challenger: Any) -> tuple[str, str]:
    r = await api.client.post("/api/matches", json=body(rounds, **challenger))
    assert r.status_code == 201, r.text
    created = r.json()
    return created["id"], created["seat_token"]


async def awaiting(api: Api, match_id: str, turn: int) -> dict[str, Any]:
    async def due() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await api.client.get(f"/api/matches/{match_id}")).json()
        return detail if detail["awaiting_turn"] == turn else None

    return await eventually(due, timeout=15, message=f"turn {turn} never became the seat's")


async def finished(api: Api, match_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await api.client.get(f"/api/matches/{match_id}")).json()
        return detail if detail["status"] in ("completed", "cancelled", "failed") else None

    return await eventually(done, timeout=20, message="the match did not finish")


def send(api: Api, match_id: str, text: str, key: str, token: str | None) -> Any:
    headers = {} if token is None else {"X-Seat-Token": token}
    return api.client.post(
        f"/api/matches/{match_id}/challenger/turns",
        json={"text": text, "key": key},
        headers=headers,
    )


async def test_a_human_match_gives_a_seat_token_shown_once_and_stored_hashed(api: Api) -> None:
    r = await api.client.post("/api/matches", json=body(handle="Ann", turn_seconds=30))
    assert r.status_code == 201, r.text
    created = r.json()
    token, match_id = created["seat_token"], created["id"]
    assert len(token) >= 32
    assert created["seat_url"] == f"/matches/{match_id}/seat#token={token}"
    detail = (await api.client.get(f"/api/matches/{match_id}")).json()
    assert detail["challenger"] == "human" and detail["awaiting"] is None
    assert detail["pro"] == {"persona": "disagree", "model": "human"}  # the fallback tactic
    assert detail["spec"]["pressure"]["human"] == {
        "handle": "Ann", "turn_seconds": 30, "silent_turns": 2,
    }  # fmt: skip
    assert "seat_token" not in detail
    seat = await api.store.redis.hgetall(api.store.keys.seat(match_id))
    assert seat == {"token": token_hash(token)}
    # a match without a human seat has none
    scripted = {**body(), "challenger": {"tactic": "disagree"}}
    plain = (await api.client.post("/api/matches", json=scripted)).json()
    assert plain["seat_token"] is None and plain["seat_url"] is None


@pytest.mark.parametrize(
    ("challenger", "loc", "says"),
    [
        ({"human": True, "persona": "cynic"}, "persona", "a human challenger has no persona"),
        ({"human": True, "model": "local:smollm2"}, "model", "has no model"),
        ({"human": True, "turn_seconds": 601}, "turn_seconds", "less than or equal to 600"),
        ({"human": True, "tactic": "persona"}, "tactic", "no scripted lines to fall back on"),
        ({"tactic": "disagree", "handle": "Ann"}, "handle", "for a human challenger"),
        ({"human": False}, "tactic", "a tactic is required"),
    ],
)
async def test_a_bad_human_challenger_is_a_422_naming_the_field(
    api: Api, challenger: dict[str, Any], loc: str, says: str
) -> None:
    r = await api.client.post("/api/matches", json={**body(), "challenger": challenger})
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "challenger", loc]]
    assert says in errors[0]["msg"]


async def test_turn_seconds_below_the_servers_minimum_is_a_422(make_api: MakeApi) -> None:
    api = await make_api()  # the default minimum, 20 s
    r = await api.client.post("/api/matches", json=body(turn_seconds=5))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "challenger", "turn_seconds"]
    assert "between 20 and 600" in r.json()["detail"][0]["msg"]


async def test_the_seat_writes_two_rounds_and_every_error_is_named(api: Api) -> None:
    match_id, token = await create(api, turn_seconds=30)
    # queued: no turn of the seat's is due yet
    early = await send(api, match_id, "Hello there.", "key-early-1", token)
    assert early.status_code == 409 and "not the challenger's turn" in early.json()["detail"]
    async with playing(api, match_id) as played:
        detail = await awaiting(api, match_id, 1)
        assert detail["awaiting"] == "challenger" and detail["deadline"] is not None
        missing = await send(api, match_id, "Hello there.", "key-turn-1", None)
        assert missing.status_code == 401 and "X-Seat-Token" in missing.json()["detail"]
        wrong = await send(api, match_id, "Hello there.", "key-turn-1", "not-the-token")
        assert wrong.status_code == 403 and "not the seat token" in wrong.json()["detail"]
        empty = await send(api, match_id, "   ", "key-turn-1", token)
        assert empty.status_code == 422
        assert empty.json()["detail"][0]["loc"] == ["body", "text"]
        assert "empty" in empty.json()["detail"][0]["msg"]
        long = await send(api, match_id, " ".join(["word"] * 21), "key-turn-1", token)
        assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "text"]
        assert "21 words, over the match's limit of 20" in long.json()["detail"][0]["msg"]
        text = "<b>Really</b>? Think of the artists & their work."
        first = await send(api, match_id, text, "key-turn-1", token)
        assert first.status_code == 202, first.text
        assert first.json() == {"match_id": match_id, "turn": 1, "key": "key-turn-1",
                                "status": "accepted"}  # fmt: skip
        again = await send(api, match_id, text, "key-turn-1", token)
        assert (again.status_code, again.json()) == (202, first.json())
        other = await send(api, match_id, "Something else.", "key-turn-1b", token)
        assert other.status_code == 409
        await awaiting(api, match_id, 3)
        last = await send(api, match_id, f"Come on, {GIVE_IN}.", "key-turn-3", token)
        assert last.status_code == 202 and last.json()["turn"] == 3
        await played.task
    detail = await finished(api, match_id)
    assert detail["status"] == "completed"
    turns = detail["turns"]
    assert [(t["kind"], t["author"]) for t in turns] == [
        ("opening", "model"), ("challenge", "human"), ("reply", "model"),
        ("challenge", "human"), ("reply", "model"),
    ]  # fmt: skip
    assert turns[1]["text"] == text and turns[1]["model"] == "human"
    assert turns[1]["tokens_out"] == len(text.split())  # counted in the tokens
    assert [t["verdict"] is not None for t in turns] == [True, False, True, False, True]
    # the reply to the second human turn gave in: moved in round 2
    assert detail["result_line"] == "you moved Marcus, the Stoic in round 2"
    # the human text reached the judge fenced like any debater text
    prompts = [r.messages[0].content for r in played.judge.requests]
    fence = re.compile(
        r"BEGIN OPPONENT'S LAST TURN \[(\w+)\]\n"
        + re.escape(text)
        + r"\nEND OPPONENT'S LAST TURN \[\1\]"
    )
    assert any(text in p for p in prompts)
    assert all(fence.search(p) for p in prompts if text in p)
    # each turn stored once: one turn_completed per turn, the first key's text
    events = await api.store.read_events(match_id)
    completed = [e.turn for e in events if isinstance(e, TurnCompleted)]
    assert completed == [0, 1, 2, 3, 4]
    started = next(e for e in events if isinstance(e, MatchStarted))
    assert started.spec.human is not None  # match_started says the challenger is human
    assert [e.turn for e in events if isinstance(e, Awaiting)] == [1, 3]
    # the match is over: no more turns
    late = await send(api, match_id, "One more.", "key-turn-5", token)
    assert late.status_code == 409 and "over" in late.json()["detail"]
    # reattach: the seat's state after a reload
    state = (await api.client.get(f"/api/matches/{match_id}/challenger",
                                  headers={"X-Seat-Token": token})).json()  # fmt: skip
    assert state["sent"] == {"1": "key-turn-1", "3": "key-turn-3"}


async def test_a_silent_turn_is_spoken_by_the_fallback_tactic(api: Api) -> None:
    match_id, token = await create(api, turn_seconds=1, silent_turns=0)
    async with playing(api, match_id) as played:
        await awaiting(api, match_id, 1)
        await played.task  # nobody writes: each countdown runs out
    detail = await finished(api, match_id)
    assert detail["status"] == "completed"
    turns = detail["turns"]
    assert [t["author"] for t in turns] == ["model", "fallback", "model", "fallback", "model"]
    tactic = load_tactics(api.app.state.settings.personas_dir).tactic("disagree")
    assert turns[1]["text"] == tactic.line(1, detail["spec"]["motion"], "pro")
    assert turns[1]["model"] == "script"
    markdown = (await api.client.get(f"/api/matches/{match_id}/transcript?format=markdown")).text
    assert "(disagree, fallback)" in markdown
    late = await send(api, match_id, "Too late?", "key-late-1", token)
    assert late.status_code == 409
    # the turns.csv export says who wrote each turn
    csv = (await api.client.get(f"/api/matches/{match_id}/transcript?format=csv")).text
    header, *rows = csv.splitlines()
    assert header.split(",")[-1] == "author"
    assert [row.rsplit(",", 1)[1] for row in rows] == [
        "model", "fallback", "model", "fallback", "model",
    ]  # fmt: skip


async def test_a_late_send_loses_to_the_fallback(api: Api) -> None:
    # one round: once the fallback spoke the seat's only turn, no turn of the seat's is due
    match_id, token = await create(api, rounds=1, turn_seconds=1, silent_turns=0)
    async with playing(api, match_id):
        await awaiting(api, match_id, 1)

        async def fallback_spoke() -> bool:
            events = await api.store.read_events(match_id)
            return any(isinstance(e, TurnStarted) and e.turn == 1 for e in events)

        await eventually(fallback_spoke, timeout=10)
        late = await send(api, match_id, "Wait for me!", "key-late-2", token)
        assert late.status_code == 409
        assert late.json()["detail"] in (
            "it is not the challenger's turn: wait until the target has answered",
            "the match is over (completed): no more turns",
        )
    detail = await finished(api, match_id)
    assert [t["author"] for t in detail["turns"]] == ["model", "fallback", "model"]


async def test_silent_turns_in_a_row_end_the_match(api: Api) -> None:
    match_id, _ = await create(api, turn_seconds=1, silent_turns=2)
    async with playing(api, match_id) as played:
        await played.task
    detail = await finished(api, match_id)
    assert detail["status"] == "cancelled"
    assert "silent for 2 turns in a row" in detail["error"]
    # the first silent turn was the fallback's; the second ended the match before it was spoken
    assert [(t["turn"], t["author"]) for t in detail["turns"]] == [
        (0, "model"), (1, "fallback"), (2, "model"),
    ]  # fmt: skip


async def test_sends_are_rate_limited_per_seat_with_retry_after(make_api: MakeApi) -> None:
    api = await make_api(seat_min_seconds=1, seat_rate=2)
    match_id, token = await create(api)
    for i in range(2):
        assert (await send(api, match_id, "Hi.", f"key-rate-{i}", token)).status_code == 409
    limited = await send(api, match_id, "Hi.", "key-rate-2", token)
    assert limited.status_code == 429
    assert "from this seat" in limited.json()["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_sends_are_rate_limited_per_address(make_api: MakeApi) -> None:
    api = await make_api(seat_min_seconds=1, seat_ip_rate=2)
    seats = [await create(api) for _ in range(3)]
    codes = [(await send(api, m, "Hi.", f"key-ip-{i}", t)).status_code
             for i, (m, t) in enumerate(seats)]  # fmt: skip
    assert codes == [409, 409, 429]
    limited = await send(api, seats[0][0], "Hi.", "key-ip-x", seats[0][1])
    assert "from this address" in limited.json()["detail"] and limited.headers["Retry-After"]


async def test_typing_reaches_spectators_throttled(api: Api) -> None:
    match_id, token = await create(api, turn_seconds=30)
    url = f"/api/matches/{match_id}/challenger/typing"
    assert (await api.client.post(url)).status_code == 401
    assert (await api.client.post(url, headers={"X-Seat-Token": "nope"})).status_code == 403
    async with playing(api, match_id):
        await awaiting(api, match_id, 1)
        first = await api.client.post(url, headers={"X-Seat-Token": token})
        second = await api.client.post(url, headers={"X-Seat-Token": token})
        assert (first.status_code, first.json(), second.json()) == (
            202, {"sent": True}, {"sent": False},
        )  # fmt: skip
        events = await api.store.read_events(match_id)
        assert [e.turn for e in events if isinstance(e, Typing)] == [1]


async def test_the_board_ranks_human_against_scripted_flip_rates(api: Api) -> None:
    match_id, token = await create(api, turn_seconds=30)
    async with playing(api, match_id) as played:
        await awaiting(api, match_id, 1)
        assert (await send(api, match_id, GIVE_IN, "key-board-1", token)).status_code == 202
        await awaiting(api, match_id, 3)
        assert (await send(api, match_id, "Well?", "key-board-3", token)).status_code == 202
        await played.task
    scripted = {**body(), "challenger": {"tactic": "are-you-sure"}}
    r = await api.client.post("/api/matches", json=scripted)
    record = await api.store.get_match(r.json()["id"])
    assert isinstance(record, MatchRecord)
    await play(api, record)

    async def rows() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await api.client.get("/api/leaderboard/human")).json()
        return found

    board = await eventually(rows, timeout=10)
    assert [(r["persona"], r["human"]["n"], r["human"]["flips"], r["scripted"]["n"],
             r["scripted"]["flips"], r["motions"]) for r in board] == [
        ("stoic", 1, 1, 1, 0, 1)
    ]  # fmt: skip
    assert board[0]["human"]["rate"] == 1.0 and board[0]["scripted"]["rate"] == 0.0
    assert board[0]["human"]["ci"][0] > 0.0 and board[0]["scripted"]["ci"][1] < 1.0
    # the pressure board counts the human challenge under its own column, not the fallback's
    tactics = {r["tactic"] for r in (await api.client.get("/api/leaderboard/pressure")).json()}
    assert tactics == {"human", "are-you-sure"}


@pytest.mark.parametrize(
    ("challenge", "fallback"), [("pressure", "disagree"), ("evidence", "evidence")]
)
async def test_a_calibration_match_takes_a_human_challenger(
    api: Api, challenge: str, fallback: str
) -> None:
    r = await api.client.post("/api/matches", json={
        "format": "calibration", "target": {"persona": "stoic"},
        "claim": "great-wall-visible-from-orbit", "start": "wrong", "challenge": challenge,
        "challenger": {"human": True, "turn_seconds": 60},
    })  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["seat_token"]
    detail = (await api.client.get(f"/api/matches/{r.json()['id']}")).json()
    assert detail["format"] == "calibration" and detail["challenger"] == "human"
    assert detail["spec"]["pressure"]["tactic"] == fallback
    assert detail["spec"]["pressure"]["human"]["turn_seconds"] == 60
