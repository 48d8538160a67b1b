"""Lorebook matching and insertion on hand-made books: keys, regex, secondary keys, constant,
the budget, blank keys, decorators (with @@@ fallbacks), and where the text goes."""

from __future__ import annotations

from typing import Any

import pytest

from arena.domain.lorebooks import Lorebook
from arena.personas import decorators
from arena.personas.lorebook import HEADING, Scene, activate

MOTION = "This house would abolish the monarchy."


def book(*entries: dict[str, Any], **settings: Any) -> Lorebook:
    return Lorebook.model_validate({"entries": list(entries), **settings})


def entry(keys: list[str], content: str, **more: Any) -> dict[str, Any]:
    return {"keys": keys, "content": content, "insertion_order": 100, **more}


def fired(lore: Lorebook, *turns: str, motion: str = MOTION, spoken: int = 0) -> list[str]:
    return activate(lore, Scene(motion, turns, spoken), "Marcus").labels


def test_plain_keys_match_the_motion_and_recent_turns_case_insensitively() -> None:
    lore = book(
        entry(["Monarchy"], "Kings are a relic.", name="crown"),
        entry(["taxes"], "Taxes fund the state.", name="tax"),
        entry(["Senate"], "The senate debates.", name="senate", case_sensitive=True),
    )
    assert fired(lore) == ["crown"]
    assert fired(lore, "What about TAXES?") == ["crown", "tax"]
    assert fired(lore, "the senate met") == ["crown"]  # case-sensitive: no match
    assert fired(lore, "The Senate met") == ["crown", "senate"]
    # only the last two turns are scanned by default
    assert fired(lore, "taxes!", "one", "two") == ["crown"]
    assert fired(book(entry(["taxes"], "x", name="tax"), scan_depth=3), "taxes!", "a", "b") == [
        "tax"
    ]


def test_blank_keys_never_match_everything_and_empty_content_inserts_nothing() -> None:
    lore = book(
        entry(["", "  "], "Blank keys.", name="blank"),
        entry(["monarchy"], "", name="empty"),
        entry(["monarchy"], "@@depth 4", name="only decorators"),
        entry(["monarchy"], "Off.", name="off", enabled=False),
    )
    assert fired(lore, "anything at all") == []


def test_regex_keys_are_javascript_literals_and_bad_or_slow_ones_do_not_match() -> None:
    lore = book(
        entry(["/\\bkings?\\b/i"], "Kings.", name="kings", use_regex=True),
        entry(["/a\\/b/"], "Slash.", name="slash", use_regex=True),
        entry(["/(unclosed/i"], "Bad.", name="bad", use_regex=True),
        entry(["/(a|aa)+$/"], "Slow.", name="slow", use_regex=True),
        # SillyTavern writes use_regex on plain keys: they stay plain
        entry(["Queen"], "Queens.", name="plain", use_regex=True),
    )
    assert fired(lore, "The KING spoke of a/b and the queen.") == [
        "kings",
        "slash",
        "plain",
    ]
    assert fired(lore, "kingdom " + "a" * 3000 + "!") == []


def test_selective_entries_need_a_secondary_key_and_constants_need_none() -> None:
    lore = book(
        entry(
            ["crown"],
            "Crown and jewels.",
            name="jewels",
            selective=True,
            secondary_keys=["jewel", "gem"],
        ),
        entry(
            ["crown"], "No secondary keys given.", name="open", selective=True, secondary_keys=[""]
        ),
        entry([], "Always known.", name="always", constant=True, insertion_order=1),
        entry(["/x/"], "Regex ignores constant.", name="regex", constant=True, use_regex=True),
    )
    assert fired(lore, "the crown") == ["always", "open"]
    assert fired(lore, "the crown gems") == ["always", "jewels", "open"]


def test_selective_logic_from_sillytavern() -> None:
    def with_logic(logic: int) -> Lorebook:
        return book(
            entry(
                ["crown"],
                "x",
                name="e",
                selective=True,
                secondary_keys=["gold", "gem"],
                extensions={"selectiveLogic": logic},
            )
        )

    text = "the crown and its gold"
    assert [fired(with_logic(n), text) for n in range(4)] == [["e"], ["e"], [], []]


def test_insertion_order_and_the_token_budget() -> None:
    big = "word " * 200  # 1,000 characters: about 250 tokens
    lore = book(
        entry(["monarchy"], big, name="low", insertion_order=1),
        entry(["monarchy"], big, name="high", insertion_order=50),
        entry(["monarchy"], "Short.", name="first", insertion_order=0),
        entry(["monarchy"], big, name="prio", insertion_order=0, priority=9),
        token_budget=600,
    )
    # over budget the lowest priority, then the lowest insertion order, is dropped; the rest go
    # in insertion order
    assert fired(lore) == ["first", "prio", "high"]
    ignored = book(
        entry(["monarchy"], big, name="a"),
        entry(["monarchy"], "@@ignore_on_max_context\n" + big, name="b", insertion_order=900),
        token_budget=300,
    )
    assert fired(ignored) == ["a"]


def test_decorators_are_stripped_with_their_newlines_and_the_first_of_a_name_wins() -> None:
    found, body = decorators.split("@@depth 4\n@@role system\n@@depth 9\n\nThe text.\nMore.")
    assert body == "The text.\nMore."
    assert [(d.name, d.args) for d in found] == [
        ("depth", ("4",)),
        ("role", ("system",)),
        ("depth", ("9",)),
    ]
    lore = book(
        entry(["monarchy"], "@@scan_depth 0\n@@scan_depth 5\nShallow.", name="shallow"),
        entry(["monarchy"], "@@activate_only_after 1\nLater.", name="later"),
        entry(["monarchy"], "@@activate_only_every 2\nEven.", name="even"),
    )
    assert fired(lore, motion="No topic.", spoken=0) == []
    assert fired(lore, "monarchy", motion="No topic.", spoken=1) == ["later"]
    assert fired(lore, "monarchy", motion="No topic.", spoken=2) == ["later", "even"]
    assert fired(lore, spoken=0) == ["shallow", "even"]


def test_fallbacks_apply_only_when_the_decorator_above_is_ignored() -> None:
    lore = book(
        # the arena does not know @@risu_only: its fallback, @@dont_activate, applies
        entry(["monarchy"], "@@risu_only 4\n@@@dont_activate\nA.", name="fallback used"),
        # @@activate is known: its fallbacks are skipped
        entry([], "@@activate\n@@@dont_activate\nB.", name="primary used"),
        # a chain: the first two unknown, the third taken
        entry(["monarchy"], "@@x1\n@@@x2\n@@@dont_activate\nC.", name="chain"),
        # a fallback with no primary above it is skipped
        entry(["monarchy"], "@@@dont_activate\nD.", name="orphan"),
        entry(["monarchy"], "@@exclude_keys republic, senate\nE.", name="excluded"),
        entry(["monarchy"], "@@additional_keys king\n@@additional_keys crown\nF.", name="both"),
    )
    assert fired(lore) == ["primary used", "orphan", "excluded"]
    assert fired(lore, "a republic with a king") == ["primary used", "orphan"]
    assert fired(lore, "the king and the crown") == ["primary used", "orphan", "excluded", "both"]


def test_the_text_goes_after_the_persona_prompt_or_before_it() -> None:
    lore = book(
        entry(["monarchy"], "{{char}} knows kings.", name="after"),
        entry(["monarchy"], "Said first.", name="before", position="before_char"),
        entry(["monarchy"], "@@position before_desc\nAlso first.", name="decorated"),
    )
    activation = activate(lore, Scene(MOTION), "Marcus")
    system = activation.system("You are Marcus.\n\n--- Debate ---\nRules.", "You are Marcus.")
    assert system == (
        f"{HEADING}\nSaid first.\n\nAlso first.\n\nYou are Marcus.\n\n{HEADING}\n"
        "Marcus knows kings.\n\n--- Debate ---\nRules."
    )


def test_recursive_scanning_lets_fired_content_trigger_other_entries() -> None:
    entries = [entry(["monarchy"], "The crown is heavy.", name="a"),
               entry(["crown"], "Jewels.", name="b")]  # fmt: skip
    assert fired(book(*entries)) == ["a"]
    assert fired(book(*entries, recursive_scanning=True)) == ["a", "b"]


@pytest.mark.parametrize("field", ["insertion_order", "priority"])
def test_numbers_written_as_text_are_read(field: str) -> None:
    lore = book(entry(["monarchy"], "x", **{field: "7"}))
    assert getattr(lore.entries[0], field) == 7
