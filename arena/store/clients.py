"""Redis clients, built explicitly: each with its own bounded pool, so that one kind of traffic
can never take the connections another needs.

The worker's traffic (appends, leases, the queue) and the spectators' reads never share a pool:
a crowd of spectators joining at once waits for spectator connections, while matches keep
writing. A pool that is exhausted makes a command wait up to `pool_timeout` for a connection
instead of failing at once (redis-py's default pool raises MaxConnectionsError).
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError, TimeoutError

SOCKET_TIMEOUT = 30.0  # longer than any blocking read (hub.BLOCK_MS, the worker's claim block)
CONNECT_TIMEOUT = 5.0
# a connection idle this long is checked with a PING before use, so that one a restarted Redis
# (or a proxy's idle timeout) closed is replaced instead of failing a command
HEALTH_CHECK_SECONDS = 5
# a failed connect, health check or command is retried on a new connection: together about 3 s,
# which rides out a Redis restart; after that the error reaches the caller (a spectator gets
# 1011, the worker retries its job)
RETRIES = 6
BACKOFF_BASE, BACKOFF_CAP = 0.05, 1.0


def pooled_client(url: str, *, size: int, timeout: float, name: str) -> Redis:
    """A client on its own pool of at most `size` connections, named `name` in CLIENT LIST."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=timeout,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        # TCP keepalive notices a peer that vanished without closing (not for a unix socket)
        **({} if url.startswith("unix:") else {"socket_keepalive": True}),
        health_check_interval=HEALTH_CHECK_SECONDS,
        retry=Retry(ExponentialWithJitterBackoff(base=BACKOFF_BASE, cap=BACKOFF_CAP), RETRIES),
        retry_on_error=[ConnectionError, TimeoutError],
        client_name=name,
    )
    return Redis.from_pool(pool)
