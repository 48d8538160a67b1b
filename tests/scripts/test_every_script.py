"""Every script under scripts/ has a smoke test here, which runs it: a change to a protocol or an
option then breaks a test, not a user's run. A new script needs a test that names it."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.runs import SCRIPTS

HERE = Path(__file__).resolve().parent


def test_every_script_is_named_in_a_smoke_test() -> None:
    scripts = sorted(p.name for p in SCRIPTS.iterdir() if p.suffix in {".py", ".sh"})
    assert "bench_all.py" in scripts
    tests = {p.name: p.read_text() for p in HERE.glob("test_*.py") if p.name != Path(__file__).name}
    untested = [s for s in scripts if not any(s in text for text in tests.values())]
    assert not untested, f"no smoke test under tests/scripts/ names {untested}"
