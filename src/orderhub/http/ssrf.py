"""The SSRF guard for every outbound HTTP call (webhooks, channel connectors, 3PL adapters).

A target is refused when any address its host resolves to is private, loopback, link-local,
multicast, reserved, unspecified or otherwise not globally routable — unless the address, a
network containing it, or the host name itself is in ``Settings.outbound_allowed_hosts``.

The check runs where the socket is opened (a custom httpcore network backend), after DNS
resolution, and the connection goes to the very address that was checked: redirects (each hop
opens its own connection) and DNS rebinding cannot slip past it. :func:`refusal` runs the same
check early, when a URL is configured, so a bad target is refused to the person setting it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from orderhub.domain.errors import FieldError, ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRefused(httpx.TransportError):
    """The target resolves to an address outbound calls may not reach."""


@dataclass(frozen=True)
class OutboundPolicy:
    """Which otherwise-refused targets are allowed: addresses, networks (CIDR) or host names."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, allowed: Iterable[str]) -> OutboundPolicy:
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in allowed:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        if any(address in network for network in self.networks):
            return True
        return is_public(address)


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 target
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, never public
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (RFC 4291 2.5.5.1)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and may be routed to: IPv4-mapped,
    IPv4-compatible, 6to4 (2002::/16), Teredo (server and client) and NAT64 (64:ff9b::/96)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, multicast or reserved —
    nor an IPv6 address that embeds an IPv4 address which is any of those."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(address)
        if embedded:
            return all(is_public(v4) for v4 in embedded)
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpx.ConnectError(f"cannot resolve {host!r}: {error}") from error
    seen: dict[str, IPAddress] = {}
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        seen.setdefault(text, ipaddress.ip_address(text))
    return list(seen.values())


def checked_address(host: str, port: int, policy: OutboundPolicy) -> str:
    """The address to connect to for ``host``; refuses if any resolved address is refused.
    ``localhost`` and its subdomains (RFC 6761) are refused by name, however they resolve."""
    name = host.lower().rstrip(".")
    if (name == "localhost" or name.endswith(".localhost")) and not policy.allows_host(host):
        raise OutboundRefused(
            f"outbound call to {host!r} refused: localhost is not a public address "
            "(add it to ORDERHUB_OUTBOUND_ALLOWED_HOSTS to allow it)"
        )
    addresses = resolve(host, port)
    if not addresses:
        raise httpx.ConnectError(f"{host!r} resolves to no address")
    if policy.allows_host(host):
        return str(addresses[0])
    refused = [a for a in addresses if not policy.allows_address(a)]
    if refused:
        raise OutboundRefused(
            f"outbound call to {host!r} refused: {refused[0]} is not a public address "
            "(add it to ORDERHUB_OUTBOUND_ALLOWED_HOSTS to allow it)"
        )
    return str(addresses[0])


def refusal(url: str, policy: OutboundPolicy) -> str | None:
    """Why the guard would refuse ``url`` now, or None. A host that does not resolve yet is
    let through: the check when the call is made decides."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 0
    except ValueError:
        return None  # not a URL the guard would ever be asked to open
    if not host:
        return None
    try:
        checked_address(host, port, policy)
    except OutboundRefused as error:
        return str(error)
    except httpx.ConnectError:
        return None
    return None


def check_target(url: str, allowed_hosts: Sequence[str], *, field: tuple[str, ...]) -> None:
    """Refuse when saved (ValidationFailed naming ``field``) an address the guard would refuse
    at every call — loopback in any spelling, private, link-local, metadata; the guard still
    checks each call, as a name may resolve elsewhere later."""
    refused = refusal(url, OutboundPolicy.of(allowed_hosts))
    if refused:
        raise ValidationFailed(
            f"{'.'.join(field)} not allowed", [FieldError(field, refused, "url_not_public")]
        )


class GuardedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to addresses the policy allows (TLS still uses the name)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = checked_address(host, port, self.policy)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def guarded_transport(policy: OutboundPolicy) -> httpx.HTTPTransport:
    """An httpx transport whose connection pool opens sockets through ``GuardedBackend``."""
    transport = httpx.HTTPTransport(trust_env=False)
    pool = transport._pool
    assert isinstance(pool, httpcore.ConnectionPool)
    pool._network_backend = GuardedBackend(policy)
    return transport


def guarded_client(allowed: Sequence[str], **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` with the SSRF guard (see :mod:`orderhub.http.outbound`)."""
    from orderhub.http.outbound import outbound_client  # it builds on this module

    return outbound_client(allowed=allowed, **kwargs)
