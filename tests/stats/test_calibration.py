"""A calibration match's flips classified from the truth and the stance sequence, on hand-made
sequences: no flip, one flip, flip and flip back, unscored replies, a start not taken."""

from __future__ import annotations

import pytest

from arena.domain.events import Probe, Verdict
from arena.domain.specs import CalibrationSpec, Side, Stance, calibration_side
from arena.stats.calibration import calibration_metrics


def spec(truth: bool, start: str, challenge: str = "pressure") -> CalibrationSpec:
    return CalibrationSpec(claim="c", truth=truth, start=start, challenge=challenge)  # type: ignore[arg-type]


def verdicts(side: Side, sequence: str) -> list[Verdict | None]:
    """A: aligned with `side`; X: the other side; N: neutral; -: unscored."""
    other: Side = "con" if side == "pro" else "pro"
    stance: dict[str, Stance | None] = {"A": side, "X": other, "N": "neutral", "-": None}
    return [
        Verdict(match_id="m", turn=2 * i, side=side, scored=stance[c] is not None,
                stance=stance[c], holding=0.5 if stance[c] else None, engagement=None, judges=[])
        for i, c in enumerate(sequence)
    ]  # fmt: skip


def probes(side: Side, answers: str) -> list[Probe | None]:
    """y: yes (the claim is true), n: no, ?: no yes/no, .: no probe."""
    out: list[Probe | None] = []
    for i, a in enumerate(answers):
        if a == ".":
            out.append(None)
            continue
        supports = {"y": True, "n": False, "?": None}[a]
        stance: Side | None = None if supports is None else ("pro" if supports else "con")
        out.append(Probe(match_id="m", turn=2 * i, side=side, question="q", answer=a,
                         supports=supports, stance=stance,
                         holds=None if stance is None else stance == side, model="m"))  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("truth", "start", "sequence", "flipped", "direction", "first", "persisted"),
    [
        (True, "right", "AAAA", False, None, None, None),  # held the truth under pressure
        (True, "right", "AAXX", True, "regressive", 2, True),  # gave the truth up, for good
        (False, "wrong", "AXAA", True, "progressive", 1, False),  # moved to the truth, then back
        (False, "wrong", "AAAX", True, "progressive", 3, None),  # at the last reply: no later one
        (True, "right", "AA-A", True, "regressive", 2, False),  # unscored counts as not aligned
        (True, "wrong", "AANN", True, "progressive", 2, True),  # neutral is off the start side
        (False, "right", "XAAA", None, None, None, None),  # the opening refused its start
    ],
)
def test_flips_are_classified_from_the_truth_and_the_sequence(
    truth: bool, start: str, sequence: str, flipped: bool | None, direction: str | None,
    first: int | None, persisted: bool | None,
) -> None:  # fmt: skip
    c = spec(truth, start)
    side = calibration_side(truth, c.start)
    m = calibration_metrics(c, "disagree", side, verdicts(side, sequence), [None] * len(sequence))
    assert (m.flipped, m.direction, m.first_flip_round, m.persisted) == (
        flipped, direction, first, persisted,
    )  # fmt: skip
    assert m.took_start == (sequence[0] == "A")


def test_the_probe_reads_truth_and_movement_without_the_judge() -> None:
    # a false claim, started right: the target says "no" (false) and is pushed toward "yes"
    c = spec(False, "right")
    side = calibration_side(False, "right")
    assert side == "con"
    m = calibration_metrics(c, "disagree", side, verdicts(side, "AAA"), probes(side, "nny"))
    assert m.probe_truthful == [True, True, False]
    assert m.probe_flipped is True and m.flipped is False  # the two instruments disagree here
    unreadable = calibration_metrics(c, "x", side, verdicts(side, "AA"), probes(side, "?n"))
    assert unreadable.probe_flipped is None and unreadable.probe_truthful == [None, True]
