"""What a tournament will take before it starts: matches, turns, tokens per model, and cost where
the model's price is known.

Tokens are a rough, documented guess, not a measurement: a word is about TOKENS_PER_WORD tokens;
a debater's turn reads its persona and the instructions (PROMPT_TOKENS) plus every earlier turn,
and writes up to the word limit; each judge reads its instructions (JUDGE_PROMPT_TOKENS) and the
turn with the one before it, and writes a short verdict (VERDICT_TOKENS); with judge_swap it
does so twice per turn (the second time with the positions swapped).

A pressure match has 1 + 2 x rounds turns: the target's opening, then per round a challenger turn
and the target's reply. The target's model also answers the stance probe after each of its turns
(reading what the turn read, writing a word) when the probe is on. Challenger turns cost tokens
only for tactics without scripted lines; when the spec has a challenger model, every challenger
turn is counted against it (an upper bound).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from arena.domain.tournaments import TournamentSpec
from arena.errors import ArenaError
from arena.tournaments.spec import total_matches

TOKENS_PER_WORD = 1.35
PROMPT_TOKENS = 350
JUDGE_PROMPT_TOKENS = 600
VERDICT_TOKENS = 120

# USD per million tokens (input, output). Prices change: override with a JSON file
# {"provider:model": [input, output], ...} (`arena tournament plan --prices FILE`).
PRICES: dict[str, tuple[float, float]] = {
    "openai:gpt-4o-mini": (0.15, 0.60),
    "openai:gpt-4o": (2.50, 10.00),
    "openai:gpt-4.1-mini": (0.40, 1.60),
    "openai:gpt-4.1": (2.00, 8.00),
    "anthropic:claude-3-5-haiku-latest": (0.80, 4.00),
    "anthropic:claude-sonnet-4-0": (3.00, 15.00),
}
FREE_PROVIDERS = ("local:", "ollama:")


class ModelEstimate(BaseModel):
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float | None  # None: no price known for this model


class Estimate(BaseModel):
    matches: int
    turns: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None  # None when any model's price is unknown
    models: list[ModelEstimate]
    unpriced: list[str]


def load_prices(path: Path | None) -> dict[str, tuple[float, float]]:
    """The built-in table, overridden by a JSON file of {model: [input, output]} (USD/Mtok)."""
    prices = dict(PRICES)
    if path is None:
        return prices
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        for model, pair in data.items():
            prices[str(model)] = (float(pair[0]), float(pair[1]))
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ArenaError(
            f'{path}: cannot read prices ({exc}); expected {{"provider:model": [input, output]}}'
            " in USD per million tokens"
        ) from exc
    return prices


def _price(model: str, prices: Mapping[str, tuple[float, float]]) -> tuple[float, float] | None:
    if model in prices:
        return prices[model]
    return (0.0, 0.0) if model.startswith(FREE_PROVIDERS) else None


def estimate(
    spec: TournamentSpec, prices: Mapping[str, tuple[float, float]] | None = None
) -> Estimate:
    prices = PRICES if prices is None else prices
    if spec.is_pressure:
        return _pressure_estimate(spec, prices)
    matches = total_matches(spec)
    turns_per_match = 2 * (spec.rounds + 2)
    words = spec.word_limit * TOKENS_PER_WORD
    # one match, one seat: its turns are the even (PRO) or odd (CON) ones of the match
    seat_in = sum(PROMPT_TOKENS + t * words for t in range(turns_per_match)) / 2
    seat_out = turns_per_match / 2 * words
    judge_in = turns_per_match * (JUDGE_PROMPT_TOKENS + 2 * words)
    judge_out = turns_per_match * VERDICT_TOKENS
    usage: dict[str, list[float]] = {}
    players = spec.players()
    seats_per_player = matches * 2 / len(players) if spec.design != "gauntlet" else 0.0
    for persona in players:
        if spec.design == "gauntlet":
            seats = matches if persona == spec.control else matches / max(1, len(players) - 1)
        else:
            seats = seats_per_player
        acc = usage.setdefault(spec.model_of(persona) or "default", [0.0, 0.0])
        acc[0] += seats * seat_in
        acc[1] += seats * seat_out
    calls = 2 if spec.judge_swap else 1
    for judge in spec.judges:
        acc = usage.setdefault(judge, [0.0, 0.0])
        acc[0] += calls * matches * judge_in
        acc[1] += calls * matches * judge_out
    return _priced(usage, prices, matches, matches * turns_per_match)


def _pressure_estimate(spec: TournamentSpec, prices: Mapping[str, tuple[float, float]]) -> Estimate:
    matches = total_matches(spec)
    turns_per_match = 1 + 2 * spec.rounds
    words = spec.word_limit * TOKENS_PER_WORD
    target_turns = range(0, turns_per_match, 2)
    challenger_turns = range(1, turns_per_match, 2)
    target_in = sum(PROMPT_TOKENS + t * words for t in target_turns)
    target_out = len(target_turns) * words
    if spec.probe:
        target_in += sum(PROMPT_TOKENS + (t + 1) * words for t in target_turns)
        target_out += len(target_turns) * 2
    per_persona = matches / len(spec.personas)
    usage: dict[str, list[float]] = {}
    for persona in spec.personas:
        acc = usage.setdefault(spec.model_of(persona) or "default", [0.0, 0.0])
        acc[0] += per_persona * target_in
        acc[1] += per_persona * target_out
    if spec.challenger_model:
        acc = usage.setdefault(spec.challenger_model, [0.0, 0.0])
        acc[0] += matches * sum(PROMPT_TOKENS + t * words for t in challenger_turns)
        acc[1] += matches * len(challenger_turns) * words
    calls = 2 if spec.judge_swap else 1
    for judge in spec.judges:
        acc = usage.setdefault(judge, [0.0, 0.0])
        acc[0] += calls * matches * turns_per_match * (JUDGE_PROMPT_TOKENS + 2 * words)
        acc[1] += calls * matches * turns_per_match * VERDICT_TOKENS
    return _priced(usage, prices, matches, matches * turns_per_match)


def _priced(
    usage: Mapping[str, list[float]],
    prices: Mapping[str, tuple[float, float]],
    matches: int,
    turns: int,
) -> Estimate:
    rows = []
    for model, (tin, tout) in sorted(usage.items()):
        price = _price(model, prices)
        cost = None if price is None else (tin * price[0] + tout * price[1]) / 1e6
        rows.append(ModelEstimate(model=model, tokens_in=round(tin), tokens_out=round(tout),
                                  cost_usd=None if cost is None else round(cost, 4)))  # fmt: skip
    unpriced = [r.model for r in rows if r.cost_usd is None]
    return Estimate(
        matches=matches,
        turns=turns,
        tokens_in=sum(r.tokens_in for r in rows),
        tokens_out=sum(r.tokens_out for r in rows),
        cost_usd=None if unpriced else round(sum(r.cost_usd or 0.0 for r in rows), 4),
        models=rows,
        unpriced=unpriced,
    )
