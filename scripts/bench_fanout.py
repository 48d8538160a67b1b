"""Benchmark live fan-out: N spectators of one match on `arena serve`, against a bare
`websockets.broadcast` server replaying the same events, in one run on this machine.

    .venv/bin/python scripts/bench_fanout.py --spectators 5000 --rate 500 [--nodes 1|2]
        [--rounds 4] [--word-limit 150] [--token-rate 50] [--timeout 300] [--json out.json]

It starts a fake OpenAI-compatible model server (scripts/fanout/fake_model.py), `arena serve`
(with --nodes 2: two `arena serve --no-worker` and one `arena worker` sharing one Redis), creates
a match whose debaters and judge are the fake model, and runs the Node.js load client
(scripts/fanout/client.mjs, `ws` from the npm registry, installed once into ~/.cache/arena-bench)
against it. The match's stored events are then replayed at the same pace by
scripts/fanout/baseline.py and measured with the same client. Prints one table (and --json
writes every figure). Loopback only; everything started is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fanout.procs import Procs, Sampler, free_port, log, raise_nofile, wait_line

HERE = Path(__file__).resolve().parent
FANOUT = HERE / "fanout"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "arena-bench"
FAKE_MODEL = "openai-compatible:fake"
TERMINAL = ("completed", "failed", "cancelled")
MOTION = "Cities should ban private cars from their centres."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spectators", type=int, default=500)
    p.add_argument("--rate", type=float, default=500.0, help="spectators joining per second")
    p.add_argument("--nodes", type=int, choices=(1, 2), default=1)
    p.add_argument("--rounds", type=int, default=4, help="rebuttal rounds of the match")
    p.add_argument("--word-limit", type=int, default=150, help="words per turn")
    p.add_argument("--token-rate", type=float, default=50.0, help="fake model tokens/s")
    p.add_argument("--judge-delay", type=float, default=0.2, help="fake judge seconds/verdict")
    p.add_argument("--targets", default="arena,baseline", help="arena, baseline or both")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per target's client")
    p.add_argument("--grace", type=float, default=5.0, help="seconds after the match's end")
    p.add_argument("--clients", type=int, default=1, help="Node client processes")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the short match run first (its cold start: imports, clients)",
    )
    p.add_argument(
        "--arena-rev",
        default=None,
        help="run the arena of this git revision (e.g. HEAD) instead of the working tree",
    )
    p.add_argument("--redis-url", default=None, help="default: an embedded redis-server")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ARENA_X=V",
        help="extra environment for the arena processes (repeatable)",
    )
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    p.add_argument("--keep", action="store_true", help="keep the temp folder (logs, lags)")
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not set(args.targets) <= {"arena", "baseline"} or not args.targets:
        p.error("--targets takes arena, baseline or arena,baseline")
    return args


# --- the Node client ---------------------------------------------------------------------------


def install_ws() -> Path:
    """A folder whose node_modules has the client's locked `ws`, installed once per lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("node and npm are needed for the load client (Node.js 18 or later)")
    files = [FANOUT / "package.json", FANOUT / "package-lock.json"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    folder = CACHE / f"node-{digest}"
    if (folder / "node_modules" / "ws" / "package.json").is_file():
        return folder
    log(f"installing the ws package into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
        timeout=300,
        stdout=sys.stderr,
    )
    return folder


def run_clients(
    procs: Procs, args: argparse.Namespace, urls: list[str], label: str, work: Path, ws_dir: Path
) -> dict[str, Any]:
    """Run --clients Node processes sharing the spectators and the join rate; merge their
    summaries into one."""
    n = max(1, min(args.clients, args.spectators))
    running = []
    for k in range(n):
        count = args.spectators // n + (1 if k < args.spectators % n else 0)
        lags = work / f"lags-{label}-{k}.f64"
        cmd = [
            "node",
            str(FANOUT / "client.mjs"),
            "--ws-dir",
            str(ws_dir),
            "--count",
            str(count),
            "--rate",
            str(args.rate / n),
            "--timeout",
            str(args.timeout),
            "--grace",
            str(args.grace),
            "--lags",
            str(lags),
            "--label",
            label if n == 1 else f"{label}.{k}",
        ]
        for i in range(len(urls)):
            cmd += ["--url", urls[(i + k) % len(urls)]]
        if args.deflate:
            cmd.append("--deflate")
        running.append(procs.start(f"client {label}.{k}", cmd, pipes=True))
    summaries = []
    for proc in running:
        try:
            out, _ = proc.communicate(timeout=args.timeout + 60)
        except subprocess.TimeoutExpired:
            procs.stop(proc)
            raise RuntimeError(f"the {label} client did not finish") from None
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"the {label} client failed ({proc.returncode}): {out[-2000:]}")
        summaries.append(json.loads(lines[-1]))
    return merge_summaries(summaries)


def merge_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"close_codes": {}, "errors": {}, "reasons": {}, "lags_files": []}
    for key in (
        "connected",
        "abnormal",
        "held_open",
        "timed_out",
        "saw_end",
        "out_of_order",
        "events_total",
    ):
        merged[key] = sum(int(p[key]) for p in parts)
    merged["events_per_connection"] = [n for p in parts for n in p["events_per_connection"]]
    merged["connect_ms_values"] = [v for p in parts for v in p["connect_ms_values"]]
    merged["duration_s"] = max(p["duration_s"] for p in parts)
    merged["client_cpu_s"] = round(sum(p["cpu_s"] for p in parts), 2)
    for p in parts:
        for field in ("close_codes", "errors", "reasons"):
            for key, n in p[field].items():
                merged[field][key] = merged[field].get(key, 0) + n
        if p.get("lags_file"):
            merged["lags_files"].append(p["lags_file"])
    return merged


# --- the arena -----------------------------------------------------------------------------------


def _http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_healthy(base: str, proc: subprocess.Popen[Any], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited:\n{log_path.read_text()[-3000:]}")
        try:
            _http("GET", f"{base}/healthz", timeout=2)
            return
        except (OSError, urllib.error.URLError, ValueError):
            time.sleep(0.2)  # the server says nothing when it is ready
    raise RuntimeError(f"{base} not healthy in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def arena_env(args: argparse.Namespace, work: Path, model_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_") and k != "REDIS_URL"}
    env.update(
        {
            "ARENA_DATA_DIR": str(work / "data"),
            "ARENA_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "ARENA_COMPATIBLE_BASE_URL": model_url,
            "ARENA_DEFAULT_MODEL": FAKE_MODEL,
            "ARENA_DEFAULT_JUDGE": FAKE_MODEL,
            # every load client connects from loopback: one address holds the whole crowd
            "ARENA_MAX_SPECTATORS_PER_IP": "1000000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env takes KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def wait_terminal(bases: list[str], match_id: str, timeout: float) -> dict[str, Any]:
    """The match's detail from any node once it is over, or as it is after `timeout` seconds;
    `status` is "unknown" when no node answered (an overloaded node may not)."""
    deadline = time.monotonic() + timeout
    detail: dict[str, Any] = {"status": "unknown", "error": "no node answered GET /api/matches"}
    turn = 0
    while time.monotonic() < deadline:
        base = bases[turn % len(bases)]
        turn += 1
        try:
            detail = _http("GET", f"{base}/api/matches/{match_id}", timeout=10)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            log(f"GET {base}/api/matches/{match_id}: {exc!r}")
        if detail["status"] in TERMINAL:
            break
        time.sleep(0.5)  # nothing to await: polling is what a client of the API does
    return detail


class Prober:
    """GET /api/matches/{id} once a second during the run: its latency, and the match status."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies_ms: list[float] = []
        self.failures = 0
        self.status = "?"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            started = time.perf_counter()
            try:
                self.status = _http("GET", self.url, timeout=30)["status"]
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
            except (OSError, urllib.error.URLError, ValueError):
                self.failures += 1

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def read_stored_events(env: dict[str, str], work: Path, match_id: str) -> list[dict[str, Any]]:
    """The match's events straight from its Redis stream: what every spectator should get.
    The key comes from the arena that ran, which may not be the one this script imports."""
    import redis

    code = (
        "import sys; from arena.store.keys import Keys; "
        "print(Keys(sys.argv[1]).events(sys.argv[2]))"
    )
    key = subprocess.run(
        [sys.executable, "-c", code, env["ARENA_KEY_PREFIX"], match_id],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    url = env.get("REDIS_URL") or json.loads((work / "data" / "server.json").read_text())["url"]
    client = redis.Redis.from_url(url)
    try:
        rows = client.xrange(key)
    finally:
        client.close()
    return [json.loads(fields[b"e"]) for _, fields in rows]


def delete_prefix(url: str, prefix: str) -> None:
    """Delete the benchmark's keys from a Redis it was given (a match's keys begin with
    `prefix:`, the global ones with `{prefix}:`); never flushes a shared server."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        for pattern in (f"{prefix}:*", f"{{{prefix}}}:*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def arena_source(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Which arena runs: a revision exported into `work/src`, or the working tree as it is."""
    git = ["git", "-C", str(HERE.parent)]
    if args.arena_rev:
        src = work / "src"
        src.mkdir()
        archive = subprocess.run(
            [*git, "archive", args.arena_rev, "arena", "personas"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        commit = subprocess.run(
            [*git, "rev-parse", args.arena_rev], capture_output=True, text=True, check=True
        ).stdout.strip()
        return {"source": f"git {args.arena_rev}", "commit": commit, "pythonpath": str(src)}
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--short", "arena/"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        commit, changed = "?", []
    return {"source": "working tree", "commit": commit, "changed": changed}


def start_arena(
    procs: Procs, args: argparse.Namespace, env: dict[str, str], work: Path
) -> tuple[list[str], dict[str, int], list[Path]]:
    """Start the arena's processes; return the nodes' base URLs, the pids to watch, the logs."""
    py = [sys.executable, "-m", "arena.cli"]
    bases: list[str] = []
    pids: dict[str, int] = {}
    logs: list[Path] = []
    for n in range(args.nodes):
        port = free_port()
        cmd = [*py, "serve", "--port", str(port)]
        if args.nodes > 1:
            cmd.append("--no-worker")
        logs.append(work / f"arena-serve-{n}.log")
        # run in the temp folder: no .env of the developer's, no ./arena shadowing PYTHONPATH
        proc = procs.start(f"arena serve {n}", cmd, env=env, log_path=logs[-1], cwd=work)
        bases.append(f"http://127.0.0.1:{port}")
        wait_healthy(bases[-1], proc, logs[-1], 90)
        pids[f"arena serve {n}"] = proc.pid
    if args.nodes > 1:
        logs.append(work / "arena-worker.log")
        pids["arena worker"] = procs.start(
            "arena worker", [*py, "worker"], env=env, log_path=logs[-1], cwd=work
        ).pid
    state = work / "data" / "server.json"
    if not args.redis_url and state.is_file():
        pids["redis-server"] = int(json.loads(state.read_text())["pid"])
    return bases, pids, logs


def run_arena(
    procs: Procs, args: argparse.Namespace, work: Path, model_url: str, ws_dir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    env = arena_env(args, work, model_url)
    source = arena_source(args, work)
    if "pythonpath" in source:
        env["PYTHONPATH"] = source["pythonpath"]
    log(f"starting the arena ({source['source']}): {args.nodes} node(s)")
    bases, pids, logs = start_arena(procs, args, env, work)
    procs.remember_children()
    started = [s.proc for s in procs.started if s.name.startswith("arena")]
    body = {
        "motion": MOTION,
        "pro": {"persona": "pirate", "model": FAKE_MODEL},
        "con": {"persona": "kantian", "model": FAKE_MODEL},
        "judge": FAKE_MODEL,
        "rounds": args.rounds,
        "word_limit": args.word_limit,
    }
    if args.warmup:
        warm = _http("POST", f"{bases[0]}/api/matches", {**body, "rounds": 1, "word_limit": 20})
        log(f"warm-up match {warm['id']}")
        if wait_terminal(bases, warm["id"], 120)["status"] not in TERMINAL:
            log("warning: the warm-up match did not finish in 120 s")
    created_at = time.time()
    match_id = _http("POST", f"{bases[0]}/api/matches", body)["id"]
    log(f"match {match_id} created; {args.spectators} spectators joining at {args.rate:g}/s")
    urls = [f"ws://{b.removeprefix('http://')}/ws/matches/{match_id}" for b in bases]
    with Prober(f"{bases[-1]}/api/matches/{match_id}") as prober, Sampler(pids) as sampler:
        summary = run_clients(procs, args, urls, "arena", work, ws_dir)
    detail = wait_terminal(bases, match_id, 120)
    events = read_stored_events(env, work, match_id)
    texts = [p.read_text(errors="replace") for p in logs]
    summary.update(
        {
            "arena": source,
            "match_id": match_id,
            "match_status": detail["status"],
            "match_error": detail.get("error"),
            "expected": len(events),
            "match_s": round(recorded_events(events, created_at)[-1][0], 1) if events else None,
            "server": sampler.result(),
            "api_get_ms": _spread(prober.latencies_ms),
            "api_get_failures": prober.failures,
            "server_tracebacks": sum(t.count("Traceback (most recent call last)") for t in texts),
            "server_too_many_connections": sum(t.count("Too many connections") for t in texts),
            "logs": [str(p) for p in logs],
        }
    )
    log(f"arena done: match {detail['status']}, {len(events)} events; stopping it")
    for proc in reversed(started):
        procs.stop(proc)
    if args.redis_url:
        delete_prefix(args.redis_url, env["ARENA_KEY_PREFIX"])
    return summary, events, created_at


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "max": None}
    ordered = sorted(values)
    return {"p50": round(ordered[len(ordered) // 2], 1), "max": round(ordered[-1], 1)}


# --- the baseline --------------------------------------------------------------------------------


def synthetic_events(args: argparse.Namespace) -> list[tuple[float, dict[str, Any]]]:
    """A match of the same shape when no arena ran: 50 ms token batches, then verdicts."""
    out: list[tuple[float, dict[str, Any]]] = []
    at, mid = 0.3, "SYNTHETIC"
    out.append((at, {"match_id": mid, "type": "match_started", "total_turns": 0}))
    turns = 2 * (args.rounds + 2)
    for turn in range(turns):
        out.append((at, {"match_id": mid, "type": "turn_started", "turn": turn}))
        words = max(1, int((int(args.word_limit * 1.6) + 24 - 24) / 1.6))
        per_batch = max(1, round(args.token_rate * 0.05))
        for sent in range(0, words, per_batch):
            at += min(per_batch, words - sent) / args.token_rate
            text = " word" * min(per_batch, words - sent)
            out.append((at, {"match_id": mid, "type": "token", "turn": turn, "text": text}))
        out.append((at, {"match_id": mid, "type": "turn_completed", "turn": turn}))
        at += args.judge_delay
        out.append((at, {"match_id": mid, "type": "verdict", "turn": turn}))
    out.append((at, {"match_id": mid, "type": "match_completed"}))
    return [(t, {**e, "id": f"{i + 1}-0"}) for i, (t, e) in enumerate(out)]


def recorded_events(
    events: list[dict[str, Any]], created_at: float
) -> list[tuple[float, dict[str, Any]]]:
    """The arena's events at the times they were made, counted from the match's creation."""
    return [(max(0.0, datetime.fromisoformat(e["ts"]).timestamp() - created_at), e) for e in events]


def run_baseline(
    procs: Procs,
    args: argparse.Namespace,
    work: Path,
    events: list[tuple[float, dict[str, Any]]],
    ws_dir: Path,
) -> dict[str, Any]:
    path = work / "events.jsonl"
    path.write_text("".join(json.dumps({"at": at, "event": e}) + "\n" for at, e in events))
    port = free_port()
    log(f"starting the baseline: {len(events)} events over {events[-1][0]:.1f} s")
    proc = procs.start(
        "baseline",
        [sys.executable, str(FANOUT / "baseline.py"), "--port", str(port), "--events", str(path)],
        pipes=True,
    )
    wait_line(proc, "ready", 30)
    assert proc.stdin is not None
    with Sampler({"baseline": proc.pid}) as sampler:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        summary = run_clients(
            procs, args, [f"ws://127.0.0.1:{port}/ws/matches/x"], "baseline", work, ws_dir
        )
    summary.update({"expected": len(events), "server": sampler.result()})
    procs.stop(proc)
    return summary


# --- the report ----------------------------------------------------------------------------------


def finish_summary(target: str, s: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    lags = np.concatenate(
        [np.fromfile(f, dtype="<f8") for f in s.pop("lags_files") if Path(f).is_file()] or [[]]
    )
    connect = np.asarray(s.pop("connect_ms_values"), dtype=float)
    per = np.asarray(s.pop("events_per_connection"), dtype=int)
    expected = int(s["expected"])
    cpu_s = float(s["server"]["cpu_s"])

    def pct(values: Any, q: float) -> float | None:
        return round(float(np.percentile(values, q)), 1) if values.size else None

    s.update(
        {
            "target": target,
            "spectators": args.spectators,
            "join_rate": args.rate,
            "nodes": args.nodes if target == "arena" else 1,
            "got_all_events": int((per == expected).sum()),
            "events_per_spectator": {
                "min": int(per.min()) if per.size else 0,
                "mean": round(float(per.mean()), 1) if per.size else 0.0,
                "max": int(per.max()) if per.size else 0,
            },
            "lag_ms": {
                "count": int(lags.size),
                "p50": pct(lags, 50),
                "p99": pct(lags, 99),
                "max": round(float(lags.max()), 1) if lags.size else None,
            },
            "connect_ms": {"p50": pct(connect, 50), "p99": pct(connect, 99)},
            "events_per_s_per_core": round(s["events_total"] / cpu_s) if cpu_s > 0 else None,
        }
    )
    return s


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def table(results: list[dict[str, Any]]) -> str:
    head = [
        "target",
        "spectators",
        "join/s",
        "connected",
        "abnormal",
        "events/spectator",
        "got all",
        "lag p50",
        "p99",
        "max ms",
        "CPU cores",
        "RSS MB",
        "events/s/core",
    ]
    rows = [head]
    for r in results:
        name = r["target"] + (f" ({r['nodes']} nodes)" if r["nodes"] > 1 else "")
        per = r["events_per_spectator"]
        rows.append(
            [
                name,
                str(r["spectators"]),
                _cell(r["join_rate"]),
                f"{r['connected']}/{r['spectators']}",
                str(r["abnormal"]),
                f"{per['mean']:g} / {r['expected']}",
                f"{r['got_all_events']}/{r['spectators']}",
                _cell(r["lag_ms"]["p50"]),
                _cell(r["lag_ms"]["p99"]),
                _cell(r["lag_ms"]["max"]),
                _cell(r["server"]["cpu_cores"]),
                _cell(r["server"]["rss_mb"]),
                _cell(r["events_per_s_per_core"]),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        notes = [
            f"close codes {r['close_codes']}",
            f"connect p50/p99 {r['connect_ms']['p50']}/{r['connect_ms']['p99']} ms",
            f"client CPU {r['client_cpu_s']} s",
            f"machine busy {r['server']['machine_busy_cores']} cores",
        ]
        if r["target"] == "arena":
            notes += [
                f"match {r['match_status']} in {r['match_s']} s"
                + (f" ({r['match_error']})" if r["match_error"] else ""),
                f"GET match p50/max {r['api_get_ms']['p50']}/{r['api_get_ms']['max']} ms",
                f"tracebacks {r['server_tracebacks']}",
            ]
        if r["held_open"]:
            notes.append(f"{r['held_open']} held open > grace after the end")
        if r["out_of_order"]:
            notes.append(f"{r['out_of_order']} repeated or out-of-order events")
        if r["reasons"]:
            notes.append(f"reasons {r['reasons']}")
        lines.append(f"{r['target']}: " + "; ".join(notes))
    return "\n".join(lines)


def stop_orphan_redis(work: Path) -> None:
    """The embedded redis-server of an arena that died before it could be watched (say, at
    start-up) outlives it: stop it by the pid it wrote, if it still serves our temp folder."""
    try:
        pid = int(json.loads((work / "data" / "server.json").read_text())["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError):
        return
    if str(work).encode() in cmdline:
        log(f"stopping the embedded redis-server (pid {pid}) left by the arena")
        os.kill(pid, signal.SIGTERM)


@contextmanager
def stopping_on_sigterm() -> Iterator[None]:
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_nofile(args.spectators + 4096)
    if limit < args.spectators + 1024:
        log(f"warning: open-files limit {limit} is low for {args.spectators} spectators")
    ws_dir = install_ws()
    work = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    procs = Procs()
    results = []
    try:
        with stopping_on_sigterm():
            model_port = free_port()
            fake = procs.start(
                "fake model",
                [
                    sys.executable,
                    str(FANOUT / "fake_model.py"),
                    "--port",
                    str(model_port),
                    "--token-rate",
                    str(args.token_rate),
                    "--judge-delay",
                    str(args.judge_delay),
                ],
                pipes=True,
            )
            wait_line(fake, "ready", 30)
            model_url = f"http://127.0.0.1:{model_port}/v1"
            events = synthetic_events(args)
            if "arena" in args.targets:
                summary, stored, created_at = run_arena(procs, args, work, model_url, ws_dir)
                results.append(finish_summary("arena", summary, args))
                events = recorded_events(stored, created_at) if stored else events
            if "baseline" in args.targets:
                summary = run_baseline(procs, args, work, events, ws_dir)
                results.append(finish_summary("baseline", summary, args))
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        return 130
    except Exception:
        args.keep = True  # the logs say why
        raise
    finally:
        procs.stop_all()
        stop_orphan_redis(work)
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"args": _jsonable(args), "results": results}, indent=2))
    return 0


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


if __name__ == "__main__":
    sys.exit(main())
