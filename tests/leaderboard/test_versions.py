"""Which version of a persona the leaderboard counts (arena.leaderboard.versions), on samples."""

from __future__ import annotations

from itertools import count

from arena.domain.samples import Sample
from arena.leaderboard.versions import counted_versions, view_of

_ids = count()


def sample(persona: str, holding: float, version: str | None, model: str = "m") -> Sample:
    return Sample(
        match_id=f"m{next(_ids)}", side="pro", persona=persona, model=model, judge="j", turns=3,
        mean_holding=holding, flipped=False, firmness=3, stance_changes=0, engagement=None,
        opponent_mean_holding=None, persuasion=None, version=version,
    )  # fmt: skip


def test_the_latest_version_is_the_librarys_else_the_last_played() -> None:
    last_played = {"a": "a2", "gone": "g1"}
    assert counted_versions(last_played, {"a": "a3", "b": "b1"}) == {"a": "a3", "gone": "g1"}


def test_ranks_are_shared_among_the_latest_rows_only() -> None:
    # "a" was weak in its old version and is firm now; "b" is middling throughout
    samples = [sample("a", 0.1 + 0.01 * i, "a1") for i in range(6)]
    samples += [sample("a", 0.9 + 0.01 * i, "a2") for i in range(6)]
    samples += [sample("b", 0.5 + 0.01 * i, "b1") for i in range(6)]
    current = {"a": "a2", "b": "b1"}
    latest = view_of(samples, "persona", "latest", {}, current)
    assert [(r.persona, r.rank, r.matches, r.older_matches) for r in latest.rows] == [
        ("a", 1, 6, 6),
        ("b", 2, 6, 0),
    ]
    assert latest.rows[0].mean_holding == 0.925 and latest.rows[0].version == "a2"
    pooled = view_of(samples, "persona", "all", {}, current)
    assert [(r.persona, r.rank, r.matches, r.older_matches) for r in pooled.rows] == [
        ("b", 1, 6, 0),
        ("a", 1, 12, 6),
    ]
    assert "includes 6 matches of older versions: see by version" in pooled.rows[1].warnings


def test_unknown_versions_count_only_until_a_version_is_recorded() -> None:
    old = [sample("a", 0.2, None), sample("a", 0.3, None)]
    (alone,) = view_of(old, "persona", "latest", {}, {"a": "a1"}).rows
    assert (alone.matches, alone.version, alone.current, alone.older_matches) == (2, None, None, 0)
    assert alone.warnings == [
        "provisional: rests on 2 matches (fewer than 5), not ranked",
        "judge not calibrated: run `arena judge-eval calibration --record`",
    ]
    (row,) = view_of([*old, sample("a", 0.8, "a1")], "persona", "latest", {}, {"a": "a1"}).rows
    assert (row.matches, row.mean_holding, row.current, row.older_matches) == (1, 0.8, True, 2)
    assert "2 matches of older versions not counted: see by version" in row.warnings


def test_a_persona_gone_from_the_library_counts_the_version_it_played_last() -> None:
    samples = [sample("a", 0.2, "a1"), sample("a", 0.4, "a2"), sample("a", 0.6, "a1")]
    (row,) = view_of(samples, "persona", "latest", {}, {}).rows
    assert (row.version, row.matches, row.older_matches, row.current) == ("a1", 2, 1, None)
    assert "no longer in the persona library: counts its last played version" in row.warnings


def test_a_group_without_a_match_of_the_latest_version_is_listed_not_ranked() -> None:
    samples = [sample("a", 0.5, "a1", model="x"), sample("a", 0.6, "a2", model="y")]
    view = view_of(samples, "persona_model", "latest", {}, {"a": "a2"})
    assert [(r.model, r.matches, r.older_matches) for r in view.rows] == [("y", 1, 0)]
    (older,) = view.older_only
    assert (older.persona, older.model, older.judge, older.older_matches) == ("a", "x", "j", 1)
    assert older.version_matches == {"a1": 1}
    by_version = view_of(samples, "persona_version", "latest", {}, {"a": "a2"})
    assert by_version.versions == "all"
    assert {(r.version, r.current) for r in by_version.rows} == {("a1", False), ("a2", True)}
