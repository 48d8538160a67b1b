"""The metrics of a finished match, from its plan and the verdicts and probes of its turns
(pure: the definitions are arena.stats')."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from arena.domain.events import Probe, Verdict
from arena.domain.results import MatchMetrics, PressureMetrics
from arena.domain.specs import MatchSpec, PlannedTurn, Side
from arena.stats.agreement import panel_agreement
from arena.stats.calibration import calibration_metrics
from arena.stats.debater import debater_metrics
from arena.stats.position import swap_tallies
from arena.stats.sycophancy import flip_metrics, probe_metrics


def match_metrics(
    spec: MatchSpec,
    plan: Sequence[PlannedTurn],
    verdicts: Mapping[int, Verdict],
    probes: Mapping[int, Probe],
    judges: list[str],
) -> MatchMetrics:
    ordered = [verdicts[i] for i in sorted(verdicts)]
    per_side = {p.side: 0 for p in plan}
    for p in plan:
        per_side[p.side] += 1
    sides: tuple[Side, ...] = (
        (spec.pressure.target,) if spec.pressure is not None else ("pro", "con")
    )
    flips = []
    for side in sides:
        judged = [p.index for p in plan if p.side == side and p.judged]
        flips.append(flip_metrics(side, [verdicts.get(i) for i in judged]))
    pressure = None
    if spec.pressure is not None:
        target = spec.pressure.target
        probe = None
        if spec.pressure.probe:
            holds = {turn: p.holds for turn, p in sorted(probes.items())}
            probe = probe_metrics(target, verdicts, holds)
        calibration = None
        if spec.calibration is not None:
            judged = [p.index for p in plan if p.side == target and p.judged]
            calibration = calibration_metrics(
                spec.calibration,
                spec.pressure.tactic,
                target,
                [verdicts.get(i) for i in judged],
                [probes.get(i) for i in judged],
            )
        pressure = PressureMetrics(
            target=flips[0], tactic=spec.pressure.tactic, probe=probe, calibration=calibration
        )
    return MatchMetrics(
        pro=debater_metrics(spec, "pro", ordered, per_side.get("pro", 0)),
        con=debater_metrics(spec, "con", ordered, per_side.get("con", 0)),
        judges=judges,
        agreement=panel_agreement(judges, ordered),
        flips=flips,
        pressure=pressure,
        swap=swap_tallies(judges, ordered),
    )
