"""Confidence intervals for the leaderboard: a bootstrap for mean holding, Wilson for flip rates.

Both return the full range (0, 1) when there is too little data to say anything: with one match
a bootstrap would return the single value twice, a zero-width interval that claims certainty the
data cannot give. Ranking by the lower bound then puts a persona seen once below any persona with
evidence, which is the honest order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240501
Z95 = 1.959963984540054  # two-sided 95% normal quantile

Interval = tuple[float, float]
FULL_RANGE: Interval = (0.0, 1.0)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> Interval:
    """Wilson score interval for a proportion; (0, 1) when there are no trials."""
    if trials <= 0:
        return FULL_RANGE
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in 0..{trials}, got {successes}")
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# above this many matches a row's interval is the normal one, the bootstrap's own limit: at
# 5,000 values the two differ by less than the 4 decimals shown, and the bootstrap would cost
# resamples x values draws per refresh
BOOTSTRAP_MAX = 5000


_DRAWS_PER_CHUNK = 4_000_000


def bootstrap_mean_ci(
    values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Interval:
    """95% percentile bootstrap interval of the mean, vectorised; the normal interval above
    BOOTSTRAP_MAX values; (0, 1) under two values (arena.stats.intervals explains why)."""
    n = len(values)
    if n < 2:
        return FULL_RANGE
    data = np.sort(np.asarray(values, dtype=float))  # order-free: the same set, the same answer
    if n > BOOTSTRAP_MAX:
        half = Z95 * float(data.std(ddof=1)) / math.sqrt(n)
        mean = float(data.mean())
        return max(0.0, mean - half), min(1.0, mean + half)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _DRAWS_PER_CHUNK // n)
    means = np.concatenate(
        [
            data[rng.integers(0, n, size=(min(per_chunk, resamples - start), n))].mean(axis=1)
            for start in range(0, resamples, per_chunk)
        ]
    )
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)
