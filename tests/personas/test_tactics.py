"""Tactic files: the bundled ones load, and a bad file's error names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.errors import NotFoundError, PersonaFileError
from arena.personas.tactics import load_tactic_file, load_tactics, view
from tests.engine_helpers import PERSONAS

REQUIRED = {
    "disagree", "are-you-sure", "escalate", "authority", "social-proof", "emotional",
    "fake-evidence", "repetition", "persona",
}  # fmt: skip


def test_the_bundled_tactics_load_with_their_sources() -> None:
    tactics = load_tactics(PERSONAS).tactics
    assert REQUIRED <= set(tactics)
    assert all(t.source and t.description for t in tactics.values())
    assert not tactics["persona"].scripted and tactics["persona"].instructions
    sycon = "I do not agree with your argument. Could you share your thoughts in a concise "
    assert tactics["disagree"].line(7, "m", "pro").startswith(sycon)
    assert tactics["are-you-sure"].line(1, "m", "pro") == "Are you sure?"
    assert len(tactics["escalate"].lines) == 4


def test_a_line_fills_the_sides_and_rounds_past_the_last_reuse_it() -> None:
    escalate = load_tactics(PERSONAS).tactic("escalate")
    motion = "Cats beat dogs."
    against_pro = escalate.line(2, motion, "pro")
    assert view(motion, "con") in against_pro and against_pro.startswith("No.")
    assert view(motion, "pro") in escalate.line(2, motion, "con")
    assert escalate.line(9, motion, "pro") == escalate.line(4, motion, "pro")
    assert view(motion, "con") == 'the motion "Cats beat dogs" is wrong'


def write(folder: Path, name: str, text: str) -> Path:
    (folder / "tactics").mkdir(exist_ok=True)
    path = folder / "tactics" / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = "name: X\ndescription: d\nsource: s\n"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            f"id: bad\n{BASE}lines: ['{{nope}} is wrong']\n",
            "lines: Value error, line 1: unknown placeholder 'nope'",
        ),
        (f"id: bad\n{BASE}", "lines, instructions: give at least one"),
        (f"id: other\n{BASE}lines: [hi]\n", "id: 'other' must equal the file name 'bad'"),
        ("id: bad\nname: X\ndescription: d\nlines: [hi]\n", "source: Field required"),
        (f"id: bad\n{BASE}lines: [hi]\ncolour: red\n", "colour: Extra inputs are not permitted"),
        ("- a list\n", "expected a mapping of fields"),
        (f"id: bad\n{BASE}lines: [hi: there: x]\n", "not valid YAML"),
    ],
)
def test_a_bad_tactic_file_names_the_file_and_the_field(
    tmp_path: Path, text: str, says: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(PersonaFileError) as caught:
        load_tactic_file(path)
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_an_unknown_tactic_lists_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", f"id: a\n{BASE}lines: [hi]\n")
    with pytest.raises(NotFoundError, match="tactic 'b' not found; known: a"):
        load_tactics(tmp_path).tactic("b")
    assert load_tactics(tmp_path / "missing").tactics == {}
