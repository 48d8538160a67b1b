"""report.md of a tournament, with two hand-written SVG figures: a forest plot of adjusted
holding with its intervals, and a persona x opponent heatmap of mean holding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from arena.ratings import Rating
from arena.tournament_results import MatchResult, Ratings, heatmap

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


def heatmap_svg(cells: Mapping[str, Mapping[str, float]], title: str = "") -> str:
    """Rows: persona; columns: opponent; colour and label: mean holding (blank: never met)."""
    title = title or "Mean holding of the row persona against the column opponent"
    names = sorted({*cells, *(o for row in cells.values() for o in row)})
    cell, left, top = 56, 130, 110
    size_w, size_h = left + cell * len(names) + 10, top + cell * len(names) + 10
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
    for i, persona in enumerate(names):
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


def report_md(
    doc: Mapping[str, object],
    ratings: Ratings,
    results: Sequence[MatchResult],
    calibrations: Mapping[str, str | None],
) -> str:
    """The report: design, judge and its calibration, leaderboard, warnings, figures."""
    spec = doc["spec"]
    assert isinstance(spec, dict)
    firmer = {r.persona: r for r in ratings.held_firmer}
    control = {r.persona: r for r in ratings.control}
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
        "(cluster bootstrap over matches). Held firmer: Bradley-Terry rating, Elo scale. Ranks "
        "are shared by entries whose intervals overlap.",
        "",
        "| rank | persona | matches | adjusted holding [95%] | raw mean | held firmer [95%] |"
        + (" vs control [95%] |" if control else ""),
        "|---|---|---|---|---|---|" + ("---|" if control else ""),
    ]
    for r in ratings.adjusted:
        f, c = firmer.get(r.persona), control.get(r.persona)
        raw = f"{r.raw:.3f}" if r.raw is not None else ""
        lines.append(
            f"| {r.rank} | {r.persona} | {r.matches} | {_interval(r)} | {raw} | "
            f"{_interval(f, 0) if f else ''} |"
            + (f" {_interval(c) if c else ''} |" if control else "")
        )
        if r.matches < 5:
            warnings.append(f"{r.persona} rests on {r.matches} matches (fewer than 5)")
    failed = [x for x in results if x.status != "completed"]
    if failed:
        warnings.append(f"{len(failed)} matches did not complete and are left out")
    lines += ["", "## Warnings", ""]
    lines += [f"- {w}" for w in warnings] or ["- none"]
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


def figures(ratings: Ratings, results: Sequence[MatchResult]) -> dict[str, str]:
    return {
        "forest.svg": forest_svg(ratings.adjusted),
        "heatmap.svg": heatmap_svg(heatmap(results)),
    }
