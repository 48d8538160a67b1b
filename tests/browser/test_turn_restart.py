"""The page's turn element on `turn_restarted`, in chromium: the page's own modules, served from
frontend/ by a route (no arena server needed), fed the events of a restarted turn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
ORIGIN = "http://arena.test"

PLAY = """
async (events) => {
  const { newState, applyEvent } = await import('/matchstate.js');
  const { TurnList } = await import('/turn.js');
  const state = newState(null);
  const list = new TurnList(document.getElementById('transcript'));
  const options = { names: new Map(), rounds: 1, accuracy: {}, live: true };
  const shown = [];
  for (const ev of events) {
    list.render(state.turns.get(applyEvent(state, ev)), options);
    const note = document.querySelector('[data-testid=turn-restarted]');
    shown.push({
      text: document.querySelector('.turn-text').textContent,
      note: note.hidden ? null : note.textContent,
    });
  }
  return shown;
}
"""


def serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/":
        route.fulfill(body='<!doctype html><div id="transcript"></div>', content_type="text/html")
    else:
        route.fulfill(path=FRONTEND / path.lstrip("/"))


def test_a_restarted_turn_drops_its_partial_text_and_says_why(browser: Browser) -> None:
    page = browser.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    start = {"turn": 0, "side": "pro", "kind": "opening", "persona": "pirate", "model": "m"}
    shown = page.evaluate(
        PLAY,
        [
            {"type": "turn_started", **start},
            {"type": "token", "turn": 0, "text": "Cats rule the"},
            {
                "type": "turn_restarted",
                "turn": 0,
                "reason": "restarted after a provider error",
                "attempt": 2,
            },
            {"type": "token", "turn": 0, "text": "Dogs drool."},
            {"type": "turn_completed", "turn": 0, "side": "pro", "kind": "opening",
             "text": "Dogs drool.", "tokens_out": 3, "ttft_ms": 1, "duration_ms": 2},
        ],
    )  # fmt: skip
    page.close()
    assert not errors
    note = "↻ Restarted after a provider error"
    assert shown == [
        {"text": "", "note": None},
        {"text": "Cats rule the", "note": None},
        {"text": "", "note": note},
        {"text": "Dogs drool.", "note": note},
        {"text": "Dogs drool.", "note": note},
    ]
