import json
import os
from pathlib import Path

from arena.config import Settings
from arena.store import EmbeddedServer, Store
from tests.conftest import RedisTarget


def embedded(data_dir: Path) -> Settings:
    return Settings(_env_file=None, redis_url=None, data_dir=data_dir, key_prefix="srv")


async def test_embedded_server_starts_and_persists_across_a_restart(tmp_path: Path) -> None:
    settings = embedded(tmp_path / "data")
    store = await Store.connect(settings)
    assert store.server is not None and store.server.started
    first_pid = store.server.pid
    assert await store.ping()
    await store.redis.set("srv:kept", "yes")
    await store.close()
    assert not (tmp_path / "data" / "server.json").exists()  # last user shut it down

    again = await Store.connect(settings)
    try:
        assert again.server is not None and again.server.started
        assert again.server.pid != first_pid
        assert await again.redis.get("srv:kept") == "yes"
        assert (tmp_path / "data" / "appendonly.aof").exists()
    finally:
        await again.close()


async def test_two_stores_on_one_data_dir_share_one_server(tmp_path: Path) -> None:
    settings = embedded(tmp_path / "data")
    one = await Store.connect(settings)
    two = await Store.connect(settings)
    try:
        assert one.server is not None and two.server is not None
        assert one.server.started and not two.server.started
        assert (one.server.url, one.server.pid) == (two.server.url, two.server.pid)
        await one.redis.set("srv:from-one", "1")
        await one.close()
        # the second user keeps the server alive
        assert await two.redis.get("srv:from-one") == "1"
        state = json.loads((tmp_path / "data" / "server.json").read_text())
        assert state["pid"] == two.server.pid
    finally:
        await two.close()
    assert not (tmp_path / "data" / "server.json").exists()


async def test_a_server_left_by_a_crashed_process_is_reused(tmp_path: Path) -> None:
    settings = embedded(tmp_path / "data")
    one = await Store.connect(settings)
    assert one.server is not None
    # a crash: the process goes without release(); its flock goes with its file descriptors
    assert one.server._users_fd is not None
    os.close(one.server._users_fd)
    one.server._users_fd = None
    await one.redis.aclose()
    two = await Store.connect(settings)
    try:
        assert two.server is not None and not two.server.started
        assert two.server.pid == one.server.pid
    finally:
        await two.close()


async def test_redis_url_wins_over_the_embedded_server(
    tmp_path: Path, redis_target: RedisTarget, settings: Settings
) -> None:
    remote = settings.model_copy(
        update={"redis_url": redis_target.url, "data_dir": tmp_path / "unused"}
    )
    store = await Store.connect(remote)
    try:
        assert store.server is None and await store.ping()
        assert not (tmp_path / "unused").exists()
    finally:
        await store.close()


async def test_a_data_dir_too_deep_for_a_unix_socket_uses_a_loopback_port(tmp_path: Path) -> None:
    store = await Store.connect(embedded(tmp_path / ("deep" * 25)))
    try:
        assert store.server is not None and store.server.url is not None
        assert store.server.url.startswith("redis://127.0.0.1:")
        assert await store.ping()
    finally:
        await store.close()


async def test_stop_shuts_the_server_down_even_with_users_left(tmp_path: Path) -> None:
    store = await Store.connect(embedded(tmp_path / "data"))
    owner = EmbeddedServer(tmp_path / "data")
    owner.acquire()
    assert not owner.release()  # the store still uses it
    owner.stop()
    assert not await store.ping()
    await store.close()
    assert not (tmp_path / "data" / "server.json").exists()
