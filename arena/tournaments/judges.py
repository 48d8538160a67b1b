"""How a tournament's judges behaved: their agreement with each other (a panel) and their
position-swap consistency (matches with judge_swap), from each judge's own verdicts on the
tournament's turns (arena.domain.tournaments.JudgeScore).

Panel agreement is over the scored turns of completed matches (the rated turns: a pressure
match's target turns) that two judges or more scored: Krippendorff's alpha on holding (interval)
and Fleiss' kappa on stance for the panel; per pair of judges, Cohen's kappa on stance, alpha on
holding, the share of turns with the same stance and the mean absolute holding difference.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from pydantic import BaseModel, Field

from arena.domain.results import SwapTally
from arena.domain.tournaments import JudgeScore, MatchResult
from arena.stats.agreement import fleiss_kappa, krippendorff_alpha
from arena.stats.evaluation import cohen_kappa
from arena.stats.position import SWAP_TOLERANCE, SwapRate, swap_rate


class JudgePair(BaseModel):
    """Two judges over the turns both scored."""

    a: str
    b: str
    turns: int
    stance_agreement: float | None
    stance_kappa: float | None = Field(description="Cohen's kappa on stance")
    holding_alpha: float | None = Field(description="Krippendorff's alpha on holding (interval)")
    mean_abs_holding_diff: float | None


class JudgeSwap(SwapRate):
    judge: str


class JudgePanel(BaseModel):
    """A tournament's judges: `turns` turns scored by two judges or more, the panel's
    Krippendorff alpha on holding and Fleiss' kappa on stance (None with one judge, or when
    nothing varies), each pair of judges, and each judge's position-swap figure."""

    judges: list[str]
    turns: int
    holding_alpha: float | None
    stance_kappa: float | None
    pairs: list[JudgePair]
    swap: list[JudgeSwap]
    swap_tolerance: float = SWAP_TOLERANCE


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _rated(results: Sequence[MatchResult]) -> list[dict[str, JudgeScore]]:
    """Per rated turn of a completed match, each judge's score by name."""
    return [
        {j.judge: j for j in t.judges}
        for r in results
        if r.status == "completed"
        for t in r.turns
        if t.role != "challenger" and t.judges
    ]


def _pair(a: str, b: str, turns: list[dict[str, JudgeScore]]) -> JudgePair:
    both = [
        (t[a], t[b])
        for t in turns
        if a in t and b in t and t[a].holding is not None and t[b].holding is not None
    ]
    stances = [(x.stance, y.stance) for x, y in both]
    diffs = [abs((x.holding or 0.0) - (y.holding or 0.0)) for x, y in both]
    n = len(both)
    return JudgePair(
        a=a,
        b=b,
        turns=n,
        stance_agreement=_r(sum(x == y for x, y in stances) / n) if n else None,
        stance_kappa=_r(cohen_kappa([x for x, _ in stances], [y for _, y in stances]))
        if n
        else None,
        holding_alpha=_r(krippendorff_alpha([[x.holding, y.holding] for x, y in both], "interval")),
        mean_abs_holding_diff=_r(sum(diffs) / n) if n else None,
    )


def _swaps(judges: Sequence[str], turns: list[dict[str, JudgeScore]]) -> list[JudgeSwap]:
    tallies = {j: SwapTally(judge=j) for j in judges}
    for t in turns:
        for name, score in t.items():
            if not score.swapped:
                continue
            tally = tallies.setdefault(name, SwapTally(judge=name))
            if score.consistent is None:
                tally.unscored += 1
            else:
                tally.pairs += 1
                tally.inconsistent += not score.consistent
    return [
        JudgeSwap(judge=t.judge, **swap_rate(t.pairs, t.inconsistent, t.unscored).model_dump())
        for t in tallies.values()
    ]


def judge_panel(judges: Sequence[str], results: Sequence[MatchResult]) -> JudgePanel:
    """The tournament's judges (`judges`: its spec's panel) over its completed matches."""
    turns = _rated(results)
    names = list(dict.fromkeys([*judges, *(j for t in turns for j in t)]))
    holdings = [[t[j].holding if j in t else None for j in names] for t in turns]
    multi = sum(sum(h is not None for h in row) >= 2 for row in holdings)
    stances = [
        [t[j].stance if j in t and t[j].holding is not None else None for j in names] for t in turns
    ]
    several = len(names) >= 2
    return JudgePanel(
        judges=names,
        turns=multi,
        holding_alpha=_r(krippendorff_alpha(holdings, "interval")) if several else None,
        stance_kappa=_r(fleiss_kappa(stances)) if several else None,
        pairs=[_pair(a, b, turns) for a, b in itertools.combinations(names, 2)],
        swap=_swaps(names, turns),
    )


def _f(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def panel_md(panel: JudgePanel) -> list[str]:
    """report.md's judges section: panel agreement, each pair, each judge's position swap."""
    lines = ["## Judges: agreement and position bias", ""]
    if len(panel.judges) < 2:
        lines.append("One judge: no panel agreement to measure (run with two judges or more).")
    else:
        lines += [
            f"Panel of {len(panel.judges)} judges over {panel.turns} turns scored by two or "
            f"more: Krippendorff's alpha on holding (interval) **{_f(panel.holding_alpha)}**, "
            f"Fleiss' kappa on stance **{_f(panel.stance_kappa)}** (1: perfect agreement, "
            "0: no better than chance; alpha below 0.667 is too low to rely on).",
            "",
            "| judges | turns | same stance | Cohen's kappa (stance) | alpha (holding) | "
            "mean abs holding difference |",
            "|---|---|---|---|---|---|",
        ]
        for p in panel.pairs:
            same = "n/a" if p.stance_agreement is None else f"{p.stance_agreement:.0%}"
            lines.append(
                f"| {p.a} vs {p.b} | {p.turns} | {same} | {_f(p.stance_kappa)} | "
                f"{_f(p.holding_alpha)} | {_f(p.mean_abs_holding_diff)} |"
            )
    if not any(s.pairs or s.unscored for s in panel.swap):
        return [
            *lines,
            "",
            "Position swap not measured: run with --judge-swap (or judge_swap in the API, or "
            "ARENA_JUDGE_SWAP=1) to judge every turn from both positions.",
            "",
        ]
    lines += [
        "",
        "Position swap: each judged turn scored again with the speaker presented as the other "
        "debater; a pair is inconsistent when the stance changes or the holding moves by more "
        f"than {panel.swap_tolerance:g}. Rate with its Wilson 95% interval.",
        "",
        "| judge | swapped turns | inconsistent | rate [95%] | unscored |",
        "|---|---|---|---|---|",
    ]
    for s in panel.swap:
        rate = (
            "not swap-tested"
            if s.rate is None or s.ci is None
            else (f"{s.rate:.1%} [{s.ci[0]:.1%}, {s.ci[1]:.1%}]")
        )
        lines.append(f"| {s.judge} | {s.pairs} | {s.inconsistent} | {rate} | {s.unscored} |")
    return [*lines, ""]
