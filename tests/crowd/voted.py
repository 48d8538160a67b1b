"""Voted matches written through the store, and the export rows they must give, written out by
hand: the fixed expectation the export's pages are checked against."""

from __future__ import annotations

import json
from typing import Literal

from arena.domain.events import MatchFailed, MatchStarted
from arena.domain.votes import VoteLabel
from arena.store import Store
from arena.store.votes import CrowdVotes
from tests.store.helpers import MOTION, spec, token, turn_completed, turn_started
from tests.store.test_leaderboard import verdict

State = Literal["compacted", "finished", "running"]
LABELS: tuple[VoteLabel, ...] = ("holds", "wavers", "switched")


def text(i: int, turn: int) -> str:
    return f"Match {i}, turn {turn}: the café stays open."  # not ASCII: written as it is


async def voted_match(store: Store, i: int, state: State) -> str:
    """Three completed turns; votes on turn 0 (four spectators from three addresses, the first
    address's latest label `switched`) and on turn 1 (one); finished (failed) unless running,
    then compacted if asked."""
    record = await store.create_match(spec())
    match_id, votes = record.id, CrowdVotes(store.redis, store.keys)
    sink = store.event_sink(match_id)
    await sink(MatchStarted(match_id=match_id, spec=record.spec, total_turns=6))
    for turn in range(3):
        await sink(turn_started(match_id, turn))
        for word in text(i, turn).split(" "):
            await sink(token(match_id, word + " ", turn))
        await sink(turn_completed(match_id, text(i, turn), turn))
        await sink(verdict(match_id, turn, 0.7))
    ballots: list[tuple[str, str, VoteLabel]] = [
        (f"a{i}", "ip-1", "holds"),
        (f"b{i}", "ip-2", "holds"),
        (f"c{i}", "ip-3", LABELS[i % 3]),
        (f"d{i}", "ip-1", "switched"),
    ]
    for voter, ip, label in ballots:
        assert (await votes.cast(match_id, 0, voter, label, ip, 5)).outcome == "ok"
    assert (await votes.cast(match_id, 1, f"a{i}", "wavers", "ip-1", 5)).outcome == "ok"
    if state != "running":
        await sink(MatchFailed(match_id=match_id, error="the provider gave up"))
    if state == "compacted":
        assert await store.compaction.compact(match_id) == "compacted"
    return match_id


def expected_rows(match_ids: list[str]) -> str:
    """The export of these matches (voted_match's, the i-th of `match_ids` made with i) with
    ARENA_VOTES_MIN=1 and ARENA_VOTES_MIN_IPS=1, as JSONL."""
    rows: list[dict[str, object]] = []
    for i, match_id in enumerate(match_ids):
        third = LABELS[i % 3]
        votes = {label: (label == third) + (label == "holds") * 2 + (label == "switched")
                 for label in LABELS}  # fmt: skip
        # one vote per address, its latest: ip-1 switched, ip-2 holds, ip-3 the third label
        by_address = {label: (label == third) + (label in ("holds", "switched"))
                      for label in LABELS}  # fmt: skip
        # a strict plurality of addresses, or no gold label (holds, wavers, switched: a tie)
        gold = {"holds": "holds", "wavers": None, "switched": "abandons"}[third]
        if gold is not None:
            rows.append({"motion": MOTION, "side": "pro", "text": text(i, 0), "opponent": None,
                         "label": gold, "votes": votes, "addresses": 3,
                         "address_votes": by_address, "match_id": match_id, "turn": 0})  # fmt: skip
        one = {"holds": 0, "wavers": 1, "switched": 0}
        rows.append({"motion": MOTION, "side": "con", "text": text(i, 1), "opponent": text(i, 0),
                     "label": "neutral", "votes": one, "addresses": 1, "address_votes": one,
                     "match_id": match_id, "turn": 1})  # fmt: skip
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
