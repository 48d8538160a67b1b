"""Chance-corrected agreement between judges: Krippendorff's alpha and Fleiss' kappa.

Both take one row per item (a turn) with one value per judge; a missing rating is None.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

from arena.domain.events import Verdict
from arena.domain.results import Agreement


def krippendorff_alpha_interval(items: Sequence[Sequence[float | None]]) -> float | None:
    """Alpha for interval data: 1 - observed / expected disagreement, over items with at least
    two ratings. None when there are too few pairable ratings or no variation at all."""
    units = [[v for v in row if v is not None] for row in items]
    units = [u for u in units if len(u) >= 2]
    values = [v for u in units for v in u]
    n = len(values)
    if n < 2:
        return None
    observed = 0.0
    for u in units:
        m = len(u)
        observed += sum(
            (a - b) ** 2 for i, a in enumerate(u) for j, b in enumerate(u) if i != j
        ) / (m - 1)
    observed /= n
    expected = sum(
        (a - b) ** 2 for i, a in enumerate(values) for j, b in enumerate(values) if i != j
    )
    expected /= n * (n - 1)
    if expected == 0:
        return None
    return 1.0 - observed / expected


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
    alpha = krippendorff_alpha_interval(holding_rows)
    kappa = fleiss_kappa(stance_rows)
    return Agreement(
        judges=len(judges),
        holding_alpha=round(alpha, 4) if alpha is not None else None,
        stance_kappa=round(kappa, 4) if kappa is not None else None,
        disputed_turns=[v.turn for v in verdicts if v.disputed],
    )
