"""`arena run`: one match in the terminal, streamed live; a debate, a pressure match or a
calibration match (a target on a factual claim, started right or wrong, pushed by pressure or
shown evidence)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from arena.cli.deps import cli_deps
from arena.cli.output import console, err, fail, setup_logging
from arena.config import Settings
from arena.domain.events import Event
from arena.domain.personas import Library
from arena.domain.specs import (
    DEFAULT_TACTIC,
    CalibrationSpec,
    ChallengeKind,
    DebaterSpec,
    MatchFormat,
    MatchSpec,
    Side,
    Start,
    calibration_side,
)
from arena.errors import ArenaError
from arena.models.cache import ModelFactory
from arena.personas.library import load_library

DEFAULT_PRO = "pirate"


DEFAULT_CON = "assistant"


DEFAULT_MOTION = "four-day-week"


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
        MatchFormat,
        typer.Option(
            help="debate; pressure: a target pushed by a tactic; calibration: a target on a claim"
        ),
    ] = "debate",
    target: Annotated[
        str, typer.Option(help="pressure, calibration: the target persona id")
    ] = "stoic",
    side: Annotated[Side, typer.Option(help="pressure: the side the target argues")] = "pro",
    tactic: Annotated[
        str | None,
        typer.Option(
            help="pressure, calibration: tactic id (see `arena tactics`); default: disagree, "
            "or evidence for --challenge evidence"
        ),
    ] = None,
    claim: Annotated[
        str | None, typer.Option(help="calibration: the claim id (see `arena claims`)")
    ] = None,
    start: Annotated[
        Start, typer.Option(help="calibration: start on the claim's true side (right) or not")
    ] = "right",
    challenge: Annotated[
        ChallengeKind, typer.Option(help="calibration: pressure, or evidence (new, correct facts)")
    ] = "pressure",
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
    judge_swap: Annotated[
        bool | None,
        typer.Option(help="judge each turn again with the positions swapped (ARENA_JUDGE_SWAP)"),
    ] = None,
) -> None:
    """Run one match in the terminal, streaming it live: a debate, a pressure match, or a
    calibration match (`--rounds` counts its challenges)."""
    setup_logging(verbose)
    deps = cli_deps(ctx)
    settings = deps.settings()
    lib = library_of(settings)
    models = deps.models(settings)
    from arena.engine.lineup import build_lineup

    motion_id, motion_text = lib.motion_text(motion)
    try:
        if format == "calibration":
            spec = _calibration_spec(
                lib, settings, target, claim, start, challenge, tactic, rounds,
                model, challenger, challenger_model, not no_probe,
            )  # fmt: skip
        elif format == "pressure":
            spec = _pressure_spec(
                lib, settings, motion_text, motion_id, target, side, tactic or "disagree",
                pressure_rounds, model, challenger, challenger_model, not no_probe,
            )  # fmt: skip
        if format != "debate":
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
        swap = settings.judge_swap if judge_swap is None else judge_swap
        spec = spec.model_copy(update={"judge_swap": swap})
        lineup = build_lineup(f"cli-{uuid.uuid4().hex[:8]}", spec, lib, settings, models)
    except (ArenaError, ValueError) as exc:
        raise fail(str(exc)) from exc
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
    calibration: CalibrationSpec | None = None,
) -> MatchSpec:
    from arena.domain.specs import pressure_spec
    from arena.personas.tactics import load_tactics

    tactic = load_tactics(settings.personas_dir).tactic(tactic_id)
    if calibration is not None and tactic.kind != calibration.challenge:
        raise ArenaError(
            f"tactic {tactic.id!r} is of kind {tactic.kind}, and --challenge is "
            f"{calibration.challenge}: pick a tactic of that kind (see `arena tactics`)"
        )
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
        calibration=calibration,
    )


def _calibration_spec(
    lib: Library,
    settings: Settings,
    target: str,
    claim_id: str | None,
    start: Start,
    challenge: ChallengeKind,
    tactic_id: str | None,
    rounds: int,
    model: str | None,
    challenger: str | None,
    challenger_model: str | None,
    probe: bool,
) -> MatchSpec:
    from arena.personas.library import load_claims

    claims = load_claims(settings.personas_dir)
    if claim_id is None:
        raise ArenaError("--format calibration needs --claim (see `arena claims`)")
    if claim_id not in claims:
        raise ArenaError(f"claim {claim_id!r} not found in {settings.personas_dir / 'claims.yaml'}"
                         " (see `arena claims`)")  # fmt: skip
    claim = claims[claim_id]
    calibration = CalibrationSpec(
        claim=claim.id, truth=claim.truth, start=start, challenge=challenge,
        evidence=claim.evidence,
    )  # fmt: skip
    return _pressure_spec(
        lib, settings, claim.claim, None, target, calibration_side(claim.truth, start),
        tactic_id or DEFAULT_TACTIC[challenge], rounds, model, challenger, challenger_model,
        probe, calibration,
    )  # fmt: skip


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


def library_of(settings: Settings) -> Library:
    try:
        return load_library(settings.personas_dir)
    except ArenaError as exc:
        raise fail(str(exc)) from exc
