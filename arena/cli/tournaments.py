"""`arena tournament run|plan`: a designed experiment from the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.progress import Progress as Bar
from rich.table import Table

from arena.cli.deps import cli_deps
from arena.cli.output import console, err, fail, invalid
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.tournaments import TournamentRequest, TournamentSpec
from arena.errors import ArenaError
from arena.models.cache import ModelFactory
from arena.personas.library import load_library
from arena.tournaments.estimate import Estimate, estimate, load_prices
from arena.tournaments.spec import resolve, schedule, total_matches

if TYPE_CHECKING:  # the store and the runner load only when a tournament runs
    from arena.store import Store
    from arena.tournaments.run import Progress, TournamentRun

tournament_app = typer.Typer(help="Designed experiments: many matches, adjusted ratings, exports.")


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


PersonasOpt = Annotated[str, typer.Option(help="persona ids, comma separated")]
MotionsOpt = Annotated[
    str, typer.Option(help="motion ids (or texts), comma separated (not for calibration)")
]
DesignOpt = Annotated[
    str,
    typer.Option(
        help="round-robin, gauntlet, swiss, or calibration (persona x claim x start x tactic)"
    ),
]
ControlOpt = Annotated[str, typer.Option(help="gauntlet: the control persona")]
RepeatsOpt = Annotated[int, typer.Option(min=1, max=20, help="each pairing this many times")]
RoundsOpt = Annotated[int, typer.Option(min=1, max=10, help="rebuttal or pressure rounds")]
SwissOpt = Annotated[int, typer.Option(min=1, max=20, help="swiss: rounds of pairings")]
ModelOpt = Annotated[str | None, typer.Option(help="provider:model for every persona")]
JudgeOpt = Annotated[list[str] | None, typer.Option(help="judge model; repeat for a panel")]
WordsOpt = Annotated[int | None, typer.Option(min=20, max=1000, help="word limit per turn")]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, max=64, help="matches at once")]
BudgetOpt = Annotated[int | None, typer.Option(min=1, help="stop scheduling at these tokens")]
SeedOpt = Annotated[int, typer.Option(help="seed of the schedule and the bootstrap")]
PricesOpt = Annotated[
    Path | None, typer.Option(help='JSON {"provider:model": [in, out]} USD per 1M tokens')
]


FormatOpt = Annotated[
    str, typer.Option("--format", help="debate, or pressure (persona x tactic x motion x side)")
]
TacticsOpt = Annotated[
    str | None, typer.Option(help="pressure: comma-separated tactic ids (see `arena tactics`)")
]
ChallengerOpt = Annotated[
    str | None, typer.Option(help="pressure: the model of challengers whose tactic has no lines")
]
ProbeOpt = Annotated[bool, typer.Option(help="pressure: ask the stance probe after each reply")]
ClaimsOpt = Annotated[
    str | None,
    typer.Option(help="calibration: claim ids, comma separated (default: a sample, half true)"),
]
ClaimSampleOpt = Annotated[
    int, typer.Option(min=2, max=200, help="calibration: claims to sample when none are named")
]
SwapOpt = Annotated[
    bool | None,
    typer.Option(
        help="judge every turn again with the positions swapped (default: ARENA_JUDGE_SWAP)"
    ),
]


def _pressure(
    fmt: str,
    tactics: str | None,
    challenger_model: str | None,
    probe: bool,
    claims: str | None = None,
    claim_sample: int = 10,
) -> dict[str, object]:
    calibration: dict[str, object] = {"claim_sample": claim_sample}
    if claims is not None:
        calibration["claims"] = _split(claims)
    if fmt == "debate" and tactics is None and challenger_model is None:
        return calibration
    return {
        **calibration,
        "format": fmt,
        "tactics": _split(tactics or ""),
        "challenger_model": challenger_model,
        "probe": probe,
    }


def _spec(
    settings: Settings,
    library: Library,
    personas: str,
    motions: str,
    design: str,
    control: str,
    repeats: int,
    rounds: int,
    swiss_rounds: int,
    model: str | None,
    judge: list[str] | None,
    word_limit: int | None,
    concurrency: int,
    budget_tokens: int | None,
    seed: int,
    pressure: dict[str, object],
    models: ModelFactory,
    judge_swap: bool | None = None,
) -> TournamentSpec:
    try:
        spec: TournamentSpec = TournamentRequest.model_validate(
            {
                "personas": _split(personas),
                "motions": _split(motions),
                "design": design,
                "control": control,
                "repeats": repeats,
                "rounds": rounds,
                "swiss_rounds": swiss_rounds,
                "word_limit": word_limit or settings.word_limit,
                "model": model,
                "judges": judge or [],
                "seed": seed,
                "concurrency": concurrency,
                "budget_tokens": budget_tokens,
                "judge_swap": judge_swap,
                **(pressure or {}),
            }
        )
        spec = resolve(spec, library, settings)
        challenger = [spec.challenger_model] if spec.challenger_model else []
        for name in {*spec.models.values(), *spec.judges, *challenger}:
            models.require_available(name)
    except ValidationError as exc:
        raise fail(invalid(exc)) from exc
    except (ArenaError, ValueError) as exc:
        raise fail(str(exc)) from exc
    return spec


def _estimate_table(est: Estimate) -> Table:
    table = Table(title=f"{est.matches} matches, {est.turns} turns (tokens are a rough guess)")
    table.add_column("model")
    table.add_column("tokens in", justify="right")
    table.add_column("tokens out", justify="right")
    table.add_column("cost (USD)", justify="right")
    for m in est.models:
        cost = "unknown price" if m.cost_usd is None else f"{m.cost_usd:.4f}"
        table.add_row(escape(m.model), f"{m.tokens_in:,}", f"{m.tokens_out:,}", cost)
    total = "unknown (tokens only)" if est.cost_usd is None else f"{est.cost_usd:.4f}"
    table.add_row("total", f"{est.tokens_in:,}", f"{est.tokens_out:,}", total, style="bold")
    return table


@tournament_app.command("plan")
def plan(
    ctx: typer.Context,
    personas: PersonasOpt,
    motions: MotionsOpt = "",
    design: DesignOpt = "round-robin",
    control: ControlOpt = "assistant",
    repeats: RepeatsOpt = 1,
    rounds: RoundsOpt = 1,
    swiss_rounds: SwissOpt = 3,
    model: ModelOpt = None,
    judge: JudgeOpt = None,
    word_limit: WordsOpt = None,
    concurrency: ConcurrencyOpt = 2,
    budget_tokens: BudgetOpt = None,
    seed: SeedOpt = 0,
    prices: PricesOpt = None,
    fmt: FormatOpt = "debate",
    tactics: TacticsOpt = None,
    challenger_model: ChallengerOpt = None,
    probe: ProbeOpt = True,
    claims: ClaimsOpt = None,
    claim_sample: ClaimSampleOpt = 10,
    judge_swap: SwapOpt = None,
) -> None:
    """Print the schedule and the estimate without running anything."""
    deps = cli_deps(ctx)
    settings = deps.settings()
    models = deps.models(settings)
    library = _files(settings)
    spec = _spec(settings, library, personas, motions, design, control, repeats, rounds,
                 swiss_rounds, model, judge, word_limit, concurrency, budget_tokens,
                 seed, _pressure(fmt, tactics, challenger_model, probe, claims,
                                 claim_sample), models, judge_swap)  # fmt: skip
    kind = "pressure" if spec.format == "pressure" else spec.design
    table = Table(title=f"{kind}: {total_matches(spec)} matches")
    for column in ("#", "round", "claim" if spec.is_calibration else "motion", "PRO", "CON"):
        table.add_column(column)
    if spec.is_calibration:
        table.add_column("start")
    for s in schedule(spec, settings):
        cells = [str(s.index), str(s.round or ""), escape(s.motion), s.pro, s.con]
        table.add_row(*cells, *([s.start or ""] if spec.is_calibration else []))
    if spec.is_pressure:
        table.caption = "the seat named by a tactic is its challenger; the other is the target"
    if spec.design == "swiss":
        table.caption = "later swiss rounds are paired by standing once the previous one ends"
    console.print(table)
    try:
        console.print(_estimate_table(estimate(spec, load_prices(prices))))
    except ArenaError as exc:
        raise fail(str(exc)) from exc


def _files(settings: Settings) -> Library:
    try:
        return load_library(settings.personas_dir)
    except ArenaError as exc:
        raise fail(str(exc)) from exc


@tournament_app.command("run")
def run(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="write the results into this folder")],
    personas: PersonasOpt,
    motions: MotionsOpt = "",
    design: DesignOpt = "round-robin",
    control: ControlOpt = "assistant",
    repeats: RepeatsOpt = 1,
    rounds: RoundsOpt = 1,
    swiss_rounds: SwissOpt = 3,
    model: ModelOpt = None,
    judge: JudgeOpt = None,
    word_limit: WordsOpt = None,
    concurrency: ConcurrencyOpt = 2,
    budget_tokens: BudgetOpt = None,
    seed: SeedOpt = 0,
    workers: Annotated[
        bool | None,
        typer.Option(help="run matches in this process (default: yes, unless REDIS_URL is set)"),
    ] = None,
    prices: PricesOpt = None,
    fmt: FormatOpt = "debate",
    tactics: TacticsOpt = None,
    challenger_model: ChallengerOpt = None,
    probe: ProbeOpt = True,
    claims: ClaimsOpt = None,
    claim_sample: ClaimSampleOpt = 10,
    judge_swap: SwapOpt = None,
) -> None:
    """Run a tournament (resumes the same spec's), then write DIR/: tournament.json,
    matches.jsonl, turns.csv, leaderboard.csv, report.md and its figures (forest.svg and
    heatmap.svg; a calibration tournament's calibration.svg)."""
    deps = cli_deps(ctx)
    settings = deps.settings()
    models = deps.models(settings)
    library = _files(settings)
    spec = _spec(settings, library, personas, motions, design, control, repeats, rounds,
                 swiss_rounds, model, judge, word_limit, concurrency, budget_tokens,
                 seed, _pressure(fmt, tactics, challenger_model, probe, claims,
                                 claim_sample), models, judge_swap)  # fmt: skip
    in_process = workers if workers is not None else not settings.redis_url
    try:
        console.print(_estimate_table(estimate(spec, load_prices(prices))))
    except ArenaError as exc:
        raise fail(str(exc)) from exc
    from arena.store import StoreError

    try:
        status = asyncio.run(_run(spec, settings, models, library, out, in_process))
    except (ArenaError, StoreError) as exc:
        raise fail(str(exc)) from exc
    if status != "completed":
        raise typer.Exit(code=1)


async def _run_when_free(runner: TournamentRun, stop: asyncio.Event, patience: float) -> Progress:
    """Run; if another scheduler holds the tournament (one that was just killed holds it until
    its lock expires), wait for it up to `patience` seconds."""
    from arena.tournaments.run import AlreadyRunning

    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await runner.run(stop)
        except AlreadyRunning:
            if asyncio.get_running_loop().time() > deadline or stop.is_set():
                raise
            err.print("[dim]another process holds this tournament; waiting for it[/dim]")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), runner.lock_ms / 1000)


@contextlib.asynccontextmanager
async def _workers(
    store: Store, settings: Settings, models: ModelFactory, library: Library, n: int
) -> AsyncIterator[None]:
    from arena.worker.worker import Worker

    stop = asyncio.Event()
    worker = Worker(store, settings.model_copy(update={"worker_concurrency": n}), library, models)
    task = asyncio.create_task(worker.run(stop), name="tournament-worker")
    try:
        yield
    finally:
        stop.set()  # interrupted matches go back to the queue: a rerun resumes them
        await asyncio.gather(task, return_exceptions=True)


async def _run(
    spec: TournamentSpec,
    settings: Settings,
    models: ModelFactory,
    files: Library,
    out: Path,
    in_process: bool,
) -> str:
    from arena.cli.interrupts import first_press_stops
    from arena.store import Store
    from arena.tournaments.export import snapshot, write
    from arena.tournaments.run import TournamentRun, tournaments_of

    store = await Store.connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    notice = ("\n[yellow]stopping: no new matches; writing what is done. "
              "Ctrl-C again to quit now[/yellow]")  # fmt: skip
    loop.add_signal_handler(signal.SIGINT, first_press_stops(stop, lambda: err.print(notice)))
    try:
        library = await store.personas.library(files)
        record, created = await tournaments_of(store).create(spec, total_matches(spec))
        verb = "started" if created else "continuing"
        console.print(f"tournament [bold]{record.id}[/bold] {verb}: {record.total} matches")
        with Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("matches", total=record.total, detail="")

            def show(p: Progress) -> None:
                eta = f", ETA {p.eta_seconds:.0f}s" if p.eta_seconds is not None else ""
                detail = (f"running {p.running}, queued {p.queued}, failed {p.failed}, "
                          f"tokens {p.tokens:,}{eta}")  # fmt: skip
                bar.update(task, completed=p.done, detail=detail)

            runner = TournamentRun(store, library, settings, record.id, on_progress=show)
            async with contextlib.AsyncExitStack() as stack:
                if in_process:
                    await stack.enter_async_context(
                        _workers(store, settings, models, library, spec.concurrency)
                    )
                final = await _run_when_free(runner, stop, runner.lock_ms / 1000 * 2 + 1)
        snap = await snapshot(store, record.id)
        assert snap is not None
        for path in write(snap, out):
            console.print(f"[dim]wrote {escape(str(path))}[/dim]")
        panel = snap.panel
        if len(panel.judges) > 1:
            alpha, kappa = panel.holding_alpha, panel.stance_kappa
            console.print(
                f"judges agree: alpha (holding) {'n/a' if alpha is None else f'{alpha:.3f}'}, "
                f"kappa (stance) {'n/a' if kappa is None else f'{kappa:.3f}'} "
                f"over {panel.turns} turns",
                markup=False,
            )
        for swap in panel.swap:
            if swap.pairs or swap.unscored:
                console.print(f"judge {swap.judge}: {swap.label}", markup=False, highlight=False)
        if final.status == "running":
            console.print("stopped; run the same command again to continue")
        else:
            console.print(f"tournament {final.status}: {final.done} of {final.total} matches")
        return final.status
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await models.aclose()  # from the loop that used them
        await store.close()
