"""Everything a tournament exports, read from the store: tournament.json, matches.jsonl,
turns.csv, leaderboard.csv, report.md and its two SVG figures (a pressure tournament: the
pressure leaderboard and its persona x tactic heatmap; a calibration tournament: the
firm-and-open leaderboard and its scatter)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from arena.domain.samples import judge_set
from arena.domain.tournaments import MatchResult, Slot
from arena.leaderboard.rows import GroupBy
from arena.leaderboard.versions import BoardView, Versions, view_of
from arena.store import Store
from arena.store.tournaments import TournamentRecord
from arena.tournaments.calibration import calibration_csv, calibration_leaderboard, scatter_svg
from arena.tournaments.judges import JudgePanel, judge_panel
from arena.tournaments.report import figures, pressure_figures, report_md
from arena.tournaments.results import (
    Ratings,
    leaderboard_csv,
    matches_jsonl,
    pressure_leaderboard,
    pressure_leaderboard_csv,
    rate,
    turns_csv,
)
from arena.tournaments.run import Progress, progress, tournaments_of


@dataclass
class Snapshot:
    record: TournamentRecord
    progress: Progress
    slots: list[Slot]
    match_ids: dict[int, str]
    results: list[MatchResult]
    ratings: Ratings
    calibrations: dict[str, str | None]
    panel: JudgePanel

    def document(self) -> dict[str, object]:
        """tournament.json: the spec, the state, the judges' agreement and position bias, the
        ratings' scales and style coefficients, and the expanded schedule."""
        style = self.ratings.style
        return {
            "id": self.record.id,
            "status": self.record.status,
            "total": self.record.total,
            "identity": self.record.identity,
            "created_at": self.record.created_at.isoformat(),
            "spec": self.record.spec.model_dump(mode="json"),
            "progress": self.progress.model_dump(mode="json"),
            "judge": judge_set(self.record.spec.judges),
            "calibration": self.calibrations,
            "judge_panel": self.panel.model_dump(mode="json"),
            "held_firmer_scale": self.ratings.held_firmer_scale,
            "elo_anchor": self.ratings.anchor,
            "style_coefficients": [c.model_dump(mode="json") for c in style.coefficients]
            if style
            else [],
            "schedule": [
                {**s.model_dump(mode="json"), "match": self.match_ids.get(s.index)}
                for s in self.slots
            ],
        }

    def files(self) -> dict[str, str]:
        doc = self.document()
        if self.record.spec.is_calibration:
            rows = calibration_leaderboard(self.results)
            return {
                "tournament.json": json.dumps(doc, indent=2) + "\n",
                "matches.jsonl": matches_jsonl(self.results),
                "turns.csv": turns_csv(self.results),
                "leaderboard.csv": calibration_csv(rows),
                "report.md": report_md(
                    doc, self.ratings, self.results, self.calibrations, self.panel
                ),
                "calibration.svg": scatter_svg(rows),
            }
        if self.record.spec.is_pressure:
            return {
                "tournament.json": json.dumps(doc, indent=2) + "\n",
                "matches.jsonl": matches_jsonl(self.results),
                "turns.csv": turns_csv(self.results),
                "leaderboard.csv": pressure_leaderboard_csv(pressure_leaderboard(self.results)),
                "report.md": report_md(
                    doc, self.ratings, self.results, self.calibrations, self.panel
                ),
                **pressure_figures(self.results),
            }
        return {
            "tournament.json": json.dumps(doc, indent=2) + "\n",
            "matches.jsonl": matches_jsonl(self.results),
            "turns.csv": turns_csv(self.results),
            "leaderboard.csv": leaderboard_csv(self.ratings),
            "report.md": report_md(doc, self.ratings, self.results, self.calibrations, self.panel),
            **figures(self.ratings, self.results),
        }


_RATED: dict[tuple[str, int, int], Ratings] = {}  # a page polls: fit once per new result
_RATED_MAX = 32


async def _ratings(record: TournamentRecord, results: list[MatchResult], resamples: int) -> Ratings:
    key = (record.id, len(results), resamples)
    if key not in _RATED:
        # the bootstrap is CPU work: off the event loop
        _RATED[key] = await asyncio.to_thread(rate, record.spec, results, resamples)
        while len(_RATED) > _RATED_MAX:
            del _RATED[next(iter(_RATED))]
    return _RATED[key]


async def snapshot(store: Store, tournament_id: str, resamples: int = 1000) -> Snapshot | None:
    t = tournaments_of(store)
    record = await t.get(tournament_id)
    state = await progress(store, tournament_id)
    if record is None or state is None:
        return None
    results = await t.results(tournament_id)
    ratings = await _ratings(record, results, resamples)
    panel = await asyncio.to_thread(judge_panel, record.spec.judges, results)
    calibrations = {}
    for judge in record.spec.judges:
        found = await store.judge_calibration(judge)
        calibrations[judge] = found.label if found else None
    return Snapshot(
        record=record,
        progress=state,
        slots=await t.slots(tournament_id),
        match_ids=await t.match_ids(tournament_id),
        results=results,
        ratings=ratings,
        calibrations=calibrations,
        panel=panel,
    )


def write(snap: Snapshot, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in snap.files().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


async def tournament_rows(
    store: Store,
    tournament_id: str,
    by: GroupBy,
    current: Mapping[str, str],
    versions: Versions = "latest",
    judge: str | None = None,
) -> BoardView:
    """Leaderboard rows of one tournament's matches, counted as the board counts versions
    (arena.leaderboard.versions), with the adjusted holding of each persona (rows by persona; it is
    fitted on every match, so a row that leaves older versions out does not show it); empty
    for an unknown tournament."""
    t = tournaments_of(store)
    record = await t.get(tournament_id)
    if record is None:
        return BoardView(versions=versions, rows=[])
    samples = await store.samples.samples(list((await t.match_ids(tournament_id)).values()))
    calibrations = await store.samples.calibrations()
    view = await asyncio.to_thread(view_of, samples, by, versions, calibrations, current, judge)
    if by == "persona":
        ratings = await _ratings(record, await t.results(tournament_id), 500)
        adjusted = {r.persona: r for r in ratings.adjusted}
        for row in view.rows:
            if (a := adjusted.get(row.persona)) is None:
                continue
            if versions == "latest" and row.older_matches:
                note = "adjusted holding is fitted on every version: see versions=all"
                row.warnings = [*row.warnings, note]
                continue
            row.adjusted_holding, row.adjusted_ci = a.estimate, a.ci
    return view
