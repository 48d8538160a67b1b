"""Crowd votes over HTTP: every status code, one vote per spectator, rate limits, the coalesced
`votes` event, agreement in /api/judges and the export loading in judge-eval."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from arena.cli import app as cli
from arena.cli.deps import CliDeps
from arena.config import Settings
from arena.domain.events import TurnCompleted
from arena.domain.records import MatchRecord
from arena.judge_eval.rows import parse_rows
from arena.personas.library import load_library
from arena.store import Store
from arena.store.votes import CrowdVotes
from tests.api.conftest import Api, MakeApi
from tests.api.helpers import emit, failed, opening, play, spec
from tests.fakes import FakeModels


async def _played(api: Api) -> MatchRecord:
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)
    return record


def _other(api: Api, address: str | None = None) -> httpx.AsyncClient:
    """Another spectator: the same app, its own cookie jar (and, given, its own address)."""
    if address is None:
        return httpx.AsyncClient(transport=api.client._transport, base_url="http://arena.test")
    transport = httpx.ASGITransport(app=api.app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://arena.test")


async def _vote(client: httpx.AsyncClient, match: str, turn: int, label: str) -> httpx.Response:
    return await client.post(f"/api/matches/{match}/turns/{turn}/votes", json={"label": label})


async def test_one_vote_per_spectator_replacing_counts_once(api: Api) -> None:
    record = await _played(api)
    first = await _vote(api.client, record.id, 0, "holds")
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "arena_voter=" in cookie and "httponly" in cookie.lower()
    again = await _vote(api.client, record.id, 0, "switched")
    assert again.json()["replaced"] == "holds"
    assert "set-cookie" not in again.headers  # the signed cookie was accepted
    async with _other(api) as other:
        assert (await _vote(other, record.id, 0, "switched")).status_code == 200
    body = (await api.client.get(f"/api/matches/{record.id}/votes")).json()
    turn = body["turns"][0]
    assert turn["counts"] == {"holds": 0, "wavers": 0, "switched": 2}
    assert (turn["voters"], turn["ips"], turn["mine"]) == (2, 1, "switched")


async def test_status_codes(make_api: MakeApi) -> None:
    api = await make_api()
    record = await _played(api)
    assert (await _vote(api.client, "nope", 0, "holds")).status_code == 404
    assert (await _vote(api.client, record.id, record.total_turns, "holds")).status_code == 404
    assert (await _vote(api.client, record.id, -1, "holds")).status_code == 404
    assert (await _vote(api.client, record.id, 0, "maybe")).status_code == 422
    assert (await api.client.get("/api/matches/nope/votes")).status_code == 404
    pending = await api.store.create_match(spec())
    await emit(api.store, pending.id, opening(pending))
    conflict = await _vote(api.client, pending.id, 0, "holds")
    assert conflict.status_code == 409


async def test_forged_cookie_gets_a_fresh_id(api: Api) -> None:
    record = await _played(api)
    api.client.cookies.set("arena_voter", "abc.forged", domain="arena.test")
    response = await _vote(api.client, record.id, 0, "holds")
    assert response.status_code == 200
    assert "arena_voter=" in response.headers["set-cookie"]
    assert "abc." not in response.headers["set-cookie"]


async def test_rate_limit_per_spectator(make_api: MakeApi) -> None:
    api = await make_api(votes_rate=2)
    record = await _played(api)
    for label in ("holds", "wavers"):
        assert (await _vote(api.client, record.id, 0, label)).status_code == 200
    limited = await _vote(api.client, record.id, 0, "holds")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_per_ip_cap_bounds_distinct_spectators(make_api: MakeApi) -> None:
    api = await make_api(votes_per_ip=1)
    record = await _played(api)
    assert (await _vote(api.client, record.id, 0, "holds")).status_code == 200
    async with _other(api) as other:
        capped = await _vote(other, record.id, 0, "holds")
    assert capped.status_code == 429 and "retry-after" in capped.headers
    # the first spectator may still change its vote
    assert (await _vote(api.client, record.id, 0, "wavers")).status_code == 200


async def test_votes_off(make_api: MakeApi) -> None:
    api = await make_api(votes="off")
    record = await _played(api)
    assert (await _vote(api.client, record.id, 0, "holds")).status_code == 404
    assert (await api.client.get(f"/api/matches/{record.id}/votes")).status_code == 404
    assert (await api.client.get("/api/judges")).status_code == 404


async def test_votes_event_while_live_never_after_the_end(api: Api) -> None:
    record = await _live_turn(api)
    assert (await _vote(api.client, record.id, 0, "holds")).status_code == 200
    events = await api.store.read_events(record.id)
    assert events[-1].type == "votes"
    assert events[-1].model_dump()["counts"]["holds"] == 1

    finished = await _played(api)
    before = len(await api.store.read_events(finished.id))
    assert (await _vote(api.client, finished.id, 0, "holds")).status_code == 200
    assert len(await api.store.read_events(finished.id)) == before


async def test_judges_and_export(make_api: MakeApi, tmp_path: object) -> None:
    api = await make_api(votes_min=3)
    empty = (await api.client.get("/api/judges")).json()
    assert all(j["crowd_label"] == "no crowd votes yet" for j in empty)
    record = await _played(api)
    for i in range(3):
        async with _other(api, f"10.0.0.{i + 1}") as c:
            assert (await _vote(c, record.id, 0, "holds" if i else "wavers")).status_code == 200
    # the test judge (tests.fakes.firm_judge) finds the speaker holding its side: so did 2 of 3
    rows = (await api.client.get("/api/judges")).json()
    info = next(r for r in rows if r["judge"] == "local:smollm2")
    assert info["crowd_label"] == "agrees with spectators: 100% over 1 turn, kappa n/a"
    assert (info["crowd"]["turns"], info["crowd"]["accuracy"]) == (1, 1.0)
    match = (await api.client.get(f"/api/matches/{record.id}/votes")).json()
    assert match["alpha"] == pytest.approx(0.0)  # by hand: 1 - (3 - 1) * 2 / (2 * 1 * 2)
    assert match["turns"][0]["majority"] == "holds"
    export = await api.client.get("/api/votes/export")
    rows_, malformed = parse_rows(export.text)
    assert malformed == [] and len(rows_) == 1
    assert (rows_[0].label, rows_[0].side, rows_[0].motion) == ("holds", "pro", record.spec.motion)


async def test_min_votes_hides_the_majority(api: Api) -> None:
    record = await _played(api)
    await _vote(api.client, record.id, 1, "holds")
    body = (await api.client.get(f"/api/matches/{record.id}/votes")).json()
    assert body["turns"][0]["turn"] == 1 and body["turns"][0]["majority"] is None


def test_export_command_writes_rows_judge_eval_scores(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def setup() -> str:
        store = await Store.connect(settings)
        try:
            record = await store.create_match(spec())
            await play(store, load_library(settings.personas_dir), record)
            votes = CrowdVotes(store.redis, store.keys)
            for voter, label in (("a", "holds"), ("b", "holds"), ("c", "switched")):
                await votes.cast(record.id, 0, voter, label, voter, ip_cap=10)  # type: ignore[arg-type]
            await votes.cast(record.id, 1, "a", "holds", "a", ip_cap=10)  # under --min-votes
            return record.id
        finally:
            await store.close()

    match_id = asyncio.run(setup())
    deps = CliDeps(settings=lambda: settings, models=lambda s: FakeModels())
    out = tmp_path / "crowd.jsonl"
    result = CliRunner().invoke(cli.app, ["votes", "export", "--min-votes", "3", "--out", str(out)],
                                obj=deps)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["match_id"], r["turn"], r["label"]) for r in rows] == [(match_id, 0, "holds")]
    assert rows[0]["votes"] == {"holds": 2, "wavers": 0, "switched": 1}
    report = tmp_path / "report.json"
    args = ["judge-eval", str(out), "--judge", "test:firm", "--json", str(report)]
    result = CliRunner().invoke(cli.app, args, obj=deps)
    assert result.exit_code == 0, result.output
    # the test judge always finds the speaker holding its side, as the crowd's majority did
    scored = json.loads(report.read_text())
    assert (scored["n"], scored["accuracy"]) == (1, 1.0)


async def _live_turn(api: Api) -> MatchRecord:
    """A match whose turn 0 is completed and which is still running."""
    record = await api.store.create_match(spec())
    done = TurnCompleted(
        match_id=record.id, turn=0, side="pro", kind="opening", text="Cats.",
        tokens_in=1, tokens_out=1, ttft_ms=1.0, duration_ms=1.0,
    )  # fmt: skip
    await emit(api.store, record.id, [*opening(record), done])
    return record


async def test_votes_events_are_coalesced_the_last_one_complete(api: Api) -> None:
    record = await _live_turn(api)
    for label in ("holds", "holds", "switched", "wavers", "holds"):
        async with _other(api) as spectator:
            assert (await _vote(spectator, record.id, 0, label)).status_code == 200
    await api.app.state.votes.aclose()  # the trailing event, due within a second
    sent = [e for e in await api.store.read_events(record.id) if e.type == "votes"]
    assert len(sent) == 2  # one at once, one trailing with the tally of the burst
    assert sent[0].model_dump()["total"] == 1
    assert sent[-1].model_dump()["counts"] == {"holds": 3, "wavers": 1, "switched": 1}


async def test_no_votes_event_after_the_terminal_event(api: Api) -> None:
    record = await _live_turn(api)
    for label in ("holds", "switched"):
        async with _other(api) as spectator:
            await _vote(spectator, record.id, 0, label)
    await emit(api.store, record.id, [failed(record)])  # the match ends before the trailing one
    await api.app.state.votes.aclose()
    events = await api.store.read_events(record.id)
    assert events[-1].type == "match_failed"
    assert [e.type for e in events].count("votes") == 1


async def test_a_voter_cookie_outlives_a_restart_of_the_api(make_api: MakeApi) -> None:
    api = await make_api()
    record = await api.store.create_match(spec())
    await play(api.store, api.library, record)
    url = f"/api/matches/{record.id}/turns/0/votes"
    first = await api.client.post(url, json={"label": "holds"})
    cookie = first.cookies["arena_voter"]
    restarted = await make_api()  # same arena, same data folder: a new process
    restarted.client.cookies.set("arena_voter", cookie, domain="arena.test")
    again = await restarted.client.post(url, json={"label": "wavers"})
    assert again.status_code == 200 and again.json()["replaced"] == "holds"
    assert "set-cookie" not in again.headers  # recognised, not a new voter
