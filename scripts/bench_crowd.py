"""Benchmark what a crowd vote costs /api/judges: the judges' agreement with the crowd computed over
every voted turn (`crowd_figures`, the baseline: what a node did per vote before) against the
running sums a node keeps (`CrowdSums`: one match's turns out and in, then the figures read).
Prints medians; asserts nothing beyond the two agreeing.

    .venv/bin/python scripts/bench_crowd.py [--matches 12000] [--votes 200] [--json out.json]

Voted matches carry 1-4 voted turns each (about 2.5 on average: 12,000 matches give about 30,000
voted turns), three judges, votes from a seeded RNG.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from arena.crowd.sums import CrowdSums
from arena.crowd.votes import crowd_figures
from arena.domain.votes import VOTE_LABELS, TurnLabels

JUDGES = ("openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest", "local:smollm2")
MIN_VOTES, MIN_IPS = 3, 3


def voted(rng: random.Random, match: int) -> list[TurnLabels]:
    """One voted match's turns: votes per label, distinct addresses, each judge's label."""
    out = []
    for turn in range(rng.randint(1, 4)):
        counts = {label: rng.choice((0, 0, 1, 2, 3, 5)) for label in VOTE_LABELS}
        ip_counts = {label: rng.randint(0, n) for label, n in counts.items()}
        judges = {j: rng.choice((*VOTE_LABELS, None)) for j in JUDGES}
        out.append(TurnLabels(match_id=f"m{match}", turn=turn, side="pro", counts=counts,
                              judges=judges, ip_counts=ip_counts,
                              ips=sum(ip_counts.values())))  # fmt: skip
    return out


def median_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def run(matches: int, votes: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    by_match = {m: voted(rng, m) for m in range(matches)}
    every = [t for turns in by_match.values() for t in turns]
    baseline = median_ms(lambda: crowd_figures(every, MIN_VOTES, MIN_IPS), 5)
    build = median_ms(lambda: CrowdSums(MIN_VOTES, MIN_IPS).add(every), 3)
    sums = CrowdSums(MIN_VOTES, MIN_IPS)
    sums.add(every)

    def vote() -> None:
        match = rng.randrange(matches)
        new = voted(rng, match)
        sums.remove(by_match[match])
        sums.add(new)
        by_match[match] = new
        sums.figures()

    per_vote = median_ms(vote, votes)
    every = [t for turns in by_match.values() for t in turns]
    kept, afresh = sums.figures(), crowd_figures(every, MIN_VOTES, MIN_IPS)
    assert set(kept.judges) == set(afresh.judges)
    assert all(kept.of(j).accuracy == afresh.of(j).accuracy for j in JUDGES)
    return {
        "voted_turns": len(every),
        "per_vote_ms_all_turns": baseline,
        "per_vote_ms_sums": per_vote,
        "sums_build_ms": build,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matches", type=int, default=12_000, help="voted matches")
    p.add_argument("--votes", type=int, default=200, help="votes timed (one match changed each)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    found = run(args.matches, args.votes, args.seed)
    print(f"{found['voted_turns']:,} voted turns: a vote costs {found['per_vote_ms_all_turns']} ms "
          f"over every voted turn (baseline), {found['per_vote_ms_sums']} ms with the sums "
          f"(built once in {found['sums_build_ms']} ms)")  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
