"""Render a match's events in the terminal as they arrive.

Every string that comes from a model or a user (motion, persona and model names, turn text,
rationales, reasons, errors) is escaped before it reaches rich's markup, so `[bold]` or `[/x]`
in it prints literally.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arena.events import (
    Event,
    MatchCancelledEvent,
    MatchCompleted,
    MatchFailed,
    MatchMetrics,
    MatchStarted,
    Token,
    TurnCompleted,
    TurnRestarted,
    TurnStarted,
    Verdict,
)

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
        "flip turn",
        "firmness",
        "stance changes",
        "engagement",
    ):
        table.add_column(column)
    for m in (metrics.pro, metrics.con):
        table.add_row(
            m.side.upper(),
            escape(m.persona),
            escape(m.model),
            _fmt(m.mean_holding),
            _fmt(m.min_holding),
            "-" if m.flip_turn is None else str(m.flip_turn + 1),
            str(m.turns_of_firmness),
            str(m.stance_changes),
            _fmt(m.mean_engagement),
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


class LiveRenderer:
    """Prints turns as their text streams in; verdicts, which arrive while the next turn is
    being spoken, are held until that turn's text is done so they never split it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.pending: list[Verdict] = []
        self.in_turn = False

    def _flush_verdicts(self) -> None:
        for v in sorted(self.pending, key=lambda v: v.turn):
            self.console.print(verdict_line(v))
        self.pending.clear()

    async def __call__(self, event: Event) -> None:
        c = self.console
        if isinstance(event, MatchStarted):
            spec = event.spec
            c.rule(f"[bold]{escape(spec.motion)}")
            c.print(
                f"[green]PRO[/green] {escape(spec.pro.persona)} ({escape(spec.pro.model)})   vs   "
                f"[magenta]CON[/magenta] {escape(spec.con.persona)} ({escape(spec.con.model)})   "
                f"[dim]judge: {escape(', '.join(spec.judges))}[/dim]",
                highlight=False,
            )
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
        elif isinstance(event, Verdict):
            self.pending.append(event)
            if not self.in_turn:
                self._flush_verdicts()
        elif isinstance(event, MatchCompleted):
            self._flush_verdicts()
            c.print()
            c.print(metrics_table(event.metrics))
        elif isinstance(event, MatchFailed):
            self._flush_verdicts()
            c.print(f"\n[bold red]match failed:[/bold red] {escape(event.error)}", highlight=False)
        elif isinstance(event, MatchCancelledEvent):
            self._flush_verdicts()
            c.print(
                f"\n[bold yellow]match cancelled:[/bold yellow] {escape(event.reason)}",
                highlight=False,
            )
