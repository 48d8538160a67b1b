import json
import os
import stat
import tempfile
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


async def test_a_data_dir_too_deep_for_a_unix_socket_gets_a_short_private_socket(
    tmp_path: Path,
) -> None:
    data = tmp_path / ("deep" * 30)
    assert len(str(data / "redis.sock")) > 108  # longer than any OS's sun_path
    one = await Store.connect(embedded(data))
    two = await Store.connect(embedded(data))
    assert one.server is not None and one.server.url is not None
    url = one.server.url
    try:
        # never TCP: the server has no password
        assert url.startswith("unix://")
        assert await one.redis.config_get("port") == {"port": "0"}
        sock = Path(url.removeprefix("unix://"))
        folder = sock.parent
        assert len(str(sock)) <= 100
        info = folder.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o700, os.getuid())
        assert json.loads((data / "server.json").read_text())["url"] == url
        # a second process finds it through server.json
        assert two.server is not None and not two.server.started and two.server.url == url
        assert await two.ping()
    finally:
        await two.close()
        await one.close()
    assert not folder.exists()  # the last user removed it with the server


async def test_a_socket_folder_left_by_a_dead_server_is_removed(tmp_path: Path) -> None:
    data = tmp_path / ("deep" * 30)
    data.mkdir()
    stale = Path(tempfile.mkdtemp(prefix="arena-redis-"))
    (stale / "redis.sock").touch()
    state = {"url": f"unix://{stale}/redis.sock", "pid": 1, "socket_dir": str(stale)}
    (data / "server.json").write_text(json.dumps(state))
    store = await Store.connect(embedded(data))
    try:
        assert not stale.exists()
        assert store.server is not None and store.server.started
        assert store.server.url != state["url"]
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
