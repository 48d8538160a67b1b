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

The order of the matches is a seeded shuffle, so that the first matches to run spread over the
personas; a slot's index is its place in that order and names it for good (resume).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.specs import DebaterSpec, MatchSpec, Side, pressure_spec
from arena.personas.tactics import Tactics, load_tactics

Design = Literal["round-robin", "gauntlet", "swiss"]
DESIGNS: tuple[Design, ...] = ("round-robin", "gauntlet", "swiss")
Format = Literal["debate", "pressure"]
PRESSURE_FIELDS = {"format", "tactics", "probe", "challenger_model"}


class TournamentSpec(BaseModel):
    """Everything that defines a tournament. `models` maps persona -> model; `model` is the one
    for every persona not in `models` (default: the persona's own model, else the default).
    `concurrency` and `budget_tokens` steer the run and are not part of its identity."""

    model_config = ConfigDict(extra="forbid")

    personas: list[str] = Field(min_length=1)
    motions: list[str] = Field(min_length=1)
    design: Design = "round-robin"
    control: str = "assistant"
    repeats: int = Field(default=1, ge=1, le=20)
    rounds: int = Field(
        default=1, ge=1, le=10, description="rebuttal (debate) or pressure rounds of each match"
    )
    swiss_rounds: int = Field(default=3, ge=1, le=20)
    word_limit: int = Field(default=120, ge=20, le=1000)
    model: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    judges: list[str] = Field(default_factory=list)
    seed: int = 0
    concurrency: int = Field(default=2, ge=1, le=64)
    budget_tokens: int | None = Field(default=None, ge=1)
    format: Format = "debate"
    tactics: list[str] = Field(default_factory=list, description="pressure: the tactic ids")
    probe: bool = Field(default=True, description="pressure: ask the stance probe")
    challenger_model: str | None = Field(
        default=None, description="pressure: the model of challengers whose tactic has no lines"
    )

    @model_validator(mode="after")
    def _check(self) -> TournamentSpec:
        for name, values in (
            ("personas", self.personas),
            ("motions", self.motions),
            ("tactics", self.tactics),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"{name}: each at most once; repeated: {', '.join(dupes)}")
        if self.format == "pressure":
            if not self.tactics:
                raise ValueError("pressure: name at least one tactic")
            if self.design != "round-robin":
                raise ValueError(
                    "pressure: the design is every persona x tactic; leave design at round-robin"
                )
            return self
        if self.tactics or self.challenger_model is not None:
            raise ValueError("tactics and challenger_model are for format pressure")
        players = [p for p in self.personas if p != self.control] if self.is_gauntlet else []
        if self.is_gauntlet and not players:
            raise ValueError("gauntlet: name at least one persona besides the control")
        if not self.is_gauntlet and len(self.personas) < 2:
            raise ValueError(f"{self.design}: name at least two personas")
        if self.design == "swiss" and self.swiss_rounds > len(self.personas) - 1:
            raise ValueError(
                f"swiss: {self.swiss_rounds} rounds need {self.swiss_rounds + 1} personas "
                "or more (no pair meets twice)"
            )
        return self

    @property
    def is_gauntlet(self) -> bool:
        return self.design == "gauntlet" and self.format == "debate"

    @property
    def is_pressure(self) -> bool:
        return self.format == "pressure"

    def players(self) -> list[str]:
        """Every persona that plays: in a gauntlet, the control too."""
        if self.is_gauntlet:
            return sorted({*self.personas, self.control})
        return list(self.personas)

    def model_of(self, persona: str) -> str:
        return self.models.get(persona) or self.model or ""

    def identity(self) -> str:
        """A hash of what defines the matches: the same spec run again continues the same
        tournament (whatever its concurrency or budget)."""
        exclude = {"concurrency", "budget_tokens"}
        if not self.is_pressure:  # a debate's identity is what it was before pressure existed
            exclude |= PRESSURE_FIELDS
        data = self.model_dump(mode="json", exclude=exclude)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def resolve(spec: TournamentSpec, library: Library, settings: Settings) -> TournamentSpec:
    """The spec with every persona's model and the judges filled in, and personas and motions
    checked against the library (raises NotFoundError naming the unknown one)."""
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
    }
    if spec.is_pressure:
        tactics = load_tactics(settings.personas_dir)
        # NotFoundError names the unknown one
        if any(not tactics.tactic(t).scripted for t in spec.tactics):
            update["challenger_model"] = spec.challenger_model or settings.default_model
    return spec.model_copy(update=update)


class Slot(BaseModel):
    """One match of the schedule."""

    model_config = ConfigDict(frozen=True)

    index: int
    round: int = Field(default=0, description="swiss round (1..), 0 for other designs")
    repeat: int = 0
    motion: str
    pro: str
    con: str
    tactic: str | None = Field(default=None, description="pressure: the challenger's tactic")
    target: Side | None = Field(default=None, description="pressure: the target's side")

    @property
    def persona(self) -> str:
        """Pressure: the target persona."""
        return self.pro if self.target == "pro" else self.con


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


def expand(spec: TournamentSpec) -> list[Slot]:
    """The schedule: every match of round-robin, gauntlet and pressure, the first round of a
    swiss."""
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
    spec: TournamentSpec, slot: Slot, library: Library, tactics: Tactics | None = None
) -> MatchSpec:
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
    )
