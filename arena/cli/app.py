"""The `arena` command."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from arena.cli.archive import archive_command
from arena.cli.deps import cli_deps
from arena.cli.matches import library_of, run
from arena.cli.output import console, err, fail, setup_logging
from arena.cli.personas import add_persona_commands
from arena.cli.tournaments import tournament_app
from arena.cli.votes import votes_app
from arena.errors import ArenaError
from arena.personas.library import schema_json

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
app.command()(run)
app.command("archive")(archive_command)


@personas_app.callback(invoke_without_command=True)
def personas(ctx: typer.Context) -> None:
    """A table of the personas."""
    if ctx.invoked_subcommand is not None:
        return
    lib = library_of(cli_deps(ctx).settings())
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
    lib = library_of(cli_deps(ctx).settings())
    table = Table(title=f"{len(lib.motions)} motions")
    table.add_column("id", style="bold")
    table.add_column("text")
    for m in lib.motions.values():
        table.add_row(escape(m.id), escape(m.text))
    console.print(table)


@app.command()
def tactics(ctx: typer.Context) -> None:
    """A table of the pressure tactics."""
    from arena.personas.tactics import load_tactics

    try:
        found = load_tactics(cli_deps(ctx).settings().personas_dir).tactics
    except ArenaError as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"{len(found)} tactics")
    table.add_column("id", style="bold")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("plays")
    table.add_column("description and source")
    for t in found.values():
        plays = " or ".join(
            name for name, has in (("lines", t.scripted), ("model", t.instructions)) if has
        )
        about = f"{escape(t.description)}\n[dim]{escape(t.source)}[/dim]"
        table.add_row(escape(t.id), escape(t.name), t.kind, plays, about)
    console.print(table)


@app.command()
def claims(
    ctx: typer.Context,
    domain: Annotated[str | None, typer.Option(help="only the claims of this domain")] = None,
) -> None:
    """A table of the factual claims of calibration matches, with their truth."""
    from arena.personas.library import load_claims

    try:
        found = load_claims(cli_deps(ctx).settings().personas_dir)
    except ArenaError as exc:
        raise fail(str(exc)) from exc
    shown = [c for c in found.values() if domain is None or c.domain == domain]
    true = sum(c.truth for c in shown)
    table = Table(title=f"{len(shown)} claims ({true} true, {len(shown) - true} false)")
    table.add_column("id", style="bold")
    table.add_column("truth")
    table.add_column("domain")
    table.add_column("claim")
    for c in shown:
        truth = "[green]true[/green]" if c.truth else "[red]false[/red]"
        table.add_row(escape(c.id), truth, escape(c.domain), escape(c.claim))
    console.print(table)


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

    setup_logging(True)
    settings = cli_deps(ctx).settings()
    host = host or settings.host
    port = port or settings.port
    if not _is_loopback(host) and not settings.api_token and not insecure:
        raise fail(
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
    setup_logging(True)
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
        raise fail(str(exc)) from exc


def main() -> None:
    from arena.store.types import StoreError

    try:
        app()
    except (ArenaError, StoreError) as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
