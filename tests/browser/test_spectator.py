"""The spectator page in a real browser, against a live `arena serve` running the embedded model.

One match, started from the form, is shared by the tests of this module (a match of 6 turns takes
one to a few minutes on 2 cores): it streams, is reloaded mid-match, finishes, and then shows on
the leaderboard and the persona pages. Screenshots of every page at desktop and phone width go
to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, ArenaServer, missing

try:
    from playwright.sync_api import BrowserContext, Page, Request, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRO, CON = "stoic", "pirate"
MOTION = "This house would ban homework in primary schools."
FIRST_TEXT_TIMEOUT_MS = 180_000  # loading the model plus the first prompt, on a busy machine
MATCH_TIMEOUT_MS = 360_000

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
    first_points: int | None = None

    def summary(self) -> Any:
        return self.server.get(f"/api/matches/{self.id}")

    def wait_finished(self) -> Any:
        """The match's summary once it is completed (polls the API, bounded)."""
        deadline = time.monotonic() + MATCH_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            summary = self.summary()
            if summary["status"] not in ("queued", "running"):
                assert summary["status"] == "completed", summary.get("error")
                return summary
            time.sleep(1)
        pytest.fail(f"match {self.id} did not finish within {MATCH_TIMEOUT_MS // 1000} s")


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


@pytest.fixture(scope="module")
def live(context: BrowserContext, arena_server: ArenaServer) -> LiveMatch:
    """A match started from the home page's form: PRO stoic, CON pirate, own motion, 1 round."""
    page = context.new_page()
    page.goto("/")
    page.get_by_test_id("pro-persona").select_option(PRO)
    page.get_by_test_id("con-persona").select_option(CON)
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(MOTION)
    page.get_by_test_id("rounds").fill("1")
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/matches/[^/]+$"))
    return LiveMatch(page.url.rsplit("/", 1)[1], page, arena_server)


def test_match_from_form_streams_text_before_the_turn_ends(live: LiveMatch) -> None:
    summary = live.summary()
    assert (summary["pro"]["persona"], summary["con"]["persona"]) == (PRO, CON)
    assert (summary["motion"], summary["rounds"], summary["total_turns"]) == (MOTION, 1, 6)
    page = live.page
    expect(page.locator("h1.motion")).to_have_text(MOTION)

    # (not page.wait_for_function: it evaluates a string in the page, which the page's
    # Content-Security-Policy refuses, as it should)
    first = page.locator('[data-testid="turn"][data-turn="0"]')
    expect(first.locator(".turn-text")).not_to_be_empty(timeout=FIRST_TEXT_TIMEOUT_MS)
    expect(first).to_have_attribute("data-side", "pro")
    expect(first).to_have_attribute("data-complete", "true", timeout=120_000)

    streamed = page.evaluate("() => window.__streamLog['0']")
    lengths = [s["n"] for s in streamed]
    assert len(lengths) >= 2, f"turn 1 showed its text only once before it ended: {streamed}"
    assert lengths == sorted(set(lengths)), f"streamed text did not only grow: {lengths}"
    # a replay of stored tokens lands within a few ms; live tokens arrive over the turn
    assert streamed[-1]["t"] - streamed[0]["t"] >= 100, streamed
    final = first.locator(".turn-text").text_content() or ""
    assert len(final.strip()) > 0 and len(final) >= lengths[-1] * 0.9


def test_verdict_chips_and_chart_points_appear_while_running(live: LiveMatch) -> None:
    page = live.page
    verdict = page.locator('[data-testid="verdict"]').first
    expect(verdict).to_be_attached(timeout=FIRST_TEXT_TIMEOUT_MS)
    holding = verdict.get_attribute("data-holding")
    assert holding is None or 0 <= float(holding) <= 1
    points = page.locator('[data-testid="chart"] circle.point')
    expect(points.first).to_be_attached(timeout=FIRST_TEXT_TIMEOUT_MS)
    live.first_points = points.count()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "running")
    snap(page, "match-live")


def test_reload_mid_match_shows_each_turn_once_with_the_servers_text(live: LiveMatch) -> None:
    page = live.page
    before = live.summary()
    if before["status"] != "running":
        pytest.fail(f"the match was {before['status']} before the reload, not mid-match")
    page.reload()
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-status", "completed", timeout=MATCH_TIMEOUT_MS)

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
    assert live.first_points is not None and total > live.first_points, (
        f"chart points did not grow: {live.first_points} while running, {total} at the end"
    )


def test_finished_match_shows_results(live: LiveMatch) -> None:
    live.wait_finished()
    page = live.page
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
    deadline = time.monotonic() + 30
    while True:
        rows: list[dict[str, Any]] = server.get(f"/api/leaderboard?by={by}")["rows"]
        if {PRO, CON} <= {r["persona"] for r in rows} or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_leaderboard_lists_both_personas_in_both_groupings(
    live: LiveMatch, context: BrowserContext
) -> None:
    live.wait_finished()
    _leaderboard_rows(live.server, "persona_model")
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
        expect(row).to_contain_text("local:smollm2")
    page.close()


def test_persona_page_shows_stats_and_the_recent_match(
    live: LiveMatch, context: BrowserContext
) -> None:
    live.wait_finished()
    page = context.new_page()
    for persona in (CON, PRO):
        page.goto(f"/personas/{persona}")
        stats = page.get_by_test_id("persona-stats")
        expect(stats).to_be_visible()
        expect(stats.locator("tbody tr").first).to_be_visible()
        mine = page.locator(f'li.match-item[data-id="{live.id}"]')
        expect(mine).to_have_attribute("data-status", "completed")
        expect(mine.locator(".mi-motion")).to_have_text(MOTION)
    # the last one shown is PRO's page: all models, then one row per model it played
    expect(stats.locator("tbody tr > th")).to_have_text(["All models", "local:smollm2"])
    snap(page, "persona")
    page.close()


def test_home_lists_the_finished_match(live: LiveMatch, context: BrowserContext) -> None:
    live.wait_finished()
    page = context.new_page()
    page.goto("/")
    mine = page.get_by_test_id("matches").locator(f'li[data-id="{live.id}"]')
    expect(mine).to_have_attribute("data-status", "completed")
    expect(mine.locator(".mi-progress")).to_have_text("6/6 turns")
    expect(page.get_by_test_id("match-form")).to_be_visible()
    snap(page, "home")
    page.close()


def test_form_can_be_filled_and_submitted_by_keyboard(live: LiveMatch, new_context: Any) -> None:
    live.wait_finished()  # run alone, so the two matches do not share the CPU
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
    assert page.url.rsplit("/", 1)[1] != live.id

    # the new match is not needed: cancel it, by keyboard too
    cancel = page.get_by_role("button", name="Cancel match")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_attribute(
        "data-status", "cancelled", timeout=120_000
    )
    page.close()
