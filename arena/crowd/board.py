"""The crowd's labels as one node keeps them, for the judges' agreement with the crowd.

A node keeps the labelled turns of every voted match and re-reads a match only when it has a
vote newer than the node last saw (the `voted_at` index, by latest vote): a request reads what
changed since the previous one, not every voted match. What it keeps grows with the voted turns
(a few hundred bytes each), not with the matches; archived matches leave it when pruned.

The judges' figures against the crowd are kept as running sums (arena.crowd.sums): a match
whose votes changed is taken out of them with its old labels and counted in with its new ones,
so a new vote costs its match, not every voted turn. The sums are built once per node (in a
thread, at start-up's warm-up or the first request) and again only if the minimums change.

Reading every voted match takes a fresh node seconds (5,000 voted matches: about 3 s), a page of
matches at a time so that requests are served in between. Meanwhile /api/judges answers with
the figures a node last stored (`{P}:crowd_figures`, written whenever they change): as of the
last vote any node counted, rather than a request waiting for the read. On a store where no node
ever stored figures, a request waits up to `warm_wait` for the read and then gets CrowdNotReady
(503 with Retry-After).
"""

from __future__ import annotations

import asyncio
import json
import math

from arena.crowd.sums import CrowdSums
from arena.crowd.turns import voted_turns
from arena.crowd.votes import CrowdAgreement, CrowdFigures
from arena.domain.votes import TurnLabels
from arena.store import Store
from arena.store.votes import CrowdVotes

PAGE = 25  # matches re-read per round trip group: a fresh node's read yields to requests between
# votes within this many ms of the latest one read are read again: two nodes' clocks, and a vote
# recorded at the same millisecond as the last read, must not be missed
SLACK_MS = 2000


class CrowdNotReady(Exception):
    """A fresh node is still reading the votes and no node ever stored figures: retry soon
    (the API's 503 with Retry-After, as for a leaderboard being built)."""

    retry_after = 2


class CrowdBoard:
    """Every voted turn's labels on this node, kept current by latest-vote time."""

    def __init__(self, store: Store, votes: CrowdVotes, warm_wait: float = 0.5) -> None:
        self.store, self.votes, self.warm_wait = store, votes, warm_wait
        self.by_match: dict[str, list[TurnLabels]] = {}
        self.mark = -math.inf  # the latest vote (ms) this node has read
        self.revision = 0  # moves when a match's labels changed: callers cache by it
        self._lock = asyncio.Lock()
        self._sums: CrowdSums | None = None
        self._figures: tuple[tuple[int, int, int], CrowdFigures] | None = None

    async def figures(self, min_votes: int, min_ips: int) -> CrowdFigures:
        """Every judge's agreement with the crowd and the voters' alpha, with the votes cast up
        to now; O(judges) once the labels are read (the sums move with each change)."""
        if self._sums is None and self._lock.locked():  # a fresh node still reading
            stored = await self._stored(min_votes, min_ips)
            if stored is not None:
                return stored
            try:  # no node ever stored figures: a moment for the read, then "retry soon"
                async with asyncio.timeout(self.warm_wait), self._lock:
                    pass
            except TimeoutError:
                raise CrowdNotReady("the crowd's votes are being read on this node") from None
        await self.refresh()
        async with self._lock:
            if self._sums is None or (self._sums.min_votes, self._sums.min_ips) != (
                min_votes,
                min_ips,
            ):
                # held under the lock: no refresh moves the labels while the sums are built
                groups = list(self.by_match.values())
                self._sums = await asyncio.to_thread(_sums, groups, min_votes, min_ips)
            key = (self.revision, min_votes, min_ips)
            if self._figures is None or self._figures[0] != key:
                self._figures = key, self._sums.figures()
                await self._store(self._figures[1], min_votes, min_ips)
            return self._figures[1]

    async def _store(self, figures: CrowdFigures, min_votes: int, min_ips: int) -> None:
        judges = {j: a.model_dump() for j, a in figures.judges.items()}
        value = {"min_votes": min_votes, "min_ips": min_ips, "alpha": figures.alpha,
                 "judges": judges}  # fmt: skip
        await self.store.redis.set(self.store.keys.crowd_figures, json.dumps(value))

    async def _stored(self, min_votes: int, min_ips: int) -> CrowdFigures | None:
        """The figures a node last stored with these minimums, if any."""
        raw = await self.store.redis.get(self.store.keys.crowd_figures)
        if raw is None:
            return None
        value = json.loads(raw)
        if (value["min_votes"], value["min_ips"]) != (min_votes, min_ips):
            return None
        judges = {j: CrowdAgreement.model_validate(a) for j, a in value["judges"].items()}
        return CrowdFigures(value["alpha"], judges)

    async def refresh(self) -> None:
        """Read the matches voted on since the last read; move `revision` (and the sums) if
        labels changed."""
        async with self._lock:
            since, start, latest = self.mark - SLACK_MS, 0, self.mark
            while changed := await self.votes.voted_since(since, PAGE, start):
                turns = await voted_turns(self.store, self.votes, [m for m, _ in changed])
                fresh: dict[str, list[TurnLabels]] = {m: [] for m, _ in changed}
                for t in turns:
                    fresh[t.labels.match_id].append(t.labels)
                for match_id, labels in fresh.items():
                    old = self.by_match.get(match_id)
                    if old == labels:
                        continue
                    self.revision += 1
                    if self._sums is not None:
                        self._sums.remove(old or [])
                        self._sums.add(labels)
                    self.by_match[match_id] = labels
                latest = max(latest, changed[-1][1])
                if len(changed) < PAGE:
                    break
                start += PAGE
            self.mark = latest


def _sums(groups: list[list[TurnLabels]], min_votes: int, min_ips: int) -> CrowdSums:
    sums = CrowdSums(min_votes, min_ips)
    for turns in groups:
        sums.add(turns)
    return sums
