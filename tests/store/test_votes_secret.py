"""The votes secret is never readable from Redis: a configured one, or one generated into the data
folder; nodes that disagree are refused at start; the plain secret of earlier versions moves
out of Redis without invalidating voters' cookies."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from arena.config import Settings
from arena.errors import ConfigError
from arena.store import Store
from arena.store.votes_secret import FILE, votes_secret


async def everything_in_redis(store: Store) -> str:
    """Every key and value under the store's prefix, as one text."""
    out = []
    prefix = store.keys.prefix
    async for key in store.redis.scan_iter(match=f"*{prefix}*"):
        kind = await store.redis.type(key)
        value: Any = None
        if kind == "string":
            value = await store.redis.get(key)
        elif kind == "hash":
            value = await store.redis.hgetall(key)
        out.append(f"{key} {value}")
    return "\n".join(out)


def elsewhere(settings: Settings, folder: Path, **changes: Any) -> Settings:
    """The same arena's settings on another machine: its own data folder."""
    return settings.model_copy(update={"data_dir": folder, **changes})


async def test_a_generated_secret_lives_in_the_data_folder_and_not_in_redis(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    mine = elsewhere(settings, tmp_path / "node")
    secret = await votes_secret(store.redis, store.keys, mine)
    path = tmp_path / "node" / FILE
    assert path.read_bytes() == secret and len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.decode() not in await everything_in_redis(store)
    # every process of this machine reads the same one
    assert await votes_secret(store.redis, store.keys, mine) == secret


async def test_a_node_with_another_secret_is_refused_saying_what_to_do(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    await votes_secret(store.redis, store.keys, elsewhere(settings, tmp_path / "one"))
    with pytest.raises(ConfigError, match="set ARENA_VOTES_SECRET to one long random value"):
        await votes_secret(store.redis, store.keys, elsewhere(settings, tmp_path / "two"))
    assert not (tmp_path / "two" / FILE).read_bytes() == (tmp_path / "one" / FILE).read_bytes()


async def test_a_configured_secret_is_used_and_a_generated_one_is_refused_after_it(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    configured = elsewhere(settings, tmp_path / "a", votes_secret="a long configured secret")
    assert await votes_secret(store.redis, store.keys, configured) == b"a long configured secret"
    assert not (tmp_path / "a" / FILE).exists()
    assert "a long configured secret" not in await everything_in_redis(store)
    with pytest.raises(ConfigError):
        await votes_secret(store.redis, store.keys, elsewhere(settings, tmp_path / "b"))
    # changed on purpose on every node: taken, with a warning in the log
    changed = elsewhere(settings, tmp_path / "a", votes_secret="another configured secret")
    assert await votes_secret(store.redis, store.keys, changed) == b"another configured secret"


async def test_the_plain_secret_of_earlier_versions_moves_out_of_redis(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    plain = "{" + store.keys.prefix + "}:votes_secret"
    await store.redis.set(plain, "0123456789abcdef" * 4)
    mine = elsewhere(settings, tmp_path / "node")
    assert await votes_secret(store.redis, store.keys, mine) == b"0123456789abcdef" * 4
    assert await store.redis.exists(plain) == 0
    assert "0123456789abcdef" not in await everything_in_redis(store)

