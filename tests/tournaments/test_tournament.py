"""Tournament specs, their expansion into matches (balance, counts, determinism) and estimates."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from arena.config import Settings
from arena.domain.tournaments import TournamentSpec
from arena.errors import ArenaError
from arena.personas.library import load_library
from arena.tournaments.estimate import estimate, load_prices
from arena.tournaments.spec import expand, resolve, swiss_round, total_matches

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "personas"


def spec(**kw: object) -> TournamentSpec:
    base: dict[str, object] = {
        "personas": ["pirate", "stoic", "cynic"],
        "motions": ["m1", "m2"],
        "judges": ["local:smollm2"],
        "model": "openai:gpt-4o-mini",
    }
    return TournamentSpec.model_validate({**base, **kw})


def test_round_robin_meets_every_pair_on_every_motion_on_both_sides() -> None:
    slots = expand(spec())
    assert len(slots) == total_matches(spec()) == 12
    assert [s.index for s in slots] == list(range(12))
    sides = Counter((s.pro, "pro") for s in slots) + Counter((s.con, "con") for s in slots)
    assert set(sides.values()) == {4}  # each persona 4 times on PRO, 4 on CON
    games = Counter((s.motion, s.pro, s.con) for s in slots)
    for a, b in itertools.combinations(["pirate", "stoic", "cynic"], 2):
        for motion in ("m1", "m2"):
            assert games[(motion, a, b)] == games[(motion, b, a)] == 1
    repeated = expand(spec(repeats=3))
    assert len(repeated) == 36 and Counter(s.repeat for s in repeated) == {0: 12, 1: 12, 2: 12}


def test_expansion_is_deterministic_and_the_seed_only_reorders() -> None:
    assert expand(spec()) == expand(spec())
    other = expand(spec(seed=9))
    assert other != expand(spec())
    key = sorted((s.motion, s.pro, s.con) for s in other)
    assert key == sorted((s.motion, s.pro, s.con) for s in expand(spec()))


def test_gauntlet_pits_every_persona_against_the_control_on_both_sides() -> None:
    s = spec(design="gauntlet", personas=["pirate", "stoic", "cynic", "assistant"])
    slots = expand(s)
    assert len(slots) == total_matches(s) == 3 * 2 * 2
    assert all("assistant" in (x.pro, x.con) and x.pro != x.con for x in slots)
    for persona in ("pirate", "stoic", "cynic"):
        for motion in ("m1", "m2"):
            assert {(x.pro, x.con) for x in slots if x.motion == motion and persona in
                    (x.pro, x.con)} == {(persona, "assistant"), ("assistant", persona)}  # fmt: skip
    assert s.players() == ["assistant", "cynic", "pirate", "stoic"]


def test_swiss_pairs_by_standing_without_repeats() -> None:
    s = spec(design="swiss", personas=["a", "b", "c", "d", "e"], swiss_rounds=3, motions=["m"])
    first = expand(s)
    pairs = {frozenset((x.pro, x.con)) for x in first}
    assert len(pairs) == 2 and len(first) == 4  # five personas: two pairs, one bye
    sides = Counter(x.pro for x in first)
    assert set(sides.values()) == {1}  # each pair: once with each on PRO
    met = set(pairs)
    points = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.0}
    for x in first:
        points[x.pro] += 1.0 if x.pro < x.con else 0.0
    second = swiss_round(s, 2, points, met, start=len(first))
    assert [x.index for x in second] == list(range(4, 8))
    assert not {frozenset((x.pro, x.con)) for x in second} & met
    assert total_matches(s) == 3 * 2 * 2
    # the two leaders meet when they have not met yet
    leaders = sorted(points, key=lambda p: -points[p])[:2]
    if frozenset(leaders) not in met:
        assert frozenset(leaders) in {frozenset((x.pro, x.con)) for x in second}


def test_bad_specs_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="repeated: stoic"):
        spec(personas=["stoic", "stoic"])
    with pytest.raises(ValidationError, match="at least two personas"):
        spec(personas=["stoic"])
    with pytest.raises(ValidationError, match="no pair meets twice"):
        spec(design="swiss", swiss_rounds=3)
    with pytest.raises(ValidationError, match="besides the control"):
        spec(design="gauntlet", personas=["assistant"])


def test_the_identity_ignores_how_the_run_is_steered() -> None:
    assert spec().identity() == spec(concurrency=8, budget_tokens=1000).identity()
    assert spec().identity() != spec(seed=1).identity()


def test_resolve_fills_models_and_judges_and_names_unknown_personas() -> None:
    library = load_library(LIBRARY_DIR)
    settings = Settings(_env_file=None, default_model="local:smollm2", default_judge="test:judge")
    s = resolve(spec(model=None, judges=[]), library, settings)
    assert s.judges == ["test:judge"]
    assert set(s.models) == {"pirate", "stoic", "cynic"} and s.model is None
    with pytest.raises(ArenaError, match="persona 'pirat' not found"):
        resolve(spec(personas=["pirat", "stoic"]), library, settings)


def test_estimate_counts_and_prices_known_models_only(tmp_path: Path) -> None:
    s = spec(rounds=1, word_limit=100)
    est = estimate(s)
    assert est.matches == 12 and est.turns == 72
    assert [m.model for m in est.models] == ["local:smollm2", "openai:gpt-4o-mini"]
    assert est.cost_usd is not None and est.cost_usd > 0 and est.unpriced == []
    unknown = estimate(spec(rounds=1, word_limit=100, model="openai-compatible:mystery"))
    assert unknown.cost_usd is None and unknown.unpriced == ["openai-compatible:mystery"]
    assert unknown.tokens_in == est.tokens_in
    prices = tmp_path / "prices.json"
    prices.write_text('{"openai-compatible:mystery": [1.0, 2.0]}')
    priced = estimate(spec(model="openai-compatible:mystery"), load_prices(prices))
    assert priced.cost_usd is not None and priced.unpriced == []
    prices.write_text("[1, 2]")
    with pytest.raises(ArenaError, match="cannot read prices"):
        load_prices(prices)


def pressure(**kw: object) -> TournamentSpec:
    return spec(**{"format": "pressure", "tactics": ["disagree", "escalate"], **kw})


def test_pressure_expands_every_persona_x_tactic_x_motion_x_side() -> None:
    s = pressure(repeats=2)
    slots = expand(s)
    assert len(slots) == total_matches(s) == 3 * 2 * 2 * 2 * 2
    assert [x.index for x in slots] == list(range(48))
    games = Counter((x.persona, x.tactic, x.motion, x.target, x.repeat) for x in slots)
    assert len(games) == 48 and set(games.values()) == {1}
    for x in slots:  # the target on its side, the tactic in the challenger's seat
        assert x.target is not None and x.tactic is not None
        assert (x.pro, x.con) == (
            (x.persona, x.tactic) if x.target == "pro" else (x.tactic, x.persona)
        )
    assert expand(pressure(repeats=2)) == slots  # deterministic
    reordered = expand(pressure(repeats=2, seed=5))  # the seed only reorders
    assert reordered != slots
    assert {(x.persona, x.tactic, x.motion, x.target, x.repeat) for x in reordered} == set(games)
    # one persona is enough: it meets tactics, not other personas
    assert total_matches(pressure(personas=["stoic"])) == 2 * 2 * 2


def test_pressure_specs_are_checked_and_keep_debate_identities() -> None:
    with pytest.raises(ValidationError, match="at least one tactic"):
        spec(format="pressure")
    with pytest.raises(ValidationError, match="leave design at round-robin"):
        pressure(design="swiss")
    with pytest.raises(ValidationError, match="for format pressure"):
        spec(tactics=["disagree"])
    with pytest.raises(ValidationError, match="repeated: disagree"):
        spec(format="pressure", tactics=["disagree", "disagree"])
    # a debate's identity is what it was before the pressure fields existed
    assert spec().identity() == "c3fbfbc70bca56c744581cd6"
    assert spec().identity() != pressure().identity() != pressure(probe=False).identity()


def test_resolve_checks_tactics_and_gives_model_challengers_a_model() -> None:
    library = load_library(LIBRARY_DIR)
    settings = Settings(_env_file=None, default_model="local:smollm2", default_judge="test:judge")
    scripted = resolve(pressure(), library, settings)
    assert scripted.challenger_model is None
    with pytest.raises(ArenaError, match="nope"):
        resolve(pressure(tactics=["nope"]), library, settings)
    free = resolve(pressure(tactics=["disagree", "persona"]), library, settings)
    assert free.challenger_model == "local:smollm2"


def test_pressure_match_specs_and_estimate() -> None:
    from arena.personas.tactics import load_tactics
    from arena.tournaments.spec import match_spec

    library = load_library(LIBRARY_DIR)
    tactics = load_tactics(LIBRARY_DIR)
    s = pressure(motions=["four-day-week"], rounds=3)
    for slot in expand(s):
        m = match_spec(s, slot, library, tactics)
        assert m.format == "pressure" and m.pressure is not None and m.rounds == 3
        assert m.pressure.target == slot.target and m.pressure.tactic == slot.tactic
        assert m.debater(slot.target).persona == slot.persona  # type: ignore[arg-type]
        assert m.pressure.probe
    est = estimate(s)
    assert est.matches == 3 * 2 * 1 * 2 and est.turns == est.matches * (1 + 2 * 3)
    assert [m.model for m in est.models] == ["local:smollm2", "openai:gpt-4o-mini"]
    no_probe = estimate(pressure(motions=["four-day-week"], rounds=3, probe=False))
    assert no_probe.tokens_in < est.tokens_in
