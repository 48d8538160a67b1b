"""Fold a match's events into turns: used to resume a match, to serve it, and to export it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from arena.domain.events import (
    Awaiting,
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchStarted,
    Probe,
    Token,
    TurnCompleted,
    TurnRestarted,
    TurnStarted,
    Verdict,
)
from arena.domain.plan import plan_turns
from arena.domain.results import MatchMetrics, PressureMetrics
from arena.domain.specs import Author, MatchSpec, PlannedTurn, Side, TurnKind


@dataclass
class TurnView:
    turn: int
    side: Side
    kind: TurnKind
    persona: str
    model: str
    text: str = ""
    completed: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    ttft_ms: float | None = None
    duration_ms: float | None = None
    verdict: Verdict | None = None
    probe: Probe | None = None
    # the reason of the turn's last turn_restarted, if it had one
    restarted: str | None = None
    author: Author | None = None


@dataclass
class TranscriptView:
    spec: MatchSpec | None = None
    total_turns: int = 0
    # the turn plan sent in match_started (derived from the spec for matches stored before it
    # was sent); empty until the match started
    plan: list[PlannedTurn] = field(default_factory=list)
    turns: dict[int, TurnView] = field(default_factory=dict)
    verdicts: dict[int, Verdict] = field(default_factory=dict)
    probes: dict[int, Probe] = field(default_factory=dict)
    status: str = "queued"
    metrics: MatchMetrics | None = None
    error: str | None = None
    last_id: str | None = None
    # the human challenger's turn the match waits for, and until when (None: not waiting)
    awaiting: Awaiting | None = None

    @property
    def ordered(self) -> list[TurnView]:
        return [self.turns[i] for i in sorted(self.turns)]

    @property
    def completed(self) -> list[TurnView]:
        return [t for t in self.ordered if t.completed]

    @property
    def partial(self) -> TurnView | None:
        """The turn that was started but not completed, if any."""
        return next((t for t in self.ordered if not t.completed), None)


def _apply_turn(view: TranscriptView, event: TurnStarted | Token | TurnRestarted) -> None:
    if isinstance(event, TurnStarted):
        view.turns.setdefault(
            event.turn,
            TurnView(
                event.turn, event.side, event.kind, event.persona, event.model, author=event.author
            ),
        )
        if view.awaiting is not None and view.awaiting.turn == event.turn:
            view.awaiting = None
        return
    t = view.turns.get(event.turn)
    if t is None:
        return
    if isinstance(event, Token):
        t.text += event.text
    else:  # the reply starts again: the text so far is void
        t.text, t.restarted = "", event.reason


def _apply(view: TranscriptView, event: Event) -> None:
    if isinstance(event, MatchStarted):
        view.spec, view.total_turns, view.status = event.spec, event.total_turns, "running"
        view.plan = list(event.plan) or plan_turns(event.spec)
    elif isinstance(event, TurnStarted | Token | TurnRestarted):
        _apply_turn(view, event)
    elif isinstance(event, Awaiting):
        view.awaiting = event
    elif isinstance(event, TurnCompleted):
        t = view.turns.get(event.turn)
        if t is not None:
            t.text, t.completed = event.text, True
            t.tokens_in, t.tokens_out = event.tokens_in, event.tokens_out
            t.ttft_ms, t.duration_ms = event.ttft_ms, event.duration_ms
    elif isinstance(event, Verdict):
        view.verdicts[event.turn] = event
        if event.turn in view.turns:
            view.turns[event.turn].verdict = event
    elif isinstance(event, Probe):
        view.probes[event.turn] = event
        if event.turn in view.turns:
            view.turns[event.turn].probe = event
    elif isinstance(event, MatchCompleted | MatchFailed | MatchCancelledEvent):
        _finish(view, event)


def _finish(
    view: TranscriptView, event: MatchCompleted | MatchFailed | MatchCancelledEvent
) -> None:
    view.awaiting = None
    if isinstance(event, MatchCompleted):
        view.status, view.metrics = "completed", event.metrics
    elif isinstance(event, MatchFailed):
        view.status, view.error = "failed", event.error
    else:
        view.status, view.error = "cancelled", event.reason


def fold(events: Iterable[Event]) -> TranscriptView:
    view = TranscriptView()
    for event in events:
        _apply(view, event)
        view.last_id = event.id or view.last_id
    return view


def to_markdown(view: TranscriptView) -> str:
    spec = view.spec
    lines: list[str] = []
    if spec is not None:
        lines += _header(spec, view.status)
    roles = {p.index: p.role for p in view.plan}
    for t in view.ordered:
        role = roles.get(t.turn, "debater")
        who = "" if role == "debater" else f"{role} "
        by = f", {t.author}" if t.author in ("human", "fallback") else ""
        lines.append(f"## Turn {t.turn + 1}: {who}{t.side.upper()} {t.kind} ({t.persona}{by})")
        lines.append("")
        lines.append(t.text.strip() + ("" if t.completed else " [cut off]"))
        lines.append("")
        v = t.verdict
        if v is not None and v.scored:
            lines.append(
                f"> Verdict: stance {v.stance}, holding {v.holding:.2f}, "
                f"engagement {v.engagement if v.engagement is not None else 'n/a'}. {v.rationale}"
            )
            if v.concessions:
                lines.append(f"> Concessions: {'; '.join(v.concessions)}")
            lines.append("")
        elif v is not None:
            lines += [f"> Verdict: unscored ({v.judges[0].reason if v.judges else ''})", ""]
        if t.probe is not None:
            lines += [_probe_line(t.probe), ""]
    if view.metrics is not None:
        lines += [
            "## Metrics",
            "",
            "| side | persona | mean holding | min | switch turn | "
            "firmness | stance changes | engagement |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in (view.metrics.pro, view.metrics.con):
            lines.append(
                f"| {m.side} | {m.persona} | {_fmt(m.mean_holding)} | {_fmt(m.min_holding)} | "
                f"{'-' if m.switch_turn is None else m.switch_turn + 1} | {m.turns_of_firmness} | "
                f"{m.stance_changes} | {_fmt(m.mean_engagement)} |"
            )
    if view.metrics is not None and view.metrics.pressure is not None:
        lines += _pressure_lines(view.metrics.pressure)
    if view.error:
        lines += ["", f"**{view.status}:** {view.error}"]
    return "\n".join(lines) + "\n"


def _header(spec: MatchSpec, status: str) -> list[str]:
    lines = [f"# {spec.motion}", ""]
    if spec.pressure is not None:
        target = spec.debater(spec.pressure.target)
        lines += [
            f"- Format: pressure, {spec.rounds} rounds, tactic {spec.pressure.tactic}",
            f"- Target ({spec.pressure.target.upper()}): {target.persona} ({target.model})",
        ]
    else:
        lines += [
            f"- PRO: {spec.pro.persona} ({spec.pro.model})",
            f"- CON: {spec.con.persona} ({spec.con.model})",
        ]
    return [*lines, f"- Judges: {', '.join(spec.judges)}", f"- Status: {status}", ""]


def _probe_line(p: Probe) -> str:
    held = "no yes/no" if p.holds is None else "holds its side" if p.holds else "gave up its side"
    return f"> Probe: {p.question} {p.answer or '(no answer)'!r}: {held}"


def _pressure_lines(pressure: PressureMetrics) -> list[str]:
    pm = pressure.target
    lines = [
        "",
        "## Under pressure",
        "",
        f"- Turn of Flip (SYCON): {pm.turn_of_flip} of {pm.responses} responses; Number of Flip: "
        f"{pm.number_of_flip}; rounds held: {pm.rounds_held} of {pm.responses - 1}; first "
        f"concession: round {pm.first_concession_round or '-'}; unscored: {pm.unscored}",
        f"- MR@k: {', '.join('yes' if x else 'no' for x in pm.mr_at_k)}",
        f"- Holding by round: {', '.join(_fmt(h) for h in pm.holding_by_round)}",
    ]
    if pressure.probe is not None:
        lines.append(
            f"- Probe: {pressure.probe.answered}/{pressure.probe.probes} answered; agrees with "
            f"the judge on {_fmt(pressure.probe.agreement)} of {pressure.probe.compared}"
        )
    return lines


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
