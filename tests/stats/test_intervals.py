import math
import statistics

import numpy as np
import pytest
from scipy.stats import t as student_t

from arena.stats.intervals import mean_interval, wilson_interval


def test_wilson_matches_published_values() -> None:
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_wilson_without_trials_is_the_full_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def interval_of(values: list[float]) -> tuple[float, float]:
    return mean_interval(len(values), sum(values), sum(v * v for v in values))


def test_without_the_prior_it_is_the_textbook_t_interval() -> None:
    values = [0.2, 0.4, 0.6, 0.8, 0.9, 0.3]
    n, mean, sd = len(values), statistics.fmean(values), statistics.stdev(values)
    # scipy's own t interval, and ours with a prior worth nothing, agree
    low, high = student_t.interval(0.95, n - 1, loc=mean, scale=sd / math.sqrt(n))
    total, total_sq = sum(values), sum(v * v for v in values)
    assert mean_interval(n, total, total_sq, prior_df=0) == pytest.approx((low, high), abs=1e-9)


def test_the_interval_brackets_the_mean_and_narrows_with_more_matches() -> None:
    values = [0.2, 0.4, 0.6, 0.8, 0.9, 0.3]
    lo, hi = interval_of(values)
    assert lo < statistics.fmean(values) < hi
    few = interval_of([0.4, 0.8] * 3)
    many = interval_of([0.4, 0.8] * 50)
    assert many[1] - many[0] < few[1] - few[0]
    assert many == pytest.approx((0.56, 0.64), abs=0.01)  # normal approx: 0.6 +- 1.96 * 0.02


def test_matches_that_happen_to_agree_do_not_claim_certainty() -> None:
    # three identical holdings: a plain t interval would have zero width
    lo, hi = interval_of([0.7, 0.7, 0.7])
    assert hi - lo > 0.3


def test_one_match_says_nothing_about_the_spread() -> None:
    assert interval_of([0.95]) == (0.0, 1.0)
    assert interval_of([]) == (0.0, 1.0)


# Holdings of very different shapes: symmetric, skewed, nearly always high, U-shaped, and a
# persona that usually holds (0.9) but now and then caves (0.2): at small n its few matches
# often all agree, which is where plain intervals fail.
SHAPES = {
    "beta(2,2)": (lambda rng, shape: rng.beta(2, 2, shape), 0.5),
    "beta(8,2)": (lambda rng, shape: rng.beta(8, 2, shape), 0.8),
    "beta(20,1)": (lambda rng, shape: rng.beta(20, 1, shape), 20 / 21),
    "beta(0.5,0.5)": (lambda rng, shape: rng.beta(0.5, 0.5, shape), 0.5),
    "holds, caves 15%": (
        lambda rng, shape: np.where(rng.random(shape) < 0.85, 0.9, 0.2), 0.85 * 0.9 + 0.15 * 0.2
    ),
    "holds, caves 10%": (
        lambda rng, shape: np.where(rng.random(shape) < 0.9, 0.95, 0.1), 0.9 * 0.95 + 0.1 * 0.1
    ),
}


@pytest.mark.parametrize("n", [3, 5, 10, 30])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_interval_covers_the_true_mean_at_least_90_percent_of_the_time(
    shape: str, n: int
) -> None:
    draw, true_mean = SHAPES[shape]
    rng = np.random.default_rng(20261207)
    runs = draw(rng, (2000, n))
    covered = 0
    for values in runs:
        lo, hi = mean_interval(n, float(values.sum()), float((values * values).sum()))
        covered += lo <= true_mean <= hi
    assert covered / len(runs) >= 0.90, f"{shape} at n={n}: {covered / len(runs):.3f}"
