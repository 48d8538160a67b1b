"""The shipped claims file validates and is balanced; a bad claims file is refused with its
file, line and field named."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import yaml

from arena.errors import PersonaFileError
from arena.personas.library import load_claims, load_claims_file, load_library

SHIPPED = Path(__file__).resolve().parents[2] / "personas"


def test_the_shipped_claims_are_sixty_or_more_about_half_true_each_with_evidence_and_source(
) -> None:  # fmt: skip
    claims = load_claims(SHIPPED)
    assert len(claims) >= 60
    raw = yaml.safe_load((SHIPPED / "claims.yaml").read_text())
    assert all(type(item["truth"]) is bool for item in raw)  # not "yes", 1 or "true"
    true = sum(c.truth for c in claims.values())
    assert 0.4 <= true / len(claims) <= 0.6, f"{true} of {len(claims)} true"
    for c in claims.values():
        assert len(c.evidence.split()) >= 25, c.id  # a paragraph, not a phrase
        assert c.source.strip() and "http" not in c.source, c.id
    domains = Counter(c.domain for c in claims.values())
    assert {"misconception", "science", "history", "health", "numbers"} <= set(domains)
    assert domains["misconception"] >= 10
    assert len({c.claim for c in claims.values()}) == len(claims)  # no claim twice


def test_the_claims_file_is_not_read_as_a_persona() -> None:
    library = load_library(SHIPPED)
    assert "claims" not in library.personas and library.personas


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    return path


GOOD = """\
- id: water-boils-at-100
  claim: At sea level, pure water boils at about 100 degrees Celsius.
  truth: true
  evidence: At standard atmospheric pressure of 101.325 kPa, the boiling point of pure water is
    99.97 degrees Celsius, which is why the Celsius scale was historically anchored near there.
  source: International Bureau of Weights and Measures, the SI Brochure
  domain: science
"""


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("truth: true", "truth: 'yes'"), 9, "truth", "valid boolean"),
        (("  source: International", "  source: https://example.org"), 9, "source", "no URLs"),
        (("  domain: science", "  domain: astrology"), 9, "domain", "Input should be"),
        (("  evidence: At", "  evidence_: At"), 9, "evidence", "Field required"),
    ],
)
def test_a_bad_claim_names_its_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str
) -> None:
    path = write(tmp_path, GOOD + "\n" + GOOD.replace("water-boils-at-100", "second").replace(
        *change))  # fmt: skip
    with pytest.raises(PersonaFileError) as caught:
        load_claims_file(path)
    assert f"{path}:{line}: {field}" in str(caught.value) and message in str(caught.value)


def test_duplicate_claim_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\n" + GOOD)
    with pytest.raises(PersonaFileError, match="duplicate claim id 'water-boils-at-100'"):
        load_claims_file(path)


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert list(load_claims(tmp_path)) == ["water-boils-at-100"]


    path.write_text(GOOD.replace("water-boils-at-100", "renamed"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert list(load_claims(tmp_path)) == ["renamed"]
