"""scripts/bench_local.py: its stand-in for a hosted model is a ChatModel (a member added to the
protocol fails here), and the whole script runs on the embedded model at a tiny size."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.models.base import ChatModel
from tests.scripts.runs import load_script, run_script

bench_local = load_script("bench_local.py")


def test_the_network_like_stand_in_is_a_chat_model() -> None:
    model = bench_local.NetworkLikeModel()
    members = set(ChatModel.__annotations__) | {
        name for name in vars(ChatModel) if not name.startswith("_")
    }
    assert {"name", "continues_prefix", "stream", "structured"} <= members
    lacking = sorted(m for m in members if not hasattr(model, m))
    assert not lacking, f"NetworkLikeModel lacks ChatModel's {lacking}"
    assert isinstance(model, ChatModel)


async def test_a_match_with_the_stand_in_runs_judged_and_unjudged() -> None:
    model = bench_local.NetworkLikeModel(token_delay=0.0005, verdict_delay=0.3)
    figures = await bench_local.judged_ratio(model, rounds=1, word_limit=20)
    # not which is faster (a noisy machine decides that at this size): that both ran, and the
    # judged one waited for its verdicts (the last turn's comes after the last turn)
    assert figures["unjudged_s"] > 0 and figures["judged_s"] >= 0.3
    ratio = figures["ratio"]  # of the unrounded times: the rounded ones give it back to 0.01 s
    assert ratio * figures["unjudged_s"] == pytest.approx(
        figures["judged_s"], abs=0.006 * ratio + 0.006
    )


@pytest.mark.embedded
def test_the_script_runs_on_the_embedded_model(tmp_path: Path) -> None:
    run, doc = run_script(
        "bench_local.py",
        *("--tokens", "8", "--repeats", "1", "--rounds", "1", "--word-limit", "20"),
        # the embedded model's two matches take minutes on a busy machine; they run the same
        # match_seconds as the network-like ones (`make bench` runs them)
        *("--matches-with", "network-like", "--token-delay", "0.002", "--verdict-delay", "0.1"),
        json_out=tmp_path / "local.json",
        timeout=300,
    )
    assert "provider / raw" in run.stdout and "network-like model" in run.stdout
    assert doc["raw_tokens_per_s"] > 0 and doc["provider_tokens_per_s"] > 0
    assert "embedded" not in doc
    # the judged match waited at least for its last verdict (0.1 s); which is faster is noise
    assert doc["network_like"]["unjudged_s"] > 0 and doc["network_like"]["judged_s"] >= 0.1
