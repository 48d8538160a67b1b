"""Who is asking: the client's address as the arena counts it (votes, spectator caps).

The peer of the connection, unless that peer is a reverse proxy the operator trusts
(ARENA_TRUSTED_PROXIES: addresses or networks): then the address its X-Forwarded-For header
names, read from the right, skipping the trusted proxies in the chain. An untrusted peer's
forwarding header is ignored: any client can write one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(conn: HTTPConnection, trusted: Sequence[str]) -> str:
    peer = conn.client.host if conn.client else "unknown"
    networks = _networks(tuple(trusted))
    if not networks or not _trusted(peer, networks):
        return peer
    chain = [a.strip() for a in conn.headers.get("x-forwarded-for", "").split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, networks):
            return address
    return peer
