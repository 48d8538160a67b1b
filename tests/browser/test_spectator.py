"""The spectator page in a real browser, against a live `arena serve` whose worker plays matches
on the fast fake model (tests/fake_llm.py): a match started from the form streams, is reloaded
mid-match, finishes, and then shows on the leaderboard and the persona pages. Each test starts
the match it needs, so they pass in any order. A match on the real embedded model is watched
end to end in test_embedded_match.py. Screenshots of every page at desktop and phone width go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    FAST_MODEL,
    PHONE,
    SCREENSHOTS,
    ArenaServer,
    arena_on,
    missing,
)
from tests.fake_llm import FakeLLM
from tests.polling import wait_until

try:
    from playwright.sync_api import BrowserContext, Page, Request, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRO, CON = "stoic", "pirate"
MOTION = "This house would ban homework in primary schools."
HELD_MOTION = "This house would reload the page mid-match."
HELD_AFTER = 3  # debater replies of a match on HELD_MOTION that flow before the rest are held
TIMEOUT_MS = 60_000
MATCH_TIMEOUT = 120.0


class GatedLLM(FakeLLM):
    """The fake model, pacing matches so that a test looking at one mid-match surely finds it
    running, however slow the machine: on MOTION a match plays at full speed; on HELD_MOTION its
    first HELD_AFTER debater replies do, and the others wait for `release`; on any other motion
    every token takes a second (a match of minutes, which a cancel still stops at a token)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.release = threading.Event()
        self._held = 0  # debater replies on HELD_MOTION so far
        self._held_lock = threading.Lock()

    @staticmethod
    def _motion(body: dict[str, Any]) -> str | None:
        """The match's motion, when `body` is a debater's request on one of ours."""
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if body.get("response_format"):
            return None  # a judge's
        return next((m for m in (MOTION, HELD_MOTION) if m in prompt), "other")

    def delay(self, body: dict[str, Any]) -> float:
        return 1.0 if self._motion(body) == "other" else self.token_delay

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        if self._motion(body) == HELD_MOTION:
            with self._held_lock:
                self._held += 1
                flows = self._held <= HELD_AFTER
            if not flows:
                self.release.wait(timeout=120)
        return super().reply(n, body)


@pytest.fixture(scope="module")
def llm() -> Iterator[GatedLLM]:
    # tokens slow enough that a turn streams over several writes (coalesced every 50 ms)
    with GatedLLM(words=16, token_delay=0.04) as llm:
        yield llm


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory, llm: GatedLLM) -> Iterator[ArenaServer]:
    data_dir = tmp_path_factory.mktemp("arena-spectator")
    with arena_on(llm.url, data_dir, ARENA_WORKER_CONCURRENCY="4") as server:
        try:
            yield server
        finally:
            llm.release.set()  # held replies end, so that the worker stops promptly

# Records, per turn, the text lengths shown while the turn is not complete yet (data-complete
# is "false" until its turn_completed event arrives), with the time each was seen.
STREAM_RECORDER = """
(() => {
  const log = {};
  window.__streamLog = log;
  const sample = () => {
    for (const el of document.querySelectorAll('[data-testid="turn"][data-complete="false"]')) {
      const n = el.querySelector('.turn-text')?.textContent.length ?? 0;
      const seen = (log[el.dataset.turn] ??= []);
      if (n > 0 && seen.at(-1)?.n !== n) seen.push({ n, t: performance.now() });
    }
  };
  new MutationObserver(sample).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true });
})();
"""

TURNS_JS = """
() => [...document.querySelectorAll('[data-testid="transcript"] [data-testid="turn"]')]
  .map((el) => ({
  turn: Number(el.dataset.turn),
  side: el.dataset.side,
  complete: el.dataset.complete,
  text: el.querySelector('.turn-text').textContent,
  verdicts: [...el.querySelectorAll('[data-testid="verdict"]')].map((v) => Number(v.dataset.turn)),
}))
"""


@dataclass
class LiveMatch:
    id: str
    page: Page
    server: ArenaServer

    def summary(self) -> Any:
        return self.server.get(f"/api/matches/{self.id}")

    def wait_finished(self) -> Any:
        """The match's summary once it is completed (polls the API, bounded)."""

        def finished() -> Any:
            summary = self.summary()
            return None if summary["status"] in ("queued", "running") else summary

        summary = wait_until(finished, timeout=MATCH_TIMEOUT, interval=0.2,
                             message=f"match {self.id} did not finish")
        assert summary["status"] == "completed", summary.get("error")
        return summary


def settle(page: Page) -> None:
    """Wait two frames, so resize observers and layout have run."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def snap(page: Page, name: str) -> None:
    """Screenshot at desktop and phone width; at phone width the page must not scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            settle(page)
            if size is PHONE:
                width = page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= PHONE["width"] + 1, (
                    f"{name} scrolls sideways at {PHONE['width']} px: scrollWidth {width}"
                )
            page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    finally:
        page.set_viewport_size(DESKTOP)


@pytest.fixture(scope="module")
def context(new_context: Any) -> Iterator[BrowserContext]:
    context: BrowserContext = new_context()
    context.add_init_script(STREAM_RECORDER)
    # these tests check the judge's scores, not crowd votes: "Show all verdicts" is on
    context.add_init_script("try { sessionStorage.setItem('arena.showAllVerdicts', '1') } catch {}")
    yield context
    context.close()


def start_from_form(context: BrowserContext, server: ArenaServer, motion: str) -> LiveMatch:
    """A match started from the home page's form: PRO stoic, CON pirate, own motion, 1 round."""
    page = context.new_page()
    page.goto("/")
    page.get_by_test_id("pro-persona").select_option(PRO)
    page.get_by_test_id("con-persona").select_option(CON)
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(motion)
    page.get_by_test_id("rounds").fill("1")
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/matches/[^/]+$"))
    return LiveMatch(page.url.rsplit("/", 1)[1], page, server)


@pytest.fixture(scope="module")
def finished(context: BrowserContext, arena_server: ArenaServer) -> LiveMatch:
    """A match started from the form and played to its end."""
    match = start_from_form(context, arena_server, MOTION)
    match.wait_finished()
    return match


def test_match_from_form_streams_text_before_the_turn_ends(
    context: BrowserContext, arena_server: ArenaServer
) -> None:
    live = start_from_form(context, arena_server, MOTION)
    summary = live.summary()
    assert (summary["pro"]["persona"], summary["con"]["persona"]) == (PRO, CON)
    assert (summary["motion"], summary["rounds"], summary["total_turns"]) == (MOTION, 1, 6)
    page = live.page
    expect(page.locator("h1.motion")).to_have_text(MOTION)

    # (not page.wait_for_function: it evaluates a string in the page, which the page's
    # Content-Security-Policy refuses, as it should)
    first = page.locator('[data-testid="turn"][data-turn="0"]')
    expect(first.locator(".turn-text")).not_to_be_empty(timeout=TIMEOUT_MS)
    expect(first).to_have_attribute("data-side", "pro")
    expect(first).to_have_attribute("data-complete", "true", timeout=TIMEOUT_MS)

    streamed = page.evaluate("() => window.__streamLog['0']")
    lengths = [s["n"] for s in streamed]
    assert len(lengths) >= 2, f"turn 1 showed its text only once before it ended: {streamed}"
    assert lengths == sorted(set(lengths)), f"streamed text did not only grow: {lengths}"
    # a replay of stored tokens lands within a few ms; live tokens arrive over the turn
    assert streamed[-1]["t"] - streamed[0]["t"] >= 100, streamed
    final = first.locator(".turn-text").text_content() or ""
    assert len(final.strip()) > 0 and len(final) >= lengths[-1] * 0.9
    live.page.close()


def test_reload_mid_match_shows_each_turn_once_with_the_servers_text(
    context: BrowserContext, arena_server: ArenaServer, llm: GatedLLM
) -> None:
    live = start_from_form(context, arena_server, HELD_MOTION)
    page = live.page
    # verdict chips and chart points appear while the match runs (it is held at its 4th turn)
    verdict = page.locator('[data-testid="verdict"]').first
    expect(verdict).to_be_attached(timeout=TIMEOUT_MS)
    holding = verdict.get_attribute("data-holding")
    assert holding is None or 0 <= float(holding) <= 1
    points = page.locator('[data-testid="chart"] circle.point')
    expect(points.first).to_be_attached(timeout=TIMEOUT_MS)
    first_points = points.count()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "running")
    snap(page, "match-live")

    def held() -> Any:  # the held turn has started: three turns done, the fourth waits
        summary = live.summary()
        return summary if len(summary["turns"]) > HELD_AFTER else None

    before = wait_until(held, timeout=MATCH_TIMEOUT, message="the match never reached turn 4")
    assert before["status"] == "running"
    page.reload()
    # after the reload: the turns so far, each once, the held one still open
    expect(page.locator('[data-testid="transcript"] [data-testid="turn"]')).to_have_count(
        len(before["turns"])
    )
    expect(page.locator('[data-testid="turn"][data-complete="false"]')).to_have_count(1)
    shown = page.evaluate(TURNS_JS)
    assert [(t["turn"], t["text"]) for t in shown] == [
        (t["turn"], t["text"]) for t in before["turns"]
    ]
    llm.release.set()
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-status", "completed", timeout=TIMEOUT_MS)

    summary = live.summary()
    shown = page.evaluate(TURNS_JS)
    assert [t["turn"] for t in shown] == list(range(summary["total_turns"]))
    by_turn = {t["turn"]: t for t in summary["turns"]}
    for turn in shown:
        server = by_turn[turn["turn"]]
        assert turn["side"] == server["side"]
        assert turn["complete"] == "true"
        # the page writes the text as one pre-wrap text node: no whitespace is rewritten
        assert turn["text"] == server["text"], f"turn {turn['turn']} differs from the server's"
        expected = [turn["turn"]] if server["verdict"] else []
        assert turn["verdicts"] == expected, f"verdict chips of turn {turn['turn']}"

    chart = page.get_by_test_id("chart")
    for side in ("pro", "con"):
        scored = [
            t for t in summary["turns"] if t["side"] == side and (t["verdict"] or {}).get("scored")
        ]
        expect(chart.locator(f"circle.point.{side}")).to_have_count(len(scored))
    total = chart.locator("circle.point").count()
    assert total > first_points, (
        f"chart points did not grow: {first_points} while running, {total} at the end"
    )
    page.close()


def test_finished_match_shows_results(finished: LiveMatch) -> None:
    page = finished.page
    expect(page.get_by_test_id("status")).to_have_attribute(
        "data-status", "completed", timeout=30_000
    )
    metrics = page.get_by_test_id("metrics")
    expect(metrics).to_be_visible()
    expect(metrics.locator("thead")).to_contain_text("PRO")
    expect(page.get_by_role("button", name="Cancel match")).to_have_count(0)
    snap(page, "match-done")


def _leaderboard_rows(server: ArenaServer, by: str) -> list[dict[str, Any]]:
    """The leaderboard is updated when the match completes; give it a few seconds."""

    def both() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = server.get(f"/api/leaderboard?by={by}")["rows"]
        return rows if {PRO, CON} <= {r["persona"] for r in rows} else []

    return wait_until(both, timeout=30, interval=0.2, message=f"{PRO} and {CON} not on the board")


def test_leaderboard_lists_both_personas_in_both_groupings(
    finished: LiveMatch, context: BrowserContext
) -> None:
    _leaderboard_rows(finished.server, "persona_model")
    page = context.new_page()
    page.goto("/leaderboard")
    board = page.get_by_test_id("leaderboard")
    for persona in (PRO, CON):
        expect(board.locator(f'a[href="/personas/{persona}"]')).to_have_count(1)
    toggle = page.get_by_test_id("by-toggle")
    expect(toggle.locator('[data-by="persona"]')).to_have_attribute("aria-pressed", "true")

    holding = board.locator('button.sort[data-key="mean_holding"]')
    holding.click()
    expect(board.locator('th:has(button.sort[data-key="mean_holding"])')).to_have_attribute(
        "aria-sort", "descending"
    )
    snap(page, "leaderboard")

    toggle.locator('[data-by="persona_model"]').click()
    expect(page).to_have_url(re.compile(r"/leaderboard\?by=persona_model$"))
    board = page.get_by_test_id("leaderboard")
    expect(board.locator('button.sort[data-key="model"]')).to_be_visible()
    for persona in (PRO, CON):
        row = board.locator("tbody tr", has=page.locator(f'a[href="/personas/{persona}"]'))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(FAST_MODEL)
    page.close()


def test_persona_page_shows_stats_and_the_recent_match(
    finished: LiveMatch, context: BrowserContext
) -> None:
    page = context.new_page()
    for persona in (CON, PRO):
        page.goto(f"/personas/{persona}")
        stats = page.get_by_test_id("persona-stats")
        expect(stats).to_be_visible()
        expect(stats.locator("tbody tr").first).to_be_visible()
        mine = page.locator(f'li.match-item[data-id="{finished.id}"]')
        expect(mine).to_have_attribute("data-status", "completed")
        expect(mine.locator(".mi-motion")).to_have_text(MOTION)
    # the last one shown is PRO's page: all models, then one row per model it played
    expect(stats.locator("tbody tr > th")).to_have_text(["All models", FAST_MODEL])
    snap(page, "persona")
    page.close()


def test_home_lists_the_finished_match(finished: LiveMatch, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/")
    mine = page.get_by_test_id("matches").locator(f'li[data-id="{finished.id}"]')
    expect(mine).to_have_attribute("data-status", "completed")
    expect(mine.locator(".mi-progress")).to_have_text("6/6 turns")
    expect(page.get_by_test_id("match-form")).to_be_visible()
    snap(page, "home")
    page.close()


def test_form_can_be_filled_and_submitted_by_keyboard(
    new_context: Any, arena_server: ArenaServer
) -> None:
    page: Page = new_context().new_page()
    page.goto("/")
    pro = page.get_by_test_id("pro-persona")
    # the personas arrive by fetch after the page loads: wait for them before reading
    expect(page.get_by_test_id("con-persona").locator("option").nth(2)).to_be_attached()
    options = pro.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    pro.focus()
    page.keyboard.press("ArrowDown")  # personas[1]
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("con-persona")).to_be_focused()
    page.keyboard.press("ArrowDown")  # personas[2]
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("motion")).to_be_focused()
    rounds = page.get_by_test_id("rounds")
    for _ in range(5):
        if rounds.evaluate("(el) => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(rounds).to_be_focused()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("1")
    start = page.get_by_test_id("start")
    for _ in range(10):
        if start.evaluate("(el) => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(start).to_be_focused()

    def is_create(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith("/api/matches")

    with page.expect_request(is_create) as created:
        page.keyboard.press("Enter")
    body = created.value.post_data_json
    assert isinstance(body, dict)
    assert body["pro"]["persona"] == options[1]
    assert body["con"]["persona"] == options[2]
    assert body["rounds"] == 1
    page.wait_for_url(re.compile(r"/matches/[^/]+$"))
    created = arena_server.get(f"/api/matches/{page.url.rsplit('/', 1)[1]}")
    assert (created["pro"]["persona"], created["con"]["persona"]) == (options[1], options[2])

    # the new match (a slow one: it is surely still running) is not needed: cancel it, by
    # keyboard too
    cancel = page.get_by_role("button", name="Cancel match")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_attribute(
        "data-status", "cancelled", timeout=TIMEOUT_MS
    )
    page.close()
