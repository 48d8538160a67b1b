"""The votes secret, which signs voters' cookies and keys the hashes of their addresses: never
readable from Redis alone, so that a copy of the database can neither mint voters nor reverse
the address hashes (an IPv4 address is a guess in 2^32).

ARENA_VOTES_SECRET when set. Otherwise a secret generated once into ARENA_DATA_DIR/votes_secret
(mode 0600), which every process sharing that folder reads. Redis keeps only its fingerprint, so
that an API node holding another secret (on another machine, or after its file was lost) is
refused at start, with what to do, instead of signing cookies the other nodes reject. The plain
secret that earlier versions kept in Redis is moved into the file, then deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from arena.config import Settings
from arena.errors import ConfigError
from arena.store.keys import Keys

log = logging.getLogger(__name__)

FILE = "votes_secret"


def fingerprint(secret: bytes) -> str:
    """Tells two secrets apart without telling either."""
    return hmac.new(secret, b"arena votes secret fingerprint", hashlib.sha256).hexdigest()[:32]


async def votes_secret(redis: Redis, keys: Keys, settings: Settings) -> bytes:
    """The secret this node signs and hashes with (see the module's docstring); raises
    ConfigError when it is not the one the other nodes of this arena use."""
    base = "{" + keys.prefix + "}"
    plain, mark = f"{base}:votes_secret", f"{base}:votes_secret_fingerprint"
    if settings.votes_secret is not None:
        secret = settings.votes_secret.encode()
        previous: Any = await redis.get(mark)
        if previous is not None and previous != fingerprint(secret):
            log.warning(
                "ARENA_VOTES_SECRET is not the secret votes were taken with until now: voters' "
                "earlier cookies are not recognised, and their addresses count anew"
            )
        await redis.set(mark, fingerprint(secret))
        await redis.delete(plain)
        return secret
    path = settings.data_dir / FILE
    secret_or_none = _read(path)
    if secret_or_none is None:
        legacy: Any = await redis.get(plain)
        made = str(legacy) if legacy is not None else secrets.token_hex(32)
        secret_or_none = _create(path, made.encode())
    secret = secret_or_none
    await redis.set(mark, fingerprint(secret), nx=True)
    if await redis.get(mark) != fingerprint(secret):
        raise ConfigError(
            f"the votes secret in {path} is not the one the other API nodes of this arena use "
            f"(Redis holds another's fingerprint, {mark}): set ARENA_VOTES_SECRET to one long "
            "random value on every API node; or, if this node's file was lost and no other node "
            f"runs, delete {mark} to start anew (voters then get new cookies)"
        )
    await redis.delete(plain)
    return secret


def _read(path: Path) -> bytes | None:
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    if not secret:
        raise ConfigError(f"{path} is empty: delete it, and a votes secret is generated anew")
    return secret


def _create(path: Path, secret: bytes) -> bytes:
    """Write `secret` to `path` unless another process got there first: then theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secret)
        os.link(draft, path)  # atomic, and fails if the file exists: never half a secret
    except FileExistsError:
        return _read(path) or secret
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    return secret
