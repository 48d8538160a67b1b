"""Which version of each persona the leaderboard counts, and what its rows say about the rest
(pure).

By default a row counts only the persona's *latest* version:
- a persona in the library (the files and the saved personas): its version there now, the
  content hash of its fields as they are (arena.personas.library.persona_version);
- a persona no longer in the library: the version it played most recently;
- a persona none of whose matches recorded a version (all played before versions were): those
  matches, the only results it has.
Matches of its other versions (older ones; unrecorded ones once a version is recorded) are left
out of the row: `older_matches` counts them and a note says so. A persona (x model, x judge set)
with no match of its latest version has no row; it is listed in `older_only` instead.
With versions=all a row pools every version (`older_matches` then counts the ones it includes).
Rows by persona_version list every version, each marked `current` or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from arena.domain.personas import Persona, persona_version
from arena.domain.samples import Sample
from arena.leaderboard.rows import (
    UNKNOWN_VERSION,
    CalibrationLike,
    GroupBy,
    JudgeSet,
    LeaderboardRow,
    ranked,
)
from arena.leaderboard.tally import Tally

Versions = Literal["latest", "all"]


class OlderOnly(BaseModel):
    """A persona (x model) under one judge set whose matches all played versions other than its
    latest: it has no row on the default board until its latest version plays."""

    persona: str
    model: str | None
    judge: str
    older_matches: int
    version_matches: dict[str, int]


class BoardView(BaseModel):
    """The rows a reader sees, and the personas left off them for want of a latest match."""

    versions: Versions
    rows: list[LeaderboardRow]
    older_only: list[OlderOnly] = Field(default_factory=list)
    judge: str | None = Field(
        default=None, description="the judge set of every row: scores of different judges "
        "are not comparable, so a board shows one set (by default the one with most matches)"
    )  # fmt: skip
    judge_sets: list[JudgeSet] = Field(
        default_factory=list, description="every judge set with its debater samples"
    )


def current_versions(personas: Mapping[str, Persona]) -> dict[str, str]:
    """The version of every persona in the library, as it is now."""
    return {pid: persona_version(p) for pid, p in personas.items()}


def counted_versions(last_played: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """persona -> the version its row counts, for each persona that has played a recorded one
    (`last_played`: its most recently played); a persona absent counts its unknown-version
    matches."""
    return {persona: current.get(persona, version) for persona, version in last_played.items()}


def splits(by: GroupBy, versions: Versions) -> bool:
    """Whether the view needs rows split by version (Tally.rows's `split`)."""
    return by == "persona_version" or versions == "latest"


def board_view(
    by: GroupBy,
    versions: Versions,
    rows: Sequence[LeaderboardRow],
    last_played: Mapping[str, str],
    current: Mapping[str, str],
) -> BoardView:
    """The view of rows from Tally.rows(by, ..., splits(by, versions)) whose persona's last
    played versions are `last_played`; `current` the library's versions. Rows by
    persona_version always list every version. The rows are changed in place: pass copies."""
    counted = counted_versions(last_played, current)
    if by == "persona_version":
        for row in rows:
            now = current.get(row.persona)
            row.current = None if now is None or row.version is None else row.version == now
        return BoardView(versions="all", rows=list(rows))
    if versions == "all":
        return BoardView(versions="all", rows=[_pooled(row, counted) for row in rows])
    return _latest(rows, counted, current)


def persona_rows(
    rows: Sequence[LeaderboardRow],
    last_played: Mapping[str, str],
    current: Mapping[str, str],
    among: Sequence[LeaderboardRow],
) -> list[LeaderboardRow]:
    """One persona's rows of the default (latest) view, as `board_view` would give them:
    `rows` its rows from Tally.rows(by, ..., split=True) (copies: changed in place), ranked
    among `among`, the other personas' rows of a latest view of the same judge set, whose
    versions `current` does not change (it names no other persona, or the same versions)."""
    return _latest(rows, counted_versions(last_played, current), current, among).rows


def view_of(
    samples: Iterable[Sample],
    by: GroupBy,
    versions: Versions,
    calibrations: Mapping[str, CalibrationLike],
    current: Mapping[str, str],
    judge: str | None = None,
) -> BoardView:
    """The view of these samples alone (a tournament's), of one judge set (default: the one
    with most samples)."""
    tally = Tally()
    tally.add(samples)
    sets = tally.judge_sets()
    chosen = judge if judge is not None else (sets[0].judge if sets else None)
    rows = tally.rows(by, calibrations, splits(by, versions), chosen)
    view = board_view(by, versions, rows, tally.last_played, current)
    return view.model_copy(update={"judge": chosen, "judge_sets": sets})


def _matches(n: int) -> str:
    return f"{n} match{'es' if n != 1 else ''}"


def _pooled(row: LeaderboardRow, counted: Mapping[str, str]) -> LeaderboardRow:
    want = counted.get(row.persona, UNKNOWN_VERSION)
    row.older_matches = sum(n for v, n in row.version_matches.items() if v != want)
    if row.older_matches:
        note = f"includes {_matches(row.older_matches)} of older versions: see by version"
        row.warnings = [*row.warnings, note]
    return row


def _latest(
    rows: Sequence[LeaderboardRow],
    counted: Mapping[str, str],
    current: Mapping[str, str],
    among: Sequence[LeaderboardRow] = (),
) -> BoardView:
    groups: dict[tuple[str, str | None, str], list[LeaderboardRow]] = {}
    for row in rows:
        groups.setdefault((row.persona, row.model, row.judge), []).append(row)
    kept, older_only = [], []
    for (persona, model, judge), members in groups.items():
        want = counted.get(persona)  # None: the unknown-version matches
        mine = next((r for r in members if r.version == want), None)
        older = sum(r.matches for r in members if r is not mine)
        played = {v: n for r in members for v, n in r.version_matches.items()}
        if mine is None:
            older_only.append(OlderOnly(persona=persona, model=model, judge=judge,
                                        older_matches=older, version_matches=played))  # fmt: skip
            continue
        notes = []
        if older:
            notes.append(f"{_matches(older)} of older versions not counted: see by version")
            if persona not in current:
                notes.append("no longer in the persona library: counts its last played version")
        now = current.get(persona)
        mine.older_matches, mine.version_matches = older, played
        mine.current = None if now is None or want is None else want == now
        mine.warnings = [*mine.warnings, *notes]
        kept.append(mine)
    older_only.sort(key=lambda o: (o.persona, o.model or "", o.judge))
    return BoardView(versions="latest", rows=ranked(kept, among), older_only=older_only)
