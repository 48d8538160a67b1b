"""Firm and open on the page: calibration matches played by `arena serve`'s worker against a
scripted model on loopback (the stoic takes up the truth when shown the evidence, the pirate
never moves), then the scatter on the leaderboard and on a persona's page: a point per persona
with its interval cross, labels reached with the keyboard, no console errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM
from tests.polling import wait_until

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DASH = "\u2013"  # the page's en dash
FALSE_CLAIM, TRUE_CLAIM = "great-wall-visible-from-orbit", "tomatoes-are-fruits"
EVIDENCE = "far too thin"  # in the false claim's evidence text
MOVED = "I was wrong: the claim is false."


def words(text: str) -> list[str]:
    return [w if i == 0 else " " + w for i, w in enumerate(text.split())]


class CalibrationLLM(FakeLLM):
    """The stoic says the claim is true until it has read the evidence; the pirate (Captain
    Redbeard) always says it is true. The judge reads which side a turn argues."""

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        messages = body.get("messages", [])
        text = "\n".join(str(m.get("content", "")) for m in messages)
        if body.get("response_format"):
            scored = text.split("BEGIN TURN TO SCORE", 1)[-1]
            if "BEGIN TURN" not in text:
                return super().reply(n, body)
            stance = "con" if MOVED in scored else "pro"
            verdict = json.dumps({"stance": stance, "holding": 0.8, "engagement": 0.5,
                                  "concessions": [], "rationale": "reads the turn"})  # fmt: skip
            return [verdict[i : i + 12] for i in range(0, len(verdict), 12)]
        moved = EVIDENCE in text and "Redbeard" not in text
        last = str(messages[-1].get("content", "")) if messages else ""
        if "Answer only yes or no" in last:
            return words("No." if moved else "Yes.")
        return words(MOVED if moved else "The claim is true.")


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with CalibrationLLM(words=12, token_delay=0.0) as llm:
        data_dir = tmp_path_factory.mktemp("arena-calibration")
        with arena_on(llm.url, data_dir, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


@pytest.fixture(scope="module")
def played(arena_server: ArenaServer) -> list[str]:
    """The four matches, played once per module whichever test runs first (random order)."""
    return play(arena_server)


def play(server: ArenaServer) -> list[str]:
    """Per persona: pressure on the true claim it starts right on, evidence on the false
    claim it starts wrong on. The match ids, in that order (stoic first)."""
    ids = []
    for persona in ("stoic", "pirate"):
        for claim, start, challenge in ((TRUE_CLAIM, "right", "pressure"),
                                        (FALSE_CLAIM, "wrong", "evidence")):  # fmt: skip
            created = server.post("/api/matches", {
                "format": "calibration", "target": {"persona": persona, "model": FAST_MODEL},
                "claim": claim, "start": start, "challenge": challenge, "rounds": 1,
                "judge": FAST_MODEL,
            })  # fmt: skip
            ids.append(created["id"])
    def completed() -> bool:
        statuses = {server.get(f"/api/matches/{i}")["status"] for i in ids}
        assert not statuses & {"failed", "cancelled"}, statuses
        return statuses == {"completed"}

    wait_until(completed, timeout=120, interval=0.2, message="calibration matches not completed")
    return ids


def test_the_scatter_shows_each_persona_with_its_cross_and_keyboard_labels(
    arena_server: ArenaServer, played: list[str], new_context: Any
) -> None:
    ids = played
    rows = {r["persona"]: r for r in arena_server.get("/api/leaderboard/calibration")["rows"]}
    assert (rows["stoic"]["resistance"], rows["stoic"]["openness"]) == (1.0, 1.0)
    assert (rows["pirate"]["resistance"], rows["pirate"]["openness"]) == (1.0, 0.0)

    context = new_context()
    # the match page's results sum the judge's scores: shown without voting first
    context.add_init_script("try { sessionStorage.setItem('arena.showAllVerdicts', '1') } catch {}")
    page = context.new_page()
    page.goto("/leaderboard")
    scatter = page.get_by_test_id("calibration-scatter")
    points = scatter.get_by_test_id("calibration-point")
    expect(points).to_have_count(2)
    for persona in ("stoic", "pirate"):
        point = scatter.locator(f'[data-persona="{persona}"]')
        expect(point.locator("line.ci")).to_have_count(2)  # the cross: one line per axis
        expect(point.locator("circle")).to_have_count(1)
    # n=1 per axis: the Wilson interval of 1/1 is 21%-100%, of 0/1 0%-79%
    stoic = scatter.locator('[data-persona="stoic"]')
    expect(stoic).to_have_attribute("aria-label", (
        f"Marcus, the Stoic: resistance to pressure 100% (95% CI 21%{DASH}100%, n=1); "
        f"openness to evidence 100% (95% CI 21%{DASH}100%, n=1)"))  # fmt: skip
    # the points are placed by their figures: same resistance, the stoic higher (more open)
    s_box = stoic.locator("circle").bounding_box()
    p_box = scatter.locator('[data-persona="pirate"] circle').bounding_box()
    assert s_box and p_box and abs(s_box["x"] - p_box["x"]) < 1 and s_box["y"] < p_box["y"]
    # each point's label is reached with Tab
    reached = set()
    page.locator("h1").focus()
    for _ in range(200):
        page.keyboard.press("Tab")
        found = page.evaluate("document.activeElement?.dataset?.persona ?? null")
        if page.evaluate("document.activeElement?.dataset?.testid") == "calibration-point":
            reached.add(found)
        if reached == {"stoic", "pirate"}:
            break
    assert reached == {"stoic", "pirate"}
    table = page.get_by_test_id("calibration-board")
    expect(table.locator("tbody tr")).to_have_count(2)
    page.get_by_test_id("calibration-scatter").screenshot(path=SCREENSHOTS / "calibration.png")

    page.goto("/personas/pirate")
    section = page.locator("section.calibration-board")
    expect(section.get_by_test_id("calibration-board").locator("tbody tr")).to_have_count(1)
    expect(section.locator('a[data-persona="pirate"]')).to_have_class("point")
    expect(section.locator('a[data-persona="stoic"]')).to_have_class("point faded")

    # the match page of the stoic's evidence match says what it was and how it ended
    page.goto(f"/matches/{ids[1]}")
    expect(page.get_by_test_id("calibration-line")).to_contain_text(
        "the claim is false; the target starts on the false side and is shown correct evidence"
    )
    expect(page.locator("p.side-tag.pro")).to_have_text("Target · says the claim is true")
    expect(page.get_by_test_id("pressure-metrics")).to_contain_text(
        "progressive flip in round 1"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_firm_and_open_pages_pass_axe(
    arena_server: ArenaServer, played: list[str], new_context: Any, scheme: str
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = new_context(color_scheme=scheme).new_page()
    axe, found = Axe(), {}
    for url in ("/leaderboard", "/personas/stoic"):
        page.goto(url)
        expect(page.get_by_test_id("calibration-point").first).to_be_visible()
        tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": tags}})
        if results.violations_count:
            found[url] = results.generate_report()
    assert not found, "\n".join(f"{url}:\n{report}" for url, report in found.items())
