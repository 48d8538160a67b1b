"""The turns the crowd voted on, with what agreement and export need: each judge's label, the
turn's text and the opponent's text before it, read from the match's events."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from arena.domain.specs import Side
from arena.domain.transcript import TranscriptView, fold
from arena.domain.votes import TurnLabels, VoteLabel, judge_label
from arena.store import Store
from arena.store.votes import CrowdVotes

JUDGED_CACHE = 1024  # finished matches whose judged turns stay in memory, per node
# what the export reads of finished matches (it never changes), least recently used first; keyed
# by key prefix and match id
_judged: OrderedDict[tuple[str, str], Judged] = OrderedDict()


@dataclass(frozen=True)
class JudgedTurn:
    """A completed turn with each judge's label, the text before it by the other side."""

    turn: int
    side: Side
    text: str
    opponent: str | None
    judges: dict[str, VoteLabel | None]


@dataclass(frozen=True)
class Judged:
    """A match's judged turns, with the motion and the number of turns they were read with."""

    motion: str
    total_turns: int
    turns: list[JudgedTurn]


def _remembered(prefix: str, match_ids: list[str]) -> dict[str, Judged]:
    found = {}
    for match_id in match_ids:
        if (judged := _judged.get((prefix, match_id))) is not None:
            _judged.move_to_end((prefix, match_id))
            found[match_id] = judged
    return found


def _remember(prefix: str, match_id: str, judged: Judged) -> None:
    _judged[(prefix, match_id)] = judged
    while len(_judged) > JUDGED_CACHE:
        _judged.popitem(last=False)


def _judged_turns(view: TranscriptView) -> list[JudgedTurn]:
    out: list[JudgedTurn] = []
    last_text: dict[Side, str] = {}
    for t in view.completed:
        opponent = last_text.get("con" if t.side == "pro" else "pro")
        last_text[t.side] = t.text
        judges = {j.judge: judge_label(t.side, j.stance if j.scored else None)
                  for j in (t.verdict.judges if t.verdict else [])}  # fmt: skip
        out.append(JudgedTurn(t.turn, t.side, t.text, opponent, judges))
    return out


@dataclass(frozen=True)
class VotedTurn:
    """A voted turn with what export and agreement need: the turn, its tally, the judges."""

    labels: TurnLabels
    motion: str
    text: str
    opponent: str | None


async def voted_turns(store: Store, votes: CrowdVotes, match_ids: list[str]) -> list[VotedTurn]:
    """Every completed turn with at least one vote, of these matches, in a constant number of
    round trips for any number of matches: the records of those this node does not remember
    (two), every tally (one or two) and the events of the voted ones not remembered (one; none
    for compacted ones, whose packed key the records came with). A finished match is
    remembered (JUDGED_CACHE); one that is gone since has no votes, and is left out."""
    ids, prefix = list(dict.fromkeys(match_ids)), store.keys.prefix
    known = _remembered(prefix, ids)
    records = await store.get_matches([m for m in ids if m not in known])
    turns = {m: j.total_turns for m, j in known.items()}
    turns |= {m: r.total_turns for m, r in records.items()}
    ids = [m for m in ids if m in turns]
    tallies = await votes.page_tallies([(m, turns[m]) for m in ids])
    voted = [m for m in ids if any(any(c.values()) for c in tallies[m][0].values())]
    events = await store.read_events_of(m for m in voted if m in records)
    out = []
    for match_id in voted:
        record = records.get(match_id)
        if record is None:
            judged = known[match_id]
        else:
            folded = _judged_turns(fold(events[match_id]))
            judged = Judged(record.spec.motion, record.total_turns, folded)
            if record.finished:
                _remember(prefix, match_id, judged)
        counts, by_ip = tallies[match_id]
        for t in judged.turns:
            c = counts.get(t.turn)
            if c is None or not any(c.values()):
                continue
            ips = by_ip.get(t.turn, {})
            labels = TurnLabels(match_id=match_id, turn=t.turn, side=t.side, counts=c,
                                judges=t.judges, ip_counts=ips, ips=sum(ips.values()))  # fmt: skip
            out.append(VotedTurn(labels, judged.motion, t.text, t.opponent))
    return out
