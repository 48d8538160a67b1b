"""Confidence intervals for the leaderboard: a bootstrap for mean holding, Wilson for flip rates.

Both return the full range (0, 1) when there is too little data to say anything: with one match
a bootstrap would return the single value twice, a zero-width interval that claims certainty the
data cannot give. Ranking by the lower bound then puts a persona seen once below any persona with
evidence, which is the honest order.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

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


def bootstrap_mean_ci(
    values: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> Interval:
    """Percentile bootstrap interval of the mean, deterministic for a given input order.

    Fewer than two values give (0, 1): see the module docstring."""
    n = len(values)
    if n < 2:
        return FULL_RANGE
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=n)) for _ in range(resamples))
    alpha = (1 - level) / 2
    return _quantile(means, alpha), _quantile(means, 1 - alpha)


def _quantile(ordered: Sequence[float], q: float) -> float:
    # linear interpolation between closest ranks (numpy's default "linear" method)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
