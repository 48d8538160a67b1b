"""The turns the crowd voted on, with what agreement and export need: each judge's label, the
turn's text and the opponent's text before it, read from the match's events."""

from __future__ import annotations

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


async def voted_turns(
    store: Store, votes: CrowdVotes, match_ids: list[str] | None = None
) -> list[VotedTurn]:
    """Every completed turn with at least one vote, of `match_ids` (default: all voted)."""
    out: list[VotedTurn] = []
    for match_id in await votes.voted_matches() if match_ids is None else match_ids:
        record = await store.get_match(match_id)
        if record is None:
            continue
        counts = await votes.tallies(match_id, record.total_turns)
        if not any(any(c.values()) for c in counts.values()):
            continue
        for t in await judged_turns(store, votes, record):
            c = counts.get(t.turn)
            if c is None or not any(c.values()):
                continue
            labels = TurnLabels(
                match_id=match_id, turn=t.turn, side=t.side, counts=c, judges=t.judges
            )
            out.append(VotedTurn(labels, record.spec.motion, t.text, t.opponent))
    return out
