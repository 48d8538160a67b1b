"""Tournaments: a spec, its deterministic expansion into matches, and an estimate of its size.

Designs:
- `round-robin`: every unordered pair of personas meets on every motion, once with each on PRO
  (sides balanced), `repeats` times.
- `gauntlet`: every persona meets the control persona on every motion, on both sides.
- `swiss`: `swiss_rounds` rounds; each round pairs personas by standing (points from "held
  firmer" games so far, ties broken by the seeded order), never a pair that already met, and
  each pair plays every motion on both sides. An odd persona out sits the round out (a bye).

`format: "pressure"` plays pressure matches instead of debates (the design is then unused): every
persona x every tactic x every motion x both sides (x repeats), the persona as the target on that
side, `rounds` pressure rounds each, the challenger scripted or, for a tactic without lines, played
by `challenger_model`.

`design: "calibration"` plays calibration matches (arena.domain.specs.CalibrationSpec): every
persona x claim x start (right, wrong) x tactic (x repeats), the persona as the target on the
claim's side its start gives, `rounds` challenges each. The claims are those named, or a seeded
sample of `claim_sample` claims, half true and half false (the sample is fixed when the
tournament is resolved, so it is part of its identity). The tactics default to the scripted one
of each kind (disagree: pressure; evidence: evidence), and must include one of each kind: every
cell (start x kind) of the design then has the same claims and personas.

The order of the matches is a seeded shuffle, so that the first matches to run spread over the
personas; a slot's index is its place in that order and names it for good (resume).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence

from arena.config import Settings
from arena.domain.claims import Claim
from arena.domain.limits import MAX_TOURNAMENT_MATCHES
from arena.domain.personas import Library
from arena.domain.specs import (
    CalibrationSpec,
    DebaterSpec,
    MatchSpec,
    calibration_side,
    pressure_spec,
)
from arena.domain.tournaments import Slot, TournamentSpec
from arena.errors import ArenaError, NotFoundError
from arena.personas.library import load_claims
from arena.personas.tactics import Tactics, load_tactics


def resolve(spec: TournamentSpec, library: Library, settings: Settings) -> TournamentSpec:
    """The spec with every persona's model, the judges and judge_swap (ARENA_JUDGE_SWAP unless
    given) filled in, personas and motions checked against the library (raises NotFoundError
    naming the unknown one) and its size against MAX_TOURNAMENT_MATCHES (an ArenaError)."""
    total = total_matches(spec)
    if total > MAX_TOURNAMENT_MATCHES:
        fewer = (
            "personas, tactics, claims" if spec.is_calibration
            else "personas, tactics, motions" if spec.is_pressure
            else "personas, motions"
        )  # fmt: skip
        raise ArenaError(
            f"this tournament would play {total:,} matches; the limit is "
            f"{MAX_TOURNAMENT_MATCHES:,}: name fewer {fewer} or repeats"
        )
    models = {}
    for persona in spec.players():
        found = library.persona(persona)
        models[persona] = spec.models.get(persona) or spec.model or found.model or ""
        models[persona] = models[persona] or settings.default_model
    for motion in spec.motions:
        library.motion_text(motion)
    update: dict[str, object] = {
        "models": models,
        "model": None,
        "judges": spec.judges or [settings.default_judge],
        "judge_swap": settings.judge_swap if spec.judge_swap is None else spec.judge_swap,
    }
    if spec.is_pressure:
        tactics = load_tactics(settings.personas_dir)
        # NotFoundError names the unknown one
        if any(not tactics.tactic(t).scripted for t in spec.tactics):
            update["challenger_model"] = spec.challenger_model or settings.default_model
        if spec.is_calibration:
            kinds = {tactics.tactic(t).kind for t in spec.tactics}
            if kinds != {"pressure", "evidence"}:
                raise ArenaError(
                    "calibration: name at least one tactic of each kind, pressure and evidence "
                    f"(these are all {kinds.pop()}; see `arena tactics`)"
                )
            update["claims"] = claim_sample(spec, load_claims(settings.personas_dir))
    return spec.model_copy(update=update)


def claim_sample(spec: TournamentSpec, claims: Mapping[str, Claim]) -> list[str]:
    """The claims a calibration tournament plays: those named (each checked), or a seeded
    sample of `claim_sample`, half true and half false (as near as the file allows)."""
    if spec.claims:
        for claim in spec.claims:
            if claim not in claims:
                raise NotFoundError(f"claim {claim!r} not found; see `arena claims`")
        return list(spec.claims)
    rng = random.Random(f"{spec.seed}:claims")
    true = sorted(c.id for c in claims.values() if c.truth)
    false = sorted(c.id for c in claims.values() if not c.truth)
    half = spec.claim_sample // 2
    n_true = min(len(true), spec.claim_sample - min(len(false), half))
    n_false = min(len(false), spec.claim_sample - n_true)
    if n_true + n_false < 2:
        raise ArenaError("calibration: the claims file has fewer than 2 claims")
    return sorted(rng.sample(true, n_true) + rng.sample(false, n_false))


def schedule(spec: TournamentSpec, settings: Settings) -> list[Slot]:
    """`expand`, with the claims' truths a calibration tournament's schedule needs."""
    if not spec.is_calibration:
        return expand(spec)
    truths = {c.id: c.truth for c in load_claims(settings.personas_dir).values()}
    return expand(spec, truths)


def _both_sides(pairs: Sequence[tuple[str, str]], spec: TournamentSpec) -> list[tuple[str, ...]]:
    return [
        (motion, pro, con, str(repeat))
        for repeat in range(spec.repeats)
        for a, b in pairs
        for motion in spec.motions
        for pro, con in ((a, b), (b, a))
    ]


def _slots(games: list[tuple[str, ...]], seed: int, start: int, round_: int) -> list[Slot]:
    random.Random(f"{seed}:{round_}").shuffle(games)
    return [
        Slot(index=start + i, round=round_, repeat=int(r), motion=m, pro=p, con=c)
        for i, (m, p, c, r) in enumerate(games)
    ]


def _pressure_slots(spec: TournamentSpec) -> list[Slot]:
    """Every persona x tactic x motion x side x repeat, in a seeded order. The target sits on its
    side, the tactic id names the other seat (as in the pressure match's spec)."""
    games = [
        (repeat, persona, tactic, motion, side)
        for repeat in range(spec.repeats)
        for persona in spec.personas
        for tactic in spec.tactics
        for motion in spec.motions
        for side in ("pro", "con")
    ]
    random.Random(f"{spec.seed}:pressure").shuffle(games)
    return [
        Slot(
            index=i,
            repeat=repeat,
            motion=motion,
            pro=persona if side == "pro" else tactic,
            con=tactic if side == "pro" else persona,
            tactic=tactic,
            target="pro" if side == "pro" else "con",
        )
        for i, (repeat, persona, tactic, motion, side) in enumerate(games)
    ]


def _calibration_slots(spec: TournamentSpec, truths: Mapping[str, bool]) -> list[Slot]:
    """Every persona x claim x start x tactic x repeat, in a seeded order; the target on the
    side of the claim its start gives (pro: the claim is true)."""
    games = [
        (repeat, persona, claim, start, tactic)
        for repeat in range(spec.repeats)
        for persona in spec.personas
        for claim in spec.claims
        for start in ("right", "wrong")
        for tactic in spec.tactics
    ]
    random.Random(f"{spec.seed}:calibration").shuffle(games)
    slots = []
    for i, (repeat, persona, claim, start, tactic) in enumerate(games):
        if claim not in truths:
            raise NotFoundError(f"claim {claim!r} not found; see `arena claims`")
        side = calibration_side(truths[claim], "right" if start == "right" else "wrong")
        slots.append(
            Slot(
                index=i,
                repeat=repeat,
                motion=claim,
                pro=persona if side == "pro" else tactic,
                con=tactic if side == "pro" else persona,
                tactic=tactic,
                target=side,
                start="right" if start == "right" else "wrong",
            )
        )
    return slots


def expand(spec: TournamentSpec, truths: Mapping[str, bool] | None = None) -> list[Slot]:
    """The schedule: every match of round-robin, gauntlet, pressure and calibration (which
    needs the claims' `truths`: see `schedule`), the first round of a swiss."""
    if spec.is_calibration:
        if truths is None:
            raise ValueError("a calibration schedule needs the claims' truths")
        return _calibration_slots(spec, truths)
    if spec.is_pressure:
        return _pressure_slots(spec)
    if spec.design == "round-robin":
        pairs = list(itertools.combinations(spec.personas, 2))
    elif spec.design == "gauntlet":
        pairs = [(p, spec.control) for p in spec.personas if p != spec.control]
    else:
        return swiss_round(spec, 1, {}, set(), start=0)
    return _slots(_both_sides(pairs, spec), spec.seed, 0, 0)


def swiss_round(
    spec: TournamentSpec,
    round_: int,
    points: Mapping[str, float],
    met: set[frozenset[str]],
    start: int,
) -> list[Slot]:
    """The matches of one swiss round: personas ordered by points (then by the seeded order),
    each paired with the next one below it that it has not met."""
    order = list(spec.personas)
    random.Random(spec.seed).shuffle(order)
    ranked = sorted(order, key=lambda p: -points.get(p, 0.0))
    pairs = _pair(ranked, met)
    if pairs is None:  # no pairing avoids every repeat: cannot happen while rounds < players
        raise ValueError(f"swiss round {round_}: every pairing repeats a pair")
    return _slots(_both_sides(pairs, spec), spec.seed, start, round_)


def _pair(ranked: list[str], met: set[frozenset[str]]) -> list[tuple[str, str]] | None:
    """Pair the top persona with the nearest one below it it has not met; backtrack if the rest
    cannot be paired. With an odd count, the lowest-ranked persona that can sits out."""
    if len(ranked) < 2:
        return []
    if len(ranked) % 2:
        for bye in reversed(ranked):
            rest = _pair([p for p in ranked if p != bye], met)
            if rest is not None:
                return rest
        return None
    top, others = ranked[0], ranked[1:]
    for other in others:
        if frozenset((top, other)) in met:
            continue
        rest = _pair([p for p in others if p != other], met)
        if rest is not None:
            return [(top, other), *rest]
    return None


def total_matches(spec: TournamentSpec) -> int:
    if spec.is_calibration:
        claims = len(spec.claims) or spec.claim_sample
        return len(spec.personas) * claims * 2 * len(spec.tactics) * spec.repeats
    if spec.is_pressure:
        return len(spec.personas) * len(spec.tactics) * len(spec.motions) * 2 * spec.repeats
    per_pair = len(spec.motions) * 2 * spec.repeats
    n = len(spec.personas)
    if spec.design == "round-robin":
        return n * (n - 1) // 2 * per_pair
    if spec.design == "gauntlet":
        return len([p for p in spec.personas if p != spec.control]) * per_pair
    return spec.swiss_rounds * (n // 2) * per_pair


def match_spec(
    spec: TournamentSpec,
    slot: Slot,
    library: Library,
    tactics: Tactics | None = None,
    claims: Mapping[str, Claim] | None = None,
) -> MatchSpec:
    """The match of a slot (a pressure slot needs the tactics, a calibration one the claims)."""
    calibration = None
    if slot.start is not None:
        if claims is None or tactics is None:
            raise ValueError("a calibration slot needs the claims and the tactics")
        claim = claims.get(slot.motion)
        if claim is None:
            raise NotFoundError(f"claim {slot.motion!r} not found; see `arena claims`")
        motion_id, text = None, claim.claim
        calibration = CalibrationSpec(
            claim=claim.id, truth=claim.truth, start=slot.start,
            challenge=tactics.tactic(slot.tactic or "").kind, evidence=claim.evidence,
        )  # fmt: skip
    else:
        motion_id, text = library.motion_text(slot.motion)
    if slot.tactic is not None and slot.target is not None:
        if tactics is None:
            raise ValueError("a pressure slot needs the tactics")
        tactic = tactics.tactic(slot.tactic)
        return pressure_spec(
            motion=text,
            motion_id=motion_id,
            target=DebaterSpec(persona=slot.persona, model=spec.model_of(slot.persona)),
            side=slot.target,
            tactic=tactic.id,
            rounds=spec.rounds,
            challenger_persona=None,
            challenger_model=None if tactic.scripted else spec.challenger_model,
            probe=spec.probe,
            judges=spec.judges,
            word_limit=spec.word_limit,
            seed=spec.seed,
            calibration=calibration,
            judge_swap=bool(spec.judge_swap),
        )
    return MatchSpec(
        motion=text,
        motion_id=motion_id,
        pro=DebaterSpec(persona=slot.pro, model=spec.model_of(slot.pro)),
        con=DebaterSpec(persona=slot.con, model=spec.model_of(slot.con)),
        rounds=spec.rounds,
        word_limit=spec.word_limit,
        judges=spec.judges,
        seed=spec.seed,
        judge_swap=bool(spec.judge_swap),
    )
