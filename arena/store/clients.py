"""Redis clients, built explicitly: each with its own bounded pool, so that one kind of traffic
can never take the connections another needs.

The worker's traffic (appends, leases, the queue) and the spectators' reads never share a pool:
a crowd of spectators joining at once waits for spectator connections, while matches keep
writing. A pool that is exhausted makes a command wait up to `pool_timeout` for a connection
instead of failing at once (redis-py's default pool raises MaxConnectionsError).

On a Redis Cluster (settings.redis_cluster) each client is redis-py's own cluster client: it
finds the nodes from the one in the URL, sends each command to the master of its key's slot and
follows MOVED/ASK after a resharding or a failover. There `size` is per node, and an exhausted
node pool fails the command at once: redis-py's asyncio cluster client has no blocking pool.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
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


def _options(url: str, size: int, name: str) -> dict[str, Any]:
    """What every client of the store is built with, on one server or a cluster: `size`
    connections (per node), named `name` in CLIENT LIST, with the timeouts, health checks and
    retries above."""
    return {
        "max_connections": size,
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        # TCP keepalive notices a peer that vanished without closing (not for a unix socket)
        **({} if url.startswith("unix:") else {"socket_keepalive": True}),
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "retry": Retry(ExponentialWithJitterBackoff(base=BACKOFF_BASE, cap=BACKOFF_CAP), RETRIES),
        "client_name": name,
    }


def pooled_client(
    url: str, *, size: int, timeout: float, name: str, cluster: bool = False
) -> Redis:
    """A client on its own pool of at most `size` connections, named `name` in CLIENT LIST;
    with `cluster`, a cluster client with a pool of `size` per node."""
    if cluster:
        return cluster_client(url, size=size, name=name)
    pool = BlockingConnectionPool.from_url(
        url,
        timeout=timeout,
        retry_on_error=[ConnectionError, TimeoutError],
        **_options(url, size, name),
    )
    return Redis.from_pool(pool)


def cluster_client(
    url: str, *, size: int, name: str, client_class: type[RedisCluster] = RedisCluster
) -> Redis:
    """redis-py's cluster client for the cluster that the node in `url` belongs to.

    Typed as `Redis`: RedisCluster is not a subclass, but it implements every command the store
    sends (the CI's cluster pass runs the store, worker and API tests through it)."""
    if url.startswith("unix:"):
        raise ValueError(f"a Redis Cluster is reached over TCP: {url} is a unix socket")
    # the cluster client retries a failed command after refreshing the slot map (a node that
    # restarted or failed over); its retry object sets only the count
    client = client_class.from_url(url, **_options(url, size, name))
    return cast(Redis, client)


def is_cluster(client: Redis) -> bool:
    return isinstance(client, RedisCluster)


async def cluster_state(client: Redis) -> tuple[bool, int]:
    """(CLUSTER INFO says cluster_state:ok, number of masters) of a cluster client."""
    cluster = cast(RedisCluster, client)
    info = await cluster.cluster_info(target_nodes=RedisCluster.RANDOM)
    masters = len(cluster.get_primaries())
    return info.get("cluster_state") == "ok", masters


def redacted(url: str) -> str:
    """`url` with its password masked, for the log."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    return urlunsplit(parts)
