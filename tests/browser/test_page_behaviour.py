"""What a spectator notices on the pages, in a real browser, against `arena serve` and a fake
model on loopback: no stray text, names rather than ids, room around the home page's disclosure,
a failed vote that says so, personas made elsewhere, no test hooks, and vote tallies that a screen
reader announces once per turn rather than on every other spectator's vote."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import FAST_MODEL, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import Browser, Page, Route, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLOW_MODEL = "openai-compatible:slow"
MATCH_TIMEOUT_MS = 90_000
STOIC = "Marcus, the Stoic"

# Every text a live region (aria-live, or a role that implies one) comes to hold, in order.
LIVE_LOG = """
(() => {
  const log = [];
  window.__liveLog = log;
  const seen = new WeakMap();
  const LIVE = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
  const region = (el) => el?.closest?.(LIVE);
  new MutationObserver((records) => {
    for (const r of records) {
      const live = region(r.target.nodeType === 1 ? r.target : r.target.parentElement);
      const text = live?.textContent.trim();
      if (!text || seen.get(live) === text) continue;
      seen.set(live, text);
      log.push({ text, politeness: live.getAttribute('aria-live') ?? live.getAttribute('role') });
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


class PacedLLM(FakeLLM):
    """FakeLLM whose `slow` model speaks 100 words a turn (a turn lasts seconds, so a match is
    still live while spectators vote), and whose other models 8."""

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        deltas = super().reply(n, body)
        if body.get("response_format") or "slow" not in str(body.get("model")):
            return deltas
        return deltas + [f" more-{i}" for i in range(100 - len(deltas))]


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with PacedLLM(words=8, token_delay=0.04) as llm:
        folder = tmp_path_factory.mktemp("arena-page")
        with arena_on(llm.url, folder, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


def debate(server: ArenaServer, model: str = FAST_MODEL, pro: str = "pirate") -> Any:
    return server.post(
        "/api/matches",
        {"motion": "four-day-week", "pro": {"persona": pro, "model": model},
         "con": {"persona": "stoic", "model": model}, "judges": [FAST_MODEL], "rounds": 1},
    )  # fmt: skip


def finished(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_test_id("status")).to_have_attribute(
        "data-status", "completed", timeout=MATCH_TIMEOUT_MS
    )


def test_the_tournament_page_prints_no_null(arena_server: ArenaServer, new_context: Any) -> None:
    created = arena_server.post(
        "/api/tournaments",
        {"personas": ["pirate", "stoic"], "motions": ["four-day-week"], "rounds": 1,
         "model": FAST_MODEL, "judges": [FAST_MODEL]},
    )  # fmt: skip
    page = new_context().new_page()
    page.goto(created["url"])
    expect(page.get_by_test_id("progress")).to_contain_text("2 / 2 matches done", timeout=60_000)
    expect(page.get_by_test_id("tournament-board").locator("tbody tr")).to_have_count(2)
    # as read (innerText): textContent runs "tokens" and "null" together into no word
    stray = re.compile(r"\b(null|undefined|NaN)\b")
    expect(page.locator("main")).not_to_contain_text(stray, use_inner_text=True)


def test_the_pressure_panel_of_the_leaderboard_names_personas(
    arena_server: ArenaServer, new_context: Any
) -> None:
    created = arena_server.post(
        "/api/matches",
        {"format": "pressure", "motion": "ai-art", "con": {"persona": "stoic", "model": FAST_MODEL},
         "challenger": {"tactic": "are-you-sure"}, "judges": [FAST_MODEL], "rounds": 1},
    )  # fmt: skip
    # and a debate match of its own: the debate board lists only personas with a scored debate,
    # whichever of this module's tests ran before
    debate = arena_server.post(
        "/api/matches",
        {"motion": "ai-art", "pro": {"persona": "stoic", "model": FAST_MODEL},
         "con": {"persona": "pirate", "model": FAST_MODEL}, "judges": [FAST_MODEL], "rounds": 1},
    )  # fmt: skip
    page = new_context().new_page()
    finished(page, created["url"])
    finished(page, debate["url"])
    page.goto("/leaderboard")
    rows = page.get_by_test_id("pressure-board").locator("tbody tr")
    expect(rows.first.locator("td").first).to_have_text(STOIC, timeout=30_000)
    heat = page.get_by_test_id("pressure-heatmap")
    expect(heat.locator("tbody th").first).to_have_text(STOIC)
    # as everywhere else: the debate board of the same page names the persona too
    expect(page.get_by_test_id("leaderboard")).to_contain_text(STOIC)


def _gap_below(page: Page, upper: str, heading: str) -> float:
    """Pixels between the bottom of `upper` and the top of the heading named `heading`."""
    above = page.locator(upper).bounding_box()
    below = page.get_by_role("heading", name=heading).bounding_box()
    assert above is not None and below is not None
    return below["y"] - (above["y"] + above["height"])


def test_the_start_a_tournament_disclosure_leaves_room_for_the_heading_below(
    arena_server: ArenaServer, new_context: Any
) -> None:
    page = new_context().new_page()
    page.goto("/")
    expect(page.get_by_text("Start a tournament")).to_be_visible()
    assert _gap_below(page, "section.tournaments details", "Live and recent matches") >= 16
    page.get_by_text("Start a tournament").click()
    form = page.get_by_test_id("tournament-form")
    pirate = form.get_by_label("Captain Redbeard")
    expect(pirate).to_be_visible()
    assert _gap_below(page, "section.tournaments details", "Live and recent matches") >= 16
    # each checkbox sits on the line of its own label, before the text
    box, label = pirate.bounding_box(), form.locator("label", has_text="Captain Redbeard")
    text = label.bounding_box()
    assert box is not None and text is not None
    assert text["y"] <= box["y"] + box["height"] / 2 <= text["y"] + text["height"]
    assert box["x"] < text["x"] + 40


def test_a_failed_vote_says_so_and_can_be_retried(
    arena_server: ArenaServer, browser: Browser
) -> None:
    created = debate(arena_server)
    # a context of its own: the failures below are logged by the browser, as they should be
    context = browser.new_context(base_url=arena_server.url)
    uncaught: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: uncaught.append(str(error)))
    finished(page, created["url"])
    votes = page.locator('[data-testid="turn"][data-turn="0"] [data-testid="votes"]')

    page.route("**/api/matches/*/turns/*/votes", lambda route: route.abort("failed"))
    votes.get_by_role("button", name="holds").click()
    alert = votes.get_by_role("alert")
    expect(alert).to_contain_text("Your vote was not taken")
    expect(alert).to_contain_text("did not answer")

    def busy(route: Route) -> None:
        route.fulfill(status=503, headers={"Retry-After": "5", "content-type": "application/json"},
                      body='{"detail": "store unavailable, retry shortly"}')  # fmt: skip

    page.unroute("**/api/matches/*/turns/*/votes")
    page.route("**/api/matches/*/turns/*/votes", busy)
    retry = alert.get_by_role("button", name="Retry")
    retry.focus()
    page.keyboard.press("Enter")
    expect(alert).to_contain_text("store unavailable, retry shortly")
    expect(retry).to_be_focused()  # the message changed around it

    page.unroute("**/api/matches/*/turns/*/votes")
    page.keyboard.press("Enter")
    expect(votes.get_by_test_id("vote-result")).to_contain_text("You: holds. Spectators: holds 1")
    expect(votes.get_by_role("alert")).to_have_count(0)
    holds = votes.get_by_role("button", name="holds")
    expect(holds).to_have_attribute("aria-pressed", "true")
    expect(holds).to_be_focused()  # not lost with the Retry button
    assert uncaught == []
    context.close()


def test_a_persona_created_elsewhere_appears_after_navigation(
    arena_server: ArenaServer, new_context: Any
) -> None:
    page = new_context().new_page()
    page.goto("/")
    expect(page.get_by_test_id("pro-persona")).to_be_visible()  # the names are loaded
    # another tab (or another spectator) creates a persona and starts a match with it
    made = arena_server.post(
        "/api/personas",
        {"name": "Ada the Engineer", "summary": "A careful engineer.",
         "system_prompt": "You are Ada, an engineer who argues only from measured evidence.",
         "beliefs": ["Measure before you argue."], "style": "precise and dry"},
    )  # fmt: skip
    created = debate(arena_server, pro=made["id"])
    page.get_by_role("link", name="Leaderboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leaderboard")
    page.get_by_role("navigation").get_by_role("link", name="Matches").click()
    item = page.get_by_test_id("matches").locator(f'li[data-id="{created["id"]}"]')
    expect(item.locator(".mi-side.pro .mi-persona")).to_have_text("Ada the Engineer")
    pro = page.get_by_test_id("pro-persona")
    expect(pro.locator("option", has_text=re.compile("^Ada the Engineer$"))).to_have_count(1)
    item.locator(".mi-motion").click()
    expect(page.locator(".debater.pro .debater-name")).to_have_text("Ada the Engineer")


def test_the_match_page_leaves_no_test_hook_on_the_window(
    arena_server: ArenaServer, new_context: Any
) -> None:
    created = debate(arena_server)
    page = new_context().new_page()
    finished(page, created["url"])
    assert page.evaluate("() => Object.keys(window).filter((k) => k.startsWith('__'))") == []


def test_tallies_are_announced_politely_and_at_most_once_per_turn_change(
    arena_server: ArenaServer, new_context: Any
) -> None:
    created = debate(arena_server, model=SLOW_MODEL)
    context = new_context()
    context.add_init_script(LIVE_LOG)
    page = context.new_page()
    page.goto(created["url"])
    votes = page.locator('[data-testid="turn"][data-turn="0"] [data-testid="votes"]')
    result = votes.get_by_test_id("vote-result")
    expect(result).to_contain_text("show after you vote", timeout=MATCH_TIMEOUT_MS)
    # the tally under a turn is not a live region: it changes with every spectator's vote
    expect(page.locator('[data-testid="votes"] [aria-live]')).to_have_count(0)
    announcer = page.get_by_test_id("vote-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")

    votes.get_by_role("button", name="holds").click()
    expect(announcer).to_contain_text("Your vote on turn 1: holds")
    url = f"{arena_server.url}/api/matches/{created['id']}/turns/0/votes"
    # six other spectators (no cookie: a new one each) vote while the match goes on
    for labels, shown in ((["holds", "wavers", "wavers"], "holds 2 · wavers 2"),
                          (["holds", "holds", "wavers"], "holds 4 · wavers 3")):  # fmt: skip
        for label in labels:
            httpx.post(url, json={"label": label}, timeout=10).raise_for_status()
        expect(result).to_contain_text(f"Spectators: {shown}")
    status = page.get_by_test_id("status")
    now = status.text_content() or ""
    assert now.startswith("running Live: turn"), now
    expect(status).not_to_have_text(now, timeout=MATCH_TIMEOUT_MS)  # the next turn starts
    expect(announcer).to_contain_text("holds 4 · wavers 3")
    assert arena_server.get(f"/api/matches/{created['id']}")["status"] == "running"

    log: list[dict[str, str]] = page.evaluate("() => window.__liveLog")
    mine = next(i for i, e in enumerate(log) if "Your vote on turn 1" in e["text"])
    after = log[mine + 1 :]
    tallies = [e for e in after if "Spectators" in e["text"] or "holds" in e["text"]]
    turn_changes = [e for e in after if e["text"].startswith("running Live: turn")]
    assert 1 <= len(tallies) <= len(turn_changes), log
    assert all(e["politeness"] == "polite" for e in tallies), tallies
