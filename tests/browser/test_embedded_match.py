"""End to end on the real embedded model: a match started from the page's form, played by
`arena serve`'s worker on llama.cpp (debaters and judge), watched in chromium from its first
streamed words to its results. The page's other behaviour is tested on the fast fake model
(test_spectator.py and the other modules here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import SCREENSHOTS, ArenaServer, missing, running_arena

try:
    from playwright.sync_api import BrowserContext, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.embedded, pytest.mark.long]

PRO, CON = "stoic", "pirate"
MOTION = "This house would ban homework in primary schools."
FIRST_TEXT_TIMEOUT_MS = 180_000  # loading the model plus the first prompt, on a busy machine
MATCH_TIMEOUT_MS = 900_000  # a deadline for a hang: a busy machine makes the match slow, not red

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


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    """`arena serve` with its worker on the app's defaults: the embedded model for all."""
    with running_arena(tmp_path_factory.mktemp("arena-embedded")) as server:
        yield server


@pytest.fixture(scope="module")
def context(new_context: Any) -> BrowserContext:
    context: BrowserContext = new_context()
    context.add_init_script(STREAM_RECORDER)
    # the judge's scores, not crowd votes, are checked here: "Show all verdicts" is on
    context.add_init_script("try { sessionStorage.setItem('arena.showAllVerdicts', '1') } catch {}")
    return context


def test_a_match_on_the_embedded_model_streams_and_finishes_on_the_page(
    context: BrowserContext, arena_server: ArenaServer
) -> None:
    page = context.new_page()
    page.goto("/")
    page.get_by_test_id("pro-persona").select_option(PRO)
    page.get_by_test_id("con-persona").select_option(CON)
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(MOTION)
    page.get_by_test_id("rounds").fill("1")
    # short turns (the form's least): the page is under test, not the model's eloquence
    page.get_by_text("Panel of judges, word limit, seed").click()
    page.get_by_label("Word limit per turn").fill("20")
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/matches/[^/]+$"))
    match_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1.motion")).to_have_text(MOTION)

    # the first turn's words appear while it is spoken, not all at once at its end
    # (not page.wait_for_function: the page's Content-Security-Policy refuses its string)
    first = page.locator('[data-testid="turn"][data-turn="0"]')
    expect(first.locator(".turn-text")).not_to_be_empty(timeout=FIRST_TEXT_TIMEOUT_MS)
    expect(first).to_have_attribute("data-side", "pro")
    expect(first).to_have_attribute("data-complete", "true", timeout=120_000)
    streamed = page.evaluate("() => window.__streamLog['0']")
    lengths = [s["n"] for s in streamed]
    assert len(lengths) >= 2, f"turn 1 showed its text only once before it ended: {streamed}"
    assert lengths == sorted(set(lengths)), f"streamed text did not only grow: {lengths}"
    assert streamed[-1]["t"] - streamed[0]["t"] >= 100, streamed

    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-status", "completed", timeout=MATCH_TIMEOUT_MS)
    summary = arena_server.get(f"/api/matches/{match_id}")
    assert (summary["pro"]["persona"], summary["con"]["persona"]) == (PRO, CON)
    assert summary["pro"]["model"] == "local:smollm2" and summary["spec"]["word_limit"] == 20
    shown = page.evaluate(TURNS_JS)
    assert [t["turn"] for t in shown] == list(range(summary["total_turns"])) == list(range(6))
    by_turn = {t["turn"]: t for t in summary["turns"]}
    for turn in shown:
        server = by_turn[turn["turn"]]
        assert turn["side"] == server["side"] and turn["complete"] == "true"
        assert turn["text"] == server["text"] and turn["text"].strip(), turn
        assert turn["verdicts"] == ([turn["turn"]] if server["verdict"] else []), turn
    scored = [t for t in summary["turns"] if (t["verdict"] or {}).get("scored")]
    expect(page.get_by_test_id("chart").locator("circle.point")).to_have_count(len(scored))
    expect(page.get_by_test_id("metrics")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "embedded-match-desktop.png", full_page=True)
    page.close()
