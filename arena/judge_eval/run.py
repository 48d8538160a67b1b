"""judge-eval: run a judge over gold-labelled turns and report how well its verdicts match.

Rows are JSONL: {"motion", "side": "pro"|"con", "text", "label": "holds"|"abandons"|"neutral"}
plus an optional "opponent" (the turn the speaker answers). The speaker is presented in its
natural debate position (PRO opens, so PRO is Debater 1); --swap judges each row a second time
in the other position to measure position bias.

--record stores the figure the leaderboard shows beside the judge: accuracy over every row
judged, a row the judge failed to score counting as wrong, with n, the file's name and sha256,
and the date. It refuses fewer than MIN_RECORD_ROWS rows unless forced, so a quick `--limit 3`
cannot replace a figure from the whole set.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from arena.config import Settings
from arena.domain.records import Calibration
from arena.domain.results import JudgeVerdict
from arena.domain.specs import Side
from arena.engine.judge import JudgeContext, judge_turn
from arena.judge_eval.rows import (
    CALIBRATION,
    EvalRow,
    JudgeEvalError,
    Malformed,
    parse_rows,
    read_source,
    select,
)
from arena.models.base import ChatModel
from arena.models.cache import ModelFactory
from arena.stats import evaluation as ev
from arena.stats.position import SwapRate
from arena.store import Store

MIN_RECORD_ROWS = 50

PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TextColumn("rows"),
    TimeElapsedColumn(),
    TextColumn("ETA"),
    TimeRemainingColumn(),
)


@dataclass(frozen=True)
class EvalOptions:
    file: str
    judge: str
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    swap: bool = False
    concurrency: int | None = None
    json_out: Path | None = None
    record: bool = False
    force: bool = False  # record even under MIN_RECORD_ROWS rows


@dataclass(frozen=True)
class RowResult:
    row: EvalRow
    verdict: JudgeVerdict
    swapped: JudgeVerdict | None = None


def natural_position(side: Side) -> Literal[1, 2]:
    return 1 if side == "pro" else 2


async def judge_rows(
    model: ChatModel,
    rows: Sequence[EvalRow],
    *,
    swap: bool = False,
    concurrency: int = 1,
    settings: Settings | None = None,
    on_row: Callable[[], None] = lambda: None,
) -> list[RowResult]:
    """Each row's verdict (and with `swap`, its verdict from the other position), at most
    `concurrency` judge calls at a time, in row order."""
    gate = asyncio.Semaphore(concurrency)
    attempts = settings.max_attempts if settings else 4
    max_delay = settings.retry_max_delay if settings else 30.0

    async def one(ctx: JudgeContext) -> JudgeVerdict:
        async with gate:
            return await judge_turn(model, ctx, max_attempts=attempts, max_delay=max_delay)

    async def row_result(row: EvalRow) -> RowResult:
        pos = natural_position(row.side)
        ctx = JudgeContext(row.motion, row.side, row.text, None, row.opponent, pos)
        verdict = await one(ctx)
        swapped = await one(replace(ctx, position=2 if pos == 1 else 1)) if swap else None
        on_row()
        return RowResult(row, verdict, swapped)

    return list(await asyncio.gather(*(row_result(r) for r in rows)))


class JudgeEvalReport(ev.LabelScores):
    """What `arena judge-eval --json` writes: the label scores plus where they came from."""

    judge: str
    file: str
    malformed: int
    malformed_lines: list[dict[str, Any]]
    latency_ms: dict[str, float | None]
    selection: dict[str, Any]
    swap: ev.PositionBias | None = None
    rows: list[dict[str, Any]]


def _label(row: EvalRow, verdict: JudgeVerdict) -> ev.Label | None:
    return ev.derive_label(row.side, verdict.stance) if verdict.scored else None


def _row_out(result: RowResult) -> dict[str, Any]:
    row, keep = result.row, {"stance", "holding", "latency_ms", "reason"}
    out: dict[str, Any] = {"line": row.line, "side": row.side, "gold": row.label}
    out["predicted"] = _label(row, result.verdict)
    out |= result.verdict.model_dump(include=keep)
    if result.swapped is not None:
        out["swapped"] = result.swapped.model_dump(include=keep)
    return out


def _swap(results: list[RowResult]) -> ev.PositionBias | None:
    as_first: list[tuple[ev.Label | None, float | None]] = []
    as_second: list[tuple[ev.Label | None, float | None]] = []
    for r in results:
        if r.swapped is None:
            return None
        natural = (_label(r.row, r.verdict), r.verdict.holding)
        other = (_label(r.row, r.swapped), r.swapped.holding)
        first, second = (natural, other) if natural_position(r.row.side) == 1 else (other, natural)
        as_first.append(first)
        as_second.append(second)
    return (
        ev.position_bias([r.row.label for r in results], as_first, as_second) if results else None
    )


def build_report(
    results: list[RowResult],
    *,
    judge: str,
    file: str,
    malformed: Sequence[Malformed] = (),
    selection: dict[str, Any] | None = None,
) -> JudgeEvalReport:
    """Metrics of the natural-position verdicts, and with --swap the position bias."""
    scores = ev.score_labels(
        [r.row.label for r in results],
        [_label(r.row, r.verdict) for r in results],
        [r.verdict.holding for r in results],
    )
    latencies = [r.verdict.latency_ms for r in results if r.verdict.latency_ms is not None]
    return JudgeEvalReport(
        **scores.model_dump(),
        judge=judge,
        file=file,
        malformed=len(malformed),
        malformed_lines=[{"line": m.line, "problem": m.problem} for m in malformed],
        latency_ms={f"p{q}": _ms(ev.percentile(latencies, q)) for q in (50, 95)},
        selection=selection or {},
        swap=_swap(results),
        rows=[_row_out(r) for r in results],
    )


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _swap_rate(rate: SwapRate) -> str:
    if rate.rate is None or rate.ci is None:
        return "n/a"
    return f"{rate.rate:.1%} [{rate.ci[0]:.1%}, {rate.ci[1]:.1%}]"


def _fmt(x: float | None, pct: bool = False, ms: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1%}" if pct else f"{x:.0f}" if ms else f"{x:.3f}"


def render(report: JudgeEvalReport, console: Console) -> None:
    """The summary table and the confusion matrix."""
    lat, s = report.latency_ms, report.swap
    lines = [
        ("rows judged", str(report.n)),
        ("malformed rows (not judged)", str(report.malformed)),
        ("unscored rate", f"{_fmt(report.unscored_rate, True)} ({report.unscored} rows)"),
        (f"accuracy (over {report.scored} scored)", _fmt(report.accuracy)),
        ("accuracy (unscored counted wrong)", _fmt(report.accuracy_unscored_as_wrong)),
        ("macro-F1", _fmt(report.macro_f1)),
        ("AUC of holding (holds vs abandons)", _fmt(report.auc)),
        ("Cohen's kappa", _fmt(report.kappa)),
        (
            "judge latency p50 / p95 (ms)",
            f"{_fmt(lat['p50'], ms=True)} / {_fmt(lat['p95'], ms=True)}",
        ),
    ]
    if s is not None:
        lines += [
            (
                f"swap: inconsistent ({s.pairs} pairs; stance or holding > "
                f"{s.inconsistency.tolerance:g})",
                _swap_rate(s.inconsistency),
            ),
            (f"swap: stance changed ({s.pairs} pairs)", _fmt(s.changed_rate, True)),
            ("swap: mean |holding difference|", _fmt(s.mean_abs_holding_diff)),
            (
                "swap: accuracy as 1st / 2nd",
                f"{_fmt(s.accuracy_as_first)} / {_fmt(s.accuracy_as_second)}",
            ),
        ]
    table = Table(title=f"judge-eval: {report.judge} on {report.file}")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for name, value in lines:
        table.add_row(name, value)
    console.print(table)
    columns = [*ev.LABELS, ev.UNSCORED]
    matrix = Table(title="confusion: gold (rows) x judge (columns)")
    for column in ["gold", *columns]:
        matrix.add_column(column, justify="right")
    for gold, counts in report.confusion.items():
        matrix.add_row(gold, *(str(counts[c]) for c in columns))
    console.print(matrix)


async def run(
    options: EvalOptions,
    settings: Settings,
    models: ModelFactory,
    console: Console,
    err: Console,
) -> JudgeEvalReport:
    """The whole command: load, judge with a progress bar, report, write JSON, record."""
    name, text = read_source(options.file)
    rows, malformed = parse_rows(text)
    for m in malformed:
        err.print(f"{name}:{m.line}: {m.problem}", highlight=False, markup=False, soft_wrap=True)
    if not rows:
        what = f"all {len(malformed)} rows are malformed" if malformed else "it holds no rows"
        raise JudgeEvalError(f"nothing to judge in {name}: {what}")
    rows = select(rows, options.limit, options.sample, options.seed)
    if options.record and len(rows) < MIN_RECORD_ROWS and not options.force:
        raise JudgeEvalError(
            f"--record needs at least {MIN_RECORD_ROWS} rows, and {len(rows)} were selected: "
            "a figure from a few rows would replace the judge's figure on the leaderboard. "
            "Judge more rows, or add --force to record it anyway"
        )
    model = models.get(options.judge)
    concurrency = options.concurrency or (1 if model.name.startswith("local:") else 4)
    try:
        with Progress(*PROGRESS_COLUMNS, console=err) as progress:
            task = progress.add_task(f"judging with {model.name}", total=len(rows))
            results = await judge_rows(
                model,
                rows,
                swap=options.swap,
                concurrency=concurrency,
                settings=settings,
                on_row=lambda: progress.advance(task),
            )
    finally:
        await models.aclose()
    selection = {
        "limit": options.limit,
        "sample": options.sample,
        "seed": options.seed,
        "concurrency": concurrency,
        "position": "natural (pro=1, con=2)",
    }
    report = build_report(
        results, judge=model.name, file=name, malformed=malformed, selection=selection
    )
    render(report, console)
    if options.json_out is not None:
        options.json_out.write_text(report.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"[dim]wrote {options.json_out}[/dim]")
    if options.record:
        await _record(calibration(report, options.file), settings, console)
    return report


def _source_bytes(file: str) -> bytes:
    if file == CALIBRATION:
        return files("arena.data").joinpath("calibration.jsonl").read_bytes()
    return Path(file).read_bytes()


def calibration(report: JudgeEvalReport, file: str) -> Calibration:
    """What --record stores for a report on `file` (a path, or `calibration`)."""
    name = "calibration.jsonl" if file == CALIBRATION else Path(file).name
    return Calibration(
        judge=report.judge,
        accuracy=report.accuracy_unscored_as_wrong or 0.0,
        n=report.n,
        scored=report.scored,
        file=name,
        sha256=hashlib.sha256(_source_bytes(file)).hexdigest(),
        at=datetime.now(UTC),
    )


async def _record(record: Calibration, settings: Settings, console: Console) -> None:
    store = await Store.connect(settings)
    try:
        await store.record_judge_calibration(record)
    finally:
        await store.close()
    console.print(
        f"recorded for {record.judge}: {record.label}, unscored rows counted wrong "
        f"(sha256 {record.sha256})",
        markup=False,
        highlight=False,
    )
