"""Least-squares means with a cluster bootstrap: the fit under the tournaments' adjusted holding.

y = sum over factors of effect[level] + sum over covariates of b_j * z_j + noise, fitted by least
squares on one-hot columns for the factors (no separate intercept: it is absorbed in the levels)
and the covariates as given (callers centre them, so that 0 is the average turn). The first
factor's least-squares means are its levels' effects plus the average level of every other
factor, at covariates 0. The minimum-norm solution beta = pinv(X'X) X'y; a mean (or coefficient)
is reported only when it is estimable, i.e. its contrast lies in the row space of X.

The bootstrap resamples clusters (matches) whole: per cluster X'X and X'y are summed once, so a
resample is a weighted sum of them and one batched pinv, without building X again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Interval = tuple[float, float]

_RCOND = 1e-10
_ESTIMABLE = 1e-6
_CELLS = 2_000_000  # floats one bootstrap batch may hold


def codes(values: Sequence[str]) -> tuple[list[str], npt.NDArray[np.intp]]:
    """The sorted levels and each value's index among them."""
    levels = sorted(set(values))
    index = {v: i for i, v in enumerate(levels)}
    return levels, np.fromiter((index[v] for v in values), dtype=np.intp, count=len(values))


@dataclass(frozen=True)
class LsFit:
    """The first factor's least-squares means and the covariates' coefficients: the point fit
    (NaN where not estimable) and one row per bootstrap resample."""

    levels: list[str]
    means: Array
    mean_draws: Array
    coefficients: Array
    coefficient_draws: Array


def fit_lsmeans(
    factors: Sequence[Sequence[str]],
    y: Sequence[float],
    clusters: Sequence[str],
    covariates: Array | None = None,
    *,
    resamples: int,
    seed: int,
) -> LsFit:
    """Fit y on the factors (each a level per row) and `covariates` (shape (rows, q)), with
    `resamples` cluster-bootstrap refits drawn with `seed`."""
    n = len(y)
    z = np.zeros((n, 0)) if covariates is None else np.asarray(covariates, dtype=float)
    q = z.shape[1]
    _, cluster_of = codes(clusters)
    m = int(cluster_of.max()) + 1 if n else 0
    coded = [codes(f) for f in factors]
    sizes = [len(levels) for levels, _ in coded]
    offsets = np.cumsum([0, *sizes[:-1]])
    k = int(sum(sizes))
    p = k + q
    cols = np.stack([c + off for (_, c), off in zip(coded, offsets, strict=True)], axis=1)
    yv = np.asarray(y, dtype=float)
    gram, xty = _cluster_sums(cluster_of, m, cols, z, yv, k)
    first = coded[0][0]
    contrast = np.zeros((len(first) + q, p))
    contrast[np.arange(len(first)), np.arange(len(first))] = 1.0
    for size, off in zip(sizes[1:], offsets[1:], strict=True):
        contrast[: len(first), off : off + size] = 1.0 / size
    contrast[len(first) + np.arange(q), k + np.arange(q)] = 1.0

    def fit(weights: Array) -> Array:
        g = (weights @ gram).reshape(-1, p, p)
        h = weights @ xty
        inv = np.linalg.pinv(g, rcond=_RCOND, hermitian=True)
        beta = np.einsum("bij,bj->bi", inv, h)
        est: Array = beta @ contrast.T
        # estimable only if the contrast lies in the row space of the fit
        proj = np.einsum("kp,bpq->bkq", contrast, inv @ g)
        est[np.abs(proj - contrast[None]).max(axis=2) > _ESTIMABLE] = np.nan
        return est

    point = fit(np.ones((1, m)))[0]
    rng = np.random.default_rng(seed)
    batch = max(1, _CELLS // (p * p + m))
    draws = np.concatenate(
        [np.empty((0, len(first) + q))]
        + [fit(cluster_counts(rng, m, size)) for size in chunks(resamples, batch)]
    )
    split = len(first)
    return LsFit(first, point[:split], draws[:, :split], point[split:], draws[:, split:])


def _cluster_sums(
    cluster_of: npt.NDArray[np.intp], m: int, cols: npt.NDArray[np.intp], z: Array, y: Array, k: int
) -> tuple[Array, Array]:
    """Per cluster, X'X (flattened) and X'y, from the one-hot columns' indexes and the
    covariates, without building X."""
    q = z.shape[1]
    p = k + q
    gram = np.zeros((m, p, p))
    a, b = cols[:, :, None], cols[:, None, :]
    np.add.at(gram, (cluster_of[:, None, None], a, b), 1.0)
    if q:
        at = k + np.arange(q)
        # factor x covariate blocks, both ways, and covariate x covariate
        np.add.at(gram, (cluster_of[:, None, None], cols[:, :, None], at[None, None, :]),
                  z[:, None, :])  # fmt: skip
        np.add.at(gram, (cluster_of[:, None, None], at[None, :, None], cols[:, None, :]),
                  z[:, :, None])  # fmt: skip
        np.add.at(gram, (cluster_of[:, None, None], at[None, :, None], at[None, None, :]),
                  z[:, :, None] * z[:, None, :])  # fmt: skip
    xty = np.zeros((m, p))
    np.add.at(xty, (cluster_of[:, None], cols), y[:, None])
    if q:
        np.add.at(xty, (cluster_of[:, None], k + np.arange(q)[None, :]), z * y[:, None])
    return gram.reshape(m, p * p), xty


def cluster_counts(rng: np.random.Generator, items: int, resamples: int) -> Array:
    """How often each cluster is drawn, per bootstrap resample (shape (resamples, items))."""
    return rng.multinomial(items, np.full(items, 1.0 / items), size=resamples).astype(float)


def chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def percentile_intervals(draws: Array, level: float) -> list[Interval]:
    """Per column, the percentile interval of the finite draws ((-inf, inf) under two)."""
    alpha = (1 - level) / 2
    out: list[Interval] = []
    for column in draws.T:
        ok = column[np.isfinite(column)]
        if len(ok) < 2:
            out.append((-math.inf, math.inf))
        else:
            out.append((float(np.quantile(ok, alpha)), float(np.quantile(ok, 1 - alpha))))
    return out
