"""Gold-labelled turns for judge-eval: read a JSONL file (or the bundled calibration set), parse
it with line numbers for every malformed row, and pick a subset."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from arena.domain.specs import Side
from arena.errors import ArenaError
from arena.stats import evaluation as ev

CALIBRATION = "calibration"
REQUIRED = ("motion", "side", "text", "label")


class JudgeEvalError(ArenaError):
    """The eval cannot run: no file, or no usable row in it."""


@dataclass(frozen=True)
class EvalRow:
    line: int
    motion: str
    side: Side
    text: str
    label: ev.Label
    opponent: str | None = None


@dataclass(frozen=True)
class Malformed:
    line: int
    problem: str


def read_source(file: str) -> tuple[str, str]:
    """(name to show, text): `calibration` is the set bundled in arena/data."""
    if file == CALIBRATION:
        return CALIBRATION, files("arena.data").joinpath("calibration.jsonl").read_text("utf-8")
    try:
        return file, Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise JudgeEvalError(f"cannot read {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise JudgeEvalError(f"{file} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def _parse(line: int, raw: str) -> EvalRow | str:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        return "missing field " + ", ".join(repr(k) for k in missing)
    for key in ("motion", "text"):
        if not isinstance(data[key], str) or not data[key].strip():
            return f"{key!r} must be a non-empty string"
    if data["side"] not in ("pro", "con"):
        return f"side must be 'pro' or 'con', not {data['side']!r}"
    if data["label"] not in ev.LABELS:
        return f"label must be one of {', '.join(ev.LABELS)}, not {data['label']!r}"
    opponent = data.get("opponent")
    if opponent is not None and not isinstance(opponent, str):
        return "'opponent' must be a string"
    return EvalRow(
        line, data["motion"], data["side"], data["text"], data["label"], opponent or None
    )


def parse_rows(text: str) -> tuple[list[EvalRow], list[Malformed]]:
    """Rows and malformed lines, both with 1-based line numbers; blank lines are skipped."""
    rows: list[EvalRow] = []
    malformed: list[Malformed] = []
    # split on newlines only: str.splitlines also breaks at U+2028 and friends, which JSON
    # strings may hold unescaped, and would shift every later line number
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        parsed = _parse(number, raw)
        if isinstance(parsed, str):
            malformed.append(Malformed(number, parsed))
        else:
            rows.append(parsed)
    return rows, malformed


def select(rows: list[EvalRow], limit: int | None, sample: int | None, seed: int) -> list[EvalRow]:
    """The first `limit` rows, or `sample` rows drawn with `seed` (kept in file order)."""
    if limit is not None and sample is not None:
        raise JudgeEvalError("pass --limit (the first N rows) or --sample (N at random), not both")
    if sample is not None and sample < len(rows):
        picked = random.Random(seed).sample(range(len(rows)), sample)
        return [rows[i] for i in sorted(picked)]
    return rows[:limit]
