"""Running a script under scripts/ the way a user does: its own process, from the checkout."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"


def run_script(
    name: str, *args: str, timeout: float = 120, json_out: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run scripts/`name` with `args` (and `--json json_out`); fail with its stderr if it
    exits non-zero. Returns the finished process and the JSON it wrote (or None)."""
    command = [sys.executable, str(SCRIPTS / name), *args]
    if json_out is not None:
        command += ["--json", str(json_out)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    run = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert run.returncode == 0, f"{name} exited with {run.returncode}:\n{run.stderr[-4000:]}"
    return run, json.loads(json_out.read_text()) if json_out is not None else None


def load_script(name: str) -> ModuleType:
    """Import scripts/`name` as a module (its `__main__` block does not run)."""
    path = SCRIPTS / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
