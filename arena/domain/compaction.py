"""What of a finished match's events is kept once it is compacted.

Every reader folds the same transcript from the kept events as from all of them
(arena.domain.transcript.fold): the text of a completed turn is its `turn_completed.text`, so
its `token` events only repeat it in pieces. Dropped:

- the `token` events of every completed turn (92% of a match's entries, 70% of its bytes);
- every `votes` event of a turn but its last: each carries the whole tally so far, so the last
  one says all the earlier ones did;
- every `typing` event: a human challenger's typing indicator, live only.

Kept, besides everything else: the `token` events of a turn that never completed (a failed or
cancelled match's last turn: they are its only text), and every `turn_restarted`: rare, small,
and what the page shows when a provider started a reply over.
"""

from __future__ import annotations

from collections.abc import Sequence

from arena.domain.events import Event, Token, TurnCompleted, Typing, Votes


def superseded(events: Sequence[Event]) -> set[int]:
    """The positions in `events` (a finished match's, in order) that compaction drops."""
    completed = {e.turn for e in events if isinstance(e, TurnCompleted)}
    last_votes: dict[int, int] = {}
    drop: set[int] = set()
    for i, event in enumerate(events):
        if (isinstance(event, Token) and event.turn in completed) or isinstance(event, Typing):
            drop.add(i)
        elif isinstance(event, Votes):
            if event.turn in last_votes:
                drop.add(last_votes[event.turn])
            last_votes[event.turn] = i
    return drop
