"""Krippendorff's alpha on its textbook example and against the reference implementation (the
`krippendorff` package) on random data with missing values, for both metrics."""

from __future__ import annotations

import math
from collections import Counter

import krippendorff
import numpy as np
import pytest

from arena.stats.agreement import coincidences, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders,
# 12 units, missing values; nominal alpha = 0.743 (published)
CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
UNITS = [list(column) for column in zip(*CODERS, strict=True)]


def reference(units: list[list[float | None]], metric: str) -> float:
    """The `krippendorff` package on the same data: coders as rows, NaN for a missing value."""
    data = np.array([[np.nan if v is None else v for v in u] for u in units], dtype=float).T
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=metric))


def test_the_textbook_example_nominal_and_interval() -> None:
    assert krippendorff_alpha(UNITS, "nominal") == pytest.approx(0.743, abs=0.0005)
    # the interval metric on the same data: the reference implementation's value
    assert krippendorff_alpha(UNITS, "interval") == pytest.approx(
        reference(UNITS, "interval"), abs=1e-9  # type: ignore[arg-type]
    )
    # the same units given as value counts, as the crowd's tallies are
    counts = [Counter(v for v in u if v is not None) for u in UNITS]
    assert krippendorff_alpha(counts, "nominal") == pytest.approx(0.743, abs=0.0005)


def test_the_coincidence_matrix_of_the_textbook_example() -> None:
    # Krippendorff (2011), section C: n = 40 pairable values (unit 12 has one value, left out);
    # the matrix is symmetric and each unit adds m_u values in all
    values, o = coincidences(UNITS)
    assert o.sum() == pytest.approx(40)
    assert sorted(values) == [1, 2, 3, 4, 5]  # type: ignore[type-var]
    assert np.allclose(o, o.T)
    assert coincidences([[1, 2, 2]])[1].sum() == pytest.approx(3)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("metric", ["nominal", "interval"])
def test_alpha_matches_the_reference_on_random_data_with_missing_values(
    seed: int, metric: str
) -> None:
    rng = np.random.default_rng(seed)
    coders, units = int(rng.integers(2, 6)), int(rng.integers(5, 40))
    truth = rng.integers(0, 11, size=units) / 10  # holding-like scores in steps of 0.1
    noise = rng.integers(-2, 3, size=(units, coders)) / 10
    values = np.clip(truth[:, None] + noise * rng.integers(0, 2, size=(units, coders)), 0, 1)
    data: list[list[float | None]] = [
        [None if rng.random() < 0.25 else round(float(v), 1) for v in row] for row in values
    ]
    ours = krippendorff_alpha(data, metric)  # type: ignore[arg-type]
    theirs = reference(data, metric)
    if math.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_interval_alpha_on_continuous_values_matches_the_reference() -> None:
    rng = np.random.default_rng(42)
    data: list[list[float | None]] = [
        [None if rng.random() < 0.2 else float(x) for x in rng.normal(t, 0.3, size=3)]
        for t in rng.normal(0, 1, size=30)
    ]
    assert krippendorff_alpha(data, "interval") == pytest.approx(
        reference(data, "interval"), abs=1e-9
    )


def test_perfect_undefined_and_contrary_agreement() -> None:
    assert krippendorff_alpha([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], "interval") == pytest.approx(1)
    assert krippendorff_alpha([{"holds": 3}, {"switched": 2}], "nominal") == pytest.approx(1.0)
    assert krippendorff_alpha([{"holds": 3}, {"holds": 2}]) is None  # no variation
    assert krippendorff_alpha([{"holds": 1}]) is None  # nothing pairable
    assert krippendorff_alpha([[0.5], [0.6]], "interval") is None
    # a missing rating drops only that value
    assert krippendorff_alpha([[0.2, 0.2, None], [0.8, 0.8, 0.8]], "interval") == pytest.approx(1)
    # coders that disagree systematically score below zero
    contrary = [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    alpha = krippendorff_alpha(contrary, "interval")
    assert alpha is not None and alpha < 0
    with pytest.raises(ValueError, match="metric"):
        krippendorff_alpha(contrary, "ordinal")  # type: ignore[arg-type]
