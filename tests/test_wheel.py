"""The arena as shipped: a wheel built from what the Dockerfile's build stage copies, installed
into a fresh virtualenv, serves the page, its static files and the personas from any folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from arena.config import package_folder
from tests.polling import wait_until
from tests.processes import free_port
from tests.test_compose import dockerfile_stages

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
HEALTH_TIMEOUT = 180.0  # a deadline for a hang: a busy machine is slow, not broken


def test_every_arena_package_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "arena").rglob("__init__.py")
    }
    mapped = SETUPTOOLS["package-dir"]
    assert mapped == {"arena.frontend": "frontend", "arena.personas_data": "personas"}
    assert set(SETUPTOOLS["packages"]) - set(mapped) == found


def test_the_checkout_finds_its_page_and_personas_through_the_package() -> None:
    # the editable install (`make install`) maps the packages onto the top-level folders
    assert package_folder("arena.frontend") == ROOT / "frontend"
    assert package_folder("arena.personas_data") == ROOT / "personas"
    assert package_folder("arena.no_such_data") is None


def _build_context(dest: Path) -> Path:
    """What the Dockerfile's build stage copies, laid out as it lays it out."""
    build = next(s for s in dockerfile_stages() if s.name == "build")
    for *sources, target in build.copies():
        for source in sources:
            to = dest / target / source if target.endswith("/") else dest / target
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, to, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                to.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / source, to)
    return dest


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    # without PYTHONPATH: a checkout on it would shadow the installed wheel
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _build_context(work / "src")
    # the build needs no network: the setuptools of this environment builds it
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "--wheel-dir",
        work / "dist",
        source,
    )
    (built,) = (work / "dist").glob("persona_arena-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel; its dependencies are borrowed from this environment
    (a .pth line, so neither llama.cpp is rebuilt nor the checkout's editable install is seen)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
    )
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_arena_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return env_dir


@contextlib.contextmanager
def serving(env_dir: Path, cwd: Path) -> Iterator[str]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ARENA_") and k not in ("PYTHONPATH", "REDIS_URL")
    }
    env["ARENA_DATA_DIR"] = str(cwd / "data")
    log = cwd / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [env_dir / "bin" / "arena", "serve", "--no-worker", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"arena serve exited with {process.returncode}:\n{log.read_text()}")
            return httpx.get(url + "/healthz", timeout=2).status_code == 200

        wait_until(healthy, timeout=HEALTH_TIMEOUT, interval=0.2, ignore=(httpx.HTTPError,),
                   message=lambda: f"arena serve was not healthy:\n{log.read_text()}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.slow
def test_the_wheel_carries_the_page_and_the_personas(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for page_file in ("index.html", "app.js", "api.js", "token.js", "style.css"):
        assert f"arena/frontend/{page_file}" in names
    assert {"arena/personas_data/pirate.yaml", "arena/personas_data/motions.yaml"} <= names
    assert "arena/data/calibration.jsonl" in names
    assert not any(n.startswith(("frontend/", "personas/", "tests/")) for n in names)


@pytest.mark.slow
def test_the_installed_wheel_serves_page_and_personas_from_any_folder(
    installed: Path, tmp_path: Path
) -> None:
    python = installed / "bin" / "python"
    where = _run(python, "-c", "import arena; print(arena.__file__)", cwd=tmp_path).strip()
    assert Path(where).is_relative_to(installed), f"arena was imported from {where}"

    with serving(installed, tmp_path) as url:
        page = httpx.get(url + "/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "<title>Persona Arena</title>" in page.text
        assert httpx.get(url + "/matches/some-id").text == page.text
        script = httpx.get(url + "/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert script.text == (ROOT / "frontend" / "app.js").read_text()

        personas = httpx.get(url + "/api/personas").json()
        assert {"pirate", "stoic"} <= {p["id"] for p in personas}
        motions = httpx.get(url + "/api/motions").json()
        assert len(motions) > 0
