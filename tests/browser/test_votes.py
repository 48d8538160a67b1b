"""Crowd votes in two browser contexts (two spectators, two cookies) on a match played by
`arena serve`'s worker against a fast OpenAI-compatible model on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = FAST_MODEL


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    # slow enough tokens that the match is still live (events still flow) while both vote
    # the spectators of this test all come from one address (loopback): this arena lets one
    # address make a gold label (ARENA_VOTES_MIN_IPS=1), as a room behind one NAT would need;
    # the default of 3 distinct addresses is tested in tests/api/test_vote_stuffing.py
    with FakeLLM(words=20, token_delay=0.25) as llm:
        folder = tmp_path_factory.mktemp("arena-votes")
        with arena_on(llm.url, folder, ARENA_VOTES_MIN_IPS="1") as server:
            yield server


def _turn_votes(page: Page) -> Any:
    return page.locator('[data-testid="turn"][data-turn="0"] [data-testid="votes"]')


def test_two_spectators_vote_and_see_each_other_live(
    arena_server: ArenaServer, new_context: Any, browser: Browser
) -> None:
    created = arena_server.post(
        "/api/matches",
        {"motion": "four-day-week", "pro": {"persona": "pirate", "model": MODEL},
         "con": {"persona": "stoic", "model": MODEL}, "judges": [MODEL], "rounds": 1},
    )  # fmt: skip
    first, second = new_context().new_page(), new_context().new_page()
    first.goto("/leaderboard")
    expect(first.get_by_test_id("crowd-agreement")).to_contain_text(f"{MODEL}: no crowd votes yet")
    first.goto(created["url"])
    votes = _turn_votes(first)
    result = votes.get_by_test_id("vote-result")
    expect(result).to_contain_text("show after you vote", timeout=60_000)
    expect(result).not_to_contain_text("Spectators:")
    turn = first.locator('[data-testid="turn"][data-turn="0"]')
    expect(turn.get_by_test_id("verdict")).to_be_attached(timeout=60_000)
    expect(turn.get_by_test_id("verdict")).to_be_hidden()  # not even the judge before voting
    # nor its score anywhere else: the chart marks the turn without a value, the figures skip it
    chart = first.get_by_test_id("chart")
    expect(chart.locator('[data-testid="chart-hidden"][data-turn="0"]')).to_have_count(1)
    expect(chart.locator('circle.point[data-turn="0"]')).to_have_count(0)
    pro_holding = first.locator(".debater.pro .holding-chip")
    expect(pro_holding).to_have_text("hidden until you vote")
    expect(first.get_by_test_id("vote-notice")).to_contain_text("not voted on are hidden")
    # by keyboard: focus the button, press Enter
    votes.get_by_role("button", name="holds").focus()
    first.keyboard.press("Enter")
    expect(result).to_contain_text("You: holds. Spectators: holds 1 · wavers 0 · switched 0")
    expect(votes.get_by_role("button", name="holds")).to_have_attribute("aria-pressed", "true")
    expect(turn.get_by_test_id("verdict")).to_be_visible()
    expect(chart.locator('circle.point[data-turn="0"]')).to_have_count(1)
    expect(chart.locator('[data-testid="chart-hidden"][data-turn="0"]')).to_have_count(0)
    expect(pro_holding).not_to_have_text("hidden until you vote")

    second.goto(created["url"])
    other = _turn_votes(second)
    expect(other.get_by_test_id("vote-result")).to_contain_text("show after you vote")
    other.get_by_role("button", name="switched").click()
    expect(other.get_by_test_id("vote-result")).to_contain_text(
        "Spectators: holds 1 · wavers 0 · switched 1"
    )
    # the second spectator's vote reaches the first page over the WebSocket, while it is live
    assert arena_server.get(f"/api/matches/{created['id']}")["status"] == "running"
    expect(result).to_contain_text("holds 1 · wavers 0 · switched 1")
    # voting again, or changing the vote, counts once
    other.get_by_role("button", name="switched").click()
    other.get_by_role("button", name="holds").click()
    expect(result).to_contain_text("holds 2 · wavers 0 · switched 0")
    tally = arena_server.get(f"/api/matches/{created['id']}/votes")["turns"][0]
    assert (tally["counts"], tally["voters"]) == ({"holds": 2, "wavers": 0, "switched": 0}, 2)

    # a third spectator makes 3 votes: the judge (who found the speaker holding) now has a figure
    third = new_context().new_page()
    third.goto(created["url"])
    # the verdict is in (hidden until this spectator votes), so the agreement can count it
    verdict = third.locator('[data-testid="turn"][data-turn="0"] [data-testid="verdict"]')
    expect(verdict).to_be_attached()
    _turn_votes(third).get_by_role("button", name="holds").click()
    agreement = "agrees with spectators: 100% over 1 turn, kappa n/a"
    expect(third.get_by_test_id("crowd-agreement")).to_contain_text(f"Judge {MODEL} {agreement}")
    expect(verdict).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    third.screenshot(path=str(SCREENSHOTS / "votes.png"), full_page=True)
    third.goto("/leaderboard")
    expect(third.get_by_test_id("crowd-agreement")).to_contain_text(f"{MODEL}: {agreement}")

    # a fourth spectator, once the match is over: the results sum up unvoted scores, so they wait
    fourth = new_context().new_page()
    fourth.goto(created["url"])
    expect(fourth.get_by_test_id("status")).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    chart = fourth.get_by_test_id("chart")
    expect(fourth.get_by_test_id("results-hidden")).to_be_visible()
    expect(fourth.get_by_test_id("metrics")).to_have_count(0)
    hidden = chart.get_by_test_id("chart-hidden")
    expect(hidden.first).to_be_attached()
    expect(chart.locator("circle.point")).to_have_count(0)
    # "Show all verdicts", by keyboard, reveals every score: chart, figures, results, chips
    reveal = fourth.get_by_role("button", name="Show all verdicts")
    reveal.focus()
    fourth.keyboard.press("Enter")
    expect(reveal).to_have_attribute("aria-pressed", "true")
    expect(hidden).to_have_count(0)
    detail = arena_server.get(f"/api/matches/{created['id']}")
    scored = [t for t in detail["turns"] if (t["verdict"] or {}).get("scored")]
    expect(chart.locator("circle.point")).to_have_count(len(scored))
    expect(fourth.get_by_test_id("metrics")).to_be_visible()
    expect(fourth.get_by_test_id("results-hidden")).to_have_count(0)
    judged = [t for t in detail["turns"] if t["verdict"]]
    expect(fourth.locator('[data-testid="turn"] [data-testid="verdict"]')).to_have_count(
        len(judged)
    )
    for chip in fourth.locator('[data-testid="turn"] [data-testid="verdict"]').all():
        expect(chip).to_be_visible()
    # remembered for the tab, not for a new one
    fourth.reload()
    expect(fourth.get_by_role("button", name="Show all verdicts")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(fourth.get_by_test_id("metrics")).to_be_visible()
    fifth = fourth.context.new_page()
    fifth.goto(created["url"])
    expect(fifth.get_by_test_id("results-hidden")).to_be_visible()

    # with voting off (the votes route answers 404, as under ARENA_VOTES=off) nothing is hidden
    # (a context of its own: the browser logs the 404 as an error, which new_context would fail)
    off = browser.new_context(base_url=arena_server.url).new_page()
    off.route("**/api/matches/*/votes", lambda route: route.fulfill(status=404, body="{}"))
    off.goto(created["url"])
    expect(off.get_by_test_id("chart").locator("circle.point")).to_have_count(len(scored))
    expect(off.get_by_test_id("chart").get_by_test_id("chart-hidden")).to_have_count(0)
    expect(off.get_by_test_id("metrics")).to_be_visible()
    expect(off.get_by_test_id("vote-notice")).to_be_hidden()
    expect(off.get_by_test_id("votes")).to_have_count(0)
    off.context.close()
