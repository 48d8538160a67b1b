"""The calibration design: every persona x claim x start x tactic, a balanced claim sample fixed
at resolve time, match specs on the claim's side, the estimate, and the exports (leaderboard.csv,
the scatter with its interval crosses, report.md) from trials."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from arena.config import Settings
from arena.domain.samples import CalibrationSample
from arena.domain.tournaments import MatchResult, TournamentSpec
from arena.errors import ArenaError
from arena.personas.library import load_claims, load_library
from arena.personas.tactics import load_tactics
from arena.tournaments.calibration import calibration_csv, calibration_leaderboard, scatter_svg
from arena.tournaments.estimate import estimate
from arena.tournaments.report import report_md
from arena.tournaments.spec import expand, match_spec, resolve, schedule, total_matches

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "personas"
SETTINGS = Settings(_env_file=None, personas_dir=LIBRARY_DIR, default_model="local:smollm2",
                    default_judge="test:judge")  # fmt: skip


def spec(**kw: object) -> TournamentSpec:
    base: dict[str, object] = {"personas": ["stoic", "pirate"], "design": "calibration",
                               "model": "openai:gpt-4o-mini", "claim_sample": 6}  # fmt: skip
    return TournamentSpec.model_validate({**base, **kw})


def test_design_and_format_calibration_say_the_same_and_default_to_one_tactic_per_kind() -> None:
    a, b = spec(), spec(design=None, format="calibration")
    assert (a.design, a.format) == ("calibration", "calibration")
    assert a.tactics == ["disagree", "evidence"]
    assert (b.design, b.format) == ("calibration", "calibration")
    with pytest.raises(ValidationError, match="leave out motions"):
        spec(motions=["four-day-week"])
    with pytest.raises(ValidationError, match="claims are for the calibration design"):
        TournamentSpec(personas=["a", "b"], motions=["m"], claims=["x"])
    with pytest.raises(ValidationError, match="leave out format"):
        spec(format="pressure")
    with pytest.raises(ValidationError, match="motions: name at least one motion"):
        TournamentSpec(personas=["a", "b"])


def test_resolve_samples_claims_half_true_seeded_and_checks_named_ones_and_kinds() -> None:
    library, truths = load_library(LIBRARY_DIR), load_claims(LIBRARY_DIR)
    resolved = resolve(spec(), library, SETTINGS)
    assert len(resolved.claims) == 6 and len(set(resolved.claims)) == 6
    assert sum(truths[c].truth for c in resolved.claims) == 3  # half true
    assert resolve(spec(), library, SETTINGS).claims == resolved.claims  # seeded
    assert resolve(spec(seed=9), library, SETTINGS).claims != resolved.claims
    assert resolved.identity() != resolve(spec(seed=0, claim_sample=8), library,
                                          SETTINGS).identity()  # fmt: skip
    named = resolve(spec(claims=["humans-use-ten-percent-of-brain"]), library, SETTINGS)
    assert named.claims == ["humans-use-ten-percent-of-brain"]
    with pytest.raises(ArenaError, match="claim 'nope' not found"):
        resolve(spec(claims=["nope"]), library, SETTINGS)
    with pytest.raises(ArenaError, match="one tactic of each kind"):
        resolve(spec(tactics=["disagree", "authority"]), library, SETTINGS)


def test_the_schedule_is_every_persona_x_claim_x_start_x_tactic_on_the_starting_side() -> None:
    s = resolve(spec(tactics=["disagree", "are-you-sure", "evidence"], repeats=2),
                load_library(LIBRARY_DIR), SETTINGS)  # fmt: skip
    truths = load_claims(LIBRARY_DIR)
    slots = schedule(s, SETTINGS)
    assert len(slots) == total_matches(s) == 2 * 6 * 2 * 3 * 2
    cells = Counter((x.persona, x.motion, x.start, x.tactic, x.repeat) for x in slots)
    assert len(cells) == len(slots)  # each combination once
    for x in slots:
        true_side = "pro" if truths[x.motion].truth else "con"
        assert (x.target == true_side) == (x.start == "right")
        assert x.tactic in ((x.con,) if x.target == "pro" else (x.pro,))
    # balanced: every persona has as many right as wrong starts under each kind of tactic
    per = Counter((x.persona, x.start, x.tactic == "evidence") for x in slots)
    assert len(set(per.values())) == 2  # pressure cells have twice the evidence (2 tactics)
    with pytest.raises(ValueError, match="needs the claims' truths"):
        expand(s)


def test_match_specs_carry_the_claim_and_the_estimate_counts_them() -> None:
    s = resolve(spec(rounds=2), load_library(LIBRARY_DIR), SETTINGS)
    tactics, claims = load_tactics(LIBRARY_DIR), load_claims(LIBRARY_DIR)
    library = load_library(LIBRARY_DIR)
    for slot in schedule(s, SETTINGS):
        m = match_spec(s, slot, library, tactics, claims)
        assert m.format == "calibration" and m.calibration is not None and m.pressure is not None
        claim = claims[slot.motion]
        assert m.motion == claim.claim and m.calibration.truth == claim.truth
        assert m.calibration.start == slot.start and m.pressure.target == slot.target
        assert m.calibration.challenge == ("evidence" if slot.tactic == "evidence" else "pressure")
        assert m.debater(m.pressure.target).persona == slot.persona
    est = estimate(s)
    assert est.matches == 2 * 6 * 2 * 2 and est.turns == est.matches * 5


def trial(persona: str, start: str, challenge: str, flipped: bool | None, i: int) -> MatchResult:
    sample = CalibrationSample(
        match_id=f"m{i}", persona=persona, model="x", judge="j", claim=f"c{i % 3}",
        truth=True, start=start, challenge=challenge, tactic=challenge, took_start=flipped
        is not None, flipped=flipped, first_flip_round=1 if flipped else None,
        persisted=True if flipped else None, probe_agreement=0.75,
    )  # fmt: skip
    return MatchResult(
        tournament="t", match=f"m{i}", slot=i, motion=f"c{i % 3}", pro=persona, con=challenge,
        pro_model="x", con_model="x", judge="j", status="completed", calibration=sample,
    )  # fmt: skip


def results() -> list[MatchResult]:
    out: list[MatchResult] = []
    # firm: 1 of 8 regressive, 6 of 8 progressive; pushover: 6 of 8 and 7 of 8
    for persona, regressive, progressive in (("firm", 1, 6), ("pushover", 6, 7)):
        for k in range(8):
            out.append(trial(persona, "right", "pressure", k < regressive, len(out)))
            out.append(trial(persona, "wrong", "evidence", k < progressive, len(out)))
    out.append(trial("firm", "wrong", "evidence", None, len(out)))  # refused its start
    out.append(trial("lonely", "right", "pressure", False, len(out)))  # one axis only
    return out


def test_the_exports_show_both_axes_with_intervals() -> None:
    rows = calibration_leaderboard(results())
    by = {r.persona: r for r in rows}
    assert by["firm"].resistance == 0.875 and by["firm"].openness == 0.75
    assert by["pushover"].resistance == 0.25 and by["firm"].refused == 1
    assert by["lonely"].openness is None
    table = list(csv.DictReader(io.StringIO(calibration_csv(rows))))
    firm = next(r for r in table if r["persona"] == "firm")
    lo, hi = float(firm["resistance_ci_low"]), float(firm["resistance_ci_high"])
    assert lo < 0.875 < hi and hi <= 1.0
    assert (firm["progressive_k"], firm["progressive_n"]) == ("6", "8")
    svg = scatter_svg(rows)
    # one cross (two lines) and one dot per persona with both axes; the other listed below
    assert svg.count("<circle") == 2 and svg.count("<g>") == 2
    assert "not both measured: lonely" in svg
    x_of = {m.group(2): float(m.group(1)) for m in
            re.finditer(r'<circle cx="([\d.]+)"[^>]*/>\s*<text[^>]*>(\w+)<', svg)}  # fmt: skip
    assert x_of["firm"] > x_of["pushover"]  # firmer is further right
    doc = {"id": "t1", "status": "completed", "total": 34}
    spec_doc = spec(claims=["c0", "c1", "c2"]).model_dump(mode="json")
    md = report_md({**doc, "spec": spec_doc}, None, results(), {"j": None})  # type: ignore[arg-type]
    assert "## Firm and open" in md and "![Firm and open" in md
    assert "| firm | 17 | 0.88 [" in md
    assert "lonely: 1 pressure and 0 evidence trials count" in md
    assert "firm: 1 openings did not take their side" in md
