"""Crowd votes as Redis returns them, by turn: a live match's per-turn hashes, a compacted
match's ballots (one letter per turn per spectator) and per-address pairs (arena.store.votes)."""

from __future__ import annotations

from typing import Any

from arena.domain.votes import VOTE_LABELS, VoteLabel, tally

# a match's tallies by turn: every vote, and each address's latest vote once
BothTallies = tuple[dict[int, dict[VoteLabel, int]], dict[int, dict[VoteLabel, int]]]

_LETTERS: dict[str, VoteLabel] = {label[0]: label for label in VOTE_LABELS}


def ballot_labels(ballot: str) -> dict[int, VoteLabel]:
    """A compacted match's ballot (one letter per turn: h, w, s, or - for none) by turn."""
    return {t: _LETTERS[c] for t, c in enumerate(ballot) if c in _LETTERS}


def address_votes(pairs: str) -> dict[int, tuple[int, VoteLabel | None]]:
    """A compacted match's votes from one IP hash ("0:2h 3:1s"): per turn, the spectators who
    first voted from it, and its latest label (None when not recorded)."""
    out: dict[int, tuple[int, VoteLabel | None]] = {}
    for pair in pairs.split():
        turn, _, rest = pair.partition(":")
        out[int(turn)] = int(rest[:-1] or 0), _LETTERS.get(rest[-1:])
    return out


def untorn(replies: list[Any], *, last_try: bool = False) -> list[Any] | None:
    """The replies between a read of a match's `packed` flag before and one after (a
    non-transactional pipeline: other clients' commands may run between its commands), or None
    when the flag moved: a compaction, which folds the per-turn hashes into the ballots in one
    step, ran between the reads, so the per-turn hashes were read before it and the ballots
    after, and the same votes would be counted twice. A match is compacted once, so a second
    read is whole; `last_try` takes the replies as they are (a bound, not expected to matter)."""
    first, *inner, last = replies
    return None if bool(first) != bool(last) and not last_try else inner


def both_tallies(replies: list[Any], turns: int) -> BothTallies:
    """A match's tallies from its per-turn hashes (votes, then vote_by_ip) and its ballots."""
    labels = [list(v) for v in replies[:turns]]
    by_ip = [list(v) for v in replies[turns : 2 * turns]]
    for ballot in map(str, replies[2 * turns]):
        for turn, label in ballot_labels(ballot).items():
            if turn < turns:
                labels[turn].append(label)
    for address in map(str, replies[2 * turns + 1]):
        for turn, (_, latest) in address_votes(address).items():
            if turn < turns and latest is not None:
                by_ip[turn].append(latest)
    return _tally(labels), _tally(by_ip)


def _tally(per_turn: list[list[Any]]) -> dict[int, dict[VoteLabel, int]]:
    return {turn: tally(str(v) for v in values) for turn, values in enumerate(per_turn)}
