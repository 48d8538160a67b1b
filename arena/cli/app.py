"""The `arena` command."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import signal
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from arena.cli.deps import cli_deps
from arena.cli.personas import add_persona_commands
from arena.cli.tournaments import tournament_app
from arena.cli.votes import votes_app
from arena.config import Settings
from arena.domain.events import Event
from arena.domain.personas import Library
from arena.domain.specs import DebaterSpec, MatchFormat, MatchSpec, Side
from arena.errors import ArenaError
from arena.models.cache import ModelFactory
from arena.personas.library import load_library, schema_json

app = typer.Typer(
    help="Persona Arena: debates between personas, judged for position-holding.",
    no_args_is_help=True,
    add_completion=False,
)
personas_app = typer.Typer(help="List personas, or print the persona file schema.")
app.add_typer(personas_app, name="personas")
add_persona_commands(personas_app)  # import, export
app.add_typer(tournament_app, name="tournament")  # run, plan
app.add_typer(votes_app, name="votes")  # export

console = Console()
err = Console(stderr=True)

DEFAULT_PRO = "pirate"
DEFAULT_CON = "assistant"
DEFAULT_MOTION = "four-day-week"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def _library(settings: Settings) -> Library:
    try:
        return load_library(settings.personas_dir)
    except ArenaError as exc:
        raise _fail(str(exc)) from exc


@personas_app.callback(invoke_without_command=True)
def personas(ctx: typer.Context) -> None:
    """A table of the personas."""
    if ctx.invoked_subcommand is not None:
        return
    lib = _library(cli_deps(ctx).settings())
    table = Table(title=f"{len(lib.personas)} personas")
    table.add_column("id", style="bold")
    table.add_column("name")
    table.add_column("summary")
    for p in lib.personas.values():
        table.add_row(escape(p.id), escape(p.name), escape(p.summary))
    console.print(table)


@personas_app.command("schema")
def personas_schema() -> None:
    """Print the JSON Schema of a persona file."""
    typer.echo(schema_json())


@app.command()
def motions(ctx: typer.Context) -> None:
    """A table of the motions."""
    lib = _library(cli_deps(ctx).settings())
    table = Table(title=f"{len(lib.motions)} motions")
    table.add_column("id", style="bold")
    table.add_column("text")
    for m in lib.motions.values():
        table.add_row(escape(m.id), escape(m.text))
    console.print(table)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )


@app.command()
def run(
    ctx: typer.Context,
    pro: Annotated[str, typer.Option(help="PRO persona id")] = DEFAULT_PRO,
    con: Annotated[str, typer.Option(help="CON persona id")] = DEFAULT_CON,
    motion: Annotated[str, typer.Option(help="motion id or free text")] = DEFAULT_MOTION,
    rounds: Annotated[int, typer.Option(min=1, max=10, help="rebuttal rounds")] = 2,
    pro_model: Annotated[str | None, typer.Option(help="provider:model for PRO")] = None,
    con_model: Annotated[str | None, typer.Option(help="provider:model for CON")] = None,
    judge: Annotated[list[str] | None, typer.Option(help="judge model; repeat for a panel")] = None,
    word_limit: Annotated[int | None, typer.Option(min=20, max=1000)] = None,
    seed: Annotated[int | None, typer.Option(help="seed, where the provider supports one")] = None,
    out: Annotated[Path | None, typer.Option(help="write the whole match as JSON here")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    format: Annotated[
        MatchFormat, typer.Option(help="debate, or pressure: a target pushed by a tactic")
    ] = "debate",
    target: Annotated[str, typer.Option(help="pressure: the target persona id")] = "stoic",
    side: Annotated[Side, typer.Option(help="pressure: the side the target argues")] = "pro",
    tactic: Annotated[str, typer.Option(help="pressure: tactic id (see `arena tactics`)")] = (
        "disagree"
    ),
    pressure_rounds: Annotated[int, typer.Option(min=1, max=10, help="pressure rounds")] = 3,
    model: Annotated[str | None, typer.Option(help="pressure: the target's model")] = None,
    challenger: Annotated[
        str | None, typer.Option(help="pressure: a persona for a model challenger")
    ] = None,
    challenger_model: Annotated[
        str | None,
        typer.Option(help="pressure: a model challenger (default: the tactic's fixed lines)"),
    ] = None,
    no_probe: Annotated[
        bool, typer.Option("--no-probe", help="pressure: skip the stance probe")
    ] = False,
) -> None:
    """Run one match in the terminal, streaming it live: a debate, or a pressure match."""
    _logging(verbose)
    deps = cli_deps(ctx)
    settings = deps.settings()
    lib = _library(settings)
    models = deps.models(settings)
    from arena.engine.lineup import build_lineup

    motion_id, motion_text = lib.motion_text(motion)
    try:
        if format == "pressure":
            spec = _pressure_spec(
                lib, settings, motion_text, motion_id, target, side, tactic, pressure_rounds,
                model, challenger, challenger_model, not no_probe,
            )  # fmt: skip
            spec = spec.model_copy(
                update={
                    "word_limit": word_limit or settings.word_limit,
                    "judges": judge or [settings.default_judge],
                    "seed": seed,
                }
            )
        else:
            spec = MatchSpec(
                motion=motion_text,
                motion_id=motion_id,
                pro=DebaterSpec(persona=pro, model=pro_model or _persona_model(lib, pro, settings)),
                con=DebaterSpec(persona=con, model=con_model or _persona_model(lib, con, settings)),
                rounds=rounds,
                word_limit=word_limit or settings.word_limit,
                judges=judge or [settings.default_judge],
                seed=seed,
            )
        lineup = build_lineup(f"cli-{uuid.uuid4().hex[:8]}", spec, lib, settings, models)
    except (ArenaError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    events = asyncio.run(_run_live(lineup, models))
    if out is not None:
        _write_match(out, spec, events)
        console.print(f"[dim]wrote {escape(str(out))}[/dim]")
    if events and events[-1].type != "match_completed":
        raise typer.Exit(code=1)


def _persona_model(lib: Library, persona_id: str, settings: Settings) -> str:
    persona = lib.personas.get(persona_id)
    return (persona.model if persona and persona.model else None) or settings.default_model


def _pressure_spec(
    lib: Library,
    settings: Settings,
    motion: str,
    motion_id: str | None,
    target: str,
    side: Side,
    tactic_id: str,
    rounds: int,
    model: str | None,
    challenger: str | None,
    challenger_model: str | None,
    probe: bool,
) -> MatchSpec:
    from arena.domain.specs import pressure_spec
    from arena.personas.tactics import load_tactics

    tactic = load_tactics(settings.personas_dir).tactic(tactic_id)
    return pressure_spec(
        motion=motion,
        motion_id=motion_id,
        target=DebaterSpec(persona=target, model=model or _persona_model(lib, target, settings)),
        side=side,
        tactic=tactic.id,
        rounds=rounds,
        challenger_persona=challenger,
        challenger_model=challenger_model
        or (_persona_model(lib, challenger, settings) if challenger else None)
        or (None if tactic.scripted else settings.default_model),
        probe=probe,
        judges=[settings.default_judge],
        word_limit=settings.word_limit,
    )


@app.command()
def tactics(ctx: typer.Context) -> None:
    """A table of the pressure tactics."""
    from arena.personas.tactics import load_tactics

    try:
        found = load_tactics(cli_deps(ctx).settings().personas_dir).tactics
    except ArenaError as exc:
        raise _fail(str(exc)) from exc
    table = Table(title=f"{len(found)} tactics")
    table.add_column("id", style="bold")
    table.add_column("name")
    table.add_column("plays")
    table.add_column("description and source")
    for t in found.values():
        plays = " or ".join(
            name for name, has in (("lines", t.scripted), ("model", t.instructions)) if has
        )
        about = f"{escape(t.description)}\n[dim]{escape(t.source)}[/dim]"
        table.add_row(escape(t.id), escape(t.name), plays, about)
    console.print(table)


async def _run_live(lineup: object, models: ModelFactory) -> list[Event]:
    from arena.cli.console import LiveRenderer
    from arena.cli.interrupts import first_press_stops
    from arena.engine.lineup import Lineup
    from arena.engine.match import run_match

    assert isinstance(lineup, Lineup)
    events: list[Event] = []
    render = LiveRenderer(console)
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    notice = "\n[yellow]stopping after this token; Ctrl-C again to quit now[/yellow]"
    loop.add_signal_handler(signal.SIGINT, first_press_stops(cancel, lambda: err.print(notice)))

    async def sink(event: Event) -> None:
        events.append(event.model_copy(update={"id": str(len(events) + 1)}))
        await render(event)

    try:
        await run_match(lineup, sink, cancel=cancel)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await models.aclose()  # the SDK clients belong to this loop
    return events


def _write_match(path: Path, spec: MatchSpec, events: list[Event]) -> None:
    from arena.domain.transcript import fold

    view = fold(events)
    doc = {
        "config": spec.model_dump(mode="json"),
        "status": view.status,
        "error": view.error,
        "turns": [
            {
                "turn": t.turn,
                "side": t.side,
                "kind": t.kind,
                "persona": t.persona,
                "model": t.model,
                "text": t.text,
                "completed": t.completed,
                "tokens_in": t.tokens_in,
                "tokens_out": t.tokens_out,
                "ttft_ms": t.ttft_ms,
                "duration_ms": t.duration_ms,
            }
            for t in view.ordered
        ],
        "verdicts": [v.model_dump(mode="json") for _, v in sorted(view.verdicts.items())],
        "plan": [p.model_dump(mode="json") for p in view.plan],
        "probes": [p.model_dump(mode="json") for _, p in sorted(view.probes.items())],
        "metrics": view.metrics.model_dump(mode="json") if view.metrics else None,
        "events": [e.model_dump(mode="json") for e in events if e.type != "token"],
    }
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="do not run matches here")] = False,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="allow a public address without ARENA_API_TOKEN")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Start the arena service: HTTP API, WebSockets, spectator page, and a worker."""
    import uvicorn

    _logging(True)
    settings = cli_deps(ctx).settings()
    host = host or settings.host
    port = port or settings.port
    if not _is_loopback(host) and not settings.api_token and not insecure:
        raise _fail(
            f"refusing to listen on {host} without ARENA_API_TOKEN: set a token, "
            "or pass --insecure to accept writes from anyone"
        )
    from arena.api.app import create_app
    from arena.api.ws.protocol import ArenaWebSocketProtocol

    application = create_app(settings, run_worker=not no_worker)
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info" if verbose else "warning",
        # uvicorn's sans-I/O implementation (the legacy one is deprecated) with a writer of
        # pre-framed messages; per-message deflate would compress every event once per
        # spectator (measured: p99 lag 1.1 s -> 2.8 s at 2,000 spectators)
        ws=ArenaWebSocketProtocol,
        ws_per_message_deflate=False,
    )


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int | None, typer.Option(help="matches at once")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run matches from the queue (start as many as you like, on any machine)."""
    _logging(True)
    settings = cli_deps(ctx).settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    from arena.worker.worker import run_worker

    asyncio.run(run_worker(settings))


@app.command("judge-eval")
def judge_eval(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSONL rows, or 'calibration' for the bundled set")],
    judge: Annotated[str | None, typer.Option(help="default: ARENA_DEFAULT_JUDGE")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="judge the first N rows")] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="judge N rows drawn by seed")] = None,
    seed: Annotated[int, typer.Option(help="seed for --sample")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the report here")] = None,
    swap: Annotated[bool, typer.Option("--swap", help="judge each row as Debater 1 and 2")] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="judge calls at once (default 1 local, 4 remote)")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="store the judge's accuracy for the leaderboard (50 rows or more)"
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="--record even under 50 rows")] = False,
) -> None:
    """Score a judge against gold-labelled turns: accuracy, macro-F1, AUC, kappa, latency."""
    from arena.judge_eval.run import EvalOptions, run

    deps = cli_deps(ctx)
    settings = deps.settings()
    judge = judge or settings.default_judge
    options = EvalOptions(
        file, judge, limit, sample, seed, swap, concurrency, json_out, record, force=force
    )
    try:
        asyncio.run(run(options, settings, deps.models(settings), console, err))
    except ArenaError as exc:
        raise _fail(str(exc)) from exc


def main() -> None:
    from arena.store.types import StoreError

    try:
        app()
    except (ArenaError, StoreError) as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
