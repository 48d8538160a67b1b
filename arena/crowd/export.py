"""Crowd-labelled turns as judge-eval rows (arena.judge_eval.rows): the turn's gold label
(arena.crowd.votes.gold_label: each client address counted once, enough distinct addresses)."""

from __future__ import annotations

from arena.crowd.turns import VotedTurn
from arena.crowd.votes import EVAL_LABEL, gold_label


def export_rows(turns: list[VotedTurn], min_votes: int, min_ips: int) -> list[dict[str, object]]:
    """Voted turns with a gold label, as judge-eval rows; the others are left out."""
    rows: list[dict[str, object]] = []
    for v in turns:
        crowd = gold_label(v.labels, min_votes, min_ips)
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
                "addresses": v.labels.ips,
                "address_votes": dict(v.labels.ip_counts),
                "match_id": v.labels.match_id,
                "turn": v.labels.turn,
            }
        )
    return rows
