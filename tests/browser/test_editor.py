"""The persona editor on the page: create a persona (errors shown next to fields), start a match
with it and see its version on the match page; import a card by file and complete the draft."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import ArenaServer, JsErrors, missing
from tests.personas.test_cards import V2, b64, png_with

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MOTION = "This house would write personas on the page."
SCRIPT_NAME = "<img src=x onerror=alert(1)>Eve"
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 422")


@pytest.fixture(autouse=True)
def no_js_errors(js_errors: JsErrors) -> Iterator[None]:
    """As in conftest, except for the browser's own log line for each 422 the tests provoke."""
    before = len(js_errors.seen)
    yield
    new = [e for e in js_errors.seen[before:] if not REFUSED.search(e)]
    if new:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(new))


def test_create_a_persona_start_a_match_and_see_its_version(
    new_context: object, arena_server: ArenaServer
) -> None:
    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/")
    page.get_by_role("link", name="New persona").click()
    expect(page.get_by_test_id("persona-editor")).to_be_visible()
    page.get_by_test_id("pe-name").fill("Page Made Ada")
    page.get_by_test_id("pe-summary").fill("An engineer made on the page.")
    page.get_by_test_id("pe-system_prompt").fill("short")
    page.get_by_test_id("pe-style").fill("precise")
    page.get_by_test_id("pe-save").click()
    # the server's checks, next to the fields they name
    expect(page.get_by_test_id("pe-system_prompt-error")).to_contain_text("at least 20 characters")
    expect(page.get_by_test_id("pe-beliefs-error")).to_be_visible()
    expect(page.get_by_test_id("pe-system_prompt")).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("pe-system_prompt").fill("You are Ada, an engineer who argues from data.")
    page.get_by_test_id("pe-beliefs").fill("Measure first.\nData beats opinion.")
    page.get_by_test_id("pe-save").click()
    page.wait_for_url("**/personas/page-made-ada")
    expect(page.locator("h1")).to_have_text("Page Made Ada")
    detail = arena_server.get("/api/personas/page-made-ada")
    version = detail["version"]
    assert detail["persona"]["beliefs"] == ["Measure first.", "Data beats opinion."]

    page.get_by_role("link", name="Matches").click()
    page.get_by_test_id("pro-persona").select_option("page-made-ada")
    page.get_by_test_id("con-persona").select_option("pirate")
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(MOTION)
    page.get_by_test_id("rounds").fill("1")
    page.get_by_test_id("start").click()
    page.wait_for_url("**/matches/*")
    # shown once the worker has started the match (match_started carries the version)
    expect(page.get_by_test_id("version-pro")).to_have_text(
        f"persona version {version}", timeout=60_000
    )
    match_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert arena_server.get(f"/api/matches/{match_id}")["spec"]["pro"]["version"] == version
    # the persona page lists the version that played
    page.goto("/personas/page-made-ada")
    expect(page.get_by_test_id("persona-versions")).to_contain_text(version)
    arena_server.post(f"/api/matches/{match_id}/cancel", {})


def test_import_a_card_then_complete_the_draft(
    new_context: object, arena_server: ArenaServer, tmp_path: object
) -> None:
    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/personas/new")
    card = {"spec": "chara_card_v2", "data": {"name": SCRIPT_NAME, "description": "Eve likes tea."}}
    page.get_by_test_id("pe-import-input").set_input_files(
        files=[
            {
                "name": "eve.json",
                "mimeType": "application/json",
                "buffer": json.dumps(card).encode(),
            }
        ]
    )
    # one draft: the editor opens it, with what it lacks next to the fields
    page.wait_for_url("**/personas/*/edit")
    expect(page.get_by_test_id("pe-draft-note")).to_contain_text("beliefs")
    expect(page.get_by_test_id("pe-beliefs-error")).to_be_visible()
    expect(page.get_by_test_id("pe-name")).to_have_value(SCRIPT_NAME)  # text, not markup
    page.reload()  # the editor's address serves the page too
    expect(page.get_by_test_id("pe-draft-note")).to_contain_text("beliefs")
    page.get_by_test_id("pe-beliefs").fill("Tea is good.")
    page.get_by_test_id("pe-style").fill("mild")
    page.get_by_test_id("pe-save").click()
    page.wait_for_url("**/personas/img-src-x-onerror-alert-1-eve")
    expect(page.locator("h1")).to_have_text(SCRIPT_NAME)
    assert page.locator("main img, #app img").count() == 0
    # fork it: a copy with its own id, the original unchanged
    page.get_by_test_id("persona-fork").click()
    expect(page.get_by_test_id("pe-id")).to_have_value("")
    page.get_by_test_id("pe-style").fill("loud")
    page.get_by_test_id("pe-save").click()
    page.wait_for_url("**/personas/img-src-x-onerror-alert-1-eve-2")
    expect(page.locator("h1")).to_have_text(f"{SCRIPT_NAME} (fork)")
    assert (
        arena_server.get("/api/personas/img-src-x-onerror-alert-1-eve")["persona"]["style"]
        == "mild"
    )
    # a bad file: the error names it, and nothing is imported
    page.goto("/personas/new")
    page.get_by_test_id("pe-import-input").set_input_files(
        files=[{"name": "broken.json", "mimeType": "application/json", "buffer": b"{nope"}]
    )
    expect(page.get_by_test_id("pe-import-error")).to_contain_text("broken.json: not valid JSON")


def test_drop_a_png_card_on_the_page(new_context: object, arena_server: ArenaServer) -> None:
    page = new_context().new_page()  # type: ignore[operator]
    page.goto("/personas/new")
    data = png_with(ccv3=b64({"spec": "chara_card_v3", "data": {**V2["data"], "name": "Dropped"}}))
    # what a drop from the desktop gives the page: a DataTransfer holding the file
    page.get_by_test_id("pe-drop").evaluate(
        """(zone, bytes) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
            zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
        }""",
        list(data),
    )
    result = page.get_by_test_id("pe-import-result")
    expect(result).to_contain_text("dropped from dropped.png")
    result.get_by_role("link", name="dropped").click()
    page.wait_for_url("**/personas/dropped")
    expect(page.locator("h1")).to_have_text("Dropped")
    assert arena_server.get("/api/personas/dropped")["origin"] == "card-v3"
