"""Crowd-labelled turns as judge-eval rows (arena.judge_eval.rows): the crowd majority as the
gold label."""

from __future__ import annotations

from arena.crowd.turns import VotedTurn
from arena.crowd.votes import EVAL_LABEL, majority


def export_rows(turns: list[VotedTurn], min_votes: int) -> list[dict[str, object]]:
    """Voted turns as judge-eval rows (arena.judge_eval.rows): the crowd majority as the label."""
    rows: list[dict[str, object]] = []
    for v in turns:
        crowd = majority(v.labels.counts, min_votes)
        if crowd is None:
            continue
        rows.append(
            {
                "motion": v.motion,
                "side": v.labels.side,
                "text": v.text,
                "opponent": v.opponent,
                "label": EVAL_LABEL[crowd],
                "votes": dict(v.labels.counts),
                "match_id": v.labels.match_id,
                "turn": v.labels.turn,
            }
        )
    return rows
