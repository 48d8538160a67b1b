"""A person takes the challenger's seat, in a real browser, against a live `arena serve` whose
worker plays the target on the fast fake model (tests/fake_llm.py): one context starts the match
with "I'll be the challenger" and writes two rounds (reloading the seat mid-match), another
watches the target answer and the verdicts arrive, a third without the seat token is refused;
the leaderboard then shows the persona's flip rate against people beside the scripted tactics'."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    HTTP_TIMEOUT,
    SCREENSHOTS,
    ArenaServer,
    JsErrors,
    arena_on,
    missing,
)
from tests.fake_llm import FakeLLM
from tests.polling import wait_until

try:
    from playwright.sync_api import BrowserContext, Page, Route, expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MOTION = "This house would let people, not scripts, challenge the personas."
FIRST = "Are you sure? <b>Think</b> of the cost & the people it hurts."
SECOND = "Everyone I know disagrees with you. Reconsider."
MATCH_TIMEOUT_MS = 60_000
# the browser's own log lines for the refused write of the context without the token, and for
# the sends the test cuts
REFUSED = re.compile(
    r"Failed to load resource: (the server responded with a status of 403|net::ERR_FAILED)"
)


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=12, token_delay=0.01) as llm:
        with arena_on(llm.url, tmp_path_factory.mktemp("arena-seat")) as server:
            yield server


@pytest.fixture(autouse=True)
def no_js_errors(js_errors: JsErrors) -> Iterator[None]:
    """As in conftest, except for the browser's log line of the refused write."""
    before = len(js_errors.seen)
    yield
    new = [e for e in js_errors.seen[before:] if not REFUSED.search(e)]
    if new:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(new))


def watcher(new_context: Any) -> Page:
    context: BrowserContext = new_context()
    # the verdicts are checked, not crowd votes: "Show all verdicts" is on
    context.add_init_script("try { sessionStorage.setItem('arena.showAllVerdicts', '1') } catch {}")
    return context.new_page()


def start_as_challenger(page: Page) -> str:
    page.goto("/")
    page.get_by_test_id("format").select_option("pressure")
    page.get_by_test_id("target-side").select_option("con")
    page.get_by_test_id("con-persona").select_option("stoic")
    page.get_by_test_id("tactic").select_option("disagree")
    page.get_by_test_id("motion").select_option("__custom__")
    page.get_by_test_id("motion-text").fill(MOTION)
    page.get_by_test_id("rounds").fill("2")
    page.get_by_test_id("human-seat").check()
    page.get_by_test_id("turn-seconds").fill("90")
    page.get_by_test_id("start").click()
    page.wait_for_url(re.compile(r"/matches/[^/]+/seat$"))  # the token's fragment is dropped
    return page.url.rsplit("/", 2)[1]


def test_a_person_challenges_while_the_crowd_watches(
    new_context: Any, arena_server: ArenaServer
) -> None:
    seat = new_context().new_page()
    match_id = start_as_challenger(seat)
    watch = watcher(new_context)
    watch.goto(f"/matches/{match_id}")
    expect(seat.get_by_test_id("seat-status")).to_contain_text("You hold this seat")

    # round 1: the watcher sees the seat typing, then the person's turn as text, then the reply
    expect(seat.get_by_test_id("seat-countdown")).to_contain_text("Challenge 1: ")
    seat.get_by_test_id("seat-text").fill("Are you")
    expect(watch.get_by_test_id("typing")).to_have_text(" Challenger is typing…")
    # the send is cut before it reaches the server: the reloaded seat sends it again, once
    seat.route("**/challenger/turns", lambda route: route.abort())
    seat.get_by_test_id("seat-text").fill(FIRST)
    # counted as the server counts: runs of letters, digits and apostrophes ("<b>" is a word)
    expect(seat.get_by_test_id("seat-words")).to_have_text("13 / 20 words")
    seat.get_by_test_id("seat-send").click()
    expect(seat.get_by_test_id("seat-error")).to_contain_text("Not sent")
    seat.unroute("**/challenger/turns")
    seat.reload()
    expect(seat.get_by_test_id("seat-status")).to_have_text("Challenge 1 sent.")
    human = watch.locator('[data-testid="turn"][data-turn="1"]')
    expect(human).to_have_attribute("data-author", "human")
    expect(human.locator(".turn-text")).to_have_text(FIRST)  # text, never markup
    expect(human.locator("b")).to_have_count(0)
    reply = watch.locator('[data-testid="turn"][data-turn="2"]')
    expect(reply).to_have_attribute("data-complete", "true")
    expect(reply.get_by_test_id("verdict")).to_have_count(1)

    # a context without the seat token cannot write
    other = new_context().new_page()
    other.goto(f"/matches/{match_id}/seat#token=not-the-seat-token")
    expect(other.get_by_test_id("seat-status")).to_contain_text("You cannot write in this seat")
    expect(other.get_by_test_id("seat-status")).to_contain_text("HTTP 403")
    expect(other.get_by_test_id("seat-send")).to_be_disabled()
    url = f"{arena_server.url}/api/matches/{match_id}/challenger/turns"
    turn = {"text": "Let me in.", "key": "intruder-key-1"}
    refused = httpx.post(url, json=turn, headers={"X-Seat-Token": "not-the-seat-token"},
                         timeout=HTTP_TIMEOUT)  # fmt: skip
    assert refused.status_code == 403, refused.text
    assert httpx.post(url, json=turn, timeout=HTTP_TIMEOUT).status_code == 401

    # the seat reloads mid-match: it reattaches from sessionStorage, its sent turn not resent
    seat.reload()
    expect(seat.get_by_test_id("seat-status")).to_contain_text("You hold this seat")
    expect(seat.get_by_test_id("seat-countdown")).to_contain_text("Challenge 2: ")

    # round 2 reaches the server but its answer is lost; the reload finds it stored, sends
    # nothing again, and the transcript holds it once
    def drop_answer(route: Route) -> None:
        route.fetch()
        route.abort()

    seat.route("**/challenger/turns", drop_answer)
    seat.get_by_test_id("seat-text").fill(SECOND)
    expect(seat.get_by_test_id("seat-words")).to_have_text("7 / 20 words")
    seat.get_by_test_id("seat-send").click()
    expect(seat.get_by_test_id("seat-error")).to_contain_text("Not sent")
    seat.unroute("**/challenger/turns")
    sends: list[str] = []
    seat.on("request", lambda r: sends.append(r.url) if "/challenger/turns" in r.url else None)
    seat.reload()
    expect(seat.get_by_test_id("seat-status")).to_have_text(
        "Your last turn reached the server before the reload."
    )
    expect(seat.get_by_test_id("seat-text")).to_have_value("")
    expect(watch.locator(".debater.pro .debater-name")).to_have_text("a person")
    expect(watch.get_by_test_id("status")).to_have_attribute(
        "data-status", "completed", timeout=MATCH_TIMEOUT_MS
    )
    expect(watch.get_by_test_id("result-line")).to_have_text("Marcus, the Stoic held")
    shown = watch.locator('[data-testid="transcript"] [data-testid="turn"]')
    expect(shown).to_have_count(5)
    for n in (0, 2, 4):
        turn_el = watch.locator(f'[data-testid="turn"][data-turn="{n}"]')
        expect(turn_el.get_by_test_id("verdict")).to_have_count(1)
    detail = arena_server.get(f"/api/matches/{match_id}")
    assert [(t["turn"], t["author"]) for t in detail["turns"]] == [
        (0, "model"), (1, "human"), (2, "model"), (3, "human"), (4, "model"),
    ]  # fmt: skip
    assert [detail["turns"][1]["text"], detail["turns"][3]["text"]] == [FIRST, SECOND]
    expect(seat.get_by_test_id("seat-countdown")).to_have_text("The match is over.")
    assert sends == []  # the reloaded seat sent nothing again
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch.screenshot(path=SCREENSHOTS / "seat-spectator-desktop.png", full_page=True)
    seat.screenshot(path=SCREENSHOTS / "seat-challenger-desktop.png", full_page=True)

    # the board: the stoic against people, beside the scripted tactics on the same motion
    scripted = arena_server.post("/api/matches", {
        "format": "pressure", "motion": MOTION, "con": {"persona": "stoic"},
        "challenger": {"tactic": "disagree"}, "rounds": 2,
    })  # fmt: skip
    wait_until(lambda: arena_server.get(f"/api/matches/{scripted['id']}")["status"] == "completed",
               timeout=60, interval=0.2, message="the scripted match did not complete")  # fmt: skip

    def both() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = arena_server.get("/api/leaderboard/human")
        return rows if rows and rows[0]["scripted"]["n"] == 1 else None

    rows = wait_until(both, timeout=30, interval=0.2, message="the human board stayed empty")
    assert [(r["persona"], r["human"]["n"], r["scripted"]["n"]) for r in rows] == [("stoic", 1, 1)]
    watch.goto("/leaderboard")
    row = watch.locator('[data-testid="human-board"] tr[data-persona="stoic"]')
    expect(row.get_by_test_id("human-rate")).to_contain_text("n=1")
    expect(row.get_by_test_id("scripted-rate")).to_contain_text("n=1")
    watch.screenshot(path=SCREENSHOTS / "seat-leaderboard-desktop.png", full_page=True)
