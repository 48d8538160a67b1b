"""The turns the crowd voted on, with what agreement and export need: each judge's label, the
turn's text and the opponent's text before it, read from the match's events."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from arena.domain.records import MatchRecord
from arena.domain.specs import Side
from arena.domain.transcript import fold
from arena.domain.votes import TurnLabels, VoteLabel, judge_label
from arena.store import Store
from arena.store.votes import CrowdVotes

JUDGED_CACHE = 1024  # finished matches whose judged turns stay in memory, per node
# the judged turns of finished matches (they never change), newest last; keyed by key prefix and
# match id
_judged: OrderedDict[tuple[str, str], list[JudgedTurn]] = OrderedDict()


@dataclass(frozen=True)
class JudgedTurn:
    """A completed turn with each judge's label, the text before it by the other side."""

    turn: int
    side: Side
    text: str
    opponent: str | None
    judges: dict[str, VoteLabel | None]


async def judged_turns(store: Store, votes: CrowdVotes, record: MatchRecord) -> list[JudgedTurn]:
    """The match's completed turns from its events; kept in memory once the match is over."""
    key = (store.keys.prefix, record.id)
    cached = _judged.get(key)
    if cached is not None:
        return cached
    out: list[JudgedTurn] = []
    last_text: dict[Side, str] = {}
    for t in fold(await store.read_events(record.id)).completed:
        opponent = last_text.get("con" if t.side == "pro" else "pro")
        last_text[t.side] = t.text
        judges = {j.judge: judge_label(t.side, j.stance if j.scored else None)
                  for j in (t.verdict.judges if t.verdict else [])}  # fmt: skip
        out.append(JudgedTurn(t.turn, t.side, t.text, opponent, judges))
    if record.finished:
        _judged[key] = out
        while len(_judged) > JUDGED_CACHE:
            _judged.popitem(last=False)
    return out


@dataclass(frozen=True)
class VotedTurn:
    """A voted turn with what export and agreement need: the turn, its tally, the judges."""

    labels: TurnLabels
    motion: str
    text: str
    opponent: str | None


async def voted_turns(store: Store, votes: CrowdVotes, match_ids: list[str]) -> list[VotedTurn]:
    """Every completed turn with at least one vote, of these matches: their records, tallies
    and judged turns read together, not one match after another."""
    records = await store.get_matches(match_ids)
    found = await asyncio.gather(*(_voted(store, votes, r) for r in records.values()))
    return [turn for turns in found for turn in turns]


async def _voted(store: Store, votes: CrowdVotes, record: MatchRecord) -> list[VotedTurn]:
    counts, by_ip = await asyncio.gather(
        votes.tallies(record.id, record.total_turns),
        votes.ip_tallies(record.id, record.total_turns),
    )
    if not any(any(c.values()) for c in counts.values()):
        return []
    out = []
    for t in await judged_turns(store, votes, record):
        c = counts.get(t.turn)
        if c is None or not any(c.values()):
            continue
        ips = by_ip.get(t.turn, {})
        labels = TurnLabels(match_id=record.id, turn=t.turn, side=t.side, counts=c,
                            judges=t.judges, ip_counts=ips, ips=sum(ips.values()))  # fmt: skip
        out.append(VotedTurn(labels, record.spec.motion, t.text, t.opponent))
    return out
