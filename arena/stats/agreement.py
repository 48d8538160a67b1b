"""Chance-corrected agreement: Krippendorff's alpha (nominal or interval), Fleiss' kappa, and the
agreement of a match's panel of judges.

Krippendorff's alpha is the one implementation in the arena: judges' holding scores (interval)
and stances (nominal), and the crowd's votes (nominal), all go through `krippendorff_alpha`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from arena.domain.events import Verdict
from arena.domain.results import Agreement

Metric = Literal["nominal", "interval"]
# one unit (a turn): the values its coders gave (None: a coder that gave none), or, for many
# coders, value -> how many coders gave it
Unit = Sequence[Hashable | None] | Mapping[Any, int]  # Mapping is invariant in its keys


def _value_counts(unit: Unit) -> dict[Hashable, int]:
    if isinstance(unit, Mapping):
        return {v: n for v, n in unit.items() if v is not None and n > 0}
    return Counter(v for v in unit if v is not None)


def coincidences(units: Iterable[Unit]) -> tuple[list[Hashable], npt.NDArray[np.float64]]:
    """The values seen in pairable units (two values or more) and their coincidence matrix
    o[c, k] = sum over units of n_uc (n_uk - [c == k]) / (m_u - 1) (Krippendorff 2011, eq. 2)."""
    counted = [(c, sum(c.values())) for c in map(_value_counts, units)]
    pairable = [c for c, total in counted if total >= 2]
    values = list(dict.fromkeys(v for c in pairable for v in c))
    index = {v: i for i, v in enumerate(values)}
    # one entry per value of a unit, a unit's entries side by side: whole arrays, not a numpy
    # call per unit (30,000 crowd-voted turns: 45 ms, not 300)
    entries = sum(len(c) for c in pairable)
    unit = np.fromiter((u for u, c in enumerate(pairable) for _ in c), np.intp, entries)
    at = np.fromiter((index[v] for c in pairable for v in c), np.intp, entries)
    n = np.fromiter((k for c in pairable for k in c.values()), float, entries)
    m = np.fromiter((total for _, total in counted if total >= 2), float, len(pairable))
    weight = n / (m[unit] - 1)  # n_uc / (m_u - 1)
    size = len(values)
    # a value with itself: n_uc (n_uc - 1) / (m_u - 1)
    flat = np.zeros(size * size)
    flat += np.bincount(at * (size + 1), weights=weight * (n - 1), minlength=size * size)
    # each pair of values of one unit, both ways: their entries lie d apart, d < the widest unit
    for d in range(1, max(map(len, pairable), default=0)):
        first, second = slice(0, entries - d), slice(d, entries)
        same = unit[first] == unit[second]
        c, k = at[first][same], at[second][same]
        pair = weight[first][same] * n[second][same]
        flat += np.bincount(c * size + k, weights=pair, minlength=size * size)
        flat += np.bincount(k * size + c, weights=pair, minlength=size * size)
    return values, flat.reshape(size, size)


def krippendorff_alpha(units: Iterable[Unit], metric: Metric = "nominal") -> float | None:
    """Krippendorff's alpha, 1 - D_o / D_e, from the coincidence matrix: D_o weighs each
    coincidence by the metric's squared difference (nominal: 1 when the values differ; interval:
    (c - k)^2), D_e the same over the pairs of all pairable values. Units with fewer than two
    values are not pairable and left out. None when nothing is pairable or nothing varies
    (D_e = 0). Interval values must be numbers."""
    values, o = coincidences(units)
    if not values:
        return None
    if metric == "interval":
        x = np.asarray(values, dtype=float)
        delta = (x[:, None] - x[None, :]) ** 2
    elif metric == "nominal":
        delta = 1.0 - np.eye(len(values))
    else:
        raise ValueError(f"metric must be nominal or interval, not {metric!r}")
    return alpha_of(o, delta)


def alpha_of(o: npt.NDArray[np.float64], delta: npt.NDArray[np.float64]) -> float | None:
    """Krippendorff's alpha from a coincidence matrix `o` and the metric's squared differences
    `delta` between its values; None when nothing varies (D_e = 0)."""
    n_c = o.sum(axis=1)
    n = n_c.sum()
    expected = float((np.outer(n_c, n_c) * delta).sum())
    if expected <= 0:
        return None
    return float(1.0 - (n - 1) * (o * delta).sum() / expected)


def fleiss_kappa(items: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Fleiss' kappa over items rated by the same number of raters (items with a missing rating
    are dropped). None when fewer than two raters or no variation at all."""
    rows = [list(r) for r in items if r and all(v is not None for v in r)]
    if not rows:
        return None
    raters = len(rows[0])
    rows = [r for r in rows if len(r) == raters]
    if raters < 2 or not rows:
        return None
    totals: Counter[Hashable] = Counter()
    p_items = []
    for row in rows:
        counts = Counter(row)
        totals.update(counts)
        p_items.append((sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1)))
    p_bar = sum(p_items) / len(rows)
    all_ratings = len(rows) * raters
    p_e = sum((c / all_ratings) ** 2 for c in totals.values())
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def panel_agreement(judges: list[str], verdicts: Sequence[Verdict]) -> Agreement | None:
    """Agreement of a panel over a match's verdicts; None for a single judge."""
    if len(judges) < 2:
        return None
    holding_rows: list[list[float | None]] = []
    stance_rows: list[list[Hashable | None]] = []
    for v in verdicts:
        by_judge = {j.judge: j for j in v.judges}
        holding_rows.append([by_judge[j].holding if j in by_judge else None for j in judges])
        stance_rows.append([by_judge[j].stance if j in by_judge else None for j in judges])
    alpha = krippendorff_alpha(holding_rows, "interval")
    kappa = fleiss_kappa(stance_rows)
    return Agreement(
        judges=len(judges),
        holding_alpha=round(alpha, 4) if alpha is not None else None,
        stance_kappa=round(kappa, 4) if kappa is not None else None,
        disputed_turns=[v.turn for v in verdicts if v.disputed],
    )
