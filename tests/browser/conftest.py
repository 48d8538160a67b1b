"""A live `arena serve` (real Redis; the fast fake model, or the embedded one) and Debian's
chromium driven by Playwright.

The server runs as a subprocess on a free loopback port, with an embedded Redis in a tmp dir, or
with REDIS_URL (then under its own key prefix, whose keys are deleted afterwards). Playwright
never downloads a browser: it launches /usr/bin/chromium. Without chromium the tests skip, or
fail when ARENA_REQUIRE_PREREQS=1 (CI).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest

from arena.config import REPO_ROOT
from tests.fake_llm import FakeLLM
from tests.polling import wait_until
from tests.processes import delete_prefix, free_port

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        ViewportSize,
        WebError,
    )

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HEALTH_TIMEOUT = 180.0  # a deadline for a hang: a busy machine is slow, not broken
STOP_TIMEOUT = 30.0
ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
PASS_ENV = {"ARENA_LOCAL_THREADS", "ARENA_LOCAL_MODEL_PATH", "ARENA_LOCAL_N_CTX"}
# Playwright's waits (actions, navigation, `expect`): generous, so that a machine busy with other
# jobs makes the tests slow, not red; a waiting test returns as soon as its condition holds
ACTION_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 30_000
HTTP_TIMEOUT = 60.0  # the tests' own API calls to the server


def missing(reason: str, *, module: bool = False) -> NoReturn:
    """Skip for a missing prerequisite, or fail in CI (ARENA_REQUIRE_PREREQS=1)."""
    if os.environ.get("ARENA_REQUIRE_PREREQS") == "1":
        pytest.fail(f"{reason} (ARENA_REQUIRE_PREREQS=1: prerequisites are required)")
    pytest.skip(reason, allow_module_level=module)


@dataclass
class ArenaServer:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def get(self, path: str) -> Any:
        response = httpx.get(self.url + path, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: object) -> Any:
        response = httpx.post(self.url + path, json=body, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _wait_healthy(server: ArenaServer) -> None:
    def healthy() -> bool:
        if server.process.poll() is not None:
            pytest.fail(
                f"arena serve exited with {server.process.returncode} before it was healthy:\n"
                f"{server.log_tail()}"
            )
        return httpx.get(server.url + "/healthz", timeout=2).status_code == 200

    wait_until(healthy, timeout=HEALTH_TIMEOUT, interval=0.2, ignore=(httpx.HTTPError,),
               message=lambda: f"arena serve was not healthy:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _stop_orphaned_redis(data_dir: Path) -> None:
    """The app shuts its embedded redis-server down on a clean exit; after a kill it is left
    running (in its own session), so end it by the pid the app recorded."""
    state = data_dir / "server.json"
    if not state.is_file():
        return
    with contextlib.suppress(ValueError, KeyError, OSError):
        os.kill(int(json.loads(state.read_text())["pid"]), signal.SIGTERM)


FAST_MODEL = "openai-compatible:fast"


@contextlib.contextmanager
def arena_on(url: str, data_dir: Path, **settings: str) -> Iterator[ArenaServer]:
    """`arena serve` whose default debaters and judge are FAST_MODEL, served by the fake
    OpenAI-compatible model server at `url` (tests/fake_llm.py)."""
    with running_arena(
        data_dir,
        ARENA_COMPATIBLE_BASE_URL=url,
        ARENA_DEFAULT_MODEL=FAST_MODEL,
        ARENA_DEFAULT_JUDGE=FAST_MODEL,
        **settings,
    ) as server:
        yield server


@contextlib.contextmanager
def running_arena(data_dir: Path, *args: str, **settings: str) -> Iterator[ArenaServer]:
    """`arena serve` (with its worker unless args say --no-worker) on a free loopback port, with
    the given ARENA_* settings on top of the browser tests' own, until the block ends."""
    # only the server's own settings: no API token, prefix or Redis from the caller's ARENA_*
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARENA_") or k in PASS_ENV}
    env.update(
        ARENA_DATA_DIR=str(data_dir),
        ARENA_WORD_LIMIT="20",  # the minimum: keeps the embedded model's turns short
        ARENA_WORKER_CONCURRENCY="1",
    )
    env.update(settings)
    redis_url = os.environ.get("REDIS_URL")
    prefix = f"browser-{uuid.uuid4().hex[:12]}"
    if redis_url:
        env["ARENA_KEY_PREFIX"] = prefix
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "arena.cli", "serve", "--port", str(port), *args],
            cwd=data_dir,  # away from the checkout, so a developer's .env does not apply
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ArenaServer(f"http://127.0.0.1:{port}", data_dir, log, process)
    try:
        _wait_healthy(server)
        yield server
    finally:
        _stop(process)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, ARTIFACTS / f"browser-serve-{data_dir.name}.log")
        if redis_url:
            delete_prefix(redis_url, prefix)
        else:
            _stop_orphaned_redis(data_dir)


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    """`arena serve` with its worker, on a free loopback port, until the module ends; its
    debaters and judge are the fast fake model (a module may override this fixture)."""
    with FakeLLM(words=12, token_delay=0.01) as llm:
        with arena_on(llm.url, tmp_path_factory.mktemp("arena-browser")) as server:
            yield server


@dataclass
class JsErrors:
    """Uncaught exceptions and console errors from every page of every context."""

    seen: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.seen.append(f"console.error: {message.text} ({where})")

    def on_weberror(self, error: WebError) -> None:
        self.seen.append(f"uncaught: {error.error}")


@pytest.fixture(scope="module")
def js_errors() -> JsErrors:
    return JsErrors()


@pytest.fixture(autouse=True)
def no_js_errors(js_errors: JsErrors) -> Iterator[None]:
    """Fail a test whose pages threw or logged an error (checked when the test ends)."""
    before = len(js_errors.seen)
    yield
    new = js_errors.seen[before:]
    if new:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(new))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[dev]'")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def new_context(browser: Browser, arena_server: ArenaServer, js_errors: JsErrors) -> Iterator[Any]:
    """Make browser contexts at desktop size with base_url set and error collection on."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=arena_server.url, viewport=options.pop("viewport", DESKTOP), **options
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("console", js_errors.on_console)
        context.on("weberror", js_errors.on_weberror)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
