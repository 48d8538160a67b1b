"""Processes of the fan-out benchmark: start them, watch their CPU and memory, stop all of them.

Linux only: CPU and peak RSS come from /proc.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_nofile(need: int) -> int:
    """Raise this process's open-files limit (inherited by every child) to at least `need` if
    the hard limit allows, or as root up to fs.nr_open. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    if hard != resource.RLIM_INFINITY and hard < need:
        try:  # only root may raise the hard limit (up to fs.nr_open)
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
        except (OSError, ValueError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    children = _children_map()
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stdout line of `proc` that starts with `prefix`, or RuntimeError."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return line.strip()
    raise RuntimeError(f"{proc.args!r} printed no {prefix!r} line in {timeout:.0f} s")


@dataclass
class Started:
    name: str
    proc: subprocess.Popen[Any]
    log: IO[bytes] | None
    kids: set[int] = field(default_factory=set)


class Procs:
    """Everything the benchmark starts, stopped in reverse order by `stop_all` (and their
    descendants, such as the embedded redis-server, if they outlive their parent)."""

    def __init__(self) -> None:
        self.started: list[Started] = []

    def start(
        self,
        name: str,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        pipes: bool = False,
        cwd: Path | None = None,
    ) -> subprocess.Popen[Any]:
        out = log_path.open("wb") if log_path is not None else None
        proc: subprocess.Popen[Any] = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else out,
            stderr=out if out is not None else None,
            text=pipes,
            # its own session: Ctrl-C reaches the benchmark only, which then stops it in order
            start_new_session=True,
        )
        self.started.append(Started(name, proc, out))
        return proc

    def remember_children(self) -> None:
        for started in self.started:
            if started.proc.poll() is None:
                started.kids.update(descendants(started.proc.pid))

    def stop(self, proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
        for started in self.started:
            if started.proc is proc:
                self._stop(started, timeout)

    def _stop(self, started: Started, timeout: float) -> None:
        proc = started.proc
        if proc.poll() is None:
            started.kids.update(descendants(proc.pid))
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{started.name} did not stop in {timeout:.0f} s: killing it")
                proc.kill()
                proc.wait(timeout=10)
        # e.g. the embedded redis-server: its last user shuts it down; give it the time to
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in started.kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for kid in started.kids:
            if _alive(kid):
                log(f"stopping pid {kid}, left behind by {started.name}")
                try:
                    os.kill(kid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        started.kids.clear()
        if started.log is not None and not started.log.closed:
            started.log.close()

    def stop_all(self) -> None:
        for started in reversed(self.started):
            try:
                self._stop(started, 15.0)
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {started.name}: {exc!r}")


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _machine_busy() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


class Sampler:
    """CPU seconds (user + sys) and peak RSS of some processes over a window, sampled every
    0.5 s so that a process that exits early still counts up to its last sample."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for role, pid in self.pids.items():
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.first.setdefault(role, cpu)
                self.last[role] = cpu
            rss = _peak_rss_mb(pid)
            if rss is not None:
                self.peak[role] = max(rss, self.peak.get(role, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self.started = time.monotonic()
        self.machine0 = _machine_busy()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.monotonic() - self.started
        busy, _ = _machine_busy()
        self.machine_cores = (busy - self.machine0[0]) / max(self.wall, 1e-9)

    def result(self) -> dict[str, Any]:
        roles = {
            role: {
                "cpu_s": round(self.last.get(role, 0.0) - self.first.get(role, 0.0), 2),
                "peak_rss_mb": round(self.peak.get(role, 0.0), 1),
            }
            for role in self.pids
        }
        cpu = sum(r["cpu_s"] for r in roles.values())
        return {
            "wall_s": round(self.wall, 2),
            "cpu_s": round(cpu, 2),
            "cpu_cores": round(cpu / max(self.wall, 1e-9), 3),
            "rss_mb": round(sum(r["peak_rss_mb"] for r in roles.values()), 1),
            "machine_busy_cores": round(self.machine_cores, 2),
            "processes": roles,
        }
