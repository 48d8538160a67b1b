"""scripts/bench_longrun.py at a tiny size: seeds matches through the store's path, serves them
from `arena serve --no-worker` under readers while matches finish, and reports every figure."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from arena.store import Store
from arena.store.keys import Keys
from arena.store.votes import CrowdVotes
from tests.conftest import RedisTarget
from tests.processes import delete_prefix
from tests.scripts.runs import SCRIPTS, run_script

sys.path.insert(0, str(SCRIPTS))
from longrun.seed import Seeder
from longrun.shards import shares

pytestmark = pytest.mark.slow

GETS = {
    "leaderboard", "leaderboard by model", "leaderboard all versions", "pressure board",
    "tournament board", "persona page", "judges", "matches list", "match detail",
    "tournament page", "votes export",
}  # fmt: skip


def test_every_public_get_is_measured_at_each_size(tmp_path: Path) -> None:
    run, results = run_script(
        "bench_longrun.py",
        *("--matches", "20,40", "--duration", "2", "--readers", "2", "--rate", "5"),
        json_out=tmp_path / "longrun.json",
        timeout=300,
    )
    assert "| figure | 20 matches | 40 matches |" in run.stdout
    assert [r["matches"] for r in results] == [20, 40]
    for r in results:
        assert r["redis_bytes_per_match_before"] > 0
        assert r["redis_bytes_per_match_after"] is not None
        assert 0 < r["redis_bytes_per_match_after"] < r["redis_bytes_per_match_before"]
        assert r["api_rss_mb_end"] > 10
        assert r["finished_during_load"] > 0
        assert set(r["gets"]) == GETS and set(r["cold"]) == GETS
        assert all(c["status"] == 200 for c in r["cold"].values()), r["cold"]
        assert r["errors"] == {}
        assert all(g["n"] >= 1 and 0 < g["p50_ms"] <= g["max_ms"] for g in r["gets"].values())


def test_a_kept_seeding_is_measured_again_on_fresh_nodes(
    tmp_path: Path, redis_target: RedisTarget
) -> None:
    """--keep leaves the seeded matches where --reuse measures them again, seeding nothing more:
    the way three runs at 100,000 matches share one seeding."""
    state = tmp_path / "state.json"
    load = ("--duration", "1", "--readers", "1", "--rate", "4")
    first, _ = run_script("bench_longrun.py", "--matches", "24", *load, "--redis-url",
                          redis_target.url, "--keep", str(state), json_out=tmp_path / "a.json",
                          timeout=300)  # fmt: skip
    kept = json.loads(state.read_text())
    try:
        assert kept["seeded"] >= 24 and len(kept["sample"]) == 24
        assert "seeded 24/24" in first.stderr.replace(",", "")
        client = redis.Redis.from_url(redis_target.url)
        record = Keys(kept["prefix"]).match(kept["sample"][0])
        assert client.hexists(record, "status")
        again, results = run_script("bench_longrun.py", "--reuse", str(state), "--matches", "24",
                                    "--repeat", "2", *load, json_out=tmp_path / "b.json",
                                    timeout=300)  # fmt: skip
        assert "seeded" not in again.stderr  # nothing more to seed
        assert [(r["matches"], r["run"]) for r in results] == [(24, 1), (24, 2)]
        for r in results:
            assert r["redis_bytes_per_match_before"] is None  # compacted by the first run
            assert 0 < r["redis_bytes_per_match_after"] < 8192
            assert all(c["status"] == 200 for c in r["cold"].values()), r["cold"]
            assert r["errors"] == {}
        assert "| 24 matches | 24 matches (run 2) |" in again.stdout
        # without --keep the reusing run deleted what it measured
        assert not client.exists(record)
    finally:
        delete_prefix(redis_target.url, kept["prefix"])


@pytest.mark.parametrize(
    ("need", "processes", "slots", "expected"),
    [
        (1000, 2, 12, [500, 500]),
        (1001, 2, 12, [501, 500]),
        (10, 2, 12, [10]),  # the tournament's slots all in the first shard
        (20, 3, 12, [12, 4, 4]),
        (5, 8, 0, [1, 1, 1, 1, 1]),
        (0, 2, 12, [0]),
    ],
)
def test_seeding_shares_add_up_and_the_first_holds_the_slots(
    need: int, processes: int, slots: int, expected: list[int]
) -> None:
    found = shares(need, processes, slots)
    assert found == expected
    assert sum(found) == need


def test_every_seeding_process_names_a_persona_version_alike() -> None:
    """Shards are processes with hash seeds of their own: a persona's seeded versions must not
    depend on one (two versions a persona, current and older, whichever process seeds)."""
    code = (
        "import random, sys; sys.path.insert(0, 'scripts'); from longrun.seed import Seeder, "
        "MOTIONS; from arena.domain.specs import DebaterSpec, MatchSpec; "
        "s = Seeder(None, None, random.Random(1), old_share=0.5); "
        "spec = MatchSpec(motion=MOTIONS[0], pro=DebaterSpec(persona='stoic', model='local:x'), "
        "con=DebaterSpec(persona='pirate', model='local:x'), rounds=1, "
        "judges=['local:x']); "
        "print(sorted({s._versions(spec).pro.version for _ in range(40)}))"
    )
    seen = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(SCRIPTS.parent)}
        out = subprocess.run([sys.executable, "-c", code], cwd=SCRIPTS.parent, env=env,
                             capture_output=True, text=True, check=True)  # fmt: skip
        seen.add(out.stdout.strip())
    assert len(seen) == 1, seen
    assert len(ast.literal_eval(seen.pop())) == 2


async def test_a_seeder_plays_a_tournament_match_another_seeder_made(store: Store) -> None:
    """Seeding processes share the queue: one may claim a tournament match another made, and it
    records the result by the tournament's own schedule (it failed when only the maker knew it)."""
    votes = CrowdVotes(store.redis, store.keys, "bench")
    maker = Seeder(store, votes, random.Random(1))
    tournament = await maker.start_tournament()
    slot = maker.slots[0]
    made = await store.create_match(maker._spec(slot))
    await store.tournaments.set_match(tournament, slot.index, made.id)
    other = Seeder(store, votes, random.Random(2))  # another process's: no slots of its own
    assert await other.one() == made.id  # it claimed the oldest job: the maker's match
    results = await store.tournaments.results(tournament)
    assert [(r.match, r.slot) for r in results] == [(made.id, slot.index)]
