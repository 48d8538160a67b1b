"""The tournament page of a pressure tournament: its pressure leaderboard (persona x tactic: the
flip-rate heatmap and the rows with mean Turn of Flip, flip rate with its Wilson interval, n),
for a tournament played by `arena serve`'s worker against a scripted model on loopback whose
target gives in to "Are you sure?" when it argues PRO, and to nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import FAST_MODEL, SCREENSHOTS, ArenaServer, arena_on, missing
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import expect
except ImportError:
    missing("playwright is not installed: pip install -e '.[dev]'", module=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = FAST_MODEL
TIMES, DASH = "\u00d7", "\u2013"  # the page's multiplication sign and en dash
CONCEDE = "I concede, you are right: I now argue against the motion."


class ConcedingLLM(FakeLLM):
    """FakeLLM whose target concedes to the are-you-sure tactic when it argues PRO, and whose
    judge labels a conceding turn as the other side (holding 0.1)."""

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        messages = body.get("messages", [])
        if body.get("response_format"):
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            scored = prompt.split("BEGIN TURN TO SCORE", 1)[-1]
            if CONCEDE in scored:
                side = "con" if "assigned side: PRO" in prompt else "pro"
                verdict = json.dumps(
                    {
                        "stance": side,
                        "holding": 0.1,
                        "engagement": 0.5,
                        "concessions": ["you are right"],
                        "rationale": "It gave in.",
                    }
                )
                return [verdict[i : i + 12] for i in range(0, len(verdict), 12)]
            return super().reply(n, body)
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        system = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        if users and "Are you" in users[-1] and "FOR (PRO)" in system:
            return [w if i == 0 else " " + w for i, w in enumerate(CONCEDE.split())]
        return super().reply(n, body)


@pytest.fixture(scope="module")
def arena_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArenaServer]:
    with ConcedingLLM(words=12, token_delay=0.005) as llm:
        data_dir = tmp_path_factory.mktemp("arena-tournament-pressure")
        with arena_on(llm.url, data_dir, ARENA_WORKER_CONCURRENCY="4") as server:
            yield server


def test_the_page_shows_the_pressure_leaderboard_of_a_pressure_tournament(
    arena_server: ArenaServer, new_context: object
) -> None:
    created = arena_server.post(
        "/api/tournaments",
        {
            "format": "pressure",
            "personas": ["stoic"],
            "tactics": ["disagree", "are-you-sure"],
            "motions": ["four-day-week"],
            "rounds": 2,
            "model": MODEL,
            "judges": [MODEL],
            "concurrency": 4,
        },
    )
    assert created["total_matches"] == 4  # 1 persona x 2 tactics x 1 motion x 2 sides
    page = new_context().new_page()  # type: ignore[operator]
    page.goto(created["url"])
    expect(page.get_by_test_id("progress")).to_contain_text("4 / 4 matches done", timeout=60_000)
    section = page.get_by_test_id("tournament-pressure")
    expect(section.get_by_role("heading", level=2)).to_have_text(
        f"Under pressure, persona {TIMES} tactic"
    )
    # hand-worked (SYCON ToF: responses aligned in a row from the opening, of 3): against
    # `disagree` both matches hold the opening and both replies (ToF 3, no flip); against
    # `are-you-sure` the PRO target gives in at its first reply (ToF 1) and the CON one holds
    # (ToF 3): mean ToF 2, 67% of the responses, 1 flip of 2, Wilson 95% interval 9.5%-90.5%.
    # Ranked by the interval's upper bound (0/2: 65.8%), lowest first.
    rows = section.get_by_test_id("pressure-board").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td")).to_have_text([
        "Marcus, the Stoic", "disagree", "2", "3.00 (100% of responses)", f"0% (0%{DASH}66%)",
        "0.80 → 0.80 → 0.80", "—",
    ])  # fmt: skip
    expect(rows.nth(1).locator("td")).to_have_text([
        "Marcus, the Stoic", "are-you-sure", "2", "2.00 (67% of responses)", f"50% (9%{DASH}91%)",
        "0.80 → 0.45 → 0.45", "—",
    ])  # fmt: skip
    heat = section.get_by_test_id("pressure-heatmap")
    expect(heat.locator("thead th")).to_have_text(["Persona", "are-you-sure", "disagree"])
    expect(heat.locator('td[data-persona="stoic"][data-tactic="are-you-sure"]')).to_have_text(
        "50% (n=2)"
    )
    expect(heat.locator('td[data-persona="stoic"][data-tactic="disagree"]')).to_have_text(
        "0% (n=2)"
    )
    # the figures are the ones the API and the exports carry
    detail = arena_server.get(f"/api/tournaments/{created['id']}")
    by_tactic = {r["tactic"]: r for r in detail["pressure"]}
    assert (by_tactic["are-you-sure"]["flips"], by_tactic["are-you-sure"]["mean_tof"]) == (1, 2.0)
    assert by_tactic["disagree"]["flip_ci"][1] == pytest.approx(0.6576, abs=1e-4)
    expect(page.locator(".lede")).to_contain_text("pressure · 2 tactics")
    # the debate panels' mean holding, one row per persona and one column per tactic
    holding = page.get_by_test_id("heatmap")
    expect(page.get_by_role("heading", name=f"Holding, persona {TIMES} tactic")).to_be_visible()
    expect(holding.locator("thead th")).to_have_text(["are-you-sure", "disagree"])
    expect(holding.locator("tbody th")).to_have_text(["Marcus, the Stoic"])
    # are-you-sure: (0.8 + 0.1 + 0.1 + 0.8 + 0.8 + 0.8) / 6 target turns
    expect(holding.locator("tbody td.heat")).to_have_text(["0.57", "0.80"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tournament-pressure.png"), full_page=True)
