"""scripts/redis_cluster.sh: starts three masters that form a cluster, and stops them."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.scripts.runs import SCRIPTS

pytestmark = pytest.mark.slow

SCRIPT = SCRIPTS / "redis_cluster.sh"


def _free_base() -> int:
    """A base port whose three ports and their cluster-bus ports (+10000) are free now."""
    for _ in range(50):
        base = random.randint(21000, 29000)
        try:
            for port in (p + bus for p in range(base, base + 3) for bus in (0, 10000)):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def _cli(port: int, *args: str) -> str:
    run = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                         timeout=10)  # fmt: skip
    return run.stdout


def test_start_makes_a_cluster_and_stop_ends_it(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are needed (apt-get install redis-server)")
    base = _free_base()
    folder = tmp_path / "cluster"
    try:
        start = subprocess.run([str(SCRIPT), "start", str(folder), str(base)],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert start.returncode == 0, start.stderr
        assert f"Redis Cluster up: 3 masters on 127.0.0.1:{base}" in start.stdout
        for port in range(base, base + 3):
            assert "cluster_state:ok" in _cli(port, "cluster", "info")
        assert _cli(base, "cluster", "info").count("cluster_known_nodes:3") == 1
    finally:
        stop = subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True, text=True,
                              timeout=60)  # fmt: skip
    assert stop.returncode == 0, stop.stderr
    assert not list(folder.glob("redis-*.pid"))
    for port in range(base, base + 3):
        with socket.socket() as s:  # nothing listens there any more
            assert s.connect_ex(("127.0.0.1", port)) != 0
