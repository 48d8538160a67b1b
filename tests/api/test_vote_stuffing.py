"""Labels that cannot be stuffed: one client at one address, without cookies, can fill the live
tally but never a gold label, and cannot take every spectator slot of a node."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.requests import Request

from arena.api.client import client_address
from tests.api.conftest import Api, Live, MakeApi, MakeLive
from tests.api.helpers import emit, opening
from tests.api.test_votes import _played, _vote
from tests.api.test_ws import drain, new_match, spectator

CLOSE_WAIT = 30


def cookieless(api: Api, address: str) -> httpx.AsyncClient:
    """A client that keeps no cookie: every request arrives as a new voter."""
    transport = httpx.ASGITransport(app=api.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://arena.test", cookies=None)


async def test_thirty_cookieless_votes_from_one_address_make_no_gold_label(
    make_api: MakeApi,
) -> None:
    api = await make_api(votes_min=3, votes_rate=1000)
    record = await _played(api)
    accepted = 0
    for _ in range(30):
        async with cookieless(api, "10.9.9.9") as client:
            accepted += (await _vote(client, record.id, 0, "switched")).status_code == 200
    assert 3 <= accepted <= 20  # the address's share of voters on a turn (ARENA_VOTES_PER_IP)
    tally = (await api.client.get(f"/api/matches/{record.id}/votes")).json()
    (turn,) = tally["turns"]
    assert turn["voters"] == accepted and turn["ips"] == 1  # one address, however many ids
    export = await api.client.get("/api/votes/export")
    assert export.status_code == 200 and export.text == ""  # no gold label from one address
    judges = (await api.client.get("/api/judges")).json()
    assert all(j["crowd"]["turns"] == 0 for j in judges)


async def test_minting_identities_is_limited_per_address(make_api: MakeApi) -> None:
    api = await make_api(votes_new_voters_per_ip=5, votes_rate=1000)
    record = await _played(api)
    codes = []
    for turn in range(2):
        for _ in range(4):
            async with cookieless(api, "10.8.8.8") as client:
                codes.append((await _vote(client, record.id, turn, "holds")).status_code)
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
    async with cookieless(api, "10.8.8.9") as other:  # another address is not affected
        assert (await _vote(other, record.id, 0, "holds")).status_code == 200


async def test_three_addresses_make_a_gold_label_each_counted_once(make_api: MakeApi) -> None:
    api = await make_api(votes_min=3, votes_rate=1000)
    record = await _played(api)
    for address, labels in (("10.1.0.1", ["switched"] * 5), ("10.1.0.2", ["holds"]),
                            ("10.1.0.3", ["holds"])):  # fmt: skip
        for label in labels:
            async with cookieless(api, address) as client:
                assert (await _vote(client, record.id, 0, label)).status_code == 200
    export = (await api.client.get("/api/votes/export")).text
    rows = [json.loads(line) for line in export.splitlines()]
    # five identities from one address are one vote: 2 addresses hold, 1 switched
    (row,) = rows
    assert row["label"] == "holds" and row["addresses"] == 3
    assert row["address_votes"] == {"holds": 2, "wavers": 0, "switched": 1}
    assert row["votes"] == {"holds": 2, "wavers": 0, "switched": 5}


async def test_the_export_pages_with_a_cursor(make_api: MakeApi) -> None:
    api = await make_api(votes_min=1, votes_min_ips=1)
    ids = []
    for _ in range(3):
        record = await _played(api)
        ids.append(record.id)
        assert (await _vote(api.client, record.id, 0, "holds")).status_code == 200
    seen, url = [], "/api/votes/export?limit=2"
    while url:
        page = await api.client.get(url)
        seen += [json.loads(line)["match_id"] for line in page.text.split("\n") if line]
        following = page.headers.get("x-next-cursor")
        url = f"/api/votes/export?limit=2&cursor={following}" if following else ""
    assert seen == ids


def forwarded(peer: str, header: str | None) -> Request:
    headers = [(b"x-forwarded-for", header.encode())] if header else []
    return Request({"type": "http", "client": (peer, 1), "headers": headers})


def test_the_forwarding_header_counts_only_behind_a_trusted_proxy() -> None:
    spoof = forwarded("203.0.113.7", "1.2.3.4")
    assert client_address(spoof, []) == "203.0.113.7"
    assert client_address(spoof, ["10.0.0.0/8"]) == "203.0.113.7"  # not from the proxy
    proxied = forwarded("10.0.0.5", "1.2.3.4, 198.51.100.9, 10.0.0.7")
    # read from the right, past the trusted proxies; what the client wrote itself is not used
    assert client_address(proxied, ["10.0.0.0/8"]) == "198.51.100.9"
    assert client_address(forwarded("10.0.0.5", None), ["10.0.0.0/8"]) == "10.0.0.5"


@pytest.mark.slow
async def test_one_address_cannot_take_every_spectator_slot(make_live: MakeLive) -> None:
    live: Live = await make_live(max_spectators=10, max_spectators_per_ip=2)
    record = await new_match(live)
    start = await emit(live.store, record.id, opening(record))
    path = f"/ws/matches/{record.id}"
    async with spectator(live, path) as a, spectator(live, path) as b:
        for ws in (a, b):
            assert [json.loads(await ws.recv())["id"] for _ in start] == start
        async with spectator(live, path) as c:
            events, code, reason = await asyncio.wait_for(drain(c), CLOSE_WAIT)
        assert (events, code) == ([], 1013) and "your address" in reason
        # another address (another loopback one) still gets in
        async with spectator(live, path, local_addr=("127.0.0.2", 0)) as d:
            assert [json.loads(await d.recv())["id"] for _ in start] == start
