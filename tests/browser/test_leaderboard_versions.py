"""The leaderboard page and persona versions: a saved persona plays, is edited and plays again
(against a fast OpenAI-compatible model on loopback, run by `arena serve`'s worker); the page
counts its latest version, notes the older one's match with a link to the rows by version,
pools both on the *All versions* switch, and lists a persona whose latest version has not
played yet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM
from tests.polling import wait_until

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = FAST_MODEL
MATCH_TIMEOUT = 120.0
PERSONA = {
    "id": "versioned-ada",
    "name": "Versioned Ada",
    "summary": "An engineer whose prompt changes between matches.",
    "system_prompt": "You are Ada, an engineer who argues only from measured evidence.",
    "beliefs": ["Measure before you argue."],
    "style": "precise and dry",
}


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=8, token_delay=0.005) as llm:
        data_dir = tmp_path_factory.mktemp("arena-versions")
        with arena_on(llm.url, data_dir) as server:
            yield server


def put(server: ArenaServer, path: str, body: object) -> Any:
    response = httpx.put(server.url + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def play(server: ArenaServer, persona: str) -> str:
    """One match of `persona` against the pirate, played to the end by the server's worker."""
    created = server.post(
        "/api/matches",
        {
            "motion": "four-day-week",
            "pro": {"persona": persona, "model": MODEL},
            "con": {"persona": "pirate", "model": MODEL},
            "rounds": 1,
            "judge": MODEL,
        },
    )

    def finished() -> str | None:
        status: str = server.get(f"/api/matches/{created['id']}")["status"]
        return None if status in ("queued", "running") else status

    status = wait_until(finished, timeout=MATCH_TIMEOUT, interval=0.2,
                        message=f"match {created['id']} did not finish")
    assert status == "completed"
    return str(created["id"])


def board_matches(server: ArenaServer, persona: str, total: int) -> None:
    """Wait until the board has `total` matches of `persona` (finalizing may lag the status)."""

    def counted() -> bool:
        rows = server.get(f"/api/leaderboard?versions=all&persona={persona}")["rows"]
        return sum(r["matches"] for r in rows) >= total

    wait_until(counted, timeout=30, interval=0.2,
               message=f"the leaderboard did not reach {total} matches of {persona}")


def test_the_board_counts_the_latest_version_and_notes_the_older(
    arena_server: ArenaServer, new_context: object
) -> None:
    ada = PERSONA["id"]
    first = arena_server.post("/api/personas", PERSONA)["version"]
    play(arena_server, ada)
    edited = {**PERSONA, "system_prompt": PERSONA["system_prompt"] + " Always cite a number."}
    second = put(arena_server, f"/api/personas/{ada}", edited)["version"]
    assert second != first
    play(arena_server, ada)
    board_matches(arena_server, ada, 2)

    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/leaderboard")
    toggle = page.get_by_test_id("versions-toggle")
    expect(toggle.locator('[data-versions="latest"]')).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("versions-note")).to_contain_text("latest version")
    board = page.get_by_test_id("leaderboard")
    row = board.locator("tbody tr", has=page.locator(f'a[href="/personas/{ada}"]'))
    expect(row).to_have_count(1)
    matches = row.locator("td").nth(1)  # rank, [persona is the row header], matches
    expect(matches).to_have_text("1")
    note = row.get_by_test_id("older-note")
    expect(note).to_contain_text("1 match of older versions not counted")
    # the pirate played one version throughout: no note on its row
    pirate = board.locator("tbody tr", has=page.locator('a[href="/personas/pirate"]'))
    expect(pirate.get_by_test_id("older-note")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "leaderboard-versions.png"), full_page=True)

    toggle.locator('[data-versions="all"]').click()
    expect(page).to_have_url(re.compile(r"/leaderboard\?versions=all$"))
    expect(toggle.locator('[data-versions="all"]')).to_have_attribute("aria-pressed", "true")
    expect(matches).to_have_text("2")
    expect(note).to_contain_text("includes 1 match of older versions")
    page.reload()  # the address keeps the choice
    expect(
        page.get_by_test_id("versions-toggle").locator('[data-versions="all"]')
    ).to_have_attribute("aria-pressed", "true")

    page.goto("/leaderboard")
    row.get_by_test_id("by-version-link").click()
    expect(page).to_have_url(re.compile(rf"/leaderboard\?by=persona_version&persona={ada}$"))
    expect(page.get_by_test_id("versions-toggle")).to_be_hidden()
    versions = page.get_by_test_id("leaderboard").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(page.get_by_test_id("current-version")).to_have_count(1)
    current = versions.filter(has=page.get_by_test_id("current-version"))
    expect(current).to_contain_text(second)

    # the persona page counts the current version too, and says so
    page.goto(f"/personas/{ada}")
    expect(page.get_by_test_id("persona-older")).to_contain_text(
        "1 match of older versions not counted"
    )

    # edited again and not played yet: no row, listed under the table instead
    third = {**PERSONA, "system_prompt": PERSONA["system_prompt"] + " Never guess."}
    put(arena_server, f"/api/personas/{ada}", third)
    page.goto("/leaderboard")
    expect(page.get_by_test_id("leaderboard")).to_be_visible()
    expect(page.locator(f'[data-testid="leaderboard"] a[href="/personas/{ada}"]')).to_have_count(0)
    listed = page.get_by_test_id("older-only").locator(f'li[data-persona="{ada}"]')
    expect(listed).to_contain_text("2 matches of older versions")
    expect(listed.get_by_role("link", name="see by version")).to_have_attribute(
        "href", f"/leaderboard?by=persona_version&persona={ada}"
    )
    page.close()
