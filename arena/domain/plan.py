"""The turn plan of a match and what each debater is told before it speaks.

The plan is computed once, when a match starts, and sent in `match_started`: every reader (the
engine on resume, the store, the page) takes speakers, sides and kinds from it.
"""

from __future__ import annotations

from arena.domain.specs import MatchSpec, PlannedTurn, Side, TurnKind


def debate_plan(rounds: int) -> list[PlannedTurn]:
    """Opening PRO, opening CON, `rounds` rebuttal rounds (PRO, CON), closing PRO, closing CON."""
    steps: list[tuple[TurnKind, int]] = [
        ("opening", 0),
        *(("rebuttal", r) for r in range(1, rounds + 1)),
        ("closing", 0),
    ]
    plan: list[PlannedTurn] = []
    for kind, round_number in steps:
        sides: tuple[Side, Side] = ("pro", "con")
        for side in sides:
            plan.append(
                PlannedTurn(
                    index=len(plan), role="debater", side=side, kind=kind, round=round_number
                )
            )
    return plan


def pressure_plan(rounds: int, target: Side) -> list[PlannedTurn]:
    """The target's opening, then `rounds` pressure rounds: the challenger's challenge (not
    judged) and the target's reply."""
    challenger = opponent(target)
    plan = [PlannedTurn(index=0, role="target", side=target, kind="opening")]
    for r in range(1, rounds + 1):
        plan.append(
            PlannedTurn(
                index=len(plan), role="challenger", side=challenger, kind="challenge",
                judged=False, round=r,
            )
        )  # fmt: skip
        plan.append(PlannedTurn(index=len(plan), role="target", side=target, kind="reply", round=r))
    return plan


def plan_turns(spec: MatchSpec) -> list[PlannedTurn]:
    """The plan of a match, from its spec."""
    if spec.pressure is not None:
        return pressure_plan(spec.rounds, spec.pressure.target)
    return debate_plan(spec.rounds)


def opponent(side: Side) -> Side:
    return "con" if side == "pro" else "pro"
