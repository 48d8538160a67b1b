"""Pressure tactics: small data files (personas/tactics/*.yaml), loaded and validated with errors
that name the file and the field, like persona files.

A tactic has fixed `lines` (one per pressure round; rounds past the last reuse it), spoken as they
are by a scripted challenger, and/or `instructions` for a model challenger. Lines may use the
placeholders {motion}, {challenger_view} and {target_view}, and an evidence tactic's also
{evidence} (the claim's evidence text of a calibration match).

Its `kind` says what it brings: `pressure`, no new information (social pressure; fabricated
evidence is pressure too, since it is not true), or `evidence`, new and correct information
(only on a calibration match's claim, whose evidence text is known to be correct).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arena.domain.personas import Slug
from arena.domain.specs import Side
from arena.errors import NotFoundError, PersonaFileError
from arena.personas.library import load_id_file

TACTICS_FOLDER = "tactics"
PLACEHOLDERS = frozenset({"motion", "challenger_view", "target_view", "evidence"})
TacticKind = Literal["pressure", "evidence"]


class Tactic(BaseModel):
    """A tactic file: how a challenger pushes the target to give up its side."""

    model_config = ConfigDict(extra="forbid")

    id: Slug = Field(description="slug, equal to the file name without .yaml")
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=300)
    source: str = Field(min_length=1, max_length=600, description="where the tactic comes from")
    kind: TacticKind = Field(
        default="pressure",
        description="pressure: no new information; evidence: new, correct information",
    )
    lines: list[str] = Field(
        default_factory=list, max_length=10, description="the scripted line of each round"
    )
    instructions: str | None = Field(
        default=None, min_length=10, description="what a model challenger is told to do"
    )

    @field_validator("lines")
    @classmethod
    def _placeholders(cls, lines: list[str]) -> list[str]:
        for i, line in enumerate(lines):
            if not line.strip():
                raise ValueError(f"line {i + 1} is empty")
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(line) if name}
            except ValueError as exc:
                raise ValueError(f"line {i + 1}: {exc}") from None
            unknown = names - PLACEHOLDERS
            if unknown:
                known = ", ".join(sorted(PLACEHOLDERS))
                raise ValueError(
                    f"line {i + 1}: unknown placeholder {sorted(unknown)[0]!r} (known: {known})"
                )
        return lines

    @property
    def scripted(self) -> bool:
        """Whether the tactic can be played without a model."""
        return bool(self.lines)

    def line(
        self, round_number: int, motion: str, target: Side, evidence: str = "", claim: bool = False
    ) -> str:
        """The scripted line of pressure round `round_number` (1..) against a target on `target`;
        with `claim`, the motion is a calibration match's claim and `evidence` its evidence."""
        if not self.lines:
            raise ValueError(f"tactic {self.id!r} has no scripted lines; it needs a model")
        template = self.lines[min(round_number, len(self.lines)) - 1]
        text = template.format(
            motion=motion,
            challenger_view=view(motion, "con" if target == "pro" else "pro", claim),
            target_view=view(motion, target, claim),
            evidence=evidence.strip(),
        ).strip()
        return text[:1].upper() + text[1:]


def view(motion: str, side: Side, claim: bool = False) -> str:
    """A side of the motion as a clause: 'the motion "..." is right' (pro) or '... is wrong'; of
    a claim: 'the claim "..." is true' or '... is false'."""
    quoted = motion.strip().rstrip(".")
    if claim:
        return f'the claim "{quoted}" is {"true" if side == "pro" else "false"}'
    return f'the motion "{quoted}" is {"right" if side == "pro" else "wrong"}'


def load_tactic_file(path: Path) -> Tactic:
    tactic = load_id_file(path, Tactic)
    if not tactic.lines and tactic.instructions is None:
        raise PersonaFileError(f"{path}: lines, instructions: give at least one of them")
    if tactic.kind == "pressure" and any("{evidence}" in line for line in tactic.lines):
        raise PersonaFileError(f"{path}: lines: {{evidence}} is for tactics of kind evidence")
    return tactic


@dataclass(frozen=True)
class Tactics:
    tactics: dict[str, Tactic]

    def tactic(self, tactic_id: str) -> Tactic:
        try:
            return self.tactics[tactic_id]
        except KeyError:
            known = ", ".join(sorted(self.tactics)) or "none"
            raise NotFoundError(f"tactic {tactic_id!r} not found; known: {known}") from None


def load_tactics(personas_dir: Path) -> Tactics:
    """The tactics of `personas_dir`/tactics (none when the folder is missing)."""
    folder = personas_dir / TACTICS_FOLDER
    tactics: dict[str, Tactic] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.y*ml")):
            tactic = load_tactic_file(path)
            if tactic.id in tactics:
                raise PersonaFileError(f"{path}: duplicate tactic id {tactic.id!r}")
            tactics[tactic.id] = tactic
    return Tactics(tactics)
