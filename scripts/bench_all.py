"""Run every benchmark under scripts/ and write one table of their figures, each beside its
baseline from the same run, with the machine, the commit and the command of each figure.

    .venv/bin/python scripts/bench_all.py [--size small|full|tiny] [--only NAME,...]
        [--out bench/results.md]

`make bench` runs the small sizes (a few minutes on a 2-core machine), `make bench FULL=1` the
sizes docs/benchmarks.md reports, `--size tiny` the smoke test's (seconds). Each benchmark runs
as its own process with `--json`; the runner reads that file and writes OUT (markdown) and OUT
with the suffix .json (the same, for tools). A benchmark that fails is listed as failed with the
end of its stderr, the others still run, and the exit status is 1.

Rows have stable ids (`longrun.10000.get_p99_ms.leaderboard`): docs/benchmarks.md names the row
each of its figures comes from.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = ("tiny", "small", "full")


@dataclass
class Row:
    """One figure of one run, beside its baseline (what the same run measured to compare it
    with) and, where an issue set one, its target."""

    id: str
    figure: str
    value: Any
    unit: str = ""
    baseline: str = ""
    baseline_value: Any = None
    target: str = ""
    bench: str = ""


@dataclass(frozen=True)
class Bench:
    """A benchmark script, its arguments at each size, and how its JSON becomes rows."""

    name: str
    script: str
    args: dict[str, str]  # by size: the script's options, as typed in a shell
    rows: Callable[[str, Any], list[Row]]
    timeout_s: dict[str, float] = field(default_factory=dict)


# --- rows of each benchmark's JSON ---------------------------------------------------------------


def fanout_rows(name: str, doc: dict[str, Any]) -> list[Row]:
    by = {r["target"]: r for r in doc["results"]}
    arena, bare = by["arena"], by.get("baseline", {})
    base = "bare websockets.broadcast, same events, same client"

    def get(r: dict[str, Any], *path: str) -> Any:
        for key in path:
            r = r.get(key, {}) if isinstance(r, dict) else {}
        return None if r == {} else r

    n = arena["spectators"]
    rows = [
        Row(f"{name}.connected", f"spectators connected (of {n})", arena["connected"], "",
            base, get(bare, "connected")),
        Row(f"{name}.abnormal_closes", "abnormal closes", arena["abnormal"], "", base,
            get(bare, "abnormal")),
        Row(f"{name}.got_all_events", f"spectators that got every event (of {n})",
            arena["got_all_events"], "", base, get(bare, "got_all_events")),
    ]  # fmt: skip
    for stat in ("p50", "p99", "max"):
        rows.append(Row(f"{name}.lag_{stat}_ms", f"live lag {stat}", arena["lag_ms"][stat], "ms",
                        base, get(bare, "lag_ms", stat)))  # fmt: skip
    rows += [
        Row(f"{name}.events_per_s_per_core", "events delivered per CPU-second of the servers",
            arena["events_per_s_per_core"], "events/s/core", base,
            get(bare, "events_per_s_per_core"), "within 2x of the baseline"),
        Row(f"{name}.server_rss_mb", "server RSS (peak)", arena["server"]["rss_mb"], "MB", base,
            get(bare, "server", "rss_mb")),
        Row(f"{name}.match_s", "the match's seconds, start to end", arena.get("match_s"), "s"),
    ]  # fmt: skip
    return rows


def local_rows(name: str, doc: dict[str, Any]) -> list[Row]:
    raw = "raw llama-cpp-python, same prompt, same run"
    rows = [
        Row(f"{name}.provider_tokens_per_s", "arena's local provider", doc["provider_tokens_per_s"],
            "tokens/s", raw, doc["raw_tokens_per_s"]),
        Row(f"{name}.provider_over_raw", "provider / raw tokens per second",
            doc["provider_over_raw"], "x", raw, 1.0),
    ]  # fmt: skip
    for kind, label in (("embedded", "embedded model"), ("network_like", "network-like model")):
        if kind not in doc:  # --matches-with left it out
            continue
        f = doc[kind]
        rows += [
            Row(f"{name}.{kind}_judged_s", f"a judged match, {label}", f["judged_s"], "s",
                "the same match unjudged", f["unjudged_s"]),
            Row(f"{name}.{kind}_judged_ratio", f"judged / unjudged, {label}", f["ratio"], "x",
                "no judging cost", 1.0),
        ]  # fmt: skip
    return rows


def probe_rows(name: str, doc: dict[str, Any]) -> list[Row]:
    ms = doc["median_ms"]
    text = "the free-text probe, same prompt, same run"
    return [
        Row(f"{name}.text_ms", "free-text probe (median)", ms["text"], "ms"),
        Row(f"{name}.p_yes_after_ms", "p(yes) right after the text answer", ms["after"], "ms",
            text, ms["text"]),
        Row(f"{name}.choice_ms", "forced choice after the text answer", ms["choice"], "ms", text,
            ms["text"]),
        Row(f"{name}.p_yes_cold_ms", "p(yes) cold (after another prompt)", ms["cold"], "ms", text,
            ms["text"]),
    ]  # fmt: skip


def judge_rows(name: str, doc: dict[str, Any]) -> list[Row]:
    g, b = doc["ways"]["grammar"], doc["ways"]["no grammar"]
    plain = "no grammar, the same run's first matches" if b["verdicts"] else ""
    return [
        Row(f"{name}.invalid", "embedded judge: invalid-output verdicts under the grammar",
            f"{g['invalid_output']}/{g['verdicts']}", "", plain,
            f"{b['invalid_output']}/{b['verdicts']}" if b["verdicts"] else None, "0"),
        Row(f"{name}.seconds_per_verdict", "embedded judge: seconds per verdict (median)",
            g["seconds_per_verdict_median"], "s", plain, b["seconds_per_verdict_median"]),
    ]  # fmt: skip


def longrun_rows(name: str, results: list[dict[str, Any]]) -> list[Row]:
    """Every size beside the smallest of the same run; issue 19's targets where it set one."""
    first = results[0]
    small = f"{first['matches']:,} matches, same run"
    rows: list[Row] = []
    for r in results:
        n = r["matches"]
        p = f"{name}.{n}"
        base = first if r is not first else None

        def beside(value_of: Callable[[dict[str, Any]], Any], b: dict[str, Any] | None) -> Any:
            return None if b is None else value_of(b)

        after = r["redis_bytes_per_match_after"]
        rows += [
            Row(f"{p}.redis_bytes_per_match_before", f"{n:,}: Redis bytes/match, as written",
                r["redis_bytes_per_match_before"], "B"),
            Row(f"{p}.redis_bytes_per_match_after", f"{n:,}: Redis bytes/match, compacted",
                after, "B", "the same matches before compaction",
                r["redis_bytes_per_match_before"], "<= 8,192"),
            Row(f"{p}.api_rss_mb", f"{n:,}: API node RSS after the load", r["api_rss_mb_end"],
                "MB", small if base else "", beside(lambda b: b["api_rss_mb_end"], base),
                "<= 1.3x the smallest size's"),
            Row(f"{p}.gc_full_pause_max_ms", f"{n:,}: full-GC pause max", r["gc_full_pause_max_ms"],
                "ms", small if base else "", beside(lambda b: b["gc_full_pause_max_ms"], base)),
            Row(f"{p}.loop_lag_p99_ms", f"{n:,}: event-loop lag p99", r["loop_lag_p99_ms"], "ms",
                small if base else "", beside(lambda b: b["loop_lag_p99_ms"], base)),
            Row(f"{p}.loop_lag_max_ms", f"{n:,}: event-loop lag max", r["loop_lag_max_ms"], "ms",
                small if base else "", beside(lambda b: b["loop_lag_max_ms"], base), "<= 50"),
            Row(f"{p}.finished_during_load", f"{n:,}: matches finished during the load",
                r["finished_during_load"], ""),
        ]  # fmt: skip
        gets = r["gets"]
        worst = max(gets, key=lambda g: gets[g]["p99_ms"])
        rows.append(Row(f"{p}.get_p99_ms.worst", f"{n:,}: worst GET p99 ({worst})",
                        gets[worst]["p99_ms"], "ms", small if base else "",
                        beside(lambda b: max(v["p99_ms"] for v in b["gets"].values()), base),
                        "<= 100"))  # fmt: skip
        worst = max(gets, key=lambda g: gets[g]["max_ms"])
        rows.append(Row(f"{p}.get_max_ms.worst", f"{n:,}: worst GET max ({worst})",
                        gets[worst]["max_ms"], "ms", small if base else "",
                        beside(lambda b: max(v["max_ms"] for v in b["gets"].values()), base),
                        "<= 250"))  # fmt: skip
        cold = r["cold"]
        worst = max(cold, key=lambda g: cold[g]["ms"])
        rows.append(Row(f"{p}.cold_ms.worst", f"{n:,}: worst cold first request ({worst})",
                        cold[worst]["ms"], "ms", small if base else "",
                        beside(lambda b: max(v["ms"] for v in b["cold"].values()), base),
                        "<= 500"))  # fmt: skip
        for get in sorted(gets):
            key = get.replace(" ", "_")
            g, bg = gets[get], (base["gets"].get(get) if base else None)
            for stat, target in (("p50", ""), ("p99", "<= 100"), ("max", "<= 250")):
                rows.append(Row(f"{p}.get_{stat}_ms.{key}", f"{n:,}: GET {get} {stat}",
                                g[f"{stat}_ms"], "ms", small if bg else "",
                                bg[f"{stat}_ms"] if bg else None, target))  # fmt: skip
            rows.append(Row(f"{p}.cold_ms.{key}", f"{n:,}: GET {get}, first (cold)",
                            cold[get]["ms"], "ms", small if base else "",
                            base["cold"][get]["ms"] if base else None, "<= 500"))  # fmt: skip
        if r["errors"]:
            rows.append(Row(f"{p}.errors", f"{n:,}: GETs answered >= 400", r["errors"], ""))
    return rows


BENCHES = [
    Bench(
        "fanout",
        "bench_fanout.py",
        {
            "tiny": "--spectators 50 --rate 1000 --rounds 1 --word-limit 20 --token-rate 200 "
            "--timeout 40 --no-warmup",
            "small": "--spectators 200 --rate 1000 --rounds 1 --word-limit 30 --token-rate 100 "
            "--timeout 60",
            "full": "--spectators 5000 --rate 500",
        },
        fanout_rows,
        {"tiny": 180, "small": 300, "full": 900},
    ),
    Bench(
        "local",
        "bench_local.py",
        {
            "tiny": "--tokens 8 --repeats 1 --rounds 1 --word-limit 20 "
            "--matches-with network-like --token-delay 0.002 --verdict-delay 0.1",
            "small": "--tokens 64 --repeats 1 --rounds 1 --word-limit 30",
            "full": "--tokens 128 --repeats 3 --rounds 2",
        },
        local_rows,
        {"tiny": 300, "small": 600, "full": 1800},
    ),
    Bench(
        "probe",
        "bench_probe.py",
        {"tiny": "--repeats 1", "small": "--repeats 2", "full": "--repeats 5"},
        probe_rows,
        {"tiny": 300, "small": 300, "full": 900},
    ),
    Bench(
        "judge",
        "bench_embedded_judge.py",
        {
            "tiny": "--matches 1 --baseline-matches 0 --rounds 1 --word-limit 20 --judge-turns 2",
            "small": "--matches 2 --baseline-matches 1 --rounds 1 --word-limit 40",
            "full": "--matches 20 --rounds 1 --word-limit 40",
        },
        judge_rows,
        {"tiny": 600, "small": 1800, "full": 12 * 3600},
    ),
    Bench(
        "longrun",
        "bench_longrun.py",
        {
            "tiny": "--matches 20,40 --duration 2 --readers 2 --rate 5",
            "small": "--matches 300,1000 --duration 10",
            "full": "--matches 1000,10000,100000 --duration 20",
        },
        longrun_rows,
        {"tiny": 300, "small": 900, "full": 4 * 3600},
    ),
]


# --- the machine, the run, the table -------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "?")  # fmt: skip
    mem = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:")), 0)  # fmt: skip
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(mem / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    return {"commit": git("rev-parse", "HEAD") or "?", "changed_files": len(changed)}


def command_of(bench: Bench, size: str) -> str:
    return f".venv/bin/python scripts/{bench.script} {bench.args[size]}"


def run_one(bench: Bench, size: str, folder: Path) -> dict[str, Any]:
    out = folder / f"{bench.name}.json"
    cmd = [sys.executable, str(HERE / bench.script), *shlex.split(bench.args[size])]
    cmd += ["--json", str(out)]
    env = dict(os.environ)
    # the arena of this checkout, whatever the venv's editable install points at
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"== {bench.name}: {command_of(bench, size)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=40)
    limit = bench.timeout_s.get(size, 3600)
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) as proc:
        stream = proc.stderr
        assert stream is not None

        def forward() -> None:  # shown as it comes, the end kept for the table
            for line in stream:
                sys.stderr.write(line)
                tail.append(line.rstrip())

        reader = threading.Thread(target=forward, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=60)
            tail.append(f"timed out after {limit} s")
        reader.join(timeout=10)
    seconds = round(time.monotonic() - started, 1)
    result: dict[str, Any] = {
        "bench": bench.name,
        "command": command_of(bench, size),
        "seconds": seconds,
        "returncode": proc.returncode,
    }
    if proc.returncode == 0 and out.is_file():
        rows = bench.rows(bench.name, json.loads(out.read_text()))
        for row in rows:
            row.bench = bench.name
        result.update(status="ok", rows=[asdict(r) for r in rows])
    else:
        result.update(status="failed", rows=[], stderr_tail=list(tail))
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown(doc: dict[str, Any]) -> str:
    m, g = doc["machine"], doc["git"]
    lines = [
        f"# Benchmark results ({doc['size']})",
        "",
        f"Written by `{doc['command']}` on {doc['date']}.",
        "",
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']},"
        f" {m['platform']}",
        f"- load average at the start / end: {' '.join(map(str, m['load_average_at_start']))} /"
        f" {' '.join(map(str, doc['load_average_at_end']))} (a shared machine shows it here)",
        f"- commit: {g['commit']}"
        + (f" with {g['changed_files']} changed files" if g["changed_files"] else ""),
        "",
        "| benchmark | status | seconds | command |",
        "|---|---|---|---|",
    ]
    for run in doc["runs"]:
        lines.append(
            f"| {run['bench']} | {run['status']} | {run['seconds']} | `{run['command']}` |"
        )
    for run in doc["runs"]:
        lines += ["", f"## {run['bench']}", "", f"`{run['command']}`", ""]
        if run["status"] != "ok":
            lines += ["Failed (exit status {}): the end of its stderr:".format(run["returncode"]),
                      "", "```", *run.get("stderr_tail", []), "```"]  # fmt: skip
            continue
        lines += ["| row | figure | value | unit | baseline (same run) | baseline value | target |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in run["rows"]:
            lines.append(
                f"| `{r['id']}` | {_cell(r['figure'])} | {_cell(r['value'])} | {r['unit']} | "
                f"{_cell(r['baseline'])} | {_cell(r['baseline_value'])} | {_cell(r['target'])} |"
            )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=SIZES, default="small")
    p.add_argument("--only", default="", help="benchmarks to run, comma separated (default: all)")
    p.add_argument("--out", type=Path, default=None,
                   help="markdown table (default bench/results.md; full: bench/results-full.md);"
                   " the JSON goes beside it")  # fmt: skip
    args = p.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    known = [b.name for b in BENCHES]
    if unknown := sorted(set(names) - set(known)):
        p.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    args.benches = [b for b in BENCHES if not names or b.name in names]
    if args.out is None:
        args.out = ROOT / "bench" / ("results-full.md" if args.size == "full" else "results.md")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    doc: dict[str, Any] = {
        "size": args.size,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["scripts/bench_all.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(),
        "git": git_commit(),
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="arena-bench-all-") as tmp:
        for bench in args.benches:
            doc["runs"].append(run_one(bench, args.size, Path(tmp)))
    doc["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(doc))
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    failed = [r["bench"] for r in doc["runs"] if r["status"] != "ok"]
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}"
          + (f"; failed: {', '.join(failed)}" if failed else ""))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
