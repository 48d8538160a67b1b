"""The stance probe's chip on a turn, in chromium: the page's own modules, served from frontend/
by a route (no arena server needed), fed a target turn and its probe event, with and without
p(yes) (the embedded model's and OpenAI's probes carry it; tests/engine/test_probe_local.py
checks that the engine's probe event does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.test_turn_restart import ORIGIN, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLAY = """
async (events) => {
  const { newState, applyEvent } = await import('/matchstate.js');
  const { TurnList } = await import('/turn.js');
  const state = newState(null);
  const list = new TurnList(document.getElementById('transcript'));
  const options = { names: new Map(), rounds: 1, accuracy: {}, live: true };
  for (const ev of events) list.render(state.turns.get(applyEvent(state, ev)), options);
  return [...document.querySelectorAll('[data-testid=probe]')].map((p) => p.textContent);
}
"""


def probe(turn: int, answer: str, supports: bool | None, p_yes: float | None) -> dict[str, Any]:
    stance = None if supports is None else "pro" if supports else "con"
    return {
        "type": "probe", "turn": turn, "side": "pro", "question": "Do you support the motion?",
        "answer": answer, "supports": supports, "stance": stance,
        "holds": None if stance is None else stance == "pro", "p_yes": p_yes,
        "model": "local:smollm2", "method": "text",
    }  # fmt: skip


def turn(n: int) -> list[dict[str, Any]]:
    start = {"turn": n, "side": "pro", "kind": "opening" if n == 0 else "reply",
             "persona": "stoic", "model": "local:smollm2"}  # fmt: skip
    return [
        {"type": "turn_started", **start},
        {"type": "token", "turn": n, "text": "I hold."},
        {"type": "turn_completed", "turn": n, "side": "pro", "kind": start["kind"],
         "text": "I hold.", "tokens_out": 2, "ttft_ms": 1, "duration_ms": 2},
    ]  # fmt: skip


def test_the_probe_chip_shows_p_yes_when_the_probe_has_one(browser: Browser) -> None:
    page = browser.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    events = [
        *turn(0), probe(0, "Yes.", True, 0.8312),
        *turn(2), probe(2, "I'm not sure.", False, 0.2334),  # unread: p(yes) decided it
        *turn(4), probe(4, "No.", False, None),  # a provider without log-probabilities
    ]  # fmt: skip
    shown = page.evaluate(PLAY, events)
    page.close()
    assert not errors
    assert shown == [
        "probe: \u201cYes.\u201d · holds its side · p(yes) 0.83",
        "probe: \u201cI'm not sure.\u201d · gave up its side · p(yes) 0.23",
        "probe: \u201cNo.\u201d · gave up its side",
    ]
