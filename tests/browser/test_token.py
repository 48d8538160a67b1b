"""The page against a server that sets ARENA_API_TOKEN: a write that answers 401 asks for the
token, retries with it, keeps it for the tab, sends it on later writes, and forgets it on request.

The server runs without a worker (no model is loaded): the match stays queued until the page
cancels it, which is all these tests need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    ArenaServer,
    JsErrors,
    missing,
    running_arena,
)

try:
    from playwright.sync_api import Page, Request, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "s3cret-token-for-the-page"
MOTION = "This house would let the page ask for the token."
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 401")


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    data_dir = tmp_path_factory.mktemp("arena-token")
    with running_arena(data_dir, "--no-worker", ARENA_API_TOKEN=TOKEN) as server:
        yield server


@pytest.fixture(autouse=True)
def no_js_errors(js_errors: JsErrors) -> Iterator[None]:
    """As in conftest, except for the browser's own log line for each refused write."""
    before = len(js_errors.seen)
    yield
    new = [e for e in js_errors.seen[before:] if not REFUSED.search(e)]
    if new:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(new))


def writes(page: Page) -> list[tuple[str, str | None]]:
    """(path, Authorization header) of every POST the page sends, in order."""
    seen: list[tuple[str, str | None]] = []

    def record(request: Request) -> None:
        if request.method == "POST":
            path = re.sub(r"^https?://[^/]+", "", request.url)
            seen.append((path, request.headers.get("authorization")))

    page.on("request", record)
    return seen


def fill_form(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("pro-persona").select_option("stoic")
    page.get_by_test_id("con-persona").select_option("pirate")
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(MOTION)
    page.get_by_test_id("rounds").fill("1")


def stored(page: Page) -> Any:
    return page.evaluate("() => sessionStorage.getItem('arena.apiToken')")


def test_start_and_cancel_a_match_with_the_token_asked_for(
    new_context: Any, arena_server: ArenaServer
) -> None:
    page: Page = new_context().new_page()
    sent = writes(page)
    fill_form(page)
    forget = page.get_by_role("button", name="Forget token")
    expect(forget).to_be_hidden()

    page.get_by_test_id("start").click()
    dialog = page.get_by_role("dialog", name="API token needed")
    expect(dialog).to_be_visible()
    field = dialog.get_by_label("API token")
    expect(field).to_have_attribute("type", "password")
    expect(field).to_be_focused()
    expect(dialog.get_by_test_id("token-error")).to_be_hidden()

    # a wrong token, by keyboard: refused, and asked again with a message saying so
    page.keyboard.type("not-the-token")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="API token needed")
    expect(dialog.get_by_test_id("token-error")).to_have_text(re.compile("not accepted"))
    expect(dialog.get_by_label("API token")).to_be_focused()
    assert stored(page) is None

    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/matches/[^/]+$"))
    match_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert sent == [
        ("/api/matches", None),
        ("/api/matches", "Bearer not-the-token"),
        ("/api/matches", f"Bearer {TOKEN}"),
    ]
    assert stored(page) == TOKEN
    expect(forget).to_be_visible()
    assert arena_server.get(f"/api/matches/{match_id}")["motion"] == MOTION

    # later writes carry the token without asking
    page.get_by_role("button", name="Cancel match").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "cancelled")
    assert sent[3:] == [(f"/api/matches/{match_id}/cancel", f"Bearer {TOKEN}")]
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert arena_server.get(f"/api/matches/{match_id}")["status"] == "cancelled"

    # the token survives a reload (same tab) and is forgotten on request
    page.reload()
    expect(forget).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "token-saved-desktop.png")
    forget.click()
    assert stored(page) is None
    expect(forget).to_be_hidden()
    expect(page.get_by_test_id("token-note")).to_contain_text("forgotten")
    page.close()


def test_without_the_token_the_page_asks_and_a_dismissed_dialog_explains(
    new_context: Any, arena_server: ArenaServer
) -> None:
    before = arena_server.get("/api/matches")["items"]
    page: Page = new_context().new_page()
    sent = writes(page)
    fill_form(page)
    page.get_by_test_id("start").click()
    dialog = page.get_by_role("dialog", name="API token needed")
    expect(dialog).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]
        page.screenshot(path=SCREENSHOTS / f"token-dialog-{label}.png")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    alert = page.get_by_test_id("match-form").get_by_role("alert")
    expect(alert).to_contain_text("needs its API token")
    expect(page.get_by_test_id("start")).to_be_enabled()
    assert sent == [("/api/matches", None)]
    assert arena_server.get("/api/matches")["items"] == before
    page.close()
