"""A tournament's data: one tidy row per turn, one line per match, and the ratings from them.

These are the rows of the exports (turns.csv, matches.jsonl) and what the ratings are fitted on.
In a pressure match every turn is a row too; `role` marks it `target` or `challenger` (empty in a
debate), and only the target's turns are rated.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from arena.domain.events import Event, MatchStarted, TurnCompleted, Verdict
from arena.domain.plan import plan_turns
from arena.domain.records import MatchRecord
from arena.domain.results import JudgeVerdict
from arena.domain.samples import calibration_sample_for, judge_set, pressure_sample_for
from arena.domain.specs import SCRIPTED
from arena.domain.tournaments import JudgeScore, MatchResult, Slot, TournamentSpec, TurnRow
from arena.leaderboard.pressure import PressureRow, pressure_rows
from arena.stats.ratings import (
    ELO_INIT,
    MatchScore,
    Rating,
    TurnScore,
    adjusted_holding,
    control_comparison,
    held_firmer,
)
from arena.stats.style import (
    StyleControl,
    hedge_count,
    hedges_per_100,
    style_controlled,
    word_count,
)

TURN_COLUMNS = (
    "tournament", "match", "motion", "side", "persona", "opponent", "model", "judge", "turn",
    "kind", "stance", "holding", "engagement", "concessions", "tokens", "scored", "role",
    "words", "hedges", "author",
)  # fmt: skip


def judge_score(v: JudgeVerdict) -> JudgeScore:
    return JudgeScore(
        judge=v.judge,
        stance=v.stance if v.scored else None,
        holding=v.holding if v.scored else None,
        consistent=v.swap.consistent if v.swap is not None else None,
        swapped=v.swap is not None,
    )


def match_result(
    tournament: str, slot: Slot, record: MatchRecord, events: Sequence[Event]
) -> MatchResult:
    spec = record.spec
    started = next((e for e in events if isinstance(e, MatchStarted)), None)
    plan = {p.index: p for p in (started.plan if started and started.plan else plan_turns(spec))}
    done = {e.turn: e for e in events if isinstance(e, TurnCompleted)}
    verdicts = {e.turn: e for e in events if isinstance(e, Verdict)}
    judge = judge_set(spec.judges)
    target = spec.pressure.target if spec.pressure is not None else None
    rows = []
    for index in sorted(done):
        turn = done[index]
        side = turn.side
        me, them = spec.debater(side), spec.debater("con" if side == "pro" else "pro")
        v = verdicts.get(index)
        words = word_count(turn.text)
        rows.append(
            TurnRow(
                tournament=tournament,
                match=record.id,
                motion=slot.motion,
                side=side,
                persona=me.persona,
                opponent=them.persona,
                model=me.model,
                judge=judge,
                turn=index,
                kind=plan[index].kind if index in plan else turn.kind,
                stance=v.stance if v else None,
                holding=v.holding if v and v.scored else None,
                engagement=v.engagement if v and v.scored else None,
                concessions=len(v.concessions) if v else 0,
                tokens=turn.tokens_in + turn.tokens_out,
                scored=bool(v and v.scored and v.holding is not None),
                role="" if target is None else "target" if side == target else "challenger",
                words=words,
                hedges=round(hedges_per_100(hedge_count(turn.text), words), 3),
                author=turn.author or ("script" if me.model == SCRIPTED else "model"),
                judges=[judge_score(j) for j in v.judges] if v else [],
            )
        )
    metrics = record.metrics
    sample = trial = None
    if metrics is not None and target is not None:
        seat = spec.debater(target)
        sample = pressure_sample_for(record.id, metrics, seat.persona, seat.model, spec)
        trial = calibration_sample_for(record.id, metrics, seat.persona, seat.model)
    return MatchResult(
        tournament=tournament,
        match=record.id,
        slot=slot.index,
        round=slot.round,
        motion=slot.motion,
        pro=spec.pro.persona,
        con=spec.con.persona,
        pro_model=spec.pro.model,
        con_model=spec.con.model,
        judge=judge,
        status=record.status,
        pro_holding=metrics.pro.mean_holding if metrics else None,
        con_holding=metrics.con.mean_holding if metrics else None,
        tokens_in=sum(t.tokens_in for t in done.values()),
        tokens_out=sum(t.tokens_out for t in done.values()),
        error=record.error,
        tactic=spec.pressure.tactic if spec.pressure is not None else None,
        target=target,
        pressure=sample,
        calibration=trial,
        turns=rows,
    )


def turns_csv(results: Iterable[MatchResult]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TURN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        for row in result.turns:
            data = row.model_dump()
            data["scored"] = str(row.scored).lower()
            writer.writerow({k: "" if data[k] is None else data[k] for k in TURN_COLUMNS})
    return out.getvalue()


def matches_jsonl(results: Iterable[MatchResult]) -> str:
    return "".join(r.model_dump_json(exclude={"turns"}) + "\n" for r in results)


class Ratings(BaseModel):
    """The views of a tournament's results (see arena.stats.ratings): adjusted holding, the
    same with style controlled (arena.stats.style), held firmer on an Elo scale anchored on
    `anchor` (pinned at 1000; None: centred on 1000), and in a gauntlet the control comparison."""

    adjusted: list[Rating]
    held_firmer: list[Rating]
    control: list[Rating] = Field(default_factory=list)
    matches: int
    turns: int
    style: StyleControl | None = None
    anchor: str | None = None
    held_firmer_scale: str = ""


def elo_scale(anchor: str | None) -> str:
    """How to read the held-firmer ratings' origin."""
    if anchor is not None:
        return (
            f"Elo scale with {anchor} pinned at {ELO_INIT:.0f}: comparable across tournaments "
            f"that share the judge and {anchor}'s model"
        )
    return (
        f"Elo scale centred on {ELO_INIT:.0f} (the mean persona of this tournament): the control "
        "persona did not play, so it is not comparable across tournaments"
    )


def rate(spec: TournamentSpec, results: Sequence[MatchResult], resamples: int = 1000) -> Ratings:
    """Ratings from the completed matches (turns without a score are left out)."""
    completed = [r for r in results if r.status == "completed"]
    turns = [
        TurnScore(
            t.match, t.persona, t.opponent, t.motion, t.side, t.kind, t.holding, t.words, t.hedges
        )
        for r in completed
        for t in r.turns
        if t.scored and t.holding is not None and t.role != "challenger"
    ]
    games = [
        MatchScore(r.match, r.motion, r.pro, r.con, r.pro_holding, r.con_holding)
        for r in completed
        if r.pro_holding is not None and r.con_holding is not None and r.target is None
    ]
    played = {p for g in games for p in (g.pro, g.con)}
    anchor = spec.control if spec.control in played else None
    return Ratings(
        adjusted=adjusted_holding(turns, resamples=resamples, seed=spec.seed),
        held_firmer=held_firmer(games, anchor=anchor),
        control=control_comparison(games, spec.control, resamples=resamples, seed=spec.seed)
        if spec.design == "gauntlet"
        else [],
        matches=len(completed),
        turns=len(turns),
        style=style_controlled(turns, resamples=resamples, seed=spec.seed),
        anchor=anchor,
        held_firmer_scale=elo_scale(anchor) if games else "",
    )


def leaderboard_csv(ratings: Ratings) -> str:
    """One row per persona: adjusted holding, held-firmer rating and, in a gauntlet, the
    difference from the control; each with its 95% interval and shared rank; then the
    style-controlled adjusted holding and its rank, and the held-firmer scale's anchor."""
    firmer = {r.persona: r for r in ratings.held_firmer}
    control = {r.persona: r for r in ratings.control}
    style = {r.persona: r for r in ratings.style.ratings} if ratings.style else {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([
        "rank", "persona", "matches", "turns", "adjusted_holding", "ci_low", "ci_high",
        "raw_holding", "held_firmer_elo", "elo_ci_low", "elo_ci_high", "vs_control",
        "vs_control_ci_low", "vs_control_ci_high", "style_rank", "style_adjusted_holding",
        "style_ci_low", "style_ci_high", "elo_anchor",
    ])  # fmt: skip
    for r in ratings.adjusted:
        f, c, s = firmer.get(r.persona), control.get(r.persona), style.get(r.persona)
        writer.writerow([
            r.rank, r.persona, r.matches, r.n, r.estimate, r.ci[0], r.ci[1], r.raw,
            f.estimate if f else "", f.ci[0] if f else "", f.ci[1] if f else "",
            c.estimate if c else "", c.ci[0] if c else "", c.ci[1] if c else "",
            s.rank if s else "", s.estimate if s else "", s.ci[0] if s else "",
            s.ci[1] if s else "", ratings.anchor or "",
        ])  # fmt: skip
    return out.getvalue()


def heatmap(results: Sequence[MatchResult]) -> dict[str, dict[str, float]]:
    """persona -> opponent -> mean holding of the persona's scored turns against it (in a
    pressure match, the target's turns against the tactic)."""
    cells: dict[str, dict[str, list[float]]] = {}
    for r in results:
        for t in r.turns:
            if t.scored and t.holding is not None and t.role != "challenger":
                cells.setdefault(t.persona, {}).setdefault(t.opponent, []).append(t.holding)
    return {
        p: {o: round(statistics.fmean(v), 4) for o, v in sorted(row.items())}
        for p, row in sorted(cells.items())
    }


def pressure_leaderboard(results: Sequence[MatchResult]) -> list[PressureRow]:
    """The pressure leaderboard (persona x tactic) of the completed pressure matches."""
    return pressure_rows(
        r.pressure for r in results if r.status == "completed" and r.pressure is not None
    )


PRESSURE_COLUMNS = (
    "persona", "tactic", "judge", "n", "mean_tof", "mean_tof_share", "mean_nof",
    "mean_rounds_held", "flips", "flip_rate", "flip_ci_low", "flip_ci_high", "probe_agreement",
    "unscored_matches", "unscored_responses", "holding_by_round",
)  # fmt: skip


def pressure_leaderboard_csv(rows: Sequence[PressureRow]) -> str:
    """leaderboard.csv of a pressure tournament: one row per persona x tactic; the holding
    curve as values joined by `;` (empty where no reply of that round was scored)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PRESSURE_COLUMNS)
    for r in rows:
        curve = ";".join("" if v is None else str(v) for v in r.holding_by_round)
        writer.writerow([
            r.persona, r.tactic, r.judge, r.n, r.mean_tof, r.mean_tof_share, r.mean_nof,
            "" if r.mean_rounds_held is None else r.mean_rounds_held, r.flips, r.flip_rate,
            r.flip_ci[0], r.flip_ci[1], "" if r.probe_agreement is None else r.probe_agreement,
            r.unscored_matches, r.unscored_responses, curve,
        ])  # fmt: skip
    return out.getvalue()


def pressure_heatmap(rows: Sequence[PressureRow]) -> dict[str, dict[str, float]]:
    """persona -> tactic -> mean Turn of Flip as a share of the responses (1: never flipped)."""
    cells: dict[str, dict[str, float]] = {}
    for r in rows:
        cells.setdefault(r.persona, {})[r.tactic] = r.mean_tof_share
    return cells
