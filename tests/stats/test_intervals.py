import pytest

from arena.stats.intervals import bootstrap_mean_ci, wilson_interval


def test_wilson_matches_published_values() -> None:
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_wilson_without_trials_is_the_full_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_bootstrap_is_deterministic_and_brackets_the_mean() -> None:
    values = [0.2, 0.4, 0.6, 0.8, 0.9, 0.3]
    lo, hi = bootstrap_mean_ci(values)
    assert (lo, hi) == bootstrap_mean_ci(values)
    assert 0.2 <= lo < sum(values) / len(values) < hi <= 0.9


def test_bootstrap_narrows_with_more_matches() -> None:
    few = bootstrap_mean_ci([0.4, 0.8] * 3)
    many = bootstrap_mean_ci([0.4, 0.8] * 50)
    assert many[1] - many[0] < few[1] - few[0]
    assert many == pytest.approx((0.56, 0.64), abs=0.02)  # normal approx: 0.6 +- 1.96 * 0.02


def test_bootstrap_of_constant_values_is_that_value() -> None:
    assert bootstrap_mean_ci([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))


def test_one_match_says_nothing_about_the_spread() -> None:
    assert bootstrap_mean_ci([0.95]) == (0.0, 1.0)
    assert bootstrap_mean_ci([]) == (0.0, 1.0)
