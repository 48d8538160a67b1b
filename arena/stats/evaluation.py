"""Metrics for checking a judge against gold labels: pure functions over plain lists.

A judge's verdict becomes a label by comparing its stance with the side the speaker was assigned:
the same side holds, the other side abandons, neutral is neutral. A verdict the judge failed to
give is "unscored": accuracy, macro-F1, kappa and AUC leave it out, and the confusion matrix
gives it a column of its own so that it is never hidden.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from arena.domain.specs import Side, Stance
from arena.stats.position import SwapRate, swap_consistent, swap_rate

Label = Literal["holds", "abandons", "neutral"]
LABELS: tuple[Label, ...] = ("holds", "abandons", "neutral")
UNSCORED = "unscored"


def derive_label(side: Side, stance: Stance | None) -> Label | None:
    """The label a stance implies for a speaker assigned `side`; None when unscored."""
    if stance is None:
        return None
    if stance == "neutral":
        return "neutral"
    return "holds" if stance == side else "abandons"


def accuracy(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float | None:
    """Share of positions where pred equals gold; None for no items."""
    _same_length(gold, pred)
    if not gold:
        return None
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def macro_f1(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float | None:
    """Unweighted mean of per-label F1 over every label seen in gold or pred (as scikit-learn
    does by default). A label never predicted, or predicted but never gold, scores 0."""
    _same_length(gold, pred)
    if not gold:
        return None
    labels = set(gold) | set(pred)
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        predicted = sum(p == label for p in pred)
        actual = sum(g == label for g in gold)
        scores.append(2 * tp / (predicted + actual))
    return sum(scores) / len(scores)


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Probability that a random positive scores above a random negative, a tie counting half
    (the Mann-Whitney U statistic over n_pos * n_neg). None when either class is empty."""
    if not positives or not negatives:
        return None
    # ranks with ties averaged; U = rank sum of positives - n_pos(n_pos+1)/2
    values = sorted([(v, True) for v in positives] + [(v, False) for v in negatives])
    rank_sum = 0.0
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j][0] == values[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(1 for _, pos in values[i:j] if pos)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def cohen_kappa(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> float | None:
    """Cohen's kappa between two raters, each with its own marginals. None for no items, or
    when chance agreement is already 1 (both raters always give the same single label)."""
    _same_length(gold, pred)
    n = len(gold)
    if n == 0:
        return None
    observed = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    gold_counts, pred_counts = Counter(gold), Counter(pred)
    expected = sum(gold_counts[k] * pred_counts[k] for k in gold_counts) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1.0 - expected)


def confusion(gold: Sequence[Label], pred: Sequence[Label | None]) -> dict[str, dict[str, int]]:
    """Counts by gold label (rows) and predicted label (columns), with an "unscored" column
    for verdicts the judge failed to give. Every label has a row and every column is present."""
    _same_length(gold, pred)
    matrix: dict[str, dict[str, int]] = {g: dict.fromkeys([*LABELS, UNSCORED], 0) for g in LABELS}
    for g, p in zip(gold, pred, strict=True):
        matrix[g][p or UNSCORED] += 1
    return matrix


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), numpy's linear interpolation; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in 0..100, got {q}")
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


class LabelScores(BaseModel):
    """How a judge's derived labels match gold. Accuracy, macro-F1 and kappa are over scored
    rows only; `accuracy_unscored_as_wrong` counts every unscored row as a miss. `auc` is of
    the holding score, gold holds (positive) vs gold abandons."""

    n: int
    scored: int
    unscored: int
    unscored_rate: float | None
    accuracy: float | None
    accuracy_unscored_as_wrong: float | None
    macro_f1: float | None
    auc: float | None
    kappa: float | None
    confusion: dict[str, dict[str, int]]
    gold: dict[str, int]


def score_labels(
    gold: Sequence[Label], pred: Sequence[Label | None], holding: Sequence[float | None]
) -> LabelScores:
    """All label metrics at once; `pred` and `holding` are None where the judge gave no verdict."""
    _same_length(gold, pred)
    _same_length(gold, holding)
    n = len(gold)
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if p is not None]
    sg, sp = [g for g, _ in pairs], [p for _, p in pairs]
    by_gold: dict[Label, list[float]] = {"holds": [], "abandons": []}
    for g, p, h in zip(gold, pred, holding, strict=True):
        if g in by_gold and p is not None and h is not None:
            by_gold[g].append(h)
    correct = sum(g == p for g, p in pairs)
    return LabelScores(
        n=n,
        scored=len(pairs),
        unscored=n - len(pairs),
        unscored_rate=_round((n - len(pairs)) / n if n else None),
        accuracy=_round(accuracy(sg, sp)),
        accuracy_unscored_as_wrong=_round(correct / n if n else None),
        macro_f1=_round(macro_f1(sg, sp)),
        auc=_round(roc_auc(by_gold["holds"], by_gold["abandons"])),
        kappa=_round(cohen_kappa(sg, sp)),
        confusion=confusion(gold, pred),
        gold={label: sum(g == label for g in gold) for label in LABELS},
    )


class PositionBias(BaseModel):
    """How verdicts move when the same turn is presented as Debater 1 and as Debater 2. The
    change rate and holding difference are over `pairs`, the rows scored in both positions.
    `inconsistency` is the arena's position-swap figure (arena.stats.position: the stance
    changed or the holding moved by more than its tolerance), as GET /api/judges reports it;
    `changed` counts the label (stance) changes alone."""

    pairs: int
    unscored_pairs: int
    inconsistency: SwapRate
    changed: int
    changed_rate: float | None
    mean_abs_holding_diff: float | None
    accuracy_as_first: float | None
    accuracy_as_second: float | None
    mean_holding_as_first: float | None
    mean_holding_as_second: float | None


def position_bias(
    gold: Sequence[Label],
    first: Sequence[tuple[Label | None, float | None]],
    second: Sequence[tuple[Label | None, float | None]],
) -> PositionBias:
    """`first` and `second` are (derived label, holding) per row, as Debater 1 and 2."""
    _same_length(gold, first)
    _same_length(gold, second)
    both = [(a, b) for a, b in zip(first, second, strict=True) if a[0] and b[0]]
    changed = sum(a[0] != b[0] for a, b in both)
    inconsistent = sum(swap_consistent(a, b) is False for a, b in both)
    diffs = [abs(a[1] - b[1]) for a, b in both if a[1] is not None and b[1] is not None]

    def acc(side: Sequence[tuple[Label | None, float | None]]) -> float | None:
        scored = [(g, p) for g, (p, _) in zip(gold, side, strict=True) if p is not None]
        return _round(accuracy([g for g, _ in scored], [p for _, p in scored]))

    def mean(values: list[float]) -> float | None:
        return _round(sum(values) / len(values) if values else None)

    return PositionBias(
        pairs=len(both),
        unscored_pairs=len(gold) - len(both),
        inconsistency=swap_rate(len(both), inconsistent, len(gold) - len(both)),
        changed=changed,
        changed_rate=_round(changed / len(both) if both else None),
        mean_abs_holding_diff=mean(diffs),
        accuracy_as_first=acc(first),
        accuracy_as_second=acc(second),
        mean_holding_as_first=mean([h for p, h in first if p and h is not None]),
        mean_holding_as_second=mean([h for p, h in second if p and h is not None]),
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _same_length(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise ValueError(f"gold and predicted labels differ in length: {len(a)} != {len(b)}")
