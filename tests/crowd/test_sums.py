"""The running sums behind /api/judges (arena.crowd.sums) give what `crowd_figures` gives over
every turn counted in, through any sequence of matches added, changed and removed."""

from __future__ import annotations

import random
from collections import Counter

import krippendorff
import numpy as np
import pytest

from arena.crowd.sums import CrowdSums
from arena.crowd.votes import CrowdFigures, crowd_figures
from arena.domain.votes import VOTE_LABELS, TurnLabels

JUDGES = ("a", "b", "c")


def _turns(rng: random.Random, match: int) -> list[TurnLabels]:
    out = []
    for turn in range(rng.randint(1, 4)):
        counts = {label: rng.choice((0, 0, 1, 2, 3, 5)) for label in VOTE_LABELS}
        ip_counts = {label: min(n, rng.randint(0, n)) for label, n in counts.items()}
        judges = {
            j: rng.choice((*VOTE_LABELS, None)) for j in rng.sample(JUDGES, rng.randint(0, 3))
        }
        out.append(TurnLabels(match_id=f"m{match}", turn=turn, side="pro", counts=counts,
                              judges=judges, ip_counts=ip_counts,
                              ips=sum(ip_counts.values())))  # fmt: skip
    return out


def _same(found: CrowdFigures, expected: CrowdFigures) -> None:
    """Equal, alpha to 1e-12 (its coincidences are summed in another order); the rest exactly."""
    _close(found.alpha, expected.alpha)
    assert set(found.judges) == set(expected.judges)
    for judge, a in expected.judges.items():
        b = found.judges[judge]
        assert b.model_copy(update={"alpha": a.alpha}) == a, judge
        _close(b.alpha, a.alpha)


def _close(found: float | None, expected: float | None) -> None:
    assert (found is None) == (expected is None), (found, expected)
    if expected is not None:
        assert found == pytest.approx(expected, abs=1e-12, rel=0)


@pytest.mark.parametrize("seed", range(20))
def test_sums_equal_the_figures_over_all_turns_through_changes(seed: int) -> None:
    rng = random.Random(seed)
    min_votes, min_ips = rng.choice([(1, 1), (3, 2), (3, 3), (5, 3)])
    sums, by_match = CrowdSums(min_votes, min_ips), {}
    for _ in range(60):
        match = rng.randrange(12)
        old = by_match.get(match, [])
        new = [] if rng.random() < 0.15 else _turns(rng, match)  # a pruned match: no turns
        sums.remove(old)
        sums.add(new)
        by_match[match] = new
        every = [t for turns in by_match.values() for t in turns]
        _same(sums.figures(), crowd_figures(every, min_votes, min_ips))
    # everything taken out again: nothing is left behind, not even a zero count
    for turns in by_match.values():
        sums.remove(turns)
    assert (sums.labelled, sums.counted, sums.pairs, sums.units) == ({}, {}, {}, Counter())
    assert sums.figures() == CrowdFigures(None, {})


def test_alpha_is_krippendorffs_reference_value() -> None:
    """Against the `krippendorff` package (Castro's reference implementation), not our own."""
    rng = random.Random(5)
    turns = [t for m in range(40) for t in _turns(rng, m)]
    sums = CrowdSums(1, 1)
    sums.add(turns)
    counts = np.array([[t.counts[label] for label in VOTE_LABELS] for t in turns], dtype=float)
    expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    assert sums.alpha() == pytest.approx(expected, abs=1e-12)
