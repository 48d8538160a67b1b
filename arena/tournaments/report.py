"""report.md of a tournament, with two hand-written SVG figures: a forest plot of adjusted
holding with its intervals, and a persona x opponent heatmap of mean holding. A pressure
tournament's report has the pressure leaderboard (persona x tactic) and its heatmap instead; a
calibration tournament's, the firm-and-open table and scatter (arena.tournaments.calibration)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from arena.domain.tournaments import MatchResult
from arena.stats.ratings import Rating
from arena.stats.style import StyleControl
from arena.tournaments.calibration import calibration_report
from arena.tournaments.judges import JudgePanel, judge_panel, panel_md
from arena.tournaments.results import Ratings, heatmap, pressure_heatmap, pressure_leaderboard

FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def forest_svg(ratings: Sequence[Rating], title: str = "Adjusted holding (95% interval)") -> str:
    """One row per persona: the interval as a line, the estimate as a dot, on a 0..1 axis."""
    left, width, row_h, top = 150, 360, 24, 36
    height = top + row_h * len(ratings) + 30

    def x(v: float) -> float:
        return left + width * min(1.0, max(0.0, v))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="{left}" y="18" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(tick)}" y1="{top - 6}" x2="{x(tick)}" y2="{height - 26}" '
            'stroke="#ccc"/>'
            f'<text x="{x(tick)}" y="{height - 10}" text-anchor="middle">{tick:g}</text>'
        )
    for i, r in enumerate(ratings):
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{r.rank}. {escape(r.persona)}'
            "</text>"
            f'<line x1="{x(r.ci[0])}" y1="{y}" x2="{x(r.ci[1])}" y2="{y}" stroke="#246" '
            'stroke-width="2"/>'
            f'<circle cx="{x(r.estimate)}" cy="{y}" r="4" fill="#246">'
            f"<title>{escape(r.persona)}: {r.estimate:.3f} [{r.ci[0]:.3f}, {r.ci[1]:.3f}]"
            "</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def heatmap_svg(
    cells: Mapping[str, Mapping[str, float]], title: str = "", square: bool = True
) -> str:
    """Rows: persona; columns: opponent; colour and label: mean holding (blank: never met).
    `square=False`: rows are only the personas and columns only what they met (tactics)."""
    title = title or "Mean holding of the row persona against the column opponent"
    columns = sorted({o for row in cells.values() for o in row})
    names = sorted({*cells, *columns}) if square else columns
    rows = names if square else sorted(cells)
    cell, left, top = 56, 130, 110
    size_w, size_h = left + cell * len(names) + 10, top + cell * len(rows) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_w}" height="{size_h}" '
        f'role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="4" y="18" font-weight="bold">{escape(title)}</text>',
    ]
    for j, name in enumerate(names):
        cx = left + cell * j + cell / 2
        parts.append(
            f'<text transform="translate({cx},{top - 6}) rotate(-40)">{escape(name)}</text>'
        )
    for i, persona in enumerate(rows):
        y = top + cell * i
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end">{escape(persona)}'
            "</text>"
        )
        for j, opponent in enumerate(names):
            value = cells.get(persona, {}).get(opponent)
            x = left + cell * j
            if value is None:
                fill, label = "#f4f4f4", ""
            else:
                shade = round(255 - 180 * min(1.0, max(0.0, value)))
                fill, label = f"rgb({shade},{shade},255)", f"{value:.2f}"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{escape(persona)} vs {escape(opponent)}: {label or 'no match'}</title>"
                "</rect>"
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle">'
                f"{label}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _interval(r: Rating, digits: int = 3) -> str:
    return f"{r.estimate:.{digits}f} [{r.ci[0]:.{digits}f}, {r.ci[1]:.{digits}f}]"


def _style_md(style: StyleControl | None) -> list[str]:
    if style is None:
        return []
    lines = [
        "",
        "## Style",
        "",
        f"Style-controlled adjusted holding adds the turn's length and hedging (markers per 100 "
        f"words, a fixed list) to the fit as centred covariates, over {style.turns} turns; a "
        "persona's figure is then its mean at the average length and hedging. Coefficients:",
        "",
    ]
    for c in style.coefficients:
        value = (
            "not estimable (it does not vary)"
            if c.estimate is None
            else (
                f"{c.estimate:+.4f} {c.unit}"
                + (f" [{c.ci[0]:+.4f}, {c.ci[1]:+.4f}]" if c.ci is not None else "")
            )
        )
        lines.append(f"- {c.name} (mean {c.mean:g}): {value}")
    return lines


def report_md(
    doc: Mapping[str, object],
    ratings: Ratings,
    results: Sequence[MatchResult],
    calibrations: Mapping[str, str | None],
    panel: JudgePanel | None = None,
) -> str:
    """The report: design, judge and its calibration, leaderboard, style, the judges' agreement
    and position bias, warnings, figures."""
    spec = doc["spec"]
    assert isinstance(spec, dict)
    panel = panel or judge_panel(spec.get("judges") or [], results)
    if spec.get("format") == "pressure":
        return _pressure_report(doc, spec, results, calibrations, panel)
    if spec.get("format") == "calibration":
        judges, warnings = _judges(calibrations)
        lines = calibration_report(doc, spec, results, judges, warnings)
        lines += ["", *panel_md(panel)]
        return "\n".join([*lines, *_warnings(warnings, results), "", *CALIBRATION_DATA, ""])
    firmer = {r.persona: r for r in ratings.held_firmer}
    control = {r.persona: r for r in ratings.control}
    style = {r.persona: r for r in ratings.style.ratings} if ratings.style else {}
    lines = [
        f"# Tournament {doc['id']}",
        "",
        f"Status: **{doc['status']}**, {ratings.matches} of {doc['total']} matches completed, "
        f"{ratings.turns} scored turns.",
        "",
        "## Design",
        "",
        f"- design: {spec['design']}"
        + (f" (control: {spec['control']})" if spec["design"] == "gauntlet" else ""),
        f"- personas: {', '.join(spec['personas'])}",
        f"- motions: {', '.join(spec['motions'])}",
        f"- repeats: {spec['repeats']}, rebuttal rounds per match: {spec['rounds']}, "
        f"word limit: {spec['word_limit']}, seed: {spec['seed']}",
        f"- models: {', '.join(f'{p}: {m}' for p, m in sorted(spec['models'].items()))}",
        "",
        "## Judge",
        "",
    ]
    warnings = []
    for judge, label in calibrations.items():
        lines.append(f"- {judge}: {label or 'no recorded calibration'}")
        if label is None:
            warnings.append(
                f"judge {judge} is uncalibrated: run `arena judge-eval calibration --judge "
                f"{judge} --record`; its scores are not validated against labelled turns"
            )
    lines += [
        "",
        "## Leaderboard",
        "",
        "Adjusted holding: least-squares mean against an average opponent on an average motion "
        "(cluster bootstrap over matches). Style-controlled: the same at the average length "
        "and hedging, with its own rank (see Style). Held firmer: Bradley-Terry rating, "
        f"{ratings.held_firmer_scale or 'Elo scale'}. Ranks are shared by entries whose "
        "intervals overlap.",
        "",
        "| rank | persona | matches | adjusted holding [95%] | raw mean | style rank | "
        "style-controlled [95%] | held firmer [95%] |" + (" vs control [95%] |" if control else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if control else ""),
    ]
    for r in ratings.adjusted:
        f, c, st = firmer.get(r.persona), control.get(r.persona), style.get(r.persona)
        raw = f"{r.raw:.3f}" if r.raw is not None else ""
        lines.append(
            f"| {r.rank} | {r.persona} | {r.matches} | {_interval(r)} | {raw} | "
            f"{st.rank if st else ''} | {_interval(st) if st else ''} | "
            f"{_interval(f, 0) if f else ''} |"
            + (f" {_interval(c) if c else ''} |" if control else "")
        )
        if r.matches < 5:
            warnings.append(f"{r.persona} rests on {r.matches} matches (fewer than 5)")
    lines += _style_md(ratings.style)
    lines += ["", *panel_md(panel)]
    lines += _warnings(warnings, results)
    lines += [
        "",
        "## Figures",
        "",
        "![Adjusted holding with 95% intervals](forest.svg)",
        "",
        "![Mean holding, persona x opponent](heatmap.svg)",
        "",
        "Data: turns.csv (one row per turn), matches.jsonl (one line per match), "
        "leaderboard.csv, tournament.json (spec and schedule).",
        "",
    ]
    return "\n".join(lines)


def _judges(calibrations: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    lines, warnings = [], []
    for judge, label in calibrations.items():
        lines.append(f"- {judge}: {label or 'no recorded calibration'}")
        if label is None:
            warnings.append(
                f"judge {judge} is uncalibrated: run `arena judge-eval calibration --judge "
                f"{judge} --record`; its scores are not validated against labelled turns"
            )
    return lines, warnings


def _pressure_report(
    doc: Mapping[str, object],
    spec: Mapping[str, Any],
    results: Sequence[MatchResult],
    calibrations: Mapping[str, str | None],
    panel: JudgePanel,
) -> str:
    rows = pressure_leaderboard(results)
    completed = sum(1 for r in results if r.status == "completed")
    judges, warnings = _judges(calibrations)
    lines = [
        f"# Tournament {doc['id']}",
        "",
        f"Status: **{doc['status']}**, {completed} of {doc['total']} pressure matches completed.",
        "",
        "## Design",
        "",
        "- format: pressure (every persona x tactic x motion x side)",
        f"- personas (targets): {', '.join(spec['personas'])}",
        f"- tactics: {', '.join(spec['tactics'])}",
        f"- motions: {', '.join(spec['motions'])}",
        f"- repeats: {spec['repeats']}, pressure rounds per match: {spec['rounds']}, "
        f"word limit: {spec['word_limit']}, stance probe: {'on' if spec['probe'] else 'off'}, "
        f"seed: {spec['seed']}",
        f"- models: {', '.join(f'{p}: {m}' for p, m in sorted(spec['models'].items()))}"
        + (f"; model challengers: {spec['challenger_model']}" if spec["challenger_model"] else ""),
        "",
        "## Judge",
        "",
        *judges,
        "",
        "## Pressure leaderboard",
        "",
        "Per persona x tactic: mean Turn of Flip (ToF, SYCON-Bench; also as a share of the rounds) "
        "and Number of Flip (NoF), flip rate with its Wilson 95% interval, judge-probe agreement. "
        "Ranked by the interval's upper bound, lowest first.",
        "",
        "| persona | tactic | n | mean ToF | ToF share | mean NoF | flip rate [95%] | "
        "probe agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        agreement = "" if r.probe_agreement is None else f"{r.probe_agreement:.2f}"
        lines.append(
            f"| {r.persona} | {r.tactic} | {r.n} | {r.mean_tof:.2f} | {r.mean_tof_share:.2f} | "
            f"{r.mean_nof:.2f} | {r.flip_rate:.2f} [{r.flip_ci[0]:.2f}, {r.flip_ci[1]:.2f}] | "
            f"{agreement} |"
        )
        if r.n < 5:
            warnings.append(f"{r.persona} x {r.tactic} rests on {r.n} matches (fewer than 5)")
    lines += ["", *panel_md(panel)]
    lines += _warnings(warnings, results)
    lines += [
        "",
        "## Figures",
        "",
        "![Mean Turn of Flip share, persona x tactic](heatmap.svg)",
        "",
        "Data: turns.csv (one row per turn, `role` target or challenger), matches.jsonl (one "
        "line per match, with its pressure metrics), leaderboard.csv (the table above), "
        "tournament.json (spec and schedule).",
        "",
    ]
    return "\n".join(lines)


CALIBRATION_DATA = [
    "Data: turns.csv (one row per turn, `role` target or challenger, `motion` the claim id), "
    "matches.jsonl (one line per match, with its `calibration` trial: start, challenge, "
    "flipped, direction, persisted), leaderboard.csv (the table above), tournament.json (spec, "
    "the claims played and the schedule).",
]


def pressure_figures(results: Sequence[MatchResult]) -> dict[str, str]:
    cells = pressure_heatmap(pressure_leaderboard(results))
    title = "Mean Turn of Flip share of the row persona under the column tactic (1: held)"
    return {"heatmap.svg": heatmap_svg(cells, title, square=False)}


def figures(ratings: Ratings, results: Sequence[MatchResult]) -> dict[str, str]:
    return {
        "forest.svg": forest_svg(ratings.adjusted),
        "heatmap.svg": heatmap_svg(heatmap(results)),
    }


def _warnings(warnings: list[str], results: Sequence[MatchResult]) -> list[str]:
    """The report's warnings section: the given warnings plus matches that did not complete."""
    failed = [x for x in results if x.status != "completed"]
    if failed:
        warnings = [*warnings, f"{len(failed)} matches did not complete and are left out"]
    return ["", "## Warnings", "", *([f"- {w}" for w in warnings] or ["- none"])]
