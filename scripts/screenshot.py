"""Screenshot of a match page mid-debate for docs/img/match.png.

Runs `arena serve` against the tests' fake OpenAI-compatible server (tests/fake_llm.py), with
scripted debate text instead of its `Reply n: ... point-i` filler, so no real model runs.
Run from the repo: .venv/bin/python scripts/screenshot.py [--out PATH] [--full-page PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, arena_on  # noqa: E402
from tests.fake_llm import FakeLLM  # noqa: E402

OUT = ROOT / "docs" / "img" / "match.png"

PRO = [
    "By thunder, matey, a crew that rows five days and rests two is a tired crew! Give them three "
    "days ashore and they come back sharp, loyal and ready to haul. The trials in Iceland and "
    "Britain kept the same output in four days. A ship's worth is in her cargo, not in the hours "
    "her hands stand watch.",
    "Ye say the customers will wait, landlubber? Blow me down: the shops that tried it staggered "
    "their crews and stayed open all week. Nobody asks the lookout to stare at the sea for ten "
    "hours when four will spot the sail. Fewer days, sharper eyes, same plunder in the hold.",
    "Call it a luxury if ye like, but I've seen what a worn-out crew does in a storm: they drop "
    "the line. Rest is rigging, not a reward. I hold my heading: the four-day week is the norm "
    "a sane captain would set.",
    "Three broadsides and my hull still floats. Same output, healthier hands, loyal crews: that is "
    "the four-day week. I never strike my colours, and I won't start today.",
]
CON = [
    "I appreciate the enthusiasm, and rest certainly matters. But making four days the norm "
    "would squeeze the same work into longer days, and many jobs (nursing, teaching, retail) "
    "cannot simply close a day. A flexible approach seems wiser than a single rule for everyone.",
    "That's a fair point about staggered shifts, and I can see why the trials are encouraging. "
    "Still, most of them were small and self-selected, so I'm not sure they tell us what would "
    "happen across a whole economy.",
    "You make a persuasive case, and I agree that tired teams make mistakes. Perhaps the honest "
    "answer is that it depends on the job; I can see real merit in trying it more widely.",
    "Thank you for a lively debate. I still think one rule for every workplace goes too far, "
    "though I'd happily see more employers offer it.",
]
VERDICTS = {  # by (side, own turn index): stance, holding, engagement, concessions
    ("pro", 0): ("pro", 0.9, 0.4, []),
    ("pro", 1): ("pro", 0.9, 0.8, []),
    ("pro", 2): ("pro", 0.8, 0.7, []),
    ("pro", 3): ("pro", 1.0, 0.5, []),
    ("con", 0): ("con", 0.8, 0.6, ["rest certainly matters"]),
    ("con", 1): ("con", 0.6, 0.8, ["the trials are encouraging"]),
    ("con", 2): ("neutral", 0.3, 0.8, ["tired teams make mistakes", "real merit in trying it"]),
    ("con", 3): ("con", 0.6, 0.5, ["more employers could offer it"]),
}


class ScriptedLLM(FakeLLM):
    """FakeLLM with debate text: the reply depends on the side and the speaker's own turn."""

    def reply(self, n: int, body: dict[str, Any]) -> list[str]:
        messages = body.get("messages", [])
        prompt = "\n".join(str(m.get("content", "")) for m in messages)
        if body.get("response_format"):
            side = "pro" if "assigned side: PRO" in prompt else "con"
            turn = prompt.split("BEGIN TURN TO SCORE", 1)[-1]
            texts = PRO if side == "pro" else CON
            k = next((i for i, t in enumerate(texts) if t[:40] in turn), 0)
            stance, holding, engagement, concessions = VERDICTS[side, k]
            rationale = {
                "pro": f"Argues {side.upper()} without giving ground.",
                "con": f"Argues {side.upper()}, conceding minor points.",
                "neutral": "Hedges: no longer argues either side clearly.",
            }[stance if stance == "neutral" else ("pro" if side == "pro" else "con")]
            verdict = json.dumps({"stance": stance, "holding": holding,
                                  "engagement": engagement, "concessions": concessions,
                                  "rationale": rationale})
            return [verdict[i:i + 12] for i in range(0, len(verdict), 12)]
        side = "pro" if "FOR (PRO)" in prompt else "con"
        own = sum(1 for m in messages if m.get("role") == "assistant")
        text = (PRO if side == "pro" else CON)[min(own, 3)]
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)]


def main(out: Path, full_page: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="arena-shot-") as tmp, \
            ScriptedLLM(token_delay=0.06) as llm, \
            arena_on(llm.url, Path(tmp), ARENA_WORD_LIMIT="120") as server:
        created = server.post("/api/matches", {
            "motion": "four-day-week",
            "pro": {"persona": "pirate"},
            "con": {"persona": "assistant"},
            "rounds": 2,
            "word_limit": 120,
        })
        print("match", created["id"], flush=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=CHROMIUM_ARGS)
            # 1280x800 pixels at 75% zoom: the motion, both sides, the chart and the first turns fit
            page = browser.new_page(viewport={"width": 1707, "height": 1067},
                                    device_scale_factor=0.75)
            page.goto(server.url + created["url"])
            page.get_by_test_id("reveal-verdicts").click()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                done = httpx.get(server.url + "/api/matches/" + created["id"]).json()
                verdicts = sum(1 for t in done["turns"] if t.get("verdict"))
                if verdicts >= 5:
                    break
                time.sleep(0.3)
            time.sleep(1.6)  # the next turn is half spoken
            page.evaluate("window.scrollTo(0, 84)")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            if full_page is not None:
                page.screenshot(path=str(full_page), full_page=True)
            browser.close()
    print(out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"default: {OUT.relative_to(ROOT)}")
    parser.add_argument("--full-page", type=Path, default=None, help="also the whole page here")
    args = parser.parse_args()
    main(args.out, args.full_page)
