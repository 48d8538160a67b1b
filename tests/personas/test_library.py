from pathlib import Path

import pytest

from arena.domain.personas import persona_schema
from arena.errors import NotFoundError, PersonaFileError
from arena.personas.library import load_library
from tests.engine_helpers import PERSONAS

REQUIRED = {
    "assistant",
    "pirate",
    "life-coach",
    "blunt-father",
    "cynic",
    "utilitarian",
    "kantian",
    "socratic",
    "contrarian",
    "true-believer",
    "mediator",
}

GOOD = """\
id: {id}
name: Test
summary: A test persona.
system_prompt: You are a test persona with firm views about everything.
beliefs: [tests matter]
style: terse
"""


def test_the_bundled_personas_and_motions_load() -> None:
    lib = load_library(PERSONAS)
    assert len(lib.personas) >= 12 and REQUIRED <= set(lib.personas)
    assert len(lib.motions) >= 20
    assert all(m.text.startswith("This house") for m in lib.motions.values())


def test_unknown_persona_names_the_known_ones() -> None:
    lib = load_library(PERSONAS)
    with pytest.raises(NotFoundError, match=r"persona 'pirat' not found; known: .*pirate"):
        lib.persona("pirat")


def test_motion_id_or_free_text() -> None:
    lib = load_library(PERSONAS)
    motion_id = next(iter(lib.motions))
    assert lib.motion_text(motion_id) == (motion_id, lib.motions[motion_id].text)
    assert lib.motion_text("This house likes tea.") == (None, "This house likes tea.")


def test_a_bad_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        GOOD.format(id="bad").replace("beliefs: [tests matter]", "beliefs: []")
    )
    with pytest.raises(PersonaFileError) as err:
        load_library(tmp_path)
    assert "bad.yaml" in str(err.value) and "beliefs" in str(err.value)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("system_prompt: " + "x" * 8001, "system_prompt: String should have at most 8000"),
        ("beliefs: [" + ", ".join(f"b{i}" for i in range(21)) + "]", "beliefs: List should"),
        ("beliefs: [" + "x" * 501 + "]", "beliefs.0: String should have at most 500"),
        ("style: " + "x" * 1001, "style: String should have at most 1000"),
    ],
)
def test_a_persona_file_over_a_cap_names_the_file_and_the_field(
    tmp_path: Path, line: str, says: str
) -> None:
    field = line.split(":")[0]
    text = "\n".join(
        line if row.startswith(f"{field}:") else row
        for row in GOOD.format(id="long").splitlines()
    )
    (tmp_path / "long.yaml").write_text(text)
    with pytest.raises(PersonaFileError) as err:
        load_library(tmp_path)
    assert "long.yaml" in str(err.value) and says in str(err.value)


def test_an_unknown_field_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(GOOD.format(id="x") + "colour: red\n")
    with pytest.raises(PersonaFileError, match="colour"):
        load_library(tmp_path)


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(GOOD.format(id="two"))
    with pytest.raises(PersonaFileError, match=r"one\.yaml: id: 'two' must equal"):
        load_library(tmp_path)


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(GOOD.format(id="dup"))
    (tmp_path / "dup.yml").write_text(GOOD.format(id="dup"))
    with pytest.raises(PersonaFileError, match="duplicate persona id 'dup'"):
        load_library(tmp_path)
    (tmp_path / "dup.yml").unlink()
    (tmp_path / "motions.yaml").write_text(
        "motions:\n"
        "- {id: a, text: This house believes A.}\n"
        "- {id: a, text: This house believes B.}\n"
    )
    with pytest.raises(PersonaFileError, match="duplicate motion id 'a'"):
        load_library(tmp_path)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\nname: [unclosed\nsummary: x\n")
    with pytest.raises(PersonaFileError, match=r"broken\.yaml: line \d+"):
        load_library(tmp_path)


def test_the_schema_describes_the_fields() -> None:
    schema = persona_schema()
    assert {"id", "name", "summary", "system_prompt", "beliefs", "style"} <= set(schema["required"])
    assert "temperature" in schema["properties"]
