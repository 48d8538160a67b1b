"""Every page of the spectator site, as served publicly: each works under the server's strict
Content-Security-Policy without a single violation report, and axe-core (WCAG 2.0 A/AA, 2.1
A/AA and best practices) finds no violation on any of them, in the light and the dark colour
scheme, at desktop width and at 375 px.

The pages: home, a debate, a pressure match, a tournament, the leaderboard, a persona, the
persona editor (new and edit), with real content: matches and a tournament played by
`arena serve`'s worker against a fast fake model on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    FAST_MODEL,
    PHONE,
    ArenaServer,
    arena_on,
    missing,
)
from tests.fake_llm import FakeLLM

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Browser, Page, expect
except ImportError:
    missing("playwright or axe-playwright-python is not installed: pip install -e '.[dev]'",
            module=True)  # fmt: skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MATCH_TIMEOUT_MS = 90_000
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# every violation report the page's policy makes, kept where the test can read it
CSP_LOG = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push({
  directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber,
}));
"""


@dataclass(frozen=True)
class Site:
    server: ArenaServer
    debate: str
    pressure: str
    tournament: str


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=12, token_delay=0.005) as llm:
        folder = tmp_path_factory.mktemp("arena-every-page")
        with arena_on(llm.url, folder, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


@pytest.fixture(scope="module")
def site(arena_server: ArenaServer, new_context: Any) -> Site:
    debate = arena_server.post(
        "/api/matches",
        {"motion": "four-day-week", "pro": {"persona": "pirate", "model": FAST_MODEL},
         "con": {"persona": "stoic", "model": FAST_MODEL}, "judges": [FAST_MODEL], "rounds": 1},
    )  # fmt: skip
    pressure = arena_server.post(
        "/api/matches",
        {"format": "pressure", "motion": "ai-art", "con": {"persona": "stoic", "model": FAST_MODEL},
         "challenger": {"tactic": "are-you-sure"}, "judges": [FAST_MODEL], "rounds": 1},
    )  # fmt: skip
    tournament = arena_server.post(
        "/api/tournaments",
        {"personas": ["pirate", "stoic"], "motions": ["four-day-week"], "rounds": 1,
         "model": FAST_MODEL, "judges": [FAST_MODEL]},
    )  # fmt: skip
    page = new_context().new_page()
    for url in (debate["url"], pressure["url"]):
        page.goto(url)
        expect(page.get_by_test_id("status")).to_have_attribute(
            "data-status", "completed", timeout=MATCH_TIMEOUT_MS
        )
    page.goto(tournament["url"])
    expect(page.get_by_test_id("progress")).to_contain_text(
        "2 / 2 matches done", timeout=MATCH_TIMEOUT_MS
    )
    page.close()
    return Site(arena_server, debate["url"], pressure["url"], tournament["url"])


def _home(page: Page) -> None:
    expect(page.get_by_test_id("matches").locator("li").first).to_be_visible()
    expect(page.get_by_test_id("match-form")).to_be_visible()
    # what hides behind the disclosures is checked too
    page.get_by_text("Start a tournament").click()
    expect(page.get_by_test_id("tournament-form").locator("input").first).to_be_visible()
    page.get_by_text("Panel of judges, word limit, seed").click()


def _debate(page: Page) -> None:
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "completed")
    # the transcript arrives over the WebSocket: the policy let it connect
    expect(page.get_by_test_id("turn")).to_have_count(6)
    expect(page.get_by_test_id("votes").first).to_be_visible()
    # and what the votes hide until asked: every score, the results, a verdict's details
    reveal = page.get_by_role("button", name="Show all verdicts")
    if reveal.get_attribute("aria-pressed") != "true":
        reveal.click()
    expect(page.get_by_test_id("metrics")).to_be_visible()
    page.locator("details.verdict > summary").first.click()
    expect(page.locator("details.verdict[open]")).to_have_count(1)


def _pressure(page: Page) -> None:
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "completed")
    expect(page.get_by_test_id("turn").first).to_be_visible()


def _tournament(page: Page) -> None:
    expect(page.get_by_test_id("tournament-board").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("heatmap")).to_be_visible()


def _leaderboard(page: Page) -> None:
    expect(page.get_by_test_id("leaderboard").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("pressure-board").locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("crowd-agreement").locator("li").first).to_be_visible()


def _persona(page: Page) -> None:
    expect(page.get_by_test_id("persona-stats")).to_be_visible()
    expect(page.locator("li.match-item").first).to_be_visible()


def _editor(page: Page) -> None:
    expect(page.get_by_test_id("persona-editor")).to_be_visible()
    expect(page.get_by_test_id("pe-name")).to_be_visible()


def _edit(page: Page) -> None:
    _editor(page)
    expect(page.get_by_test_id("pe-name")).to_have_value("Marcus, the Stoic")


def pages(site: Site) -> list[tuple[str, Callable[[Page], None]]]:
    """Each page's address, and what shows that it has loaded (and opens what it hides)."""
    return [
        ("/", _home),
        (site.debate, _debate),
        (site.pressure, _pressure),
        (site.tournament, _tournament),
        ("/leaderboard", _leaderboard),
        ("/personas/stoic", _persona),
        ("/personas/new", _editor),
        ("/personas/stoic/edit", _edit),
    ]


def test_every_page_works_under_the_policy_with_no_violation_report(
    site: Site, new_context: Any
) -> None:
    context = new_context()
    context.add_init_script(CSP_LOG)
    page = context.new_page()
    for url, ready in pages(site):
        response = page.goto(url)
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe" not in policy, url
        ready(page)
        assert page.evaluate("() => window.__csp") == [], url
    # a vote is a fetch, and the page's links move without a reload: still no report
    page.goto(site.debate)
    _debate(page)
    votes = page.locator('[data-testid="turn"][data-turn="0"] [data-testid="votes"]')
    votes.get_by_role("button", name="holds").click()
    expect(votes.get_by_test_id("vote-result")).to_contain_text("You: holds")
    page.get_by_role("link", name="Leaderboard").click()
    _leaderboard(page)
    assert page.evaluate("() => window.__csp") == []


def test_the_api_docs_run_their_own_inline_script_and_nothing_else_inline(
    site: Site, browser: Browser
) -> None:
    # a context of its own: the docs' CDN is not reachable here, which the browser reports
    context = browser.new_context(base_url=site.server.url)
    context.add_init_script(CSP_LOG)
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    page = context.new_page()
    # the inline script runs (the policy allows it by its hash): without the CDN's bundle it
    # stops at the bundle's name
    with page.expect_event("pageerror") as uncaught:
        page.goto("/docs")
    assert "SwaggerUIBundle" in str(uncaught.value)
    injected = page.evaluate(
        """() => new Promise((done) => {
            const s = document.createElement('script');
            s.textContent = 'window.__ran = true';
            document.addEventListener('securitypolicyviolation', () => done(window.__ran ?? false));
            document.body.append(s);
        })"""
    )
    assert injected is False  # another inline script is refused and reported
    [blocked] = page.evaluate("() => window.__csp")
    assert blocked["directive"].startswith("script-src") and blocked["blocked"] == "inline"
    context.close()


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)],
    ids=["light-desktop", "dark-desktop", "light-375px", "dark-375px"],
)
def test_axe_finds_no_violation_on_any_page(
    site: Site, new_context: Any, scheme: str, viewport: Any
) -> None:
    page = new_context(color_scheme=scheme, viewport=viewport).new_page()
    axe = Axe()
    found = {}
    for url, ready in pages(site):
        page.goto(url)
        ready(page)
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        if results.violations_count:
            found[url] = results.generate_report()
        if viewport is PHONE:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"] + 1, f"{url} scrolls sideways at 375 px: {width}"
    assert not found, "\n".join(f"{url}:\n{report}" for url, report in found.items())
