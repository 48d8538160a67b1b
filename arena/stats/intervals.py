"""Confidence intervals for the leaderboard: a t interval with a variance prior for mean
holding, Wilson for flip rates.

Both return the full range (0, 1) when there is too little data to say anything: one match gives
no spread to judge from, and a zero-width interval would claim certainty the data cannot give.
Ranking by the lower bound then puts a persona seen once below any persona with evidence, which
is the honest order.
"""

from __future__ import annotations

import functools
import math

from scipy.stats import t as student_t

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


# The leaderboard's interval of a mean holding: a t interval whose variance is shrunk toward a
# prior (a normal-inverse-chi-squared posterior with a flat prior on the mean): PRIOR_VARIANCE is
# the variance of a holding spread evenly over [0, 1] (1/12), worth PRIOR_DF observations. At
# small n the data's own spread is too noisy to trust (five matches that happen to agree give a
# zero-width t interval); the prior keeps such a row honest, and it fades as matches accumulate.
# Coverage is checked on synthetic holdings in tests/stats/test_intervals.py.
PRIOR_VARIANCE = 1 / 12
PRIOR_DF = 4


def mean_interval(
    n: int,
    total: float,
    total_sq: float,
    level: float = 0.95,
    prior_variance: float = PRIOR_VARIANCE,
    prior_df: int = PRIOR_DF,
) -> Interval:
    """The interval of a mean of `n` values in [0, 1] from their sum and sum of squares (O(1):
    a tally keeps running sums, never the values). (0, 1) under two values."""
    if n < 2:
        return FULL_RANGE
    mean = total / n
    own = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    df = prior_df + n - 1
    variance = (prior_df * prior_variance + (n - 1) * own) / df
    half = t_quantile(0.5 + level / 2, df) * math.sqrt(variance / n)
    return max(0.0, mean - half), min(1.0, mean + half)


@functools.lru_cache(maxsize=4096)
def t_quantile(q: float, df: int) -> float:
    """Student's t quantile (scipy's, cached: rows ask for the same few dfs again and again)."""
    return float(student_t.ppf(q, df))
