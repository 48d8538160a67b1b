"""Judge bias controls on the page: a tournament judged by a panel of two judges (one of them
position-biased) with judge_swap on, played by `arena serve` against the fake model server; its
page shows the panel's agreement and each judge's position-swap rate, and the leaderboard's
judges panel (GET /api/judges) the biased judge's inconsistency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BIASED = "openai-compatible:biased"


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with FakeLLM(words=12, token_delay=0.0) as llm:
        data_dir = tmp_path_factory.mktemp("arena-judge-bias")
        with arena_on(llm.url, data_dir, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


def test_the_tournament_page_shows_agreement_and_the_judges_panel_the_swap_rate(
    arena_server: ArenaServer, new_context: object
) -> None:
    created = arena_server.post(
        "/api/tournaments",
        {
            "personas": ["pirate", "stoic", "assistant"],
            "motions": ["four-day-week"],
            "rounds": 1,
            "model": FAST_MODEL,
            "judges": [FAST_MODEL, BIASED],
            "judge_swap": True,
            "concurrency": 4,
        },
    )
    page = new_context().new_page()  # type: ignore[operator]
    page.goto(created["url"])
    expect(page.get_by_test_id("progress")).to_contain_text("6 / 6 matches done", timeout=60_000)
    judges = page.get_by_test_id("tournament-judges")
    expect(judges.get_by_role("heading")).to_have_text("Judges: agreement and position bias")
    # 36 turns: the fair judge 0.8 throughout, the biased one 0.9 for PRO (Debater 1), 0.4 for CON
    agreement = judges.get_by_test_id("panel-agreement")
    expect(agreement).to_contain_text("Over 36 turns scored by two judges or more")
    expect(agreement).to_contain_text("Krippendorff's alpha on holding")
    pair = judges.get_by_test_id("judge-pairs").locator("tbody tr")
    expect(pair).to_have_count(1)
    expect(pair).to_contain_text(f"{FAST_MODEL} vs {BIASED}")
    expect(pair.locator("td").nth(1)).to_have_text("100%")  # the same stance on every turn
    swap = judges.get_by_test_id("judge-swap")
    expect(swap.locator(f'tr[data-judge="{BIASED}"]')).to_contain_text("100% (")
    expect(swap.locator(f'tr[data-judge="{BIASED}"] td').first).to_have_text("36")
    expect(swap.locator(f'tr[data-judge="{FAST_MODEL}"]')).to_contain_text("0% (")
    board = page.get_by_test_id("tournament-board")
    expect(board.get_by_test_id("style-cell")).to_have_count(3)
    expect(page.get_by_test_id("style-note")).to_contain_text("length: not estimable")
    expect(page.get_by_text("assistant pinned at 1000")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    judges.screenshot(path=str(SCREENSHOTS / "tournament-judges.png"))

    page.goto("/leaderboard")
    biased = page.get_by_test_id("crowd-agreement").locator(f'li[data-judge="{BIASED}"]')
    expect(biased.get_by_test_id("swap-label")).to_contain_text(
        "position swap: inconsistent on 100% of 36 swapped turns"
    )
    fair = page.get_by_test_id("crowd-agreement").locator(f'li[data-judge="{FAST_MODEL}"]')
    expect(fair).to_contain_text("inconsistent on 0% of 36 swapped turns")

    # a match of the tournament: each verdict carries the swapped verdicts, the results the tally
    match = arena_server.get(f"/api/tournaments/{created['id']}")["matches"][0]["match"]
    page.add_init_script("try { sessionStorage.setItem('arena.showAllVerdicts', '1') } catch {}")
    page.goto(f"/matches/{match}")
    expect(page.get_by_test_id("match-swap")).to_contain_text(
        f"{FAST_MODEL} inconsistent on 0 of 6 turns; {BIASED} inconsistent on 6 of 6 turns"
    )
    first = page.get_by_test_id("verdict").first
    first.locator("summary").click()
    expect(first.get_by_test_id("verdict-swap")).to_contain_text(f"{BIASED} as Debater 2")
    expect(first.get_by_test_id("verdict-swap")).to_contain_text("(inconsistent)")
