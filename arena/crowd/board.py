"""The crowd's labels as one node keeps them, for the judges' agreement with the crowd.

A node keeps the labelled turns of every voted match and re-reads a match only when it has a
vote newer than the node last saw (the `voted_at` index, by latest vote): a request reads what
changed since the previous one, not every voted match. What it keeps grows with the voted turns
(a few hundred bytes each), not with the matches; archived matches leave it when pruned.

The judges' figures against the crowd (arena.crowd.votes.crowd_figures, O(voted turns)) are
computed once per revision of the labels, in a thread: a request at an unchanged revision reads
what changed and gets the figures it got before.
"""

from __future__ import annotations

import asyncio
import math

from arena.crowd.turns import voted_turns
from arena.crowd.votes import CrowdFigures, crowd_figures
from arena.domain.votes import TurnLabels
from arena.store import Store
from arena.store.votes import CrowdVotes

PAGE = 200  # matches re-read per round trip group
# votes within this many ms of the latest one read are read again: two nodes' clocks, and a vote
# recorded at the same millisecond as the last read, must not be missed
SLACK_MS = 2000


class CrowdBoard:
    """Every voted turn's labels on this node, kept current by latest-vote time."""

    def __init__(self, store: Store, votes: CrowdVotes) -> None:
        self.store, self.votes = store, votes
        self.by_match: dict[str, list[TurnLabels]] = {}
        self.mark = -math.inf  # the latest vote (ms) this node has read
        self.revision = 0  # moves when a match's labels changed: callers cache by it
        self._lock = asyncio.Lock()
        self._figures: tuple[tuple[int, int, int], CrowdFigures] | None = None
        self._figures_lock = asyncio.Lock()

    async def figures(self, min_votes: int, min_ips: int) -> CrowdFigures:
        """Every judge's agreement with the crowd and the voters' alpha, with the votes cast up
        to now; recomputed only when the labels changed since the last call (or the minimums
        differ)."""
        await self.refresh()
        async with self._figures_lock:
            key = (self.revision, min_votes, min_ips)
            if self._figures is None or self._figures[0] != key:
                # a refresh replaces a match's list, never changes one: this is a snapshot
                groups = list(self.by_match.values())
                figures = await asyncio.to_thread(_figures, groups, min_votes, min_ips)
                self._figures = key, figures
            return self._figures[1]

    async def refresh(self) -> None:
        """Read the matches voted on since the last read; move `revision` if labels changed."""
        async with self._lock:
            since, start, latest = self.mark - SLACK_MS, 0, self.mark
            while changed := await self.votes.voted_since(since, PAGE, start):
                turns = await voted_turns(self.store, self.votes, [m for m, _ in changed])
                fresh: dict[str, list[TurnLabels]] = {m: [] for m, _ in changed}
                for t in turns:
                    fresh[t.labels.match_id].append(t.labels)
                if any(self.by_match.get(m) != labels for m, labels in fresh.items()):
                    self.revision += 1
                self.by_match.update(fresh)
                latest = max(latest, changed[-1][1])
                if len(changed) < PAGE:
                    break
                start += PAGE
            self.mark = latest


def _figures(groups: list[list[TurnLabels]], min_votes: int, min_ips: int) -> CrowdFigures:
    return crowd_figures([t for turns in groups for t in turns], min_votes, min_ips)
