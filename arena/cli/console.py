"""Render a match's events in the terminal as they arrive.

Every string that comes from a model or a user (motion, persona and model names, turn text,
rationales, reasons, errors) is escaped before it reaches rich's markup, so `[bold]` or `[/x]`
in it prints literally.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arena.domain.events import (
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
from arena.domain.results import CalibrationMetrics, MatchMetrics, PressureMetrics

SIDE_STYLE = {"pro": "bold green", "con": "bold magenta"}


def verdict_line(v: Verdict) -> str:
    head = f"[dim]verdict on turn {v.turn + 1} ({v.side.upper()}):[/dim] "
    if not v.scored:
        reason = next((j.reason for j in v.judges if j.reason), "no valid judge output")
        return head + f"[yellow]unscored[/yellow] ({escape(reason)})"
    colour = (
        "green" if (v.holding or 0) >= 0.66 else "yellow" if (v.holding or 0) >= 0.33 else "red"
    )
    parts = [
        f"holding [{colour}]{v.holding:.2f}[/{colour}]",
        f"stance {escape(str(v.stance))}",
        f"engagement {v.engagement:.2f}" if v.engagement is not None else "engagement n/a",
    ]
    if v.disputed:
        parts.append("[red]disputed[/red]")
    text = head + ", ".join(parts)
    if v.rationale:
        text += f" [dim]- {escape(v.rationale)}[/dim]"
    return text


def metrics_table(metrics: MatchMetrics) -> Table:
    table = Table(title="Position-holding")
    for column in (
        "side",
        "persona",
        "model",
        "mean holding",
        "min",
        "switch turn",
        "firmness",
        "stance changes",
        "engagement",
        "ToF (NoF)",
    ):
        table.add_column(column)
    flips = {f.side: f for f in metrics.flips}
    for m in (metrics.pro, metrics.con):
        flip = flips.get(m.side)
        table.add_row(
            m.side.upper(),
            escape(m.persona),
            escape(m.model),
            _fmt(m.mean_holding),
            _fmt(m.min_holding),
            "-" if m.switch_turn is None else str(m.switch_turn + 1),
            str(m.turns_of_firmness),
            str(m.stance_changes),
            _fmt(m.mean_engagement),
            "-"
            if flip is None
            else f"{flip.turn_of_flip}/{flip.responses} ({flip.number_of_flip})",
        )
    judges = escape(", ".join(metrics.judges))
    if metrics.agreement is not None:
        a = metrics.agreement
        table.caption = (
            f"judges {judges}; holding alpha {_fmt(a.holding_alpha)}, "
            f"stance kappa {_fmt(a.stance_kappa)}"
        )
    else:
        table.caption = f"judge {judges}"
    return table


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def pressure_table(pressure: PressureMetrics, persona: str) -> Table:
    """The target's sycophancy metrics (definitions: arena.stats.sycophancy, the README)."""
    m = pressure.target
    table = Table(title=f"Under pressure: {escape(persona)} vs {escape(pressure.tactic)}")
    columns = ("ToF", "NoF", "flipped", "rounds held", "first concession", "MR@k",
               "holding by round")  # fmt: skip
    for column in columns:
        table.add_column(column)
    table.add_row(
        f"{m.turn_of_flip}/{m.responses}",
        str(m.number_of_flip),
        "yes" if m.flipped else "no",
        f"{m.rounds_held}/{m.responses - 1}",
        "-" if m.first_concession_round is None else str(m.first_concession_round),
        " ".join("1" if x else "0" for x in m.mr_at_k),
        " ".join(_fmt(h) for h in m.holding_by_round),
    )
    probe = pressure.probe
    table.caption = f"{m.scored} of {m.responses} target turns scored by the judge"
    if probe is not None:
        table.caption += (
            f"; probe answered {probe.answered}/{probe.probes}, "
            f"agrees with the judge on {_fmt(probe.agreement)} of {probe.compared}"
        )
    return table


def calibration_line(c: CalibrationMetrics) -> str:
    """One line on a calibration match: did the target move, and which way."""
    truth = "true" if c.truth else "false"
    head = f"[bold]Calibration:[/bold] the claim is {truth}; started {c.start}, {c.challenge}"
    if not c.took_start:
        return head + " - [yellow]the opening did not take its side: the trial does not count[/]"
    if not c.flipped:
        return head + " - [green]held its starting side[/green]"
    style = "green" if c.direction == "progressive" else "red"
    kept = {True: ", and stayed", False: ", then went back", None: ""}[c.persisted]
    return head + f" - [{style}]{c.direction} flip[/] in round {c.first_flip_round}{kept}"


def probe_line(p: Probe) -> str:
    head = f"[dim]probe after turn {p.turn + 1}:[/dim] "
    if p.error:
        return head + f"[yellow]no answer[/yellow] ({escape(p.error)})"
    if p.holds is None:
        verdict = "[yellow]neither yes nor no[/yellow]"
    else:
        verdict = "[green]holds its side[/green]" if p.holds else "[red]gave up its side[/red]"
    how = " (forced choice)" if p.method == "choice" else ""
    return head + f"{escape(repr(p.answer))}{how} - {verdict}"


class LiveRenderer:
    """Prints turns as their text streams in; verdicts, which arrive while the next turn is
    being spoken, are held until that turn's text is done so they never split it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.pending: list[Verdict | Probe] = []
        self.in_turn = False

    def _flush_verdicts(self) -> None:
        for v in sorted(self.pending, key=lambda v: (v.turn, v.type == "probe")):
            self.console.print(verdict_line(v) if isinstance(v, Verdict) else probe_line(v))
        self.pending.clear()

    def _started(self, event: MatchStarted) -> None:
        c, spec = self.console, event.spec
        c.rule(f"[bold]{escape(spec.motion)}")
        if spec.pressure is not None:
            side = spec.pressure.target
            target = spec.debater(side)
            challenger = spec.debater("con" if side == "pro" else "pro")
            c.print(
                f"[bold]target[/bold] {escape(target.persona)} ({escape(target.model)}) argues "
                f"{side.upper()}   vs   [bold]tactic[/bold] {escape(spec.pressure.tactic)} "
                f"({escape(challenger.persona)}, {escape(challenger.model)}), "
                f"{spec.rounds} rounds   [dim]judge: {escape(', '.join(spec.judges))}[/dim]",
                highlight=False,
            )
            return
        c.print(
            f"[green]PRO[/green] {escape(spec.pro.persona)} ({escape(spec.pro.model)})   vs   "
            f"[magenta]CON[/magenta] {escape(spec.con.persona)} ({escape(spec.con.model)})   "
            f"[dim]judge: {escape(', '.join(spec.judges))}[/dim]",
            highlight=False,
        )

    def _completed(self, event: MatchCompleted) -> None:
        c = self.console
        self._flush_verdicts()
        c.print()
        under = event.metrics.pressure
        if under is None:
            c.print(metrics_table(event.metrics))
            return
        seat = event.metrics.pro if under.target.side == "pro" else event.metrics.con
        c.print(pressure_table(under, seat.persona))
        if under.calibration is not None:
            c.print(calibration_line(under.calibration), highlight=False)

    async def __call__(self, event: Event) -> None:
        c = self.console
        if isinstance(event, MatchStarted):
            self._started(event)
        elif isinstance(event, TurnStarted):
            self.in_turn = True
            style = SIDE_STYLE[event.side]
            c.print()
            head = f"{event.side.upper()} · {event.persona} · {event.kind}"
            c.print(f"[{style}]{escape(head)}[/{style}]", highlight=False)
        elif isinstance(event, Token):
            c.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
        elif isinstance(event, TurnRestarted):
            # Text already printed cannot be taken back: say it is void; the new reply follows.
            c.print()
            note = f"↻ {event.reason}; the turn starts again"
            c.print(f"[yellow]{escape(note)}[/yellow]", highlight=False)
        elif isinstance(event, TurnCompleted):
            self.in_turn = False
            c.print()
            c.print(f"[dim]{event.tokens_out} tokens, {event.duration_ms / 1000:.1f}s[/dim]")
            self._flush_verdicts()
        elif isinstance(event, Verdict | Probe):
            self.pending.append(event)
            if not self.in_turn:
                self._flush_verdicts()
        elif isinstance(event, MatchCompleted):
            self._completed(event)
        elif isinstance(event, MatchFailed):
            self._flush_verdicts()
            c.print(f"\n[bold red]match failed:[/bold red] {escape(event.error)}", highlight=False)
        elif isinstance(event, MatchCancelledEvent):
            self._flush_verdicts()
            c.print(
                f"\n[bold yellow]match cancelled:[/bold yellow] {escape(event.reason)}",
                highlight=False,
            )
