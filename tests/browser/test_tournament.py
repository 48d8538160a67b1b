"""The tournament page: a round-robin started through the API, played by `arena serve`'s worker
against a fast OpenAI-compatible model on loopback, followed on the page to its leaderboard."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = FAST_MODEL


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=12, token_delay=0.02) as llm:
        data_dir = tmp_path_factory.mktemp("arena-tournament")
        with arena_on(llm.url, data_dir, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


def test_the_page_follows_a_tournament_to_its_leaderboard(
    arena_server: ArenaServer, new_context: object
) -> None:
    created = arena_server.post(
        "/api/tournaments",
        {
            "personas": ["pirate", "stoic", "cynic"],
            "motions": ["four-day-week", "remote-work"],
            "rounds": 1,
            "model": MODEL,
            "judges": [MODEL],
            "concurrency": 4,
        },
    )
    assert created["total_matches"] == 12
    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/")
    # the matches take seconds (the model streams slowly): it is still running here
    home_link = page.get_by_test_id("running-tournaments").get_by_role("link")
    expect(home_link).to_have_attribute("href", created["url"])
    home_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(created["id"])
    expect(page.get_by_test_id("progress")).to_contain_text("12 / 12 matches done", timeout=60_000)
    board = page.get_by_test_id("tournament-board")
    expect(board.locator("tbody tr")).to_have_count(3)
    expect(board.locator("svg.ci")).to_have_count(3)
    expect(page.get_by_test_id("heatmap").locator("td.heat")).to_have_count(9)
    expect(page.get_by_test_id("heatmap")).to_contain_text("0.80")
    expect(page.get_by_test_id("warnings")).to_contain_text("uncalibrated")
    matches = page.get_by_test_id("tournament-matches").locator("li")
    expect(matches).to_have_count(12)
    first = matches.first.get_by_role("link")
    expect(first).to_have_attribute("href", re.compile(r"^/matches/.+"))
    csv_link = page.get_by_role("link", name="turns.csv")
    href = csv_link.get_attribute("href")
    assert href is not None
    response = page.request.get(href)
    assert response.ok and len(response.text().strip().splitlines()) == 73
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tournament.png"), full_page=True)
    page.get_by_role("link", name="its rows on the leaderboard").click()
    expect(page.get_by_test_id("filters")).to_contain_text(f"tournament {created['id']}")
    rows = page.get_by_test_id("leaderboard").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('button.sort[data-key="adjusted_holding"]')).to_be_visible()
    page.go_back()
    first = page.get_by_test_id("tournament-matches").locator("li").first.get_by_role("link")
    first.click()
    expect(page).to_have_url(re.compile(r".*/matches/.+"))


def test_the_home_page_form_starts_a_tournament(
    arena_server: ArenaServer, new_context: object
) -> None:
    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/")
    page.get_by_text("Start a tournament").click()
    form = page.get_by_test_id("tournament-form")
    form.get_by_label("Captain Redbeard").check()
    form.get_by_label("Marcus, the Stoic").check()
    form.get_by_label("ai-art").check()
    form.get_by_role("button", name="Start tournament").click()
    expect(page).to_have_url(re.compile(r".*/tournaments/.+"))
    expect(page.get_by_test_id("progress")).to_contain_text("2 / 2 matches done", timeout=60_000)
    expect(page.get_by_test_id("tournament-board").locator("tbody tr")).to_have_count(2)
