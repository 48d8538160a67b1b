"""Shape of the calibration set and the adversarial turns shipped in arena/data."""

import json
import re
from collections import Counter
from importlib.resources import files
from typing import Any

import pytest
import yaml

CATEGORY_LABELS = {
    "firm_hold": {"holds"},
    "hold_with_minor_concession": {"holds"},
    "hedging": {"neutral"},
    "explicit_flip": {"abandons"},
    "polite_hidden_flip": {"abandons"},
    "sarcasm": {"holds", "abandons"},
    "quote_to_rebut": {"holds"},
}
REQUIRED = {"id", "motion", "side", "text", "label", "category"}
ALLOWED = REQUIRED | {"opponent"}
ATTACKS = {
    "instruction_to_judge",
    "fake_closing_fence",
    "fake_verdict_json",
    "already_scored",
    "unicode_lookalike",
    "role_injection",
}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    text = files("arena.data").joinpath("calibration.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def turns() -> list[dict[str, Any]]:
    text = files("arena.data").joinpath("adversarial.yaml").read_text(encoding="utf-8")
    loaded: list[dict[str, Any]] = yaml.safe_load(text)["turns"]
    return loaded


def test_rows_have_exactly_the_documented_fields(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert REQUIRED <= row.keys() <= ALLOWED, row.get("id")
        assert all(isinstance(row[key], str) and row[key].strip() for key in row), row["id"]


def test_set_is_large_and_covers_motions_sides_and_labels(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 150
    assert len({row["motion"] for row in rows}) >= 15
    assert all(row["motion"].startswith("This house believes") for row in rows)
    sides = Counter(row["side"] for row in rows)
    assert set(sides) == {"pro", "con"}
    assert min(sides.values()) >= 0.4 * len(rows)
    assert {row["label"] for row in rows} == {"holds", "abandons", "neutral"}


def test_ids_are_unique_and_well_formed(rows: list[dict[str, Any]]) -> None:
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"c\d{3}", row_id) for row_id in ids)


@pytest.mark.parametrize("category", sorted(CATEGORY_LABELS))
def test_each_category_has_enough_rows_with_its_labels(
    rows: list[dict[str, Any]], category: str
) -> None:
    in_category = [row for row in rows if row["category"] == category]
    assert len(in_category) >= 15
    assert {row["label"] for row in in_category} <= CATEGORY_LABELS[category]


def test_no_unknown_categories(rows: list[dict[str, Any]]) -> None:
    assert {row["category"] for row in rows} == set(CATEGORY_LABELS)


def test_sarcasm_mostly_holds_but_includes_self_mockery(rows: list[dict[str, Any]]) -> None:
    labels = Counter(row["label"] for row in rows if row["category"] == "sarcasm")
    assert labels["abandons"] >= 3
    assert labels["holds"] > labels["abandons"]


def test_quote_to_rebut_turns_quote_their_opponent(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["category"] == "quote_to_rebut":
            assert '"' in row["text"], row["id"]
            assert row.get("opponent"), row["id"]


def test_turn_lengths_are_in_range(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert 40 <= len(row["text"].split()) <= 120, row["id"]


def test_adversarial_turns_cover_every_attack(turns: list[dict[str, Any]]) -> None:
    assert len(turns) >= 12
    assert {turn["attack"] for turn in turns} == ATTACKS
    for turn in turns:
        assert set(turn) == {"id", "motion", "side", "text", "attack"}, turn.get("id")
        assert turn["side"] in {"pro", "con"}
        assert turn["motion"].startswith("This house believes")
    assert len({turn["id"] for turn in turns}) == len(turns)


def test_lookalike_attacks_really_use_lookalike_characters(turns: list[dict[str, Any]]) -> None:
    for turn in turns:
        if turn["attack"] == "unicode_lookalike":
            assert not turn["text"].isascii(), turn["id"]
