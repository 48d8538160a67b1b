"""Benchmark the embedded judge's output: invalid-output verdicts with the JSON-schema grammar and,
as the same-run baseline, without it (the prompt alone asks for JSON), and the time per verdict.

Each match is played by the embedded model unjudged; then every turn is judged, one verdict at a
time, with the engine's own judge context (`judge_context`) and judge call (`judge_turn`, with its
one retry on invalid output): by the grammar-constrained model, and, for the first
`--baseline-matches` matches, by the same model without the grammar. Judging after the match
rather than beside it keeps the timing clean (the embedded model runs one request at a time, so a
verdict judged during the next turn would be timed waiting for it). Prints a table; asserts
nothing.

    .venv/bin/python scripts/bench_embedded_judge.py [--matches 20] [--baseline-matches 20] \
        [--rounds 1] [--word-limit 80] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arena.config import Settings
from arena.domain.events import Event, MatchStarted, TurnCompleted
from arena.domain.personas import Library
from arena.domain.specs import DebaterSpec, MatchSpec, Side
from arena.engine.judge import judge_turn
from arena.engine.judging import judge_context
from arena.engine.lineup import Debater, Lineup
from arena.engine.match import run_match
from arena.models.local import LocalModel, gguf_path
from arena.personas.library import load_library


@dataclass
class Tally:
    """One way of judging: its verdicts, the invalid-output ones and the time of each."""

    verdicts: int = 0
    invalid: int = 0
    failed: int = 0
    seconds: list[float] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        times = sorted(self.seconds)
        return {
            "verdicts": self.verdicts,
            "invalid_output": self.invalid,
            "other_unscored": self.failed,
            "seconds_per_verdict_median": round(statistics.median(times), 2) if times else None,
            "seconds_per_verdict_p95": round(times[int(0.95 * (len(times) - 1))], 2)
            if times
            else None,
            "seconds_per_verdict_mean": round(statistics.fmean(times), 2) if times else None,
            "invalid_reasons": self.reasons,
        }


def match_spec(index: int, library: Library, rounds: int, word_limit: int) -> MatchSpec:
    personas = sorted(library.personas)
    motions = sorted(library.motions)
    pro = personas[index % len(personas)]
    con = personas[(index * 5 + 3) % len(personas)]
    if con == pro:
        con = personas[(index + 1) % len(personas)]
    motion = library.motions[motions[index % len(motions)]]
    return MatchSpec(
        motion=motion.text,
        motion_id=motion.id,
        pro=DebaterSpec(persona=pro, model="local:smollm2"),
        con=DebaterSpec(persona=con, model="local:smollm2"),
        rounds=rounds,
        word_limit=word_limit,
        judges=["local:smollm2"],
        seed=index,
    )


async def play(
    spec: MatchSpec, library: Library, model: LocalModel, match_id: str
) -> tuple[Lineup, list[Event]]:
    """Play the match unjudged: its lineup and events."""
    lineup = Lineup(
        match_id,
        spec,
        Debater("pro", library.persona(spec.pro.persona), model),
        Debater("con", library.persona(spec.con.persona), model),
        judges=[],
    )
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    await run_match(lineup, sink)
    return lineup, events


async def judge_match(
    lineup: Lineup,
    events: list[Event],
    judges: dict[str, LocalModel],
    tallies: dict[str, Tally],
    limit: int | None = None,
) -> None:
    started = next(e for e in events if isinstance(e, MatchStarted))
    texts: dict[int, tuple[Side, str]] = {
        e.turn: (e.side, e.text) for e in events if isinstance(e, TurnCompleted)
    }
    opener = started.plan[0].side if started.plan else None
    judged = [p for p in started.plan if p.index in texts and p.judged]
    for planned in judged[:limit]:
        ctx = judge_context(lineup, opener, planned, texts)
        for way, judge in judges.items():
            start = time.perf_counter()
            verdict = await judge_turn(judge, ctx, max_attempts=1, max_delay=0.0)
            tally = tallies[way]
            tally.seconds.append(time.perf_counter() - start)
            tally.verdicts += 1
            reason = verdict.reason or ""
            if not verdict.scored and reason.startswith("invalid"):
                tally.invalid += 1
                tally.reasons.append(reason)
            elif not verdict.scored:
                tally.failed += 1
                tally.reasons.append(reason)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    library = load_library(settings.personas_dir)
    path = gguf_path(settings)
    grammar = LocalModel("local:smollm2", path, settings)
    plain = LocalModel("local:smollm2 (no grammar)", path, settings, grammar=False)
    tallies = {"grammar": Tally(), "no grammar": Tally()}
    began = time.perf_counter()
    for index in range(args.start, args.start + args.matches):
        spec = match_spec(index, library, args.rounds, args.word_limit)
        lineup, events = await play(spec, library, grammar, f"bench-{index}")
        judges = {"grammar": grammar}
        if index < args.start + args.baseline_matches:
            judges["no grammar"] = plain
        await judge_match(lineup, events, judges, tallies, args.judge_turns)
        g, b = tallies["grammar"], tallies["no grammar"]
        played = index + 1 - args.start
        print(
            f"match {played}/{args.matches}: invalid {g.invalid}/{g.verdicts} with the grammar, "
            f"{b.invalid}/{b.verdicts} without ({time.perf_counter() - began:.0f} s)",
            flush=True,
        )
        report = make_report(args, played, tallies, time.perf_counter() - began)
        if args.json:  # after every match: a run stopped early still leaves its figures
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    report = make_report(args, args.matches, tallies, time.perf_counter() - began)
    print_table(report)
    return report


def make_report(
    args: argparse.Namespace, played: int, tallies: dict[str, Tally], seconds: float
) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}",
        "matches": played,
        "start": args.start,
        "baseline_matches": min(args.baseline_matches, played),
        "rounds": args.rounds,
        "word_limit": args.word_limit,
        "judge_turns": args.judge_turns,
        "seconds": round(seconds, 1),
        "ways": {way: tally.row() for way, tally in tallies.items()},
        "raw_seconds": {way: [round(s, 2) for s in t.seconds] for way, t in tallies.items()},
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{report['matches']} embedded matches ({report['rounds']} round, word limit "
        f"{report['word_limit']}); baseline on the first {report['baseline_matches']}"
    )
    print(
        f"{'judge':<12} {'verdicts':>8} {'invalid':>8} {'unscored':>9} {'s/verdict p50':>14}"
        f" {'p95':>6} {'mean':>6}"
    )
    for way, row in report["ways"].items():
        p50 = row["seconds_per_verdict_median"]
        p95 = row["seconds_per_verdict_p95"]
        mean = row["seconds_per_verdict_mean"]
        print(
            f"{way:<12} {row['verdicts']:>8} {row['invalid_output']:>8} "
            f"{row['other_unscored']:>9} {_num(p50):>14} {_num(p95):>6} {_num(mean):>6}"
        )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--matches", type=int, default=20)
    parser.add_argument(
        "--baseline-matches",
        type=int,
        default=None,
        help="judge this many matches also without the grammar (default: all; 0: none)",
    )
    parser.add_argument(
        "--start",
        type=int,
        default=0,
        help="the first match's number (its personas, motion and seed): shards of one run",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--word-limit", type=int, default=80)
    parser.add_argument(
        "--judge-turns",
        type=int,
        default=None,
        help="judge only the first N turns of each match (default: every judged turn)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the whole report as JSON")
    args = parser.parse_args(argv)
    if args.baseline_matches is None:
        args.baseline_matches = args.matches
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
