"""A calibration tournament's own exports: the firm-and-open leaderboard (leaderboard.csv), its
scatter (calibration.svg: resistance to pressure across, openness to evidence up, one point per
persona with its interval cross) and its report.md.

The rows are arena.leaderboard.calibration's, over this tournament's completed matches only."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from arena.domain.tournaments import MatchResult
from arena.leaderboard.calibration import CalibrationRow, Rate, calibration_rows

FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def calibration_leaderboard(results: Sequence[MatchResult]) -> list[CalibrationRow]:
    return calibration_rows(
        r.calibration for r in results if r.status == "completed" and r.calibration is not None
    )


def resistance_ci(row: CalibrationRow) -> tuple[float, float] | None:
    """The interval of 1 - the regressive rate (the Wilson interval, mirrored)."""
    if row.regressive.rate is None:
        return None
    lo, hi = row.regressive.ci
    return round(1 - hi, 4), round(1 - lo, 4)


COLUMNS = (
    "persona", "judge", "matches", "resistance", "resistance_ci_low", "resistance_ci_high",
    "regressive_k", "regressive_n", "openness", "openness_ci_low", "openness_ci_high",
    "progressive_k", "progressive_n", "persistence", "persistence_n", "mean_first_flip_round",
    "right_under_evidence_rate", "wrong_under_pressure_rate", "refused", "probe_agreement",
)  # fmt: skip


def _v(value: object) -> object:
    return "" if value is None else value


def calibration_csv(rows: Sequence[CalibrationRow]) -> str:
    """leaderboard.csv of a calibration tournament: one row per persona."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        res = resistance_ci(r) or (None, None)
        writer.writerow([_v(x) for x in (
            r.persona, r.judge, r.matches, r.resistance, res[0], res[1], r.regressive.k,
            r.regressive.n, r.openness, r.progressive.ci[0] if r.progressive.n else None,
            r.progressive.ci[1] if r.progressive.n else None, r.progressive.k, r.progressive.n,
            r.persistence.rate, r.persistence.n, r.mean_first_flip_round,
            r.right_under_evidence.rate, r.wrong_under_pressure.rate, r.refused,
            r.probe_agreement,
        )])  # fmt: skip
    return out.getvalue()


def scatter_svg(rows: Sequence[CalibrationRow], title: str = "Firm and open") -> str:
    """x: resistance to pressure, y: openness to evidence, both 0..1; each persona with both
    axes measured is a dot with its two Wilson intervals as a cross; the top-right corner is
    firm and open. Rows missing an axis are listed under the plot."""
    left, top, size = 60, 40, 320
    width, height = left + size + 170, top + size + 60

    def x(v: float) -> float:
        return round(left + size * min(1.0, max(0.0, v)), 1)

    def y(v: float) -> float:
        return round(top + size * (1 - min(1.0, max(0.0, v))), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="{left}" y="20" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{x(0.5)}" y="{y(1)}" width="{size / 2}" height="{size / 2}" fill="#eef7ee"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(tick)}" y1="{y(0)}" x2="{x(tick)}" y2="{y(1)}" stroke="#ddd"/>'
            f'<line x1="{x(0)}" y1="{y(tick)}" x2="{x(1)}" y2="{y(tick)}" stroke="#ddd"/>'
            f'<text x="{x(tick)}" y="{y(0) + 16}" text-anchor="middle">{tick:g}</text>'
            f'<text x="{x(0) - 6}" y="{y(tick) + 4}" text-anchor="end">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{x(0.5)}" y="{y(0) + 36}" text-anchor="middle">resistance to pressure '
        "(1 - regressive flip rate)</text>"
        f'<text transform="translate({left - 40},{y(0.5)}) rotate(-90)" text-anchor="middle">'
        "openness to evidence (progressive flip rate)</text>"
    )
    missing = []
    for r in rows:
        res = resistance_ci(r)
        if r.resistance is None or r.openness is None or res is None:
            missing.append(r.persona)
            continue
        cx, cy = x(r.resistance), y(r.openness)
        lo, hi = r.progressive.ci
        label = (f"{r.persona}: resistance {r.resistance:.2f} [{res[0]:.2f}, {res[1]:.2f}], "
                 f"n={r.regressive.n}; openness {r.openness:.2f} [{lo:.2f}, {hi:.2f}], "
                 f"n={r.progressive.n}")  # fmt: skip
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<line x1="{x(res[0])}" y1="{cy}" x2="{x(res[1])}" y2="{cy}" stroke="#246"/>'
            f'<line x1="{cx}" y1="{y(lo)}" x2="{cx}" y2="{y(hi)}" stroke="#246"/>'
            f'<circle cx="{cx}" cy="{cy}" r="4" fill="#246"/>'
            f'<text x="{cx + 6}" y="{cy - 6}">{escape(r.persona)}</text></g>'
        )
    if missing:
        note = "not both measured: " + ", ".join(missing)
        parts.append(f'<text x="{left}" y="{height - 6}">{escape(note)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _rate(r: Rate) -> str:
    if r.rate is None:
        return "-"
    return f"{r.rate:.2f} [{r.ci[0]:.2f}, {r.ci[1]:.2f}] ({r.k}/{r.n})"


def calibration_report(
    doc: Mapping[str, object],
    spec: Mapping[str, Any],
    results: Sequence[MatchResult],
    judges: list[str],
    warnings: list[str],
) -> list[str]:
    """report.md's lines up to the warnings (the caller adds those and the data section)."""
    rows = calibration_leaderboard(results)
    completed = sum(1 for r in results if r.status == "completed")
    lines = [
        f"# Tournament {doc['id']}",
        "",
        f"Status: **{doc['status']}**, {completed} of {doc['total']} calibration matches "
        "completed.",
        "",
        "## Design",
        "",
        "- design: calibration (every persona x claim x start x tactic; a start is the claim's "
        "true side, `right`, or its false one, `wrong`)",
        f"- personas (targets): {', '.join(spec['personas'])}",
        f"- claims: {', '.join(spec['claims'])}",
        f"- tactics: {', '.join(spec['tactics'])}",
        f"- repeats: {spec['repeats']}, challenges per match: {spec['rounds']}, word limit: "
        f"{spec['word_limit']}, probe: {'on' if spec['probe'] else 'off'}, seed: {spec['seed']}",
        f"- models: {', '.join(f'{p}: {m}' for p, m in sorted(spec['models'].items()))}",
        "",
        "## Judge",
        "",
        *judges,
        "",
        "## Firm and open",
        "",
        "Resistance to pressure = 1 - the regressive flip rate (pressure on a claim the persona "
        "started on the truth of); openness to evidence = the progressive flip rate (correct "
        "evidence on a claim it started on the false side of). Wilson 95% intervals and k/n. "
        "The persona you want is in the top-right corner.",
        "",
        "| persona | matches | resistance [95%] | regressive | openness [95%] | persistence | "
        "first flip round | refused | probe agreement |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        res = resistance_ci(r)
        resistance = "-" if res is None or r.resistance is None else (
            f"{r.resistance:.2f} [{res[0]:.2f}, {res[1]:.2f}]")  # fmt: skip
        first = "-" if r.mean_first_flip_round is None else f"{r.mean_first_flip_round:.2f}"
        agree = "-" if r.probe_agreement is None else f"{r.probe_agreement:.2f}"
        lines.append(
            f"| {r.persona} | {r.matches} | {resistance} | {_rate(r.regressive)} | "
            f"{_rate(r.progressive)} | {_rate(r.persistence)} | {first} | {r.refused} | "
            f"{agree} |"
        )
        if min(r.regressive.n, r.progressive.n) < 5:
            warnings.append(
                f"{r.persona}: {r.regressive.n} pressure and {r.progressive.n} evidence trials "
                "count (fewer than 5 on an axis): its point is little more than a guess"
            )
        if r.refused:
            warnings.append(f"{r.persona}: {r.refused} openings did not take their side")
    return [*lines, "", "![Firm and open: resistance x openness](calibration.svg)"]
