"""Lorebooks and cards on the page, in chromium against `arena serve` and a fast fake model: a
persona's lorebook attached in the editor from a file, a match whose page says per turn which
entries fired, and a CHARX dropped on the editor whose icon becomes the persona's portrait."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM
from tests.personas.test_charx import ICON, stoic_charx
from tests.polling import wait_until

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MATCH_TIMEOUT = 120.0
BOOK = {
    "spec": "lorebook_v3",
    "data": {
        "name": "Work lore",
        "extensions": {},
        "entries": [
            {"keys": ["working week"], "content": "@@@dont_activate\nThe 1926 Ford five-day week.",
             "extensions": {}, "enabled": True, "insertion_order": 1, "use_regex": False,
             "name": "Ford's week"},
            {"keys": ["/\\bunicorns?\\b/i"], "content": "Never fires here.", "extensions": {},
             "enabled": True, "insertion_order": 2, "use_regex": True, "name": "unicorns"},
        ],
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=8, token_delay=0.005) as llm:
        with arena_on(llm.url, tmp_path_factory.mktemp("arena-lore")) as server:
            yield server


def finished(server: ArenaServer, match_id: str) -> Any:
    def over() -> Any:
        summary = server.get(f"/api/matches/{match_id}")
        return None if summary["status"] in ("queued", "running") else summary

    summary = wait_until(over, timeout=MATCH_TIMEOUT, interval=0.2,
                         message=f"match {match_id} did not finish")
    assert summary["status"] == "completed", summary.get("error")
    return summary


def test_attach_a_lorebook_play_and_see_which_entries_fired(
    new_context: Any, arena_server: ArenaServer
) -> None:
    page = new_context().new_page()
    page.goto("/personas/new")
    page.get_by_test_id("pe-name").fill("Lore Keeper")
    page.get_by_test_id("pe-summary").fill("A historian of work.")
    page.get_by_test_id("pe-system_prompt").fill(
        "You are a historian of work who argues from history."
    )
    page.get_by_test_id("pe-beliefs").fill("History repeats.")
    page.get_by_test_id("pe-style").fill("scholarly")
    page.get_by_test_id("pe-lorebook-input").set_input_files(
        files=[
            {
                "name": "work.json",
                "mimeType": "application/json",
                "buffer": json.dumps(BOOK).encode(),
            }
        ]
    )
    expect(page.get_by_test_id("pe-lorebook-status")).to_contain_text("“Work lore”: 2 entries")
    page.get_by_test_id("pe-save").click()
    page.wait_for_url("**/personas/lore-keeper")
    expect(page.get_by_test_id("persona-lorebook")).to_contain_text("Ford's week")
    expect(page.get_by_test_id("persona-lorebook-file")).to_be_visible()

    created = arena_server.post("/api/matches", {
        "motion": "four-day-week", "rounds": 1, "judge": FAST_MODEL,
        "pro": {"persona": "lore-keeper", "model": FAST_MODEL},
        "con": {"persona": "pirate", "model": FAST_MODEL},
    })  # fmt: skip
    finished(arena_server, created["id"])
    page.goto(f"/matches/{created['id']}")
    turns = page.locator('[data-testid="transcript"] [data-testid="turn"]')
    expect(turns).to_have_count(6)
    for n in range(6):
        lore = turns.nth(n).get_by_test_id("lore")
        if n % 2 == 0:  # the pro's turns: the motion names the working week
            expect(lore).to_have_text("lore: Ford's week")
        else:
            expect(lore).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "match-lore.png"), full_page=True)


def test_a_dropped_charx_shows_its_portrait_and_assets(
    new_context: Any, arena_server: ArenaServer
) -> None:
    page = new_context().new_page()
    page.goto("/personas/new")
    page.get_by_test_id("pe-import-input").set_input_files(
        files=[{"name": "marcus.charx", "mimeType": "application/zip", "buffer": stoic_charx()}]
    )
    result = page.get_by_test_id("pe-import-result")
    expect(result).to_contain_text("the icon 'main' is the portrait")
    result.get_by_role("link", name="marcus-the-stoic").click()
    page.wait_for_url("**/personas/marcus-the-stoic")
    portrait = page.get_by_test_id("persona-portrait")
    expect(portrait).to_be_visible()
    assert portrait.evaluate("img => img.naturalWidth") == 8
    assert page.request.get(portrait.get_attribute("src") or "").body() == ICON
    expect(page.get_by_test_id("persona-assets")).to_contain_text("emotion happy · kept for export")
    expect(page.get_by_test_id("persona-lorebook")).to_contain_text("virtue")
    page.screenshot(path=str(SCREENSHOTS / "persona-charx.png"), full_page=True)
